"""A progress bar appears on a terminal when there is much to scan, and never in pipes."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file


def _many_files(folder: Path, count: int = 12) -> Path:
    folder.mkdir()
    for i in range(count):
        save_file({"w": np.zeros((2, 2), dtype=np.float32)}, str(folder / f"m{i}.safetensors"))
    return folder


def _scan_on_a_terminal(folder: Path, *extra: str) -> tuple[int, bytes, bytes]:
    """Run a scan whose stderr is a pseudo-terminal; return (exit code, stdout, what was drawn)."""
    controller, terminal = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "reviewbot", "scan", "--format", "json", *extra, str(folder)],
        stdout=subprocess.PIPE,
        stderr=terminal,
        env={**os.environ, "TERM": "xterm", "COLUMNS": "100"},
    ) as proc:
        os.close(terminal)
        stdout, _ = proc.communicate(timeout=60)
        drawn = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            drawn += chunk
    os.close(controller)
    return proc.returncode, stdout, drawn


def test_progress_bar_is_drawn_on_a_terminal(tmp_path: Path) -> None:
    code, stdout, drawn = _scan_on_a_terminal(_many_files(tmp_path / "many"))
    assert code == 0
    assert b'"verdict": "pass"' in stdout  # the report itself stays clean on stdout
    assert b"\x1b[" in drawn  # rich drew (and then cleared) a bar


def test_no_progress_flag_keeps_the_terminal_quiet(tmp_path: Path) -> None:
    code, _, drawn = _scan_on_a_terminal(_many_files(tmp_path / "many"), "--no-progress")
    assert code == 0
    assert drawn == b""


def test_no_progress_bar_in_a_pipe(tmp_path: Path) -> None:
    folder = _many_files(tmp_path / "many")
    run = subprocess.run(
        [sys.executable, "-m", "reviewbot", "scan", "--format", "json", str(folder)],
        capture_output=True,
        timeout=60,
    )
    assert run.returncode == 0
    assert run.stderr == b""
