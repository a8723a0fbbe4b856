"""`reviewbot action`: the GitHub Action's one command, driven by the variables a runner sets."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reviewbot.errors import ActionError as ActionError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


@dataclass(frozen=True)
class PullRequest:
    number: int | None
    title: str
    base_sha: str | None
    head_sha: str | None


def add_action_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    action = sub.add_parser(
        "action",
        help="review the checked-out repository in a GitHub Actions job (SARIF, summary, outputs)",
    )
    action.add_argument(
        "--path", default=".", help="the folder to review, relative to $GITHUB_WORKSPACE"
    )
    action.add_argument(
        "--changed-only",
        action="store_true",
        help="only the files the pull request changes (needs both commits: fetch-depth 0)",
    )
    action.add_argument("--sarif", default="reviewbot.sarif", metavar="FILE")
    action.add_argument(
        "--no-fail", action="store_true", help="exit 0 even when the verdict is fail"
    )
    action.add_argument("--offline", action="store_true", help="never contact the Hub")
    action.set_defaults(func=lambda args: run_action(args, os.environ))


def run_action(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    try:
        return _run(args, env)
    except ActionError as exc:
        print(f"reviewbot: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from checks.findings import Verdict
    from reviewbot.render.markdown import render_markdown
    from reviewbot.render.sarif import render_sarif
    from reviewbot.review import HubAccess, review_folder

    workspace = Path(env.get("GITHUB_WORKSPACE") or ".")
    root = (workspace / args.path).resolve()
    if not root.is_dir():
        raise ActionError(f"not a folder: {root}")
    pull = read_event(env.get("GITHUB_EVENT_PATH"))
    only, note = None, ""
    if args.changed_only:
        only, note = changed_files(root, pull)
    hub = None if args.offline else HubAccess(env.get("HF_ENDPOINT"), env.get("HF_TOKEN"))
    report = review_folder(root, hub=hub, only=only)

    sarif = Path(args.sarif) if Path(args.sarif).is_absolute() else workspace / args.sarif
    sarif.parent.mkdir(parents=True, exist_ok=True)
    sarif.write_text(render_sarif(report), encoding="utf-8")
    subject = f"pull request #{pull.number}" if pull.number else "this repository"
    summary = render_markdown(report, subject=subject, head_sha=pull.head_sha)
    if note:
        summary += f"\n> {note}\n"
    _append(env.get("GITHUB_STEP_SUMMARY"), summary)
    _append(env.get("GITHUB_OUTPUT"), f"verdict={report.verdict.value}\nsarif={sarif}\n")
    print(f"reviewbot: {report.verdict.value} ({len(report.findings)} findings); SARIF: {sarif}")
    if note:
        print(f"reviewbot: {note}", file=sys.stderr)
    failed = report.verdict is Verdict.FAIL
    return EXIT_FAIL if failed and not args.no_fail else EXIT_OK


def read_event(path: str | None) -> PullRequest:
    """The pull request of a ``pull_request`` (or ``pull_request_target``) event; any other
    event reviews the whole tree."""
    import json

    if not path:
        return PullRequest(None, "", None, None)
    try:
        event: Any = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ActionError(f"cannot read the event payload {path}: {exc}") from None
    pull = event.get("pull_request") if isinstance(event, dict) else None
    if not isinstance(pull, dict):
        return PullRequest(None, "", None, None)

    def sha(side: str) -> str | None:
        value = (pull.get(side) or {}).get("sha")
        return value if isinstance(value, str) else None

    number = pull.get("number")
    return PullRequest(
        number if isinstance(number, int) else None,
        str(pull.get("title") or ""),
        sha("base"),
        sha("head"),
    )


def changed_files(root: Path, pull: PullRequest) -> tuple[set[str] | None, str]:
    """Paths (relative to ``root``) the pull request changes, from git; (None, why) when git
    cannot tell, and then the whole tree is reviewed."""
    import subprocess  # only here: `reviewbot scan` starts faster without it

    if not (pull.base_sha and pull.head_sha):
        return None, "not a pull-request event: the whole tree was reviewed"
    try:
        out = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "diff",
                "--name-only",
                "-z",
                "--no-renames",
                "--diff-filter=d",
                "--relative",
                f"{pull.base_sha}...{pull.head_sha}",
            ],
            capture_output=True,
            check=True,
            timeout=120,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None, (
            "the pull request's base commit is not in the checkout (use actions/checkout with "
            "fetch-depth: 0): the whole tree was reviewed"
        )
    return {p for p in out.decode("utf-8", "surrogateescape").split("\0") if p}, ""


def _append(path: str | None, text: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(text)
