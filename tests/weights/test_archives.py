"""Containers: PyTorch/Keras/npz zips, tars, compressed streams and the tricks played with them."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import pickle
import struct
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from checks.findings import Finding, Severity
from checks.weights import keras, pickle_walk
from checks.weights.context import ScanContext
from checks.weights.imports import ImportPolicy
from checks.weights.limits import Limits
from checks.weights.scanner import FileScan, scan_path

MiB = 1 << 20
# Hand-assembled hostile pickles. They are written to disk and scanned; nothing here loads them.
SYSTEM_PICKLE = b"\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."
EVAL_PICKLE = (
    b"\x80\x04\x95\x17\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x8c\x04eval\x93\x8c\x011\x85R."
)


def _ready(call: object) -> bool:
    try:
        call()  # type: ignore[operator]
    except NotImplementedError:
        return False
    except Exception:
        return True
    return True


@pytest.fixture(scope="module")
def walker_ready() -> bool:
    """True once the pickle walker has landed; verdicts on pickles mean something only then."""
    ctx = ScanContext(path="probe", policy=ImportPolicy.default())
    return _ready(lambda: pickle_walk.scan_pickle_bytes(b"\x80\x02N.", ctx))


@pytest.fixture
def needs_walker(walker_ready: bool) -> None:
    if not walker_ready:
        pytest.skip("the pickle walker has not landed yet")


def scan(path: Path, limits: Limits | None = None) -> FileScan:
    return scan_path(path, path.name, ImportPolicy.default(), limits)


def worst(findings: list[Finding]) -> Severity:
    return max((f.severity for f in findings), default=Severity.INFO)


def at(result: FileScan, member: str) -> list[Finding]:
    return [f for f in result.findings if (f.location or "").startswith(member)]


def rules(result: FileScan) -> set[str]:
    return {f.rule for f in result.findings}


def flagged(result: FileScan, member: str, walker_ready: bool) -> bool:
    """The member's payload was not let through: a high finding located there.

    Until the walker lands, handing a pickle to it yields a high scanner-error, which already
    shows the container delivered the member; afterwards the finding must be a real one.
    """
    hits = [f for f in at(result, member) if f.severity >= Severity.HIGH]
    if walker_ready:
        hits = [f for f in hits if f.rule != "scanner-error"]
    return bool(hits)


def write_zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def torch_zip(path: Path, tensor_numel: int = 4) -> Path:
    torch.save({"w": torch.arange(tensor_numel, dtype=torch.float32)}, path)
    return path


def replace_member(path: Path, name: str, data: bytes, new_name: str | None = None) -> None:
    with zipfile.ZipFile(path) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    members = {
        (new_name or k) if k == name else k: (data if k == name else v) for k, v in members.items()
    }
    write_zip(path, members)


# ------------------------------------------------------------------ PyTorch zips


@pytest.mark.parametrize("stem", ["archive", "my.weird-name", "x"])
def test_torch_zip_with_any_folder_name_is_recognised(tmp_path: Path, stem: str) -> None:
    assert scan(torch_zip(tmp_path / f"{stem}.pt")).format == "pytorch-zip"


@pytest.mark.parametrize("stem", ["archive", "renamed-folder"])
def test_benign_torch_zip_passes(tmp_path: Path, stem: str, needs_walker: None) -> None:
    assert worst(scan(torch_zip(tmp_path / f"{stem}.pt")).findings) == Severity.INFO


def test_tensor_storage_is_never_read(tmp_path: Path) -> None:
    path = torch_zip(tmp_path / "big.pt", tensor_numel=16 * MiB)  # 64 MiB of tensor data
    start = time.perf_counter()
    result = scan(path)
    assert result.format == "pytorch-zip"
    assert result.bytes_read < 256 << 10
    assert time.perf_counter() - start < 0.5


def test_payload_in_data_pkl_is_flagged(tmp_path: Path, walker_ready: bool) -> None:
    path = torch_zip(tmp_path / "model.pt")
    replace_member(path, "model/data.pkl", SYSTEM_PICKLE)
    result = scan(path)
    assert result.format == "pytorch-zip"
    assert flagged(result, "model/data.pkl", walker_ready)


def test_torch_data_pkl_that_does_not_sniff_as_pickle_is_still_walked(
    tmp_path: Path, walker_ready: bool
) -> None:
    path = torch_zip(tmp_path / "model.pt")
    replace_member(path, "model/data.pkl", b"cposix\nsystem\n(S'id'\ntR." + b"\x00" * 10)
    assert flagged(scan(path), "model/data.pkl", walker_ready)


def test_pickle_hidden_under_another_member_name_is_flagged(
    tmp_path: Path, walker_ready: bool
) -> None:
    path = torch_zip(tmp_path / "model.pt")
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("model/extra/data.txt", EVAL_PICKLE)
    assert flagged(scan(path), "model/extra/data.txt", walker_ready)


def test_renamed_member_in_a_plain_zip_is_flagged(tmp_path: Path, walker_ready: bool) -> None:
    result = scan(write_zip(tmp_path / "m.zip", {"notes/data.txt": EVAL_PICKLE}))
    assert result.format == "zip"
    assert flagged(result, "notes/data.txt", walker_ready)


def test_torchscript_archive_is_reported(tmp_path: Path) -> None:
    members = {
        "m/data.pkl": b"\x80\x02}q\x00.",
        "m/constants.pkl": b"\x80\x02).",
        "m/code/__torch__/m.py": b"def forward(self, x):\n  return x\n",
        "m/version": b"3\n",
    }
    result = scan(write_zip(tmp_path / "m.pt", members))
    assert result.format == "torchscript"
    assert any(
        f.rule == "torchscript-program" and f.severity == Severity.MEDIUM for f in result.findings
    )


# ------------------------------------------------------------------ zip tricks, patched bytes


def _offsets(data: bytes) -> tuple[int, int]:
    """The first member's local header and central-directory entry."""
    return data.index(b"PK\x03\x04"), data.index(b"PK\x01\x02")


