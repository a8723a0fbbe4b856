"""A review whose big files stay remote: the same findings as on disk, a fraction of the bytes."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import torch

from checks.base import RemoteBlob
from checks.cache import MemoryResultCache
from checks.licence.check import LicenceCheck
from checks.report import Report
from checks.weights.check import WeightScanCheck
from reviewbot.review import review_folder
from tests.fakes.range_server import RangeServer
from tests.weights.pickles import OS_SYSTEM_V4

CARD = "---\nlicense: apache-2.0\n---\n# A fine-tune\n"


def _blob(server: RangeServer, files_dir: Path, name: str) -> RemoteBlob:
    data = (files_dir / name).read_bytes()
    return RemoteBlob(server.url(name), size=len(data), sha256=hashlib.sha256(data).hexdigest())


def _findings(report: Report) -> set[tuple[str, str, str]]:
    return {(f.path, f.rule, f.severity.label) for f in report.findings}


def _contribution(tmp_path: Path) -> Path:
    root = tmp_path / "contribution"
    root.mkdir()
    (root / "README.md").write_text(CARD)
    return root


def test_remote_weights_get_the_findings_local_ones_get(
    server: RangeServer, files_dir: Path, tmp_path: Path
) -> None:
    torch.save({"w": torch.zeros(2_000_000)}, files_dir / "pytorch_model.bin")  # 8 MB zip
    (files_dir / "evil.pt").write_bytes(OS_SYSTEM_V4)
    root = _contribution(tmp_path)
    remote = {n: _blob(server, files_dir, n) for n in ("pytorch_model.bin", "evil.pt")}
    checks = [WeightScanCheck()]

    remote_report = review_folder(root, remote=remote, checks=checks)
    served = server.bytes_served
    local_root = tmp_path / "local"
    shutil.copytree(root, local_root)
    for name in remote:
        shutil.copy(files_dir / name, local_root / name)
    local_report = review_folder(local_root, checks=checks)

    assert _findings(remote_report) == _findings(local_report)
    assert ("evil.pt", "unsafe-import", "critical") in _findings(remote_report)
    assert remote_report.verdict.value == "fail"
    size = (files_dir / "pytorch_model.bin").stat().st_size
    by_path = {f.path: f for f in remote_report.files}
    assert by_path["pytorch_model.bin"].bytes_read < size // 20
    assert served < size // 10  # the server agrees: the tensor data never came down


def test_known_blob_is_not_fetched_again(
    server: RangeServer, files_dir: Path, tmp_path: Path
) -> None:
    torch.save({"w": torch.ones(100_000)}, files_dir / "model.pt")
    root = _contribution(tmp_path)
    remote = {"model.pt": _blob(server, files_dir, "model.pt")}
    cache = MemoryResultCache()
    checks = [WeightScanCheck()]

    first = review_folder(root, remote=remote, checks=checks, result_cache=cache)
    server.reset()
    second = review_folder(root, remote=remote, checks=checks, result_cache=cache)

    assert server.requests == [] and server.bytes_served == 0
    assert _findings(first) == _findings(second)
    assert [f.cached for f in second.files if f.path == "model.pt"] == [True]


def test_remote_source_file_gets_its_licence_header_checked(
    server: RangeServer, files_dir: Path, tmp_path: Path
) -> None:
    (files_dir / "train.py").write_text("import torch\n" * 50_000)  # 650 KB, no SPDX line
    (files_dir / "model.safetensors").write_bytes(b"\0" * 64)
    root = _contribution(tmp_path)
    remote = {n: _blob(server, files_dir, n) for n in ("train.py", "model.safetensors")}

    report = review_folder(root, remote=remote, checks=[LicenceCheck()])

    assert ("train.py", "licence-header-missing", "medium") in _findings(report)
    # only the head of the script was read, and the weights not at all
    paths = [path for _method, path, _range, _auth in server.requests]
    assert "/model.safetensors" not in paths
    assert server.bytes_served < 100_000
