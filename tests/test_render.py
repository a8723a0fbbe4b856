"""Rendering never lets a hostile file name or message break the comment."""

from __future__ import annotations

import re

from checks.base import FileFacts
from checks.findings import Finding, Severity
from checks.report import CheckSummary, build_report
from reviewbot.markers import MARKER
from reviewbot.render.markdown import MAX_ROWS, render_markdown


def _report(path: str, message: str, count: int = 1) -> str:
    findings = [
        Finding("weights", "unknown-import", Severity.HIGH, path, f"{message} {i}")
        for i in range(count)
    ]
    report = build_report(findings, [FileFacts(path, "pickle")], [CheckSummary("weights", "scan")])
    return render_markdown(report)


def test_hostile_names_and_messages_are_inert() -> None:
    comment = _report("evil|<img src=x onerror=alert(1)>`.pkl", "x | y <script>alert(1)</script>")
    outside_code = re.sub(r"(`+).*?\1", "", comment)
    assert "<img" not in outside_code and "<script>" not in outside_code
    table_rows = [line for line in comment.splitlines() if line.startswith("| 🔴")]
    assert table_rows
    for row in table_rows:  # unescaped pipes are cell borders: exactly five
        assert len(re.findall(r"(?<!\\)\|", row)) == 5, row


def test_comment_starts_with_its_marker_and_stays_bounded() -> None:
    comment = _report("a.pkl", "boom", count=MAX_ROWS + 40)
    assert comment.startswith(MARKER)
    assert "…and 40 more" in comment
    assert len(comment) < 65_536


def test_pass_verdict_says_so() -> None:
    report = build_report([], [FileFacts("m.safetensors", "safetensors")], [])
    assert "reviewbot: pass" in render_markdown(report)


def test_quoted_urls_are_not_clickable() -> None:
    comment = _report("a.pkl", "card says see https://evil.example/login or www.evil.example")
    outside_code = re.sub(r"(`+).*?\1", "", comment)
    assert "evil.example" in comment
    assert "evil.example" not in outside_code  # only inside code spans, which never autolink


def test_quoted_names_never_mention_anyone() -> None:
    """GitHub notifies whoever an ``@name`` outside code names; quoted contributor text must not."""
    comment = _report("@octocat.pkl", "thanks @huggingface/team and @maintainer")
    outside_code = re.sub(r"(`+).*?\1", "", comment)
    assert "maintainer" in outside_code
    assert not re.search(r"@[A-Za-z0-9]", outside_code)  # no mention GitHub would link
