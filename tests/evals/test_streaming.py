"""Tier 1 over HTTP range reads: the same findings as on disk, bounded memory, a byte cap."""

from __future__ import annotations

import gc
import json
import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from checks.base import CheckResult, Contribution, RemoteBlob
from checks.evals.check import QuickEvalCheck
from checks.findings import Finding, Severity
from checks.runner import run_checks
from reviewbot.files import contribution_files
from tests.evals.builders import contribution
from tests.evals.conftest import CUT_AFTER, EMBEDDING
from tests.fakes.range_server import RangeServer

MiB = 1 << 20
WEIGHTS = "model.safetensors"


def remote_copy(
    src: Path,
    served: Path,
    server: RangeServer,
    root: Path,
    base: Path | None,
    *,
    max_stream_bytes: int | None = None,
    size_bias: int = 0,
) -> Contribution:
    """``src`` as a contribution whose every file stays on the server: nothing under ``root``."""
    shutil.copytree(src, served, dirs_exist_ok=True)
    root.mkdir()
    files = contribution_files(src)
    remote = {
        rel: RemoteBlob(server.url(rel), size=(served / rel).stat().st_size + size_bias)
        for rel in files
    }
    return Contribution(
        root=root, files=files, base=base, remote=remote, max_stream_bytes=max_stream_bytes
    )


def run(c: Contribution) -> CheckResult:
    return QuickEvalCheck().run(c)


def dicts(findings: list[Finding]) -> list[dict[str, object]]:
    return [f.to_dict() for f in findings]


def weight_bytes_served(server: RangeServer, size: int) -> int:
    """Bytes the server sent for the weights: each request's range, clamped to the file."""
    total = 0
    for _method, path, ranged, _auth in server.requests:
        if path == WEIGHTS and ranged:
            first, _, last = ranged.removeprefix("bytes=").partition("-")
            total += min(int(last) + 1 if last else size, size) - int(first)
    return total


@pytest.mark.parametrize("change", ["nan", "swap", "scramble"])
def test_remote_weights_get_the_findings_local_ones_get(
    minilm_variants: dict[str, Path],
    minilm: Path,
    files_dir: Path,
    server: RangeServer,
    tmp_path: Path,
    change: str,
) -> None:
    src = minilm_variants[change]
    local = run(contribution(src, minilm))
    remote = run(remote_copy(src, files_dir, server, tmp_path / "root", minilm))
    assert local.findings and any(f.severity is Severity.HIGH for f in local.findings)
    assert dicts(remote.findings) == dicts(local.findings)
    assert remote.notes == local.notes
    # What the facts say was read is what went over the wire.
    assert sum(f.bytes_read for f in remote.files) == server.bytes_served
    facts = {f.path: f for f in remote.files}
    assert facts[WEIGHTS].format == "safetensors" and facts["config.json"].format == "text"
    size = (src / WEIGHTS).stat().st_size
    if change == "nan":  # one pass: the header, then one ranged read of every tensor
        assert size <= facts[WEIGHTS].bytes_read < size + MiB
        assert sum(p == WEIGHTS for _m, p, _r, _a in server.requests) <= 3


def _shard(src: Path, dest: Path, *, misfile: str) -> None:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("*.safetensors"))
    tensors = load_file(str(src / WEIGHTS))
    names = sorted(tensors)
    halves = {"model-00001-of-00002.safetensors": names[:50]}
    halves["model-00002-of-00002.safetensors"] = names[50:]
    weight_map = {}
    for shard, part in halves.items():
        save_file({n: tensors[n] for n in part}, str(dest / shard), metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(part, shard))
    weight_map[misfile] = "model-00002-of-00002.safetensors"
    index = {"metadata": {"total_size": 0}, "weight_map": weight_map}
    (dest / "model.safetensors.index.json").write_text(json.dumps(index))


