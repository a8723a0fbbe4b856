"""Service commands of the CLI (`serve`, `recheck`). STUB — being written (service engineers)."""

from __future__ import annotations

import argparse
from typing import Any


def add_service_commands(sub: Any) -> None:
    """Register subcommands on the `reviewbot` parser; imports stay inside each command."""
    _ = (sub, argparse)
