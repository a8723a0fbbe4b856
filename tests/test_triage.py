"""`reviewbot triage`: argument parsing, the JSON/CSV contract, the order and filters, the table."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from reviewbot.cli.main import _parser
from reviewbot.cli.triage import build_query, parse_duration, run_triage
from reviewbot.errors import UsageError
from reviewbot.history.view import ContributionRow, TriageQuery, Worst
from tests.fakes.history import MemoryHistory

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def row(
    repo: str,
    number: int,
    verdict: str | None,
    *,
    opened_days: float,
    state: str = "open",
    platform: str = "github",
    title: str = "Add weights",
    first_time: bool = False,
    worst: Worst | None = None,
    updated_days: float | None = None,
) -> ContributionRow:
    opened = NOW - timedelta(days=opened_days)
    return ContributionRow(
        platform=platform,
        repo=repo,
        number=number,
        title=title,
        author=f"user{number}",
        first_time=first_time,
        url=f"https://example.test/{repo}/pull/{number}",
        state=state,  # type: ignore[arg-type]
        head_sha="a" * 40 if verdict else None,
        verdict=verdict,
        worst=worst,
        counts={"critical": 1} if worst else {},
        base_models=["org/base"],
        licence="apache-2.0",
        opened_at=opened,
        reviewed_at=opened + timedelta(hours=1) if verdict else None,
        updated_at=NOW - timedelta(days=updated_days) if updated_days is not None else None,
        size_bytes=1024,
    )


PICKLE = Worst("weights.pickle-global", "critical", "model.bin", "imports os.system")
ROWS = [
    row("acme/llm", 1, "pass", opened_days=30),
    row("acme/llm", 2, "fail", opened_days=2, worst=PICKLE, first_time=True),
    row("acme/llm", 3, "warn", opened_days=10),
    row("acme/llm", 4, None, opened_days=5),
    row("acme/llm", 5, "fail", opened_days=9, updated_days=1),
    row("acme/llm", 6, "fail", opened_days=40, state="closed"),
    row("org/model", 7, "error", opened_days=0.5, platform="hf"),
]


def args(*argv: str) -> object:
    return _parser().parse_args(["triage", *argv])


def triage(*argv: str, rows: list[ContributionRow] = ROWS, tty: bool = False) -> str:
    out = io.StringIO()
    assert (
        run_triage(args(*argv), MemoryHistory(list(rows), now=NOW), out=out, now=NOW, tty=tty) == 0
    )  # type: ignore[arg-type]
    return out.getvalue()


def refs(text: str) -> list[str]:
    return [f"{c['platform']}:{c['repo']}#{c['number']}" for c in json.loads(text)["contributions"]]


# ---- parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("12h", timedelta(hours=12)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["7", "7y", "0d", "-1d", "d", "1.5h", "99999999999999w", ""])
def test_bad_durations_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="duration"):
        parse_duration(text)


def test_arguments_become_the_query() -> None:
    query = build_query(
        args(
            "--repo",
            "github:acme/llm",
            "hf:org/model",
            "--verdict",
            "fail,warn",
            "--state",
            "all",
            "--since",
            "7d",
            "--sort",
            "age",
            "--limit",
            "5",
        ),  # type: ignore[arg-type]
        NOW,
    )
    assert query == TriageQuery(
        repos=("github:acme/llm", "hf:org/model"),
        verdicts=("fail", "warn"),
        state="all",
        since=NOW - timedelta(days=7),
        sort="age",
        limit=5,
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--repo", "acme/llm"], "bad repository"),
        (["--repo", "gitlab:acme/llm"], "bad repository"),
        (["--repo", "github:acme/../x"], "bad repository"),
        (["--verdict", "fail,maybe"], "bad verdict 'maybe'"),
        (["--verdict", ","], "bad verdict"),
        (["--state", "merged"], "bad --state"),
        (["--sort", "size"], "bad --sort"),
        (["--format", "xml"], "bad --format"),
        (["--limit", "0"], "bad --limit"),
        (["--limit", "ten"], "bad --limit"),
        (["--since", "yesterday"], "bad duration"),
    ],
)
def test_bad_arguments_name_the_value(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        build_query(args(*argv), NOW)  # type: ignore[arg-type]


def test_bad_arguments_exit_2_with_one_line_not_a_traceback() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "reviewbot", "triage", "--since", "soon"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "reviewbot: error: bad duration 'soon': expected a number and m, h, d or w (e.g. 7d)"
    ]


def test_without_the_history_store_the_command_says_so(tmp_path: object) -> None:
    # The SQL store is a separate module; until it is installed the command explains, exit 2.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "HF_"))}
    run = subprocess.run(
        [sys.executable, "-m", "reviewbot", "triage"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    try:
        import reviewbot.history.store  # noqa: F401
    except ImportError:
        assert run.returncode == 2
        assert "the review history is not available" in run.stderr
        assert "Traceback" not in run.stderr
    else:
        assert "Traceback" not in run.stderr


# ---- JSON, order and filters


def test_json_is_exactly_the_rows_contract() -> None:
    data = json.loads(triage("--format", "json", "--repo", "hf:org/model"))
    assert data == {"contributions": [ROWS[6].to_json()]}


def test_risk_order_is_failing_first_then_waiting_longest() -> None:
    assert refs(triage("--format", "json")) == [
        "github:acme/llm#5",  # fail, opened 9 days ago
        "github:acme/llm#2",  # fail, opened 2 days ago
        "hf:org/model#7",  # error
        "github:acme/llm#3",  # warn
        "github:acme/llm#4",  # not reviewed
        "github:acme/llm#1",  # pass
    ]


def test_other_orders_and_the_limit() -> None:
    assert refs(triage("--format", "json", "--sort", "age", "--limit", "2")) == [
        "github:acme/llm#1",
        "github:acme/llm#3",
    ]
    assert refs(triage("--format", "json", "--sort", "updated"))[0] == "hf:org/model#7"


def test_filters_by_verdict_state_repo_and_since() -> None:
    assert refs(triage("--format", "json", "--verdict", "fail")) == [
        "github:acme/llm#5",
        "github:acme/llm#2",
    ]
    assert refs(triage("--format", "json", "--verdict", "none")) == ["github:acme/llm#4"]
    assert refs(triage("--format", "json", "--state", "closed")) == ["github:acme/llm#6"]
    assert len(refs(triage("--format", "json", "--state", "all"))) == 7
    assert refs(triage("--format", "json", "--since", "3d")) == [
        "github:acme/llm#2",  # reviewed two days ago
        "hf:org/model#7",  # reviewed within the day
    ]


# ---- CSV


def test_csv_has_a_header_and_one_flat_line_per_contribution() -> None:
    lines = list(csv.DictReader(io.StringIO(triage("--format", "csv", "--verdict", "fail"))))
    assert [(line["repo"], line["number"]) for line in lines] == [
        ("acme/llm", "5"),
        ("acme/llm", "2"),
    ]
    worst = lines[1]
    assert worst["worst_rule"] == "weights.pickle-global"
    assert worst["worst_severity"] == "critical"
    assert worst["worst_path"] == "model.bin"
    assert worst["critical"] == "1" and worst["high"] == "0"
    assert worst["first_time"] == "true"
    assert worst["base_models"] == "org/base"
    assert lines[0]["worst_rule"] == ""


def test_csv_never_hands_a_spreadsheet_a_formula() -> None:
    hostile = row("acme/llm", 9, "warn", opened_days=1, title='=HYPERLINK("http://x","y")')
    (line,) = csv.DictReader(io.StringIO(triage("--format", "csv", rows=[hostile])))
    assert line["title"] == "'" + '=HYPERLINK("http://x","y")'


# ---- the table


def test_plain_columns_when_not_a_terminal() -> None:
    text = triage("--verdict", "fail,none")
    lines = text.splitlines()
    assert lines[0].split() == [
        "VERDICT",
        "CONTRIBUTION",
        "TITLE",
        "AUTHOR",
        "AGE",
        "WAITING",
        "WORST",
    ]
    assert "\x1b[" not in text
    assert lines[1].split()[:2] == ["fail", "github:acme/llm#5"]
    assert "9d" in lines[1] and "24h" in lines[1]  # age, and waiting since the update
    assert "user2 (first-time)" in lines[2] and "critical weights.pickle-global" in lines[2]
    assert lines[3].startswith("not reviewed  github:acme/llm#4")


def test_contributor_text_cannot_drive_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    hostile = row("acme/llm", 9, "warn", opened_days=1, title="\x1b[2J[red]wipe[/red]")
    plain = triage(rows=[hostile])
    assert "\x1b" not in plain and "\\x1b[2J[red]wipe[/red]" in plain
    coloured = triage(rows=[hostile], tty=True)
    assert "\x1b[2J" not in coloured and "[red]wipe[/red]" in coloured


def test_a_real_terminal_gets_the_coloured_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    master, slave = pty.openpty()
    with os.fdopen(slave, "w", encoding="utf-8") as out:
        history = MemoryHistory(list(ROWS), now=NOW)
        assert run_triage(args("--verdict", "fail,pass"), history, out=out, now=NOW) == 0  # type: ignore[arg-type]
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the other end is closed: all of it has been read
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    text = b"".join(chunks).decode("utf-8")
    assert "\x1b[1;31mfail" in text  # the verdict in bold red
    assert "\x1b[32mpass" in text
    assert "VERDICT" in text and "github:acme/llm#5" in text
    assert "(first-time)" in text