def test_crc_mismatch_is_reported_and_the_member_still_scanned(
    tmp_path: Path, walker_ready: bool
) -> None:
    data = bytearray((write_zip(tmp_path / "m.zip", {"data.pkl": EVAL_PICKLE})).read_bytes())
    local, central = _offsets(bytes(data))
    data[local + 14 : local + 18] = data[central + 16 : central + 20] = b"\xde\xad\xbe\xef"
    (tmp_path / "m.zip").write_bytes(data)
    result = scan(tmp_path / "m.zip")
    assert any(
        f.rule == "zip-crc-mismatch" and f.severity == Severity.MEDIUM for f in result.findings
    )
    assert flagged(result, "data.pkl", walker_ready)


def test_local_name_differing_from_directory_name_is_high(
    tmp_path: Path, walker_ready: bool
) -> None:
    data = bytearray(write_zip(tmp_path / "m.zip", {"data.pkl": EVAL_PICKLE}).read_bytes())
    data[30:38] = b"datap.kl"
    (tmp_path / "m.zip").write_bytes(data)
    result = scan(tmp_path / "m.zip")
    assert any(
        f.rule == "zip-name-mismatch" and f.severity == Severity.HIGH for f in result.findings
    )
    assert flagged(result, "data.pkl", walker_ready)


def _set_flags(path: Path, flags: int) -> None:
    data = bytearray(path.read_bytes())
    local, central = _offsets(bytes(data))
    data[local + 6 : local + 8] = data[central + 8 : central + 10] = struct.pack("<H", flags)
    path.write_bytes(data)


@pytest.mark.parametrize("flags", [0x1, 0x20, 0x40])
def test_pickle_behind_an_encryption_flag_fails(
    tmp_path: Path, flags: int, walker_ready: bool
) -> None:
    path = write_zip(tmp_path / "m.zip", {"model/config.pkl": EVAL_PICKLE})
    _set_flags(path, flags)
    result = scan(path)
    assert "zip-flag-evasion" in rules(result)
    assert flagged(result, "model/config.pkl", walker_ready)