def test_remote_shards_and_index_are_checked_as_on_disk(
    minilm_variants: dict[str, Path],
    minilm: Path,
    files_dir: Path,
    server: RangeServer,
    tmp_path: Path,
) -> None:
    _shard(minilm_variants["nan"], tmp_path / "sharded", misfile=EMBEDDING)
    local = run(contribution(tmp_path / "sharded", minilm))
    remote = run(remote_copy(tmp_path / "sharded", files_dir, server, tmp_path / "root", minilm))
    assert {"evals-index-mismatch", "evals-nan"} <= {f.rule for f in local.findings}
    assert dicts(remote.findings) == dicts(local.findings)


@pytest.mark.parametrize("change", ["nan", "truncate"])
def test_over_the_bound_only_headers_are_read(
    minilm_variants: dict[str, Path],
    minilm: Path,
    files_dir: Path,
    server: RangeServer,
    tmp_path: Path,
    change: str,
) -> None:
    src = minilm_variants[change]
    c = remote_copy(src, files_dir, server, tmp_path / "root", minilm, max_stream_bytes=MiB)
    result = run(c)
    local = run(contribution(src, minilm, max_stream_bytes=MiB))
    assert dicts(result.findings) == dicts(local.findings)
    (skipped,) = [f for f in result.findings if f.rule == "evals-tensor-checks-skipped"]
    assert skipped.severity is Severity.INFO and skipped.path == WEIGHTS
    planned = skipped.extra["tensor_bytes"]
    assert planned > 80 * MiB and skipped.extra["max_stream_bytes"] == MiB
    assert skipped.message == (
        f"NaN/Inf and base-delta checks skipped: {planned / MiB:.1f} MiB of tensor data is over "
        "the 1.0 MiB streaming bound; header and structure checks ran"
    )
    assert any("tensor checks skipped" in n for n in result.notes)
    high = {f.rule for f in result.findings if f.severity >= Severity.HIGH}
    if change == "nan":  # the NaN is there, but nothing read it
        assert high == set()
    else:  # shapes come from the header: the truncated embedding is still caught
        assert high == {
            "evals-truncated-embedding",
            "evals-config-mismatch",
            "evals-tokenizer-mismatch",
        }
    size = (src / WEIGHTS).stat().st_size
    assert 0 < weight_bytes_served(server, size) < size // 100


def test_streaming_a_256_mb_tensor_keeps_memory_flat(
    files_dir: Path, server: RangeServer, tmp_path: Path
) -> None:
    (tmp_path / "base").mkdir()
    values = np.full((8192, 8192), 0.5, dtype=np.float32)  # 256 MiB
    values[::97, ::89] = 0.25
    save_file({"w": values}, str(tmp_path / "base" / WEIGHTS))
    values[::89, ::97] = 0.75
    broken = np.ones(8, dtype=np.float32)
    broken[-3:] = np.nan  # after the big tensor in the file: it is reached only by streaming on
    save_file({"w": values, "x": broken}, str(files_dir / WEIGHTS))
    del values
    gc.collect()
    size = (files_dir / WEIGHTS).stat().st_size
    c = Contribution(
        root=tmp_path / "root",
        files=[WEIGHTS],
        base=tmp_path / "base",
        remote={WEIGHTS: RemoteBlob(server.url(WEIGHTS), size=size)},
    )
    tracemalloc.start()
    try:
        result = run(c)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (nan,) = [f for f in result.findings if f.rule == "evals-nan"]
    assert nan.extra["nan"] == 3
    assert nan.location == "x"
    assert any("delta vs base: 1 tensors compared" in n for n in result.notes), result.notes
    assert server.bytes_served >= size
    print(f"peak {peak / MiB:.1f} MiB")
    assert peak < 32 * MiB, f"peak {peak / MiB:.1f} MiB streaming {size / MiB:.0f} MiB"


def _two_tensor_file(path: Path) -> None:
    first = np.ones(1 << 18, dtype=np.float32)  # 1 MiB: arrives before the cut
    second = np.ones(1 << 20, dtype=np.float32)  # 4 MiB: the transfer breaks off in here
    second[-1] = np.nan
    save_file({"a": first, "b": second}, str(path))


