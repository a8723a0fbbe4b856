"""Fixtures for the evals tests: the real MiniLM base and its perturbed copies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.evals.builders import Tensors, minilm_dir, variant

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
