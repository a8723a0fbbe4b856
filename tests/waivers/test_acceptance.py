"""The accept step of the review flow over a real SQLite store: recorded, applied, and failing
closed when the store cannot be read."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from checks.findings import Finding, Severity, Verdict
from checks.report import FileReport, Report
from reviewbot.acceptance import accept_and_waive
from reviewbot.history.waivers import SqlWaivers
from reviewbot.models import ContributionRef, Platform
from reviewbot.waivers import WaiverStoreError

REF = ContributionRef(Platform.GITHUB, "acme/models", 3, "f" * 40)
BLOBS = {"training_args.bin": "1" * 40}


def report() -> Report:
    finding = Finding("weights", "unknown-import", Severity.HIGH, "training_args.bin", "mymod.X")
    return Report([finding], [FileReport("training_args.bin", "pickle", None, Verdict.FAIL)])


@pytest.fixture
def store(tmp_path: Path) -> SqlWaivers:
    return SqlWaivers(f"sqlite:///{tmp_path / 'history.sqlite3'}")


def test_an_accept_is_recorded_and_the_next_review_applies_it(store: SqlWaivers) -> None:
    done = accept_and_waive(
        REF, report(), store, "unknown-import -- vetted", "maintainer", blobs=BLOBS
    )
    assert (done.made, done.report.verdict) == (1, Verdict.PASS)
    [waiver] = store.of("github", "acme/models", 3)
    assert waiver.content == "1" * 40  # the listed git blob sha: the review knew no sha256

    later = accept_and_waive(REF, report(), store, None, None, blobs=BLOBS)
    assert (later.made, later.report.verdict, len(later.accepted)) == (None, Verdict.PASS, 1)


def test_without_its_table_the_store_fails_closed(store: SqlWaivers) -> None:
    accept_and_waive(REF, report(), store, "unknown-import -- vetted", "maintainer", blobs=BLOBS)
    with store.engine.begin() as connection:
        connection.execute(text("DROP TABLE waivers"))

    with pytest.raises(WaiverStoreError):
        store.of("github", "acme/models", 3)
    later = accept_and_waive(REF, report(), store, None, None, blobs=BLOBS)
    again = accept_and_waive(REF, report(), store, "unknown-import -- vetted", "m", blobs=BLOBS)

    assert later.report.verdict is Verdict.FAIL  # every finding counts again
    assert (again.made, again.report.verdict) == (0, Verdict.FAIL)
