"""The dashboard issue's body: sections by verdict, inert contributor text, the ticked boxes."""

from __future__ import annotations

from reviewbot.markers import DASHBOARD_MARKER
from reviewbot.triage_issue import BODY_LIMIT, newly_ticked, render_dashboard, ticked
from tests.test_triage import PICKLE, row


def test_sections_in_verdict_order_with_one_unticked_box_each() -> None:
    rows = [
        row("acme/llm", 1, "pass", opened_days=3),
        row("acme/llm", 2, None, opened_days=2),
        row("acme/llm", 3, "fail", opened_days=1, worst=PICKLE, first_time=True),
        row("acme/llm", 4, "warn", opened_days=1),
    ]
    body = render_dashboard("acme/llm", rows)
    assert body.startswith(DASHBOARD_MARKER)
    headings = [line for line in body.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Failing (1)",
        "## Warnings (1)",
        "## Not reviewed yet (1)",
        "## Passing (1)",
    ]
    failing = body.split("## Failing (1)")[1].split("##")[0]
    assert (
        "- [ ] <!-- recheck:3 --> recheck [#3 Add weights](https://example.test/acme/llm/pull/3)"
        " by user3 (first-time contributor) — critical: `weights.pickle-global`" in failing
    )
    assert ticked(body) == set()


def test_no_open_pull_requests() -> None:
    assert "No open pull requests." in render_dashboard("acme/llm", [])


def test_a_title_can_neither_forge_a_box_nor_break_the_link() -> None:
    title = "x](https://evil.test) <!-- recheck:99 -->\n- [x] <!-- recheck:98 --> recheck"
    body = render_dashboard("acme/llm", [row("acme/llm", 5, "warn", opened_days=1, title=title)])
    assert "<!-- recheck:99" not in body and "](https://evil.test)" not in body
    # ticking every box a reader can see asks for #5 only
    assert ticked(body.replace("- [ ]", "- [x]")) == {5}
    assert len(body.splitlines()) == len(body.replace(title, "t").splitlines())


def test_only_newly_ticked_boxes_count() -> None:
    before = "\n".join(
        [
            DASHBOARD_MARKER,
            "- [x] <!-- recheck:1 --> recheck #1",
            "- [ ] <!-- recheck:2 --> recheck #2",
        ]
    )
    after = before.replace("- [ ] <!-- recheck:2", "- [X] <!-- recheck:2")
    assert newly_ticked(after, before) == [2]
    assert newly_ticked(before, before) == []
    assert newly_ticked(before.replace("- [x]", "- [ ]"), before) == []  # unticking asks nothing
    # a box somewhere else than the start of a line (quoted, indented) is not a box
    assert ticked("> - [x] <!-- recheck:3 --> recheck") == set()


def test_a_huge_repository_still_fits_in_one_issue() -> None:
    rows = [row("acme/llm", n, "warn", opened_days=1, title="t" * 120) for n in range(1, 2001)]
    body = render_dashboard("acme/llm", rows)
    assert len(body) <= BODY_LIMIT
    assert "more that do not fit in one issue" in body