def test_really_encrypted_member_warns(tmp_path: Path) -> None:
    ciphertext = bytes.fromhex("a62423adadd3da9954d84e5b29041920ff872cadc7c6151c53aa99")
    path = write_zip(tmp_path / "secret.zip", {"test.txt": ciphertext})
    _set_flags(path, 0x1)
    result = scan(path)
    assert rules(result) == {"encrypted-entry"}
    assert worst(result.findings) == Severity.MEDIUM


@pytest.mark.parametrize(
    "data",
    [
        b"PK\x03\x04" + b"\x00" * 64,
        b"PK\x03\x04" + os.urandom(4000),
        b"PK\x05\x06" + b"\xff" * 18,
    ],
)
def test_garbage_after_zip_magic_is_a_finding(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "x.zip").write_bytes(data)
    result = scan(tmp_path / "x.zip")
    assert "malformed-archive" in rules(result)
    assert worst(result.findings) >= Severity.HIGH


def test_truncated_torch_zip_is_a_finding(tmp_path: Path) -> None:
    path = torch_zip(tmp_path / "m.pt")
    path.write_bytes(path.read_bytes()[:-200])
    assert worst(scan(path).findings) >= Severity.HIGH


def test_zip_bomb_is_stopped(tmp_path: Path) -> None:
    bomb = b"\x80\x02" + bytes(48 * MiB)
    path = write_zip(tmp_path / "bomb.zip", {"bomb.pkl": bomb}, zipfile.ZIP_DEFLATED)
    start = time.perf_counter()
    result = scan(path, Limits(max_compression_ratio=100))
    assert "limit-exceeded" in rules(result)
    assert time.perf_counter() - start < 1.0


def test_large_plain_members_are_not_decompressed(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "data.zip", {"blob.bin": bytes(32 * MiB)}, zipfile.ZIP_DEFLATED)
    start = time.perf_counter()
    result = scan(path)
    assert worst(result.findings) == Severity.INFO
    assert time.perf_counter() - start < 0.5


def test_total_decompressed_is_bounded_across_nesting(tmp_path: Path) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(4):
            zf.writestr(f"p{i}.pkl", b"\x80\x02" + os.urandom(MiB))
    path = write_zip(tmp_path / "outer.zip", {f"in{i}.zip": inner.getvalue() for i in range(4)})
    result = scan(path, Limits(max_total_decompressed=6 * MiB))
    assert "limit-exceeded" in rules(result)


def test_deeply_nested_zips_are_bounded(tmp_path: Path) -> None:
    data = EVAL_PICKLE
    name = "data.pkl"
    for level in range(10):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(name, data)
        data, name = buf.getvalue(), f"level{level}.zip"
    (tmp_path / "deep.zip").write_bytes(data)
    result = scan(tmp_path / "deep.zip")
    assert any(f.rule == "limit-exceeded" and "nested" in f.message for f in result.findings)


def test_nested_zip_payload_is_located(tmp_path: Path, walker_ready: bool) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("data.pkl", SYSTEM_PICKLE)
    result = scan(write_zip(tmp_path / "outer.zip", {"inner.zip": inner.getvalue()}))
    assert flagged(result, "inner.zip → data.pkl", walker_ready)


def test_path_traversal_member_is_reported(tmp_path: Path) -> None:
    result = scan(write_zip(tmp_path / "t.zip", {"../../etc/cron.d/x": b"hello"}))
    assert "archive-path-traversal" in rules(result)


# ------------------------------------------------------------------ Keras, npz


def test_keras_archive_hands_its_config_over(tmp_path: Path) -> None:
    members = {
        "metadata.json": b'{"keras_version": "3.5.0"}',
        "config.json": b'{"class_name": "Sequential", "config": {"layers": []}}',
        "model.weights.h5": b"\x89HDF\r\n\x1a\n" + bytes(100),
    }
    result = scan(write_zip(tmp_path / "m.keras", members))
    assert result.format == "keras"
    keras_ready = _ready(lambda: keras.scan_keras_config(b"{}", _probe_ctx()))
    if not keras_ready:  # the stub's refusal shows the config reached it
        assert any(f.location == "config.json" for f in result.findings)


