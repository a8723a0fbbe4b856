"""The `reviewbot` command line: ``main`` parses, each room holds one family of commands.

``main`` (the parser, logging, exit codes), ``output`` (reports to stdout, progress on stderr),
``scan`` (weight files, local or remote), ``review`` (a folder, the demo), ``service`` (serve,
recheck, setup), ``triage`` (the review history's list). Imports stay inside the commands so
that `reviewbot scan` never loads torch, celery or the web app.
Exit codes: 0 nothing fails the review, 1 something does, 2 usage error.
"""

from reviewbot.cli.main import main

__all__ = ["main"]
