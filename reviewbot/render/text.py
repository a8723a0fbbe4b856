"""A readable table for a terminal."""

from __future__ import annotations

from typing import TextIO

from checks.findings import Severity, Verdict
from checks.report import Report
from reviewbot.render.visible import visible_report

_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
_VERDICT_STYLE = {Verdict.PASS: "bold green", Verdict.WARN: "bold yellow", Verdict.FAIL: "bold red"}


def render_text(report: Report, out: TextIO) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    report = visible_report(report)
    console = Console(file=out, highlight=False, soft_wrap=False)
    findings = report.sorted_findings()
    if findings:
        table = Table(title="Findings", show_lines=False, expand=False)
        for column in ("severity", "file", "rule", "message"):
            table.add_column(column, overflow="fold")
        for f in findings:
            where = f.path if not f.location else f"{f.path}\n  {f.location}"
            table.add_row(
                f"[{_STYLE[f.severity]}]{f.severity.label}[/]",
                escape(where),
                escape(f"{f.check}/{f.rule}"),
                escape(f.message),
            )
        console.print(table)
    files = Table(title="Files", expand=False)
    for column in ("file", "format", "verdict"):
        files.add_column(column, overflow="fold")
    for file in report.files:
        files.add_row(
            escape(file.path),
            file.format,
            f"[{_VERDICT_STYLE[file.verdict]}]{file.verdict.value}[/]",
        )
    console.print(files)
    verdict = report.verdict
    console.print(
        f"verdict: [{_VERDICT_STYLE[verdict]}]{verdict.value}[/] "
        f"({len(findings)} findings in {len(report.files)} files)"
    )
