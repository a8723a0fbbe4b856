"""Full-size pull requests reviewed through range reads: gigabytes listed, kilobytes transferred.

The models are real files (torch.save, the safetensors library) built once per machine by
``tests.fakes.big_models``; the fakes serve them from disk and count every byte they send.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from reviewbot.models import ContributionRef, Platform
from reviewbot.platforms.github import GitHubPlatform
from reviewbot.platforms.hub import HubPlatform
from reviewbot.service import review_contribution
from tests.conftest import ROOT
from tests.fakes import big_models, fake_hub
from tests.fakes.big_models import BuiltModel
from tests.fakes.fake_github import FakeGitHub
from tests.fakes.fake_hub import FakeHub
from tests.service.conftest import CLEAN_CARD

APACHE = (ROOT / "checks" / "licence" / "texts" / "apache-2.0.txt").read_bytes()
ONE_PERCENT = 0.01
_NUMBERS = iter(range(1, 10_000))


@pytest.fixture(scope="module")
def torch_1gb() -> BuiltModel:
    return big_models.torch_checkpoint()


@pytest.fixture(scope="module")
def llama_5gb() -> BuiltModel:
    return big_models.sharded_safetensors()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[FakeHub]:
    yield from fake_hub.serve(tmp_path / "hub")


def _gh_pull(github: FakeGitHub, model: BuiltModel) -> tuple[str, ContributionRef]:
    repo = f"acme/big-{next(_NUMBERS)}"
    github.add_repo(repo, files={"README.md": CLEAN_CARD, "LICENSE": APACHE})
    lfs = frozenset(model.files)
    head = github.open_pull(repo, 1, dict(model.files), lfs=lfs)
    return repo, ContributionRef(Platform.GITHUB, repo, 1, head_sha=head, installation_id=4242)


def _body(github: FakeGitHub, repo: str) -> str:
    [comment] = github.comments(repo, 1)
    return str(comment["body"])


def test_a_1gb_torch_checkpoint_is_reviewed_with_under_1_percent_transferred(
    github: FakeGitHub, gh: GitHubPlatform, torch_1gb: BuiltModel
) -> None:
    repo, ref = _gh_pull(github, torch_1gb)
    github.reset_counters()

    outcome = review_contribution(ref, platform=gh)

    body = _body(github, repo)
    # benign: the scan finds nothing; the evals only ask for safetensors (pickles are not loaded)
    assert outcome.status == "posted" and outcome.verdict == "warn", body
    assert "`weights/" not in body and "evals/evals-not-evaluated" in body
    assert 0 < github.bytes_served < ONE_PERCENT * torch_1gb.size
    # the object itself came through its LFS download link, by ranges, never whole
    [oid] = [b.sha256 for b in torch_1gb.files.values()]
    assert 0 < github.bytes_by_path[oid] < ONE_PERCENT * torch_1gb.size
    assert "pytorch_model.bin" in body


def test_a_recheck_of_an_unchanged_pull_request_transfers_nothing(
    github: FakeGitHub, gh: GitHubPlatform, torch_1gb: BuiltModel
) -> None:
    repo, ref = _gh_pull(github, torch_1gb)
    first = review_contribution(ref, platform=gh)
    github.reset_counters()
    reused_before = _reused("github")

    again = review_contribution(ref, reason="recheck", platform=gh)

    assert again.status == "posted" and again.verdict == first.verdict
    assert github.bytes_served == 0 and github.file_requests == 0
    # the verdict is unchanged, so the quiet bot leaves the comment alone; the check run says why
    latest = github.runs(repo, ref.head_sha)[-1]
    assert latest["status"] == "completed"
    assert "no file was read again" in json.dumps(latest["output"])
    assert _reused("github") == reused_before + 1  # and an operator sees it on /metrics


def _reused(platform: str) -> float:
    value = REGISTRY.get_sample_value("reviewbot_reviews_reused_total", {"platform": platform})
    return value or 0.0


def test_a_5gb_sharded_model_on_the_hub_is_reviewed_with_under_1_percent_transferred(
    hub: FakeHub, llama_5gb: BuiltModel
) -> None:
    hub.add_repo("org/llama", {"README.md": CLEAN_CARD, "LICENSE": APACHE})
    number = hub.open_pr("org/llama", dict(llama_5gb.files))
    first_shard = sorted(p for p in llama_5gb.files if p.endswith(".safetensors"))[0]
    hub.set_security("org/llama", first_shard, status="unscanned")
    platform = HubPlatform(endpoint=hub.endpoint, token="hf_test_token_0000")
    ref = ContributionRef(Platform.HF, "org/llama", number)
    hub.reset_counters()

    outcome = review_contribution(ref, platform=platform)

    [comment] = hub.comments("org/llama", number)
    body = str(comment["data"]["latest"]["raw"])
    assert outcome.status == "posted" and outcome.verdict == "pass", body
    assert 0 < hub.bytes_served < ONE_PERCENT * llama_5gb.size
    # the Hub's own scan sits beside ours, for information
    assert "Hub scan" in body and "unscanned" in body
    # the NaN/Inf pass would have streamed all 5 GB: the comment says it was skipped, and why
    assert "tensor-checks-skipped" in body

    hub.reset_counters()
    again = review_contribution(ref, reason="recheck", platform=platform)
    assert again.status == "posted" and hub.bytes_served == 0 and hub.file_requests == 0