def _probe_ctx() -> ScanContext:
    return ScanContext(path="probe", policy=ImportPolicy.default())


def test_npz_of_plain_arrays(tmp_path: Path) -> None:
    np.savez(tmp_path / "a.npz", x=np.arange(10), y=np.ones((3, 3)))
    np.savez_compressed(tmp_path / "b.npz", x=np.arange(10))
    for name in ("a.npz", "b.npz"):
        result = scan(tmp_path / name)
        assert result.format == "npz"
        assert worst(result.findings) == Severity.INFO


def _object_npy(payload: bytes) -> bytes:
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header = header.ljust(117) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload


def test_npz_with_an_object_payload_is_flagged(tmp_path: Path, walker_ready: bool) -> None:
    members = {"evil.npy": _object_npy(SYSTEM_PICKLE)}
    result = scan(write_zip(tmp_path / "x.npz", members, zipfile.ZIP_DEFLATED))
    assert result.format == "npz"
    assert flagged(result, "evil.npy", walker_ready)


def test_benign_object_npz_passes(tmp_path: Path, needs_walker: None) -> None:
    np.savez(tmp_path / "o.npz", a=np.array([(1, 2), "x"], dtype=object))
    assert worst(scan(tmp_path / "o.npz").findings) == Severity.INFO


# ------------------------------------------------------------------ tar


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def _legacy_members(main_pickle: bytes, raw: bytes = b"\x00" * 16) -> dict[str, bytes]:
    """torch's pre-1.6 tar layout, written the way its writer laid records out."""
    storages = (
        pickle.dumps(1, protocol=2)
        + pickle.dumps(("0", "cpu", torch.FloatStorage), protocol=2)
        + struct.pack("<q", len(raw) // 4)
        + raw
        + pickle.dumps([], protocol=2)
    )
    tensors = (
        pickle.dumps(1, protocol=2)
        + pickle.dumps(("1", "0", torch.FloatTensor), protocol=2)
        + struct.pack("<ii", 1, 0)
        + struct.pack("<qqq", 4, 1, 0)
    )
    return {
        "sys_info": pickle.dumps({"protocol_version": 1001, "little_endian": True}, protocol=2),
        "pickle": main_pickle,
        "storages": storages,
        "tensors": tensors,
    }


def test_benign_legacy_tar_passes(tmp_path: Path, needs_walker: None) -> None:
    # Raw storage bytes that look like a pickle are tensor data: torch never unpickles them.
    main = pickle.dumps({"w": "1"}, protocol=2)
    result = scan(_tar(tmp_path / "m.tar", _legacy_members(main, raw=SYSTEM_PICKLE[:16])))
    assert result.format == "tar"
    assert worst(result.findings) == Severity.INFO


def test_legacy_tar_payload_is_flagged(tmp_path: Path, walker_ready: bool) -> None:
    result = scan(_tar(tmp_path / "m.pt", _legacy_members(SYSTEM_PICKLE)))
    assert result.format == "tar"
    assert flagged(result, "pickle", walker_ready)


def test_legacy_storages_that_cannot_be_delimited_fail_closed(tmp_path: Path) -> None:
    members = _legacy_members(pickle.dumps({}, protocol=2))
    members["storages"] = pickle.dumps(1, protocol=2) + pickle.dumps(("0", "cpu", "?"), protocol=2)
    result = scan(_tar(tmp_path / "m.tar", members))
    assert any(
        f.rule == "malformed-archive" and (f.location or "").startswith("storages")
        for f in result.findings
    )


def test_generic_tar_members_are_scanned(tmp_path: Path, walker_ready: bool) -> None:
    result = scan(
        _tar(tmp_path / "bundle.tar", {"readme.md": b"# hi\n", "w/data.pkl": EVAL_PICKLE})
    )
    assert flagged(result, "w/data.pkl", walker_ready)
    assert not at(result, "readme.md")


def test_tar_links_are_reported(tmp_path: Path) -> None:
    with tarfile.open(tmp_path / "l.tar", "w") as tf:
        info = tarfile.TarInfo("storages")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(info)
    assert "archive-link" in rules(scan(tmp_path / "l.tar"))


def test_broken_tar_is_a_finding(tmp_path: Path) -> None:
    data = _tar(tmp_path / "t.tar", {"a": b"x" * 2000}).read_bytes()
    (tmp_path / "t.tar").write_bytes(data[:300] + b"\xff" * 300)
    result = scan(tmp_path / "t.tar")
    assert worst(result.findings) >= Severity.MEDIUM


# ------------------------------------------------------------------ compressed streams, 7z


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [
        (".pkl.gz", gzip.compress),
        (".pkl.xz", lzma.compress),
        (".pkl.bz2", bz2.compress),
        (".joblib", lambda d: __import__("zlib").compress(d)),
    ],
)
def test_compressed_pickle_payload_is_flagged(
    tmp_path: Path, suffix: str, compress: object, walker_ready: bool
) -> None:
    path = tmp_path / f"model{suffix}"
    path.write_bytes(compress(SYSTEM_PICKLE))  # type: ignore[operator]
    result = scan(path)
    member = "model.joblib" if suffix == ".joblib" else "model.pkl"
    assert flagged(result, member, walker_ready)