def test_a_transfer_that_breaks_off_is_a_finding(
    files_dir: Path, breaking_server: RangeServer, tmp_path: Path
) -> None:
    _two_tensor_file(files_dir / WEIGHTS)
    size = (files_dir / WEIGHTS).stat().st_size
    assert size > 4 * CUT_AFTER
    c = Contribution(
        root=tmp_path,
        files=[WEIGHTS],
        remote={WEIGHTS: RemoteBlob(breaking_server.url(WEIGHTS), size=size)},
    )
    report = run_checks(c, [QuickEvalCheck()])
    (failed,) = report.findings
    assert (failed.rule, failed.severity, failed.path) == (
        "evals-read-failed",
        Severity.HIGH,
        WEIGHTS,
    )
    assert "the tensor data broke off" in failed.message
    assert "did not finish for this file" in failed.message


def test_a_file_shorter_than_listed_is_a_finding(
    files_dir: Path, server: RangeServer, tmp_path: Path
) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    _two_tensor_file(folder / WEIGHTS)
    c = remote_copy(folder, files_dir, server, tmp_path / "root", None, size_bias=100)
    report = run_checks(c, [QuickEvalCheck()])
    (failed,) = report.findings
    assert (failed.rule, failed.severity) == ("evals-read-failed", Severity.HIGH)
    assert "the header could not be read" in failed.message and "bytes, not the" in failed.message
    assert report.verdict.value == "fail"


def test_an_oversized_config_is_reported_not_read(
    minilm_variants: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("checks.evals.files.MAX_WHOLE_BYTES", 64)
    result = run(contribution(minilm_variants["truncate"], None))
    too_large = {f.path: f for f in result.findings if f.rule == "evals-file-too-large"}
    assert too_large["config.json"].severity is Severity.INFO
    assert "over the 64 bytes bound for files the evals read whole" in (
        too_large["config.json"].message
    )
    # Not read, so not compared: only the header's view of the embedding is left.
    assert "evals-config-mismatch" not in {f.rule for f in result.findings}


def test_tier2_leaves_remote_weights_alone(
    minilm: Path, files_dir: Path, server: RangeServer, tmp_path: Path
) -> None:
    from checks.evals.model_check import ModelEvalCheck, torch_available

    if not torch_available():
        pytest.skip("tier 2 needs reviewbot[evals]")
    c = remote_copy(minilm, files_dir, server, tmp_path / "root", minilm)
    c = Contribution(root=c.root, files=c.files, base=minilm, remote=c.remote, run_model_evals=True)
    result = ModelEvalCheck().run(c)
    assert result.findings == []
    assert result.notes == [
        "tier 2 skipped: config.json, model.safetensors stayed on the platform "
        "(tier 2 loads a local copy of the model)"
    ]


def test_overlapping_tensors_and_gaps_stream_as_they_map(
    files_dir: Path, server: RangeServer, tmp_path: Path
) -> None:
    # Loaders refuse such a file and the weight scan fails it; the evals must still not misread.
    header = {
        "a": {"dtype": "F32", "shape": [2 * MiB], "data_offsets": [0, 8 * MiB]},
        "b": {"dtype": "F32", "shape": [MiB], "data_offsets": [6 * MiB, 10 * MiB]},
        "c": {"dtype": "F32", "shape": [256], "data_offsets": [12 * MiB, 12 * MiB + 1024]},
    }
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    data = np.ones(3 * MiB + 256, dtype=np.float32)
    data[7 * MiB // 4 : 7 * MiB // 4 + 5] = np.nan  # at byte 7 MiB: inside both a and b
    data[-1] = np.inf
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / WEIGHTS).write_bytes(len(text).to_bytes(8, "little") + text + data.tobytes())
    local = run(contribution(folder, None))
    remote = run(remote_copy(folder, files_dir, server, tmp_path / "root", None))
    found = {(f.location, f.rule): (f.extra["nan"], f.extra["inf"]) for f in local.findings}
    assert found == {
        ("a", "evals-nan"): (5, 0),
        ("b", "evals-nan"): (5, 0),
        ("c", "evals-inf"): (0, 1),
    }
    assert dicts(remote.findings) == dicts(local.findings)
    # The header, one read from a's start, and one more from b's start where b overlaps a.
    assert sum(p == WEIGHTS for _m, p, _r, _a in server.requests) == 3
