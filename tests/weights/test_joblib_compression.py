"""joblib's compressed dumps (zlib, gzip, bz2, lzma, xz and the pre-0.10 "ZF" files), as joblib
writes them; hostile ones are joblib dumps of objects that reduce to eval (never loaded)."""

from __future__ import annotations

import builtins
import lzma
import pickle
from pathlib import Path

import joblib
import numpy as np
import pytest
from joblib.numpy_pickle_compat import write_zfile

from checks.findings import Severity
from checks.weights.imports import ImportPolicy
from checks.weights.limits import Limits
from checks.weights.scanner import FileScan, scan_path

COMPRESSORS = [
    ("zlib", "model.pkl.z", "zlib"),
    ("gzip", "model.pkl.gz", "gzip"),
    ("bz2", "model.pkl.bz2", "bzip2"),
    ("lzma", "model.pkl.lzma", "lzma"),
    ("xz", "model.pkl.xz", "xz"),
]


class Payload:
    """Pickles as a call to eval: what a hostile dump runs on joblib.load."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return builtins.eval, ("1 + 1",)


def scan(path: Path, limits: Limits | None = None) -> FileScan:
    return scan_path(path, path.name, ImportPolicy.default(), limits)


def worst(result: FileScan) -> Severity:
    return max((f.severity for f in result.findings), default=Severity.INFO)


@pytest.mark.parametrize(("method", "name", "fmt"), COMPRESSORS)
def test_benign_compressed_dump_passes(tmp_path: Path, method: str, name: str, fmt: str) -> None:
    path = tmp_path / name
    joblib.dump({"coef": np.arange(1000.0), "labels": ["a", "b"]}, path, compress=(method, 3))
    result = scan(path)
    assert result.format == fmt
    assert worst(result) < Severity.MEDIUM, [f.message for f in result.findings]


@pytest.mark.parametrize(("method", "name", "fmt"), COMPRESSORS)
def test_hostile_compressed_dump_is_critical(
    tmp_path: Path, method: str, name: str, fmt: str
) -> None:
    path = tmp_path / name
    joblib.dump({"coef": np.arange(10.0), "hook": Payload()}, path, compress=(method, 3))
    result = scan(path)
    assert result.format == fmt
    (hit,) = [f for f in result.findings if f.rule == "unsafe-import"]
    assert hit.severity == Severity.CRITICAL and "builtins.eval" in hit.message
    assert (hit.location or "").startswith("model.pkl")  # inside the decompressed pickle


def test_legacy_zfile_is_decompressed_and_scanned(tmp_path: Path) -> None:
    benign, hostile = tmp_path / "old.pkl", tmp_path / "old-hostile.pkl"
    with benign.open("wb") as f:
        write_zfile(f, pickle.dumps({"a": [1, 2, 3]}, protocol=2))
    with hostile.open("wb") as f:
        write_zfile(f, pickle.dumps(Payload(), protocol=2))
    assert scan(benign).format == "joblib-zfile"
    assert worst(scan(benign)) == Severity.INFO
    assert worst(scan(hostile)) == Severity.CRITICAL


def test_an_lzma_bomb_stops_at_the_budget(tmp_path: Path) -> None:
    path = tmp_path / "bomb.pkl.lzma"
    path.write_bytes(lzma.compress(pickle.dumps(bytes(8 << 20)), format=lzma.FORMAT_ALONE))
    result = scan(path, Limits(max_total_decompressed=1 << 20))
    assert any(f.rule == "limit-exceeded" and f.severity == Severity.HIGH for f in result.findings)


def test_a_truncated_lzma_stream_cannot_be_shown_safe(tmp_path: Path) -> None:
    data = lzma.compress(pickle.dumps(list(range(5000))), format=lzma.FORMAT_ALONE)
    path = tmp_path / "cut.pkl.lzma"
    path.write_bytes(data[: len(data) // 2])
    result = scan(path)
    assert any(f.rule == "malformed-archive" for f in result.findings)
    assert worst(result) >= Severity.HIGH
