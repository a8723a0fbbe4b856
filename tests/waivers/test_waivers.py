"""Accept commands and waivers on a report: what a maintainer's accept lets pass, and what not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from checks.findings import Finding, Severity, Verdict
from checks.report import FileReport, Report
from reviewbot.waivers import (
    AcceptCommand,
    apply_waivers,
    content_hashes,
    is_accept_command,
    parse_accept,
    resolve,
)

AT = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def hashes(of: Report | None = None) -> dict[str, str]:
    return content_hashes(of or report(), {})


def report(sha: str = "a" * 64) -> Report:
    high = Finding("weights", "unknown-import", Severity.HIGH, "model.bin", "mymod.Thing: unknown")
    evil = Finding("weights", "unsafe-import", Severity.CRITICAL, "evil.bin", "posix.system")
    files = [
        FileReport("model.bin", "pickle", sha, Verdict.FAIL),
        FileReport("evil.bin", "pickle", "b" * 64, Verdict.FAIL),
    ]
    return Report(findings=[high, evil], files=files)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "/reviewbot accept unknown-import -- vetted",
            AcceptCommand("unknown-import", None, "vetted"),
        ),
        (
            "\n/ReviewBot Accept weights/unknown-import model.bin -- ours, see #3\nmore",
            AcceptCommand("weights/unknown-import", "model.bin", "ours, see #3"),
        ),
        ("/reviewbot accept unknown-import", None),  # no reason: nothing to record
        ("/reviewbot accept -- why", None),
        ("/reviewbot recheck", None),
        ("please /reviewbot accept x -- y", None),
    ],
)
def test_the_command_is_the_first_line_with_a_rule_and_a_reason(
    body: str, expected: AcceptCommand | None
) -> None:
    assert parse_accept(body) == expected


def test_a_malformed_accept_is_still_an_accept_command() -> None:
    assert is_accept_command("/reviewbot accept")
    assert not is_accept_command("/reviewbot accepted")


def test_an_accepted_high_finding_no_longer_fails_its_file_and_the_critical_one_stays() -> None:
    command = AcceptCommand("unknown-import", None, "vetted")
    resolution = resolve(command, report(), hashes(), by="maintainer", at=AT)
    [waiver] = resolution.waivers
    assert (waiver.rule, waiver.path, waiver.content) == (
        "weights/unknown-import",
        "model.bin",
        "a" * 64,
    )

    waived = apply_waivers(report(), hashes(), resolution.waivers)

    assert [a.finding.rule for a in waived.accepted] == ["unknown-import"]
    assert [f.rule for f in waived.report.findings] == ["unsafe-import"]
    assert {f.path: f.verdict for f in waived.report.files}["model.bin"] is Verdict.PASS


def test_a_changed_file_raises_the_finding_again() -> None:
    [waiver] = resolve(
        AcceptCommand("unknown-import", None, "ok"), report(), hashes(), by="m", at=AT
    ).waivers

    waived = apply_waivers(report(sha="c" * 64), hashes(report(sha="c" * 64)), [waiver])

    assert waived.accepted == ()
    assert len(waived.report.findings) == 2


def test_a_critical_finding_is_named_not_waived() -> None:
    resolution = resolve(
        AcceptCommand("unsafe-import", None, "trust me"), report(), hashes(), by="m", at=AT
    )
    assert resolution.waivers == ()
    assert [f.path for f in resolution.critical] == ["evil.bin"]
    # nor does a waiver written by hand let it pass
    from dataclasses import replace

    forged = replace(
        resolve(
            AcceptCommand("unknown-import", None, "ok"), report(), hashes(), by="m", at=AT
        ).waivers[0],
        rule="weights/unsafe-import",
        path="evil.bin",
        content="b" * 64,
    )
    assert apply_waivers(report(), hashes(), [forged]).accepted == ()


def test_a_path_limits_the_accept_to_that_file() -> None:
    command = AcceptCommand("unknown-import", "other.bin", "ok")
    assert resolve(command, report(), hashes(), by="m", at=AT).waivers == ()
