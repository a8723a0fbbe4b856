"""Byte sources every check reads files through: local files, slices, HTTP range reads, bounds.

The lowest room of ``checks``: it imports nothing else of the project, and everything that
reads a file (the weight scan, the licence check, the evals, ``checks.base``) reads it here.
"""
