"""Code a repository asks a loader to run: auto_map modules, hubconf.py, custom generate steps.

Read with the standard library's ``ast`` and a small rule table (``code_rules.toml``); nothing
is imported or run.
"""
