"""Fixtures for the evals tests: the real MiniLM base, its perturbed copies, range servers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.evals.builders import Tensors, minilm_dir, variant
from tests.fakes import range_server

QUERY3 = "encoder.layer.3.attention.self.query.weight"
EMBEDDING = "embeddings.word_embeddings.weight"


def _noise(t: Tensors) -> None:
    rng = np.random.default_rng(0)
    for name, value in t.items():
        if value.dtype == np.float32:
            scale = 0.01 * float(value.std() or 1.0)
            t[name] = value + (rng.standard_normal(value.shape) * scale).astype(np.float32)


def _nan(t: Tensors) -> None:
    t[QUERY3][0, :10] = np.nan


def _swap(t: Tensors) -> None:
    for name in [n for n in t if n.startswith("encoder.layer.0.")]:
        other = name.replace("layer.0.", "layer.5.")
        t[name], t[other] = t[other].copy(), t[name].copy()


def _scramble(t: Tensors) -> None:
    rng = np.random.default_rng(1)
    for layer in (1, 2):
        for part in ("query", "key"):
            name = f"encoder.layer.{layer}.attention.self.{part}.weight"
            t[name] = rng.permutation(t[name].ravel()).reshape(t[name].shape)


def _truncate(t: Tensors) -> None:
    t[EMBEDDING] = np.ascontiguousarray(t[EMBEDDING][:30000])


def _reinit(t: Tensors) -> None:
    rng = np.random.default_rng(2)
    for name, value in t.items():
        if value.dtype == np.float32 and value.ndim == 2:
            t[name] = (rng.standard_normal(value.shape) * 0.02).astype(np.float32)


CHANGES = {
    "copy": None,
    "noise": _noise,
    "nan": _nan,
    "swap": _swap,
    "scramble": _scramble,
    "truncate": _truncate,
    "reinit": _reinit,
}


@pytest.fixture(scope="session")
def minilm() -> Path:
    try:
        return minilm_dir()
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def minilm_variants(minilm: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("minilm")
    return {name: variant(minilm, root / name, change) for name, change in CHANGES.items()}


@pytest.fixture
def files_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "served"
    folder.mkdir()
    return folder


@pytest.fixture
def server(files_dir: Path) -> Iterator[range_server.RangeServer]:
    with range_server.serve(files_dir) as state:
        yield state


CUT_AFTER = 1 << 20


@pytest.fixture
def breaking_server(files_dir: Path) -> Iterator[range_server.RangeServer]:
    """The range server, except that any body past CUT_AFTER bytes breaks off mid-transfer."""
    state = range_server.RangeServer(root=files_dir)
    parent: Any = range_server._handler(state)

    class Breaking(parent):  # type: ignore[misc]
        def _serve(self, head: bool) -> None:
            self._plain = getattr(self, "_plain", self.wfile)
            self.wfile = _Cut(self._plain, CUT_AFTER)
            super()._serve(head)

    class Quiet(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            return  # the break is the point; no traceback on stderr

    httpd = Quiet(("127.0.0.1", 0), Breaking)
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


class _Cut:
    """A response stream that lets the status and headers through, then ``allow`` body bytes."""

    def __init__(self, raw: Any, allow: int) -> None:
        self._raw = raw
        self._left = allow
        self._headers_sent = False

    def write(self, data: bytes) -> int:
        if not self._headers_sent:
            self._headers_sent = True
            return int(self._raw.write(data))
        if self._left < len(data):
            self._raw.write(data[: max(self._left, 0)])
            self._raw.flush()
            raise ConnectionAbortedError("cut off on purpose")
        self._left -= len(data)
        return int(self._raw.write(data))

    def flush(self) -> None:
        self._raw.flush()

    @property
    def closed(self) -> bool:
        return bool(self._raw.closed)

    def close(self) -> None:
        self._raw.close()
