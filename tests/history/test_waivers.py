"""The waivers' audit trail on SQLite and PostgreSQL: recorded once, read back whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reviewbot.history.waivers import SqlWaivers
from reviewbot.waivers import Waiver

AT = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)


def waiver(sha: str = "a" * 64, by: str = "maintainer", at: datetime = AT) -> Waiver:
    return Waiver("weights/unknown-import", "model.bin", sha, by, at, "our own class, vetted")


def test_a_waiver_is_recorded_with_who_when_why_and_which_content(database_url: str) -> None:
    store = SqlWaivers(database_url)

    assert store.add("github", "acme/models", 7, [waiver()]) == 1

    [got] = store.of("github", "acme/models", 7)
    assert got == waiver()
    assert got.accepted_at.tzinfo is not None  # an aware UTC time on both databases
    assert store.of("github", "acme/models", 8) == []
    assert store.of("hf", "acme/models", 7) == []


def test_the_same_waiver_again_is_kept_as_first_recorded(database_url: str) -> None:
    store = SqlWaivers(database_url)
    store.add("github", "acme/models", 7, [waiver()])

    # a retried job, or a second maintainer accepting the same content later
    later = waiver(by="someone-else", at=AT + timedelta(hours=1))
    assert store.add("github", "acme/models", 7, [later, waiver()]) == 0

    assert [w.accepted_by for w in store.of("github", "acme/models", 7)] == ["maintainer"]


def test_new_content_is_a_new_waiver_beside_the_old_one(database_url: str) -> None:
    store = SqlWaivers(database_url)
    store.add("github", "acme/models", 7, [waiver()])
    store.add("github", "acme/models", 7, [waiver(sha="c" * 64, at=AT + timedelta(minutes=5))])

    assert [w.content[0] for w in store.of("github", "acme/models", 7)] == ["a", "c"]
