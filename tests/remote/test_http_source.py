"""HttpRangeSource against a loopback server: coalescing, bounds, redirects, fallback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from checks.io.http import HttpRangeSource
from checks.io.limits import LimitExceeded
from checks.io.source import SourceReadError
from tests.fakes import range_server
from tests.fakes.range_server import RangeServer


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def test_neighbouring_reads_share_one_request(server: RangeServer, files_dir: Path) -> None:
    data = os.urandom(300_000)
    _write(files_dir, "blob.bin", data)
    with HttpRangeSource(server.url("blob.bin")) as source:
        assert source.size == len(data)
        pieces = [source.read_at(at, 100) for at in range(0, 60_000, 1000)]
        assert pieces == [data[at : at + 100] for at in range(0, 60_000, 1000)]
        assert source.requests == 1  # the first block came with the size
        assert source.read_at(299_990, 100) == data[299_990:]
        assert source.read_at(len(data), 10) == b""
        assert source.requests == 2
        assert source.bytes_read == server.bytes_served < len(data)
        assert not source.fell_back and source.view() is None


def test_sequential_reads_grow_their_read_ahead(server: RangeServer, files_dir: Path) -> None:
    data = os.urandom(4 << 20)
    _write(files_dir, "blob.bin", data)
    with HttpRangeSource(server.url("blob.bin")) as source:
        out = bytearray()
        while chunk := source.read_at(len(out), 16 << 10):
            out += chunk
        assert out == data
        assert source.requests <= 8  # 256 reads, a handful of requests
        assert source.bytes_read == len(data)


def test_request_bound_raises(server: RangeServer, files_dir: Path) -> None:
    _write(files_dir, "blob.bin", bytes(1 << 20))
    with HttpRangeSource(server.url("blob.bin"), max_requests=2) as source:
        source.read_at(0, 10)
        source.read_at(900_000, 10)
        with pytest.raises(LimitExceeded):
            source.read_at(500_000, 10)


def test_server_ignoring_range_falls_back_to_one_download(
    server: RangeServer, files_dir: Path
) -> None:
    data = os.urandom(200_000)
    _write(files_dir, "blob.bin", data)
    server.ignore_range = True
    with HttpRangeSource(server.url("blob.bin")) as source:
        assert source.read_at(150_000, 10) == data[150_000:150_010]
        assert source.read_at(0, 5) == data[:5]
        assert source.fell_back and source.requests == 1
        assert source.bytes_read == len(data)
        view = source.view()
        assert view is not None and len(view) == len(data)
        del view


def test_fallback_is_bounded(server: RangeServer, files_dir: Path) -> None:
    _write(files_dir, "blob.bin", bytes(100_000))
    server.ignore_range = True
    with (
        HttpRangeSource(server.url("blob.bin"), max_download_bytes=50_000) as source,
        pytest.raises(LimitExceeded, match="ignores range requests"),
    ):
        source.read_at(0, 10)


def test_credentials_stay_with_their_host(server: RangeServer, files_dir: Path) -> None:
    data = os.urandom(1000)
    _write(files_dir, "blob.bin", data)
    with range_server.serve(files_dir) as cdn:
        # Another origin for the same loopback server: a different host name, as a CDN would be.
        server.redirect_to = cdn.base.replace("127.0.0.1", "localhost")
        headers = {"Authorization": "Bearer secret", "X-Trace": "1"}
        with HttpRangeSource(server.url("redirect/blob.bin"), headers=headers) as source:
            assert source.read_at(0, 1000) == data
            assert source.url.startswith("http://localhost:")
        assert [r[3] for r in server.requests] == [True]
        assert [r[3] for r in cdn.requests] == [False]


def test_missing_file_and_dead_server_are_read_errors(server: RangeServer) -> None:
    with pytest.raises(SourceReadError, match="HTTP 404"):
        HttpRangeSource(server.url("nothing.bin")).open()
    dead = server.base.rsplit(":", 1)[0] + ":9"  # the discard port: nothing listens there
    with pytest.raises(SourceReadError, match="cannot reach"):
        HttpRangeSource(f"{dead}/x.bin").open()


def test_errors_never_print_credentials_from_the_url(server: RangeServer) -> None:
    # Error text ends up in findings, comments and SARIF uploads: no user-info, no query.
    secret_url = server.url("nothing.bin").replace("http://", "http://alice:s3cr3tpw@")
    for url in (secret_url + "?token=abc", secret_url.rsplit(":", 1)[0] + ":9/x.bin"):
        with pytest.raises(SourceReadError) as caught:
            HttpRangeSource(url).open()
        assert "s3cr3tpw" not in str(caught.value) and "alice" not in str(caught.value)
        assert "token=abc" not in str(caught.value)


def test_empty_file(server: RangeServer, files_dir: Path) -> None:
    _write(files_dir, "empty.bin", b"")
    with HttpRangeSource(server.url("empty.bin")) as source:
        assert source.size == 0
        assert source.read_at(0, 10) == b""
