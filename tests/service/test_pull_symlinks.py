"""Symbolic links in a pull request: told apart by git's tree, never fetched as what they name."""

from __future__ import annotations

import pytest

from reviewbot.models import ContributionRef, Platform
from reviewbot.platforms.github import GitHubPlatform
from reviewbot.service import review_contribution
from tests.fakes.fake_github import FakeGitHub
from tests.service.conftest import CLEAN_CARD

_NUMBERS = iter(range(1, 10_000))


def new_repo(github: FakeGitHub) -> str:
    name = f"acme/links-{next(_NUMBERS)}"
    github.add_repo(name, files={"README.md": CLEAN_CARD})
    return name


def review(github: FakeGitHub, gh: GitHubPlatform, repo: str, head: str) -> tuple[str, str]:
    ref = ContributionRef(Platform.GITHUB, repo, 1, head_sha=head, installation_id=4242)
    assert review_contribution(ref, platform=gh).status == "posted"
    [comment] = github.comments(repo, 1)
    [run] = github.runs(repo, head)
    return comment["body"], str(run["conclusion"])


@pytest.mark.parametrize("target", ["/etc/passwd", "../../../home/user/.ssh/id_rsa"])
def test_a_link_out_of_the_repository_fails_the_pull_request(
    github: FakeGitHub, gh: GitHubPlatform, target: str
) -> None:
    repo = new_repo(github)
    head = github.open_pull(repo, 1, {"notes.txt": b"hello\n"}, links={"tokenizer.json": target})
    body, conclusion = review(github, gh, repo, head)
    assert conclusion == "failure"
    assert "symlink-outside" in body and "tokenizer.json" in body
    assert target.replace("_", "\\_") in body  # as the comment's Markdown escapes it
    # the link was read from git's tree and blob, never fetched through the contents API
    assert github.requests("GET", rf"^/repos/{repo}/git/trees/{head}$")
    assert not github.requests("GET", rf"^/repos/{repo}/contents/tokenizer.json")


def test_a_link_to_a_file_of_the_repository_is_only_noted(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo = new_repo(github)
    head = github.open_pull(
        repo, 1, {"notes.txt": b"hello\n"}, links={"README-link.md": "README.md"}
    )
    body, conclusion = review(github, gh, repo, head)
    assert conclusion != "failure" and "symlink" in body and "symlink-outside" not in body


def test_a_pull_request_without_links_asks_git_once(github: FakeGitHub, gh: GitHubPlatform) -> None:
    repo = new_repo(github)
    head = github.open_pull(repo, 1, {"notes.txt": b"hello\n"})
    body, conclusion = review(github, gh, repo, head)
    assert conclusion != "failure" and "symlink" not in body
    assert len(github.requests("GET", rf"^/repos/{repo}/git/trees/")) == 1
    assert not github.requests("GET", rf"^/repos/{repo}/git/blobs/")