def test_concatenated_gzip_members_are_all_scanned(tmp_path: Path, walker_ready: bool) -> None:
    path = tmp_path / "x.pkl.gz"
    # gzip readers join members: the payload is split across two of them
    path.write_bytes(gzip.compress(SYSTEM_PICKLE[:9]) + gzip.compress(SYSTEM_PICKLE[9:]))
    assert flagged(scan(path), "x.pkl", walker_ready)


def test_compressed_bomb_is_stopped(tmp_path: Path) -> None:
    path = tmp_path / "bomb.pkl.gz"
    path.write_bytes(gzip.compress(b"\x80\x02" + bytes(48 * MiB), compresslevel=9))
    start = time.perf_counter()
    result = scan(path, Limits(max_compression_ratio=100))
    assert "limit-exceeded" in rules(result)
    assert time.perf_counter() - start < 1.0


def test_corrupt_gzip_is_a_finding(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(os.urandom(4000)))
    data[10:20] = b"\xff" * 10
    (tmp_path / "c.gz").write_bytes(data)
    assert "malformed-archive" in rules(scan(tmp_path / "c.gz"))


def test_lz4_and_7z_fail_closed(tmp_path: Path) -> None:
    (tmp_path / "a.pkl").write_bytes(b"\x04\x22\x4d\x18" + os.urandom(64))
    (tmp_path / "b.7z").write_bytes(b"7z\xbc\xaf\x27\x1c" + os.urandom(64))
    for name in ("a.pkl", "b.7z"):
        result = scan(tmp_path / name)
        assert any(
            f.rule == "unsupported-archive" and f.severity == Severity.HIGH for f in result.findings
        )


# ------------------------------------------------------------------ the shared corpus


CONTAINER_SUFFIXES = {".zip", ".npz", ".npy", ".7z", ".pt", ".bin"}


def test_corpus_containers_never_crash_and_encrypted_benign_only_warns(shared_dir: Path) -> None:
    corpus = shared_dir / "corpus" / "scanners"
    files = [p for p in sorted(corpus.rglob("*")) if p.suffix in CONTAINER_SUFFIXES]
    assert len(files) > 15
    results = {p.name: scan(p) for p in files}
    assert not any(
        f.rule == "scanner-error" and "zip" in f.message
        for r in results.values()
        for f in r.findings
    )
    for name in ("benign_password_protected.zip", "password_protected.zip"):
        assert worst(results[name].findings) == Severity.MEDIUM
    assert results["new_pytorch_model.bin"].format == "pytorch-zip"
    assert results["unsafe_zip_pytorch.pt"].format == "pytorch-zip"
    for name in ("malicious1_0x1.zip", "malicious1_central_directory.zip", "malicious1.7z"):
        assert worst(results[name].findings) >= Severity.HIGH
