"""The byte-level zip reader: structures, methods, bounds, and hostile bytes."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.io.limits import LimitExceeded
from checks.io.source import BytesSource, SliceSource
from checks.weights import zipread

MiB = 1 << 20


def make_zip(members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def read_all(data: bytes, **bounds: int) -> dict[str, bytes]:
    source = BytesSource(data)
    directory = zipread.read_directory(source, max_entries=1000, max_directory_bytes=MiB)
    out = {}
    for entry in directory.entries:
        local = zipread.read_local_header(source, entry, directory.shift)
        chunks = zipread.iter_member(
            source,
            entry,
            local.data_offset,
            max_bytes=bounds.get("max_bytes", 64 * MiB),
            max_ratio=bounds.get("max_ratio", 1000),
        )
        out[entry.name] = b"".join(chunks)
    return out


@pytest.mark.parametrize(
    "method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
)
def test_every_supported_method_round_trips(method: int) -> None:
    members = {"a/data.pkl": b"\x80\x02N." * 1000, "a/big": os.urandom(300_000), "empty": b""}
    assert read_all(make_zip(members, method)) == members


def test_entries_carry_names_sizes_and_offsets() -> None:
    data = make_zip({"x/one": b"1" * 10, "x/two": b"22"}, zipfile.ZIP_DEFLATED)
    source = BytesSource(data)
    entries = zipread.read_directory(source, max_entries=10, max_directory_bytes=MiB).entries
    assert [(e.name, e.size, e.method) for e in entries] == [("x/one", 10, 8), ("x/two", 2, 8)]
    assert entries[0].header_offset == 0
    assert entries[1].crc == zlib.crc32(b"22")


def test_archive_comment_does_not_hide_the_end_record() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("m", b"payload")
        zf.comment = b"c" * 60_000
    assert read_all(buf.getvalue()) == {"m": b"payload"}


def _hand_zip64(name: bytes, payload: bytes) -> bytes:
    """One stored member described only through ZIP64 fields, as big checkpoints are."""
    crc = zlib.crc32(payload)
    local = struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 45, 0, 0, 0, 0, 0, crc, 0, 0, len(name), 0)
    extra = struct.pack("<HH3Q", 1, 24, len(payload), len(payload), 0)
    central = struct.pack(
        "<4s4B4HL2L5H2L", b"PK\x01\x02", 45, 3, 45, 0, 0, 0, 0, 0, crc,
        0xFFFFFFFF, 0xFFFFFFFF, len(name), len(extra), 0, 0, 0, 0, 0xFFFFFFFF,
    )  # fmt: skip
    body = local + name + payload
    cd = central + name + extra
    z64_at = len(body) + len(cd)
    z64 = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, 1, 1, len(cd), len(body))
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, z64_at, 1)
    eocd = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return body + cd + z64 + locator + eocd


def test_zip64_records_are_followed() -> None:
    data = _hand_zip64(b"archive/data.pkl", b"\x80\x02N.")
    assert read_all(data) == {"archive/data.pkl": b"\x80\x02N."}


def test_python_zipfile_agrees_with_the_hand_built_zip64() -> None:
    with zipfile.ZipFile(io.BytesIO(_hand_zip64(b"m", b"abc"))) as zf:
        assert zf.read("m") == b"abc"


@pytest.mark.parametrize(
    "data",
    [b"", b"PK\x03\x04", b"PK\x03\x04" + b"\x00" * 100, b"PK\x05\x06" + b"\xff" * 18],
)
def test_garbage_is_a_format_error(data: bytes) -> None:
    with pytest.raises(zipread.ZipFormatError):
        zipread.read_directory(BytesSource(data), max_entries=10, max_directory_bytes=MiB)


def test_truncated_member_data_is_a_format_error() -> None:
    data = make_zip({"m": b"x" * 1000})
    cut = data[:40] + data[1000:]  # the directory survives, the member's bytes do not
    source = BytesSource(cut)
    with pytest.raises(zipread.ZipFormatError):
        entry = zipread.read_directory(source, max_entries=10, max_directory_bytes=MiB).entries[0]
        zipread.read_local_header(source, entry)


def test_entry_count_is_bounded() -> None:
    data = make_zip({f"m{i}": b"" for i in range(20)})
    with pytest.raises(LimitExceeded):
        zipread.read_directory(BytesSource(data), max_entries=5, max_directory_bytes=MiB)


def test_high_ratio_member_stops_early() -> None:
    data = make_zip({"bomb": bytes(64 * MiB)}, zipfile.ZIP_DEFLATED)
    assert len(data) < 128 << 10
    with pytest.raises(LimitExceeded, match="ratio"):
        read_all(data, max_ratio=50)


def test_member_size_is_bounded() -> None:
    data = make_zip({"big": os.urandom(3 * MiB)}, zipfile.ZIP_DEFLATED)
    with pytest.raises(LimitExceeded):
        read_all(data, max_bytes=MiB)


def test_corrupt_deflate_stream_is_a_member_error() -> None:
    data = bytearray(make_zip({"m": os.urandom(5000)}, zipfile.ZIP_DEFLATED))
    data[31:40] = b"\xff" * 9  # a reserved block type where the deflate stream starts
    with pytest.raises(zipread.MemberDataError):
        read_all(bytes(data))


def test_unknown_method_is_a_member_error() -> None:
    data = bytearray(make_zip({"m": b"abc"}))
    data[8:10] = struct.pack("<H", 99)  # the local header's method
    cd = data.rindex(b"PK\x01\x02")
    data[cd + 10 : cd + 12] = struct.pack("<H", 99)
    with pytest.raises(zipread.MemberDataError, match="99"):
        read_all(bytes(data))


def test_stream_source_decodes_only_what_is_read() -> None:
    produced: list[int] = []

    def chunks() -> object:
        for i in range(100):
            produced.append(i)
            yield bytes([i]) * MiB

    source = zipread.StreamSource(chunks(), 100 * MiB)  # type: ignore[arg-type]
    assert source.read_at(0, 4) == b"\x00" * 4
    assert source.read_at(MiB, 2) == b"\x01\x01"
    assert len(produced) == 2


def test_slice_source_never_reads_outside_its_window() -> None:
    parent = BytesSource(b"0123456789")
    window = SliceSource(parent, 3, 4)
    assert (window.size, window.read_at(0, 100), window.read_at(4, 1)) == (4, b"3456", b"")


# ------------------------------------------------------------------ property tests

_SEED = make_zip(
    {"archive/data.pkl": b"\x80\x02}q\x00.", "archive/data/0": os.urandom(256), "x.txt": b"hi"},
    zipfile.ZIP_DEFLATED,
)
_EXPECTED = (zipread.ZipFormatError, zipread.MemberDataError, LimitExceeded)


def _exercise(data: bytes) -> None:
    source = BytesSource(data)
    try:
        directory = zipread.read_directory(source, max_entries=64, max_directory_bytes=MiB)
        for entry in directory.entries:
            local = zipread.read_local_header(source, entry, directory.shift)
            for _ in zipread.iter_member(
                source, entry, local.data_offset, max_bytes=4 * MiB, max_ratio=1000
            ):
                pass
    except _EXPECTED:
        pass


@settings(max_examples=150, deadline=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_random_bytes_end_in_a_clean_error(data: bytes) -> None:
    _exercise(b"PK\x03\x04" + data)
    _exercise(data + b"PK\x05\x06" + data[:18])


@settings(max_examples=300, deadline=300)
@given(
    st.lists(
        st.tuples(st.integers(0, len(_SEED) - 1), st.integers(0, 255)), min_size=1, max_size=8
    ),
    st.integers(0, len(_SEED)),
)
def test_mutated_zips_end_in_a_clean_error(flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(_SEED)
    for at, value in flips:
        data[at] = value
    _exercise(bytes(data))
    _exercise(bytes(data[:cut]))
