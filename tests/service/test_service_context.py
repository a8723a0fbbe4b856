"""Unchanged context files (card, LICENSE) are reviewed, and the policy comes from the base."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save

from checks.findings import Finding, Severity
from reviewbot.models import ContributionRef, Platform
from reviewbot.platforms.github import GitHubPlatform
from reviewbot.platforms.hub import HubPlatform
from reviewbot.service import review_contribution
from reviewbot.workspace import fetch_and_review
from tests.conftest import ROOT
from tests.fakes import fake_hub
from tests.fakes.fake_github import FakeGitHub
from tests.fakes.fake_hub import FakeHub
from tests.service.conftest import CLEAN_CARD

APACHE = (ROOT / "checks" / "licence" / "texts" / "apache-2.0.txt").read_bytes()
# A pickle that imports a class of the repository's own: unknown to the scanner's allow-list.
OWN_PICKLE = b"\x80\x02cmypkg.config\nTrainArgs\n)\x81."
LFS = frozenset({"model.safetensors"})
MISSING_RULES = {"licence-file-missing", "card-licence-missing"}
_NUMBERS = iter(range(1, 10_000))


def weights(value: float = 1.0) -> bytes:
    return save({"w": np.full((4, 4), value, dtype=np.float32)}, metadata={"format": "pt"})


def gh_repo(github: FakeGitHub, files: dict[str, bytes]) -> str:
    name = f"acme/context-{next(_NUMBERS)}"
    github.add_repo(name, files=files, lfs=LFS)
    return name


def gh_findings(
    github: FakeGitHub, platform: GitHubPlatform, repo: str, files: dict[str, bytes]
) -> list[Finding]:
    """Open a pull request changing ``files`` and review it as the service does, unposted."""
    head = github.open_pull(repo, 1, files, lfs=LFS)
    ref = ContributionRef(Platform.GITHUB, repo, 1, head_sha=head, installation_id=4242)
    report, _listing = fetch_and_review(ref, platform, head)
    return report.findings


def rules(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings}


def test_unchanged_card_and_licence_are_read(github: FakeGitHub, gh: GitHubPlatform) -> None:
    repo = gh_repo(
        github, {"README.md": CLEAN_CARD, "LICENSE": APACHE, "model.safetensors": weights()}
    )
    head = github.open_pull(repo, 1, {"model.safetensors": weights(2.0)}, lfs=LFS)
    # only the weight file is listed as changed; the card and licence come along unlisted
    ref = ContributionRef(Platform.GITHUB, repo, 1, head_sha=head, installation_id=4242)
    outcome = review_contribution(ref, platform=gh)
    # a passing first review is the check run alone (no comment): its summary is the report
    assert github.comments(repo, 1) == []
    [summary] = [r["output"]["summary"] for r in github.runs(repo, head)]
    assert outcome.status == "posted" and outcome.verdict == "pass", summary
    for rule in MISSING_RULES:
        assert rule not in summary
    fetched = {
        r.path.rsplit("/contents/", 1)[-1]
        for r in github.requests("GET", f"^/repos/{repo}/contents/")
    }
    assert {"README.md", "LICENSE", "model.safetensors"} <= fetched
    # annotations name changed files only, never the context files read alongside
    [run] = github.runs(repo, head)
    assert all(a["path"] == "model.safetensors" for a in run["annotations"])


def test_without_context_files_they_are_reported_missing(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    repo = gh_repo(github, {})
    head = github.open_pull(repo, 1, {"model.safetensors": weights()}, lfs=LFS)
    ref = ContributionRef(Platform.GITHUB, repo, 1, head_sha=head, installation_id=4242)
    report, _listing = fetch_and_review(ref, gh, head)
    assert rules(report.findings) >= MISSING_RULES
    # the LFS oid is the file's sha256: the report names it without hashing the file again
    [weight] = [f for f in report.files if f.path == "model.safetensors"]
    assert weight.sha256 == hashlib.sha256(weights()).hexdigest()


def test_policy_in_the_pull_request_is_not_applied(github: FakeGitHub, gh: GitHubPlatform) -> None:
    repo = gh_repo(github, {"README.md": CLEAN_CARD})
    relaxed = b'[severity]\nlicence-file-missing = "info"\n'
    found = gh_findings(github, gh, repo, {".reviewbot.toml": relaxed, "notes.txt": b"hello\n"})
    [missing] = [f for f in found if f.rule == "licence-file-missing"]
    assert missing.severity is Severity.MEDIUM  # the base has no policy: the default grade
    assert "policy-changed" in rules(found)


def test_policy_on_the_base_is_applied(github: FakeGitHub, gh: GitHubPlatform) -> None:
    policy = b'[weights]\nallowed-imports = ["mypkg.config.TrainArgs"]\n'
    repo = gh_repo(github, {"README.md": CLEAN_CARD, "LICENSE": APACHE, ".reviewbot.toml": policy})
    found = gh_findings(github, gh, repo, {"training_args.bin": OWN_PICKLE})
    assert "unknown-import" not in rules(found)
    assert "policy-changed" not in rules(found)  # unchanged at the head: not the PR's doing
    assert not MISSING_RULES & rules(found)


def test_base_policy_is_read_at_the_base_not_the_head(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    # the base allows the import; the pull request takes the allowance away: the base governs
    repo = gh_repo(
        github,
        {".reviewbot.toml": b'[weights]\nallowed-imports = ["mypkg.config.TrainArgs"]\n'},
    )
    found = gh_findings(github, gh, repo, {".reviewbot.toml": b"", "training_args.bin": OWN_PICKLE})
    assert "unknown-import" not in rules(found)
    assert "policy-changed" in rules(found)


def test_an_invalid_base_policy_is_reported(github: FakeGitHub, gh: GitHubPlatform) -> None:
    repo = gh_repo(github, {".reviewbot.toml": b"[weights\n"})
    found = gh_findings(github, gh, repo, {"notes.txt": b"hello\n"})
    assert "policy-invalid" in rules(found)


def test_oversized_context_file_is_skipped_with_a_note(
    github: FakeGitHub, gh: GitHubPlatform
) -> None:
    big = CLEAN_CARD + b"x" * (1 << 20)
    repo = gh_repo(github, {"README.md": big, "LICENSE": APACHE})
    head = github.open_pull(repo, 1, {"notes.txt": b"hello\n"})
    ref = ContributionRef(Platform.GITHUB, repo, 1, head_sha=head, installation_id=4242)
    report, _listing = fetch_and_review(ref, gh, head)
    assert "card-licence-missing" in rules(report.findings)
    notes = [n for c in report.checks if c.name == "context" for n in c.notes]
    assert any(n.startswith("README.md: not fetched") for n in notes), notes
    assert not github.requests("GET", rf"^/repos/{repo}/contents/README\.md$")


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[FakeHub]:
    yield from fake_hub.serve(tmp_path / "hub")


@pytest.fixture
def hub_platform(hub: FakeHub) -> HubPlatform:
    return HubPlatform(endpoint=hub.endpoint, token="hf_test_token_0000")


def test_hub_unchanged_card_and_licence_are_read(hub: FakeHub, hub_platform: HubPlatform) -> None:
    hub.add_repo(
        "org/model", {"README.md": CLEAN_CARD, "LICENSE": APACHE, "model.safetensors": weights()}
    )
    number = hub.open_pr("org/model", {"model.safetensors": weights(2.0)})
    ref = ContributionRef(Platform.HF, "org/model", number)
    outcome = review_contribution(ref, platform=hub_platform)
    body = hub.comments("org/model", number)[0]["data"]["latest"]["raw"]
    assert outcome.status == "posted", body
    for rule in MISSING_RULES:
        assert rule not in body
    fetched = {p.rsplit("/", 1)[-1] for m, p in hub.requests if m == "GET" and "/resolve/" in p}
    assert fetched == {"README.md", "LICENSE", "model.safetensors"}


def test_hub_policy_comes_from_the_target_branch(hub: FakeHub, hub_platform: HubPlatform) -> None:
    policy = b'[weights]\nallowed-imports = ["mypkg.config.TrainArgs"]\n'
    hub.add_repo(
        "org/model", {"README.md": CLEAN_CARD, "LICENSE": APACHE, ".reviewbot.toml": policy}
    )
    # the pull request adds a pickle and, in its own copy of the policy, grades its edit down
    relaxed = policy + b'[severity]\npolicy-changed = "info"\n'
    number = hub.open_pr("org/model", {"training_args.bin": OWN_PICKLE, ".reviewbot.toml": relaxed})
    ref = ContributionRef(Platform.HF, "org/model", number)
    head = hub_platform.head_sha(ref)
    report, _listing = fetch_and_review(ref, hub_platform, head)
    found = rules(report.findings)
    assert "unknown-import" not in found  # the target branch's allowance holds
    assert not MISSING_RULES & found
    [changed] = [f for f in report.findings if f.rule == "policy-changed"]
    assert changed.severity is Severity.MEDIUM  # the pull request's own grading is ignored
