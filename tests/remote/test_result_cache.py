"""Content-addressed scan results: a blob scanned once is not fetched, or opened, again."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from checks import cache as cache_module
from checks.base import Contribution
from checks.cache import MemoryResultCache, policy_fingerprint
from checks.weights.check import WeightScanCheck
from checks.weights.context import DeferredPolicy
from reviewbot.cli import main
from reviewbot.remote import scan_specs
from reviewbot.result_cache import KEY_PREFIX, RedisResultCache
from reviewbot.review import review_folder
from tests.fakes.fake_hub import FakeHub
from tests.remote.test_remote_scan import _write_safetensors
from tests.weights.pickles import OS_SYSTEM_V4

DEAD_REDIS = "redis://127.0.0.1:9/0"


@pytest.fixture
def cache_url(redis_url: str) -> Iterator[str]:
    """The session's private Redis with no scan results in it (other tests share the server)."""
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{KEY_PREFIX}*"):
        client.delete(key)
    yield redis_url
    client.close()


@pytest.fixture
def model(hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """hf://org/model: a safetensors file and a hostile pickle, both LFS (sha256 listed)."""
    path = tmp_path / "model.safetensors"
    _write_safetensors(path, tensors=4, elements=200_000)
    weights = path.read_bytes()
    hub.add_repo(
        "org/model", {"model.safetensors": weights, "extra/pytorch_model.bin": OS_SYSTEM_V4}
    )
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.delenv("REDIS_URL", raising=False)
    return weights


def _scan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["scan", "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def _resolves(hub: FakeHub) -> int:
    return sum("/resolve/" in path for _method, path in hub.requests)


def test_rescan_transfers_nothing_and_says_the_same(
    hub: FakeHub, model: bytes, cache_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, first = _scan(capsys, "--cache", cache_url, "hf://org/model")
    assert code == 1 and first["verdict"] == "fail"  # the hostile pickle
    cold_bytes, cold_resolves = hub.bytes_served, _resolves(hub)
    assert cold_bytes > 0 and cold_resolves > 0
    assert not any(f.get("cached") for f in first["files"])

    code2, second = _scan(capsys, "--cache", cache_url, "hf://org/model")
    assert hub.bytes_served == cold_bytes and _resolves(hub) == cold_resolves  # nothing fetched
    assert code2 == code and second["verdict"] == first["verdict"]
    assert second["findings"] == first["findings"]
    assert second["bytes_read"] == 0
    for file, before in zip(second["files"], first["files"], strict=True):
        assert file["cached"] is True and file["bytes_read"] == 0
        assert {k: file[k] for k in ("path", "format", "sha256", "verdict")} == {
            k: before[k] for k in ("path", "format", "sha256", "verdict")
        }


def test_hostile_file_stays_failing_from_the_cache(
    hub: FakeHub, model: bytes, cache_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _scan(capsys, "--cache", cache_url, "hf://org/model")
    code, report = _scan(capsys, "--cache", cache_url, "hf://org/model")
    hostile = "hf://org/model/extra/pytorch_model.bin"
    by_path = {f["path"]: f for f in report["files"]}
    assert code == 1 and by_path[hostile]["cached"] is True
    assert by_path[hostile]["verdict"] == "fail"
    worst = [f["severity"] for f in report["findings"] if f["path"] == hostile]
    assert "critical" in worst


def test_results_are_found_by_content_under_another_path(
    hub: FakeHub, model: bytes, cache_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _scan(capsys, "--cache", cache_url, "hf://org/model")
    hub.add_repo("other/copy", {"renamed.bin": OS_SYSTEM_V4})
    served = hub.bytes_served
    code, report = _scan(capsys, "--cache", cache_url, "hf://other/copy")
    assert code == 1 and hub.bytes_served == served
    assert {f["path"] for f in report["findings"]} == {"hf://other/copy/renamed.bin"}


def _remote_scan(
    hub: FakeHub, cache_url: str, extra: frozenset[str] = frozenset()
) -> tuple[int, list[bool]]:
    before = hub.bytes_served
    scans = scan_specs(
        ["hf://org/model"],
        DeferredPolicy(extra),
        endpoint=hub.endpoint,
        token=None,
        cache=RedisResultCache(cache_url),
        fingerprint=policy_fingerprint(extra),
    )
    return hub.bytes_served - before, [s.cached for s in scans]


def test_policy_and_scanner_version_changes_miss(
    hub: FakeHub, model: bytes, cache_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _remote_scan(hub, cache_url)[0] > 0
    assert _remote_scan(hub, cache_url) == (0, [True, True])
    extra = frozenset({"os.system"})
    moved, cached = _remote_scan(hub, cache_url, extra)
    assert moved > 0 and cached == [False, False]
    assert _remote_scan(hub, cache_url, extra) == (0, [True, True])
    monkeypatch.setattr(cache_module, "SCANNER_VERSION", cache_module.SCANNER_VERSION + "-next")
    moved, cached = _remote_scan(hub, cache_url)
    assert moved > 0 and cached == [False, False]


def test_dead_redis_still_scans(
    hub: FakeHub, model: bytes, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", DEAD_REDIS)  # the environment variable is honoured too
    for _ in range(2):
        served = hub.bytes_served
        code, report = _scan(capsys, "hf://org/model")
        assert code == 1 and hub.bytes_served > served
        assert not any(f.get("cached") for f in report["files"])
        assert {f["path"] for f in report["findings"]} == {"hf://org/model/extra/pytorch_model.bin"}


def _contribution(root: Path, cache: MemoryResultCache | None) -> Contribution:
    sha = hashlib.sha256(OS_SYSTEM_V4).hexdigest()
    return Contribution(
        root=root, files=["model.bin"], known_sha256={"model.bin": sha}, result_cache=cache
    )


def test_weight_check_hit_never_opens_the_file(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(OS_SYSTEM_V4)
    cache = MemoryResultCache()
    first = WeightScanCheck().run(_contribution(tmp_path, cache))
    assert first.files[0].bytes_read > 0 and not first.files[0].cached
    assert len(cache.entries) == 1

    (tmp_path / "model.bin").unlink()
    second = WeightScanCheck().run(_contribution(tmp_path, cache))
    assert second.findings == first.findings
    (fact,) = second.files
    assert fact.cached and fact.bytes_read == 0 and fact.format == first.files[0].format
    # Without the cache the file is gone: proof the hit above never looked for it.
    uncached = WeightScanCheck().run(_contribution(tmp_path, None))
    assert [f.rule for f in uncached.findings] == ["unreadable-file"]


def test_review_folder_uses_the_redis_cache(tmp_path: Path, cache_url: str) -> None:
    (tmp_path / "model.bin").write_bytes(OS_SYSTEM_V4)
    sha = {"model.bin": hashlib.sha256(OS_SYSTEM_V4).hexdigest()}
    cache = RedisResultCache(cache_url)
    checks = [WeightScanCheck()]
    first = review_folder(tmp_path, known_sha256=sha, result_cache=cache, checks=checks)
    # The folder lists the file, but a hit never reads it: emptied, it still reports the blob.
    (tmp_path / "model.bin").write_bytes(b"")
    second = review_folder(tmp_path, known_sha256=sha, result_cache=cache, checks=checks)
    assert second.verdict == first.verdict == "fail"
    assert [f.to_dict() for f in second.findings] == [f.to_dict() for f in first.findings]
    (file,) = second.to_dict()["files"]
    assert file["cached"] is True and file["bytes_read"] == 0 and file["sha256"] == sha["model.bin"]


def test_the_name_is_part_of_the_key(tmp_path: Path) -> None:
    # A benign pickle passes as .bin, but the same blob named .safetensors lies about itself.
    from checks.base import Contribution
    from checks.cache import MemoryResultCache
    from checks.weights.check import WeightScanCheck

    blob = b"\x80\x02]q\x00."  # an empty list, protocol 2
    sha = hashlib.sha256(blob).hexdigest()
    cache = MemoryResultCache()
    for name in ("weights.bin", "weights.safetensors"):
        (tmp_path / name).write_bytes(blob)
        contribution = Contribution(
            root=tmp_path, files=[name], known_sha256={name: sha}, result_cache=cache
        )
        rules = {f.rule for f in WeightScanCheck().run(contribution).findings}
        assert ("name-mismatch" in rules) == name.endswith(".safetensors")


def test_a_saved_model_is_not_read_from_a_cache_filled_under_another_name(tmp_path: Path) -> None:
    # The blob passes as unknown bytes named weights.pb; the same bytes as saved_model.pb are a
    # graph that writes files, and an earlier scan under the first name must not hide that.
    from tests.weights.saved_models import function, graph, node, saved_model

    blob = saved_model(graph([], [function("f", [node("w", "WriteFile", ["p", "x"])])]))
    sha = hashlib.sha256(blob).hexdigest()
    cache = MemoryResultCache()
    for name, fails in (("weights.pb", False), ("export/saved_model.pb", True)):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(blob)
        contribution = Contribution(
            root=tmp_path, files=[name], known_sha256={name: sha}, result_cache=cache
        )
        rules = {f.rule for f in WeightScanCheck().run(contribution).findings}
        assert ("saved-model-op" in rules) is fails
