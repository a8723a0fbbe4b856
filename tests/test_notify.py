"""When a verdict creates or edits the sticky comment, whatever the platform."""

from __future__ import annotations

import pytest

from reviewbot.markers import MARKER, posted_fingerprint, with_sha_marker
from reviewbot.notify import should_comment

SAID = with_sha_marker(f"{MARKER}\n❌ **reviewbot: fail**\n", "a" * 40, "f00d")


def decide(mode: str, verdict: str, posted: str | None, *, has_status: bool = True) -> bool:
    return should_comment(
        mode, verdict=verdict, fingerprint="f00d", posted=posted, has_status=has_status
    )


def test_the_fingerprint_rides_on_the_first_line() -> None:
    assert posted_fingerprint(SAID) == "f00d"
    assert posted_fingerprint(SAID.split("\n", 1)[1]) is None
    assert posted_fingerprint(f"{MARKER}\nbody <!-- reviewbot:fingerprint=f00d -->") is None


@pytest.mark.parametrize("mode", ["on-change", "on-failure"])
def test_an_unchanged_result_is_not_written_again(mode: str) -> None:
    assert not decide(mode, "fail", SAID)
    assert decide(mode, "pass", SAID.replace("f00d", "beef"))  # a stale verdict never stays
    assert decide(mode, "fail", f"{MARKER}\nan older comment without a fingerprint")


def test_a_first_pass_is_left_to_the_check_run_where_there_is_one() -> None:
    assert not decide("on-change", "pass", None)
    assert decide("on-change", "pass", None, has_status=False)  # the Hub: the comment is all
    assert decide("on-change", "warn", None)


def test_on_failure_speaks_first_only_for_a_failure() -> None:
    assert [decide("on-failure", v, None) for v in ("pass", "warn", "fail", "error")] == [
        False,
        False,
        True,
        True,
    ]


def test_always_writes() -> None:
    assert decide("always", "pass", None) and decide("always", "fail", SAID)
