"""One-click fixes on GitHub: one suggestion review per head, against the fake GitHub over HTTP."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from checks.base import Contribution
from checks.licence.check import LicenceCheck
from checks.policy import Policy
from reviewbot.composition import ReviewInputs
from reviewbot.models import ContributionRef, Platform
from reviewbot.platforms.github import GitHubPlatform
from reviewbot.render.suggestions import MAX_SUGGESTIONS
from reviewbot.service import review_contribution
from tests.fakes.fake_github import FakeGitHub

_NUMBERS = iter(range(1, 10_000))
CARD = "---\nlicense: other\nlibrary_name: transformers\n---\n# Tiny Tune\n\nA model.\n"
TERMS = "The Tiny Terms\n\nUse it kindly and say where it came from.\n"
SCRIPT = "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\nprint('hi')\n"
FIXED_RULES = {"licence-header-missing", "card-licence-invalid"}
_SUGGESTION = re.compile(r"(`{3,})suggestion\n(.*?)\n\1", re.DOTALL)


def open_pull(github: FakeGitHub, files: dict[str, bytes], base: dict[str, bytes] | None = None):
    repo = f"acme/suggest-{next(_NUMBERS)}"
    github.add_repo(repo, files=base or {})
    head = github.open_pull(repo, 1, files)
    return repo, head


def ref_of(repo: str) -> ContributionRef:
    return ContributionRef(Platform.GITHUB, repo, 1, installation_id=4242)


def apply_suggestions(text: str, comments: list[dict[str, object]]) -> str:
    """What GitHub commits for each suggestion: the commented line range replaced by the block."""
    lines = text.splitlines()
    for comment in sorted(comments, key=lambda c: int(str(c["line"])), reverse=True):
        match = _SUGGESTION.search(str(comment["body"]))
        assert match is not None, comment["body"]
        end = int(str(comment["line"]))
        start = int(str(comment.get("start_line") or end))
        lines[start - 1 : end] = match.group(2).split("\n")
    return "\n".join(lines) + "\n"


def licence_rules(root: Path, files: dict[str, str]) -> set[str]:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    result = LicenceCheck().run(Contribution(root=root, files=sorted(files), policy=Policy()))
    return {f.rule for f in result.findings}


def our_comments(github: FakeGitHub, repo: str) -> list[dict[str, object]]:
    return github.review_comments(repo, 1)


def test_suggestions_applied_to_the_files_make_the_licence_check_pass(
    github: FakeGitHub, gh: GitHubPlatform, tmp_path: Path
) -> None:
    files = {"README.md": CARD, "LICENSE": TERMS, "run.py": SCRIPT}
    repo, head = open_pull(github, {k: v.encode() for k, v in files.items()})
    assert licence_rules(tmp_path / "before", files) >= FIXED_RULES

    assert review_contribution(ref_of(repo), platform=gh).status == "posted"

    [review] = github.reviews(repo, 1)
    assert review["commit_id"] == head and f"reviewbot:sha={head}" in str(review["body"])
    comments = our_comments(github, repo)
    assert sorted((c["path"], c["line"]) for c in comments) == [("README.md", 2), ("run.py", 2)]
    fixed = {
        path: apply_suggestions(text, [c for c in comments if c["path"] == path])
        for path, text in files.items()
    }
    assert fixed["run.py"].startswith(
        "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n# SPDX-License-Identifier: "
    )
    assert not FIXED_RULES & licence_rules(tmp_path / "after", fixed)


def test_a_new_push_replaces_the_suggestions(github: FakeGitHub, gh: GitHubPlatform) -> None:
    repo, _ = open_pull(github, {"a.py": b"print(1)\n", "b.py": b"print(2)\n"})
    review_contribution(ref_of(repo), platform=gh)
    assert len(our_comments(github, repo)) == 2

    newer = github.push(repo, 1, {"a.py": b"# SPDX-License-Identifier: MIT\nprint(1)\n"})
    review_contribution(ref_of(repo), platform=gh)

    [comment] = our_comments(github, repo)  # the old two are gone, b.py's is suggested again
    assert comment["path"] == "b.py" and comment["commit_id"] == newer
    current = [r for r in github.reviews(repo, 1) if f"sha={newer}" in str(r["body"])]
    assert len(current) == 1
    assert all(
        "older commit" in str(r["body"]) for r in github.reviews(repo, 1) if r not in current
    )


def test_a_review_created_but_answered_502_is_not_made_twice(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo, head = open_pull(github, {"a.py": b"print(1)\n"})
    github.fail("POST", rf"^/repos/{repo}/pulls/1/reviews$", 502, after=True)

    assert review_contribution(ref_of(repo), platform=gh).status == "posted"

    assert len(github.reviews(repo, 1)) == 1 and len(our_comments(github, repo)) == 1
    [run] = github.our_runs(repo, head)
    assert run["status"] == "completed"


def test_at_most_the_cap_are_suggested_the_rest_are_in_the_body(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    scripts = {f"s{i:02}.py": b"print(1)\n" for i in range(MAX_SUGGESTIONS + 2)}
    repo, _ = open_pull(github, scripts)

    review_contribution(ref_of(repo), platform=gh)

    assert len(our_comments(github, repo)) == MAX_SUGGESTIONS
    [review] = github.reviews(repo, 1)
    body = str(review["body"])
    assert "`s10.py`" in body and "`s11.py`" in body and "`s00.py`" not in body


def test_a_dry_run_suggests_nothing(github: FakeGitHub, gh: GitHubPlatform) -> None:
    repo, _ = open_pull(github, {"a.py": b"print(1)\n"})
    inputs = replace(ReviewInputs.of(None, gh), dry_run=True)

    outcome = review_contribution(ref_of(repo), platform=gh, inputs=inputs)

    assert "suggest 1 text fixes in a review" in outcome.would
    assert (
        github.reviews(repo, 1) == []
        and github.requests("POST", rf"^/repos/{repo}/pulls/1/reviews$") == []
    )


def test_a_line_outside_the_diff_is_written_in_the_body(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    old = "".join(f"x{i} = {i}\n" for i in range(20)).encode()
    repo, _ = open_pull(github, {"old.py": old + b"y = 1\n"}, base={"old.py": old})

    review_contribution(ref_of(repo), platform=gh)

    assert our_comments(github, repo) == []  # line 1 is not in the diff: GitHub would refuse it
    [review] = github.reviews(repo, 1)
    assert "replace line 1 with" in str(review["body"]) and "x0 = 0" in str(review["body"])
