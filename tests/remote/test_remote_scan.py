"""Remote scans through range reads: big checkpoints cost little, verdicts match local scans."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest

from checks.io.http import HttpRangeSource
from checks.weights.context import DeferredPolicy
from checks.weights.scanner import FileScan, scan_path, scan_remote
from reviewbot.cli import main
from tests.fakes.fake_hub import FakeHub
from tests.fakes.range_server import RangeServer
from tests.weights.pickles import OS_SYSTEM_V4

MB = 1 << 20


def _remote(server: RangeServer, name: str, **kwargs: int) -> FileScan:
    source = HttpRangeSource(server.url(name), **kwargs)
    return scan_remote(source, name, DeferredPolicy())


def _rules(scan: FileScan) -> list[tuple[str, str]]:
    return sorted((f.rule, f.severity.name) for f in scan.findings)


def _write_safetensors(path: Path, tensors: int, elements: int) -> None:
    """A safetensors file whose data section is a sparse hole: big on paper, small on disk."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    nbytes = elements * 4
    for i in range(tensors):
        header[f"layers.{i}.weight"] = {
            "dtype": "F32",
            "shape": [elements],
            "data_offsets": [i * nbytes, (i + 1) * nbytes],
        }
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with path.open("wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        f.truncate(8 + len(raw) + tensors * nbytes)


def test_torch_zip_checkpoint_reads_under_one_percent(server: RangeServer, files_dir: Path) -> None:
    torch = pytest.importorskip("torch")
    path = files_dir / "pytorch_model.bin"
    torch.save({"embed.weight": torch.zeros(50 * MB // 4 * 4)}, path)  # 200 MB of storage
    size = path.stat().st_size
    assert size > 200 * MB
    local = scan_path(path, "pytorch_model.bin", DeferredPolicy())
    remote = _remote(server, "pytorch_model.bin")
    assert remote.format == local.format == "pytorch-zip"
    assert _rules(remote) == _rules(local) == []
    assert remote.bytes_read == server.bytes_served < size // 100
    assert remote.requests <= 4
    assert local.bytes_read < size // 100


def test_sharded_safetensors_model_reads_under_one_percent(
    server: RangeServer, files_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    safetensors = pytest.importorskip("safetensors")
    shards = [f"model-{i:05d}-of-00004.safetensors" for i in range(1, 5)]
    weight_map = {}
    for i, name in enumerate(shards):
        _write_safetensors(files_dir / name, tensors=8, elements=8 * MB)  # 256 MB a shard
        with safetensors.safe_open(files_dir / name, framework="numpy") as f:
            assert len(f.keys()) == 8  # the library itself accepts the hand-written header
        weight_map.update({f"layers.{i}.{k}": name for k in range(8)})
    index = {"metadata": {"total_size": 4 * 256 * MB}, "weight_map": weight_map}
    (files_dir / "model.safetensors.index.json").write_text(json.dumps(index))
    total = sum((files_dir / n).stat().st_size for n in shards)
    assert total >= 1 << 30
    names = [*shards, "model.safetensors.index.json"]
    code = main(["scan", "--format", "json", *(server.url(n) for n in names)])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["verdict"] == "pass", report["findings"]
    assert [f["format"] for f in report["files"]][:4] == ["safetensors"] * 4
    assert report["bytes_read"] == server.bytes_served < total // 100
    assert len(server.requests) == len(names)  # one request per file: size and header at once
    assert all(f["bytes_read"] > 0 and not f["full_download"] for f in report["files"])


def test_hostile_pickle_fails_the_same_way_remotely(server: RangeServer, files_dir: Path) -> None:
    path = files_dir / "model.bin"
    path.write_bytes(OS_SYSTEM_V4)
    local = scan_path(path, "model.bin", DeferredPolicy())
    remote = _remote(server, "model.bin")
    assert _rules(remote) == _rules(local)
    assert max(f.severity for f in remote.findings).name == "CRITICAL"
    assert [f.message for f in remote.findings] == [f.message for f in local.findings]


def test_legacy_torch_checkpoint_reads_only_its_pickles(
    server: RangeServer, files_dir: Path
) -> None:
    torch = pytest.importorskip("torch")
    path = files_dir / "legacy.pt"
    torch.save(
        {"w": torch.zeros(8 * MB)}, path, _use_new_zipfile_serialization=False
    )  # 32 MB of raw storage after five small pickles
    local = scan_path(path, "legacy.pt", DeferredPolicy())
    remote = _remote(server, "legacy.pt")
    assert remote.format == local.format
    assert _rules(remote) == _rules(local)
    assert remote.bytes_read < path.stat().st_size // 100
    assert remote.requests == 1


def test_request_bound_is_a_finding(server: RangeServer, files_dir: Path) -> None:
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.zeros(4 * MB)}, files_dir / "model.pt")
    scan = _remote(server, "model.pt", max_requests=1)
    assert ("limit-exceeded", "HIGH") in _rules(scan)


def test_server_ignoring_range_falls_back_and_says_so(
    server: RangeServer, files_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_safetensors(files_dir / "model.safetensors", tensors=2, elements=1000)
    server.ignore_range = True
    code = main(["scan", "--format", "json", server.url("model.safetensors")])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    (file,) = report["files"]
    size = (files_dir / "model.safetensors").stat().st_size
    assert file["full_download"] is True and file["bytes_read"] == size
    assert [f["rule"] for f in report["findings"]] == ["full-download"]


def test_dead_urls_are_findings_not_tracebacks(
    server: RangeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = server.base.rsplit(":", 1)[0] + ":9"
    code = main(["scan", "--format", "json", server.url("gone.bin"), f"{dead}/model.bin"])
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert code == 1
    assert "Traceback" not in captured.err
    rules = {(f["path"], f["rule"], f["severity"]) for f in report["findings"]}
    assert rules == {
        (server.url("gone.bin"), "unreadable-file", "high"),
        (f"{dead}/model.bin", "unreadable-file", "high"),
    }


def test_hub_pull_request_is_listed_and_scanned(
    hub: FakeHub,
    files_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _write_safetensors(files_dir / "model.safetensors", tensors=4, elements=200_000)
    weights = (files_dir / "model.safetensors").read_bytes()
    hub.add_repo("org/model", {"config.json": "{}", "model.safetensors": weights})
    hub.open_pr("org/model", {"extra/pytorch_model.bin": OS_SYSTEM_V4})
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")

    assert main(["scan", "--format", "json", "hf://org/model"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [f["path"] for f in report["files"]] == [
        "hf://org/model/config.json",
        "hf://org/model/model.safetensors",
    ]
    assert report["bytes_read"] < len(weights) // 10

    assert main(["scan", "--format", "json", "hf://org/model@refs/pr/1"]) == 1
    report = json.loads(capsys.readouterr().out)
    prefix = "hf://org/model@refs/pr/1/"
    assert [f["path"] for f in report["files"]] == [
        f"{prefix}config.json",
        f"{prefix}extra/pytorch_model.bin",
        f"{prefix}model.safetensors",
    ]
    hostile = [f for f in report["findings"] if f["path"] == f"{prefix}extra/pytorch_model.bin"]
    assert hostile and hostile[0]["severity"] in ("critical", "high")
    # The Hub's LFS sha256 is reported without reading the file for it.
    by_path = {f["path"]: f for f in report["files"]}
    assert by_path[f"{prefix}model.safetensors"]["sha256"] is not None
    resolves = [path for method, path in hub.requests if "/resolve/" in path]
    assert any("refs%2Fpr%2F1" in p or "refs/pr/1" in p for p in resolves)


def test_missing_hub_repo_is_a_finding(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    assert main(["scan", "--format", "json", "hf://org/absent"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(f["path"], f["rule"]) for f in report["findings"]] == [
        ("hf://org/absent", "unreadable-file")
    ]


def test_bad_hub_spec_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "hf://just-a-name"]) == 2
    assert "hf://ORG/MODEL" in capsys.readouterr().err


def test_local_scan_reports_bytes_read(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    _write_safetensors(path, tensors=4, elements=MB)
    scan = scan_path(path, "model.safetensors", DeferredPolicy())
    assert 0 < scan.bytes_read < os.path.getsize(path) // 100


@pytest.mark.parametrize(
    "fault", ["breaks", "statuses"], ids=["body-cut-off", "503-then-429"]
)  # fmt: skip
def test_a_range_read_that_breaks_is_tried_again_not_a_finding(
    server: RangeServer, files_dir: Path, fault: str
) -> None:
    _write_safetensors(files_dir / "model.safetensors", tensors=4, elements=1024)
    local = scan_path(files_dir / "model.safetensors", "model.safetensors", DeferredPolicy())
    if fault == "breaks":
        server.breaks = 2
    else:
        server.statuses = [503, 429]

    remote = _remote(server, "model.safetensors")

    assert "unreadable-file" not in {f.rule for f in remote.findings}
    assert _rules(remote) == _rules(local)


def test_a_read_that_keeps_breaking_is_still_an_unreadable_file(
    server: RangeServer, files_dir: Path
) -> None:
    _write_safetensors(files_dir / "model.safetensors", tensors=4, elements=1024)
    server.breaks = 100

    remote = _remote(server, "model.safetensors")

    assert ("unreadable-file", "HIGH") in _rules(remote)
