"""What every command shares: the report on stdout in the chosen format, the exit code, the bar."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from checks.report import Report

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
PROGRESS_THRESHOLD = 8  # files; fewer finish before a bar would be worth drawing


def emit(report: Report, fmt: str) -> None:
    if fmt == "text":
        from reviewbot.render.text import render_text

        render_text(report, sys.stdout)
        return
    if fmt == "json":
        from reviewbot.render.json_report import render_json

        text = render_json(report)
    elif fmt == "sarif":
        from reviewbot.render.sarif import render_sarif

        text = render_sarif(report)
    else:
        from reviewbot.render.markdown import render_markdown

        text = render_markdown(report)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def exit_code(report: Report) -> int:
    from checks.findings import Verdict

    return EXIT_FAIL if report.verdict is Verdict.FAIL else EXIT_OK


class progress:
    """A rich progress bar on stderr when it is a terminal and there is much to scan."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled and total >= PROGRESS_THRESHOLD and sys.stderr.isatty()
        self._bar: object | None = None

    def __enter__(self) -> Callable[[str], None]:
        if not self.enabled:
            return lambda _name: None
        from rich.console import Console
        from rich.progress import Progress

        bar = Progress(console=Console(file=sys.stderr), transient=True)
        bar.start()
        task = bar.add_task("scanning", total=self.total)
        self._bar = bar
        return lambda name: bar.update(task, advance=1, description=name[-40:])

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()  # type: ignore[attr-defined]
