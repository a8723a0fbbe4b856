"""dill and cloudpickle streams, written by the real libraries: they carry code, so they fail."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import cloudpickle
import dill
import numpy as np
import pytest

from checks.findings import Severity
from checks.weights.imports import ImportPolicy
from checks.weights.scanner import FileScan, scan_path

# Objects defined in __main__ (a notebook, a training script) are pickled by value: their
# bytecode goes into the file. This is our own test source, compiled to make such objects.
NOTEBOOK = """
import math

def scale(x):
    return math.sqrt(x) * 2

class Preprocessor:
    def __call__(self, x):
        return x / 255
"""
MAIN: dict[str, Any] = {"__name__": "__main__"}
exec(compile(NOTEBOOK, "<notebook>", "exec"), MAIN)  # noqa: S102
scale, Preprocessor = MAIN["scale"], MAIN["Preprocessor"]

DUMPERS: dict[str, Callable[[object], bytes]] = {
    "dill": dill.dumps,
    "cloudpickle": cloudpickle.dumps,
}


def dump(tmp_path: Path, dialect: str, obj: object, name: str = "model.pkl") -> FileScan:
    path = tmp_path / name
    path.write_bytes(DUMPERS[dialect](obj))
    return scan_path(path, path.name, ImportPolicy.default())


def critical(result: FileScan) -> list[str]:
    return [f.message for f in result.findings if f.severity == Severity.CRITICAL]


@pytest.mark.parametrize("dialect", sorted(DUMPERS))
@pytest.mark.parametrize(
    "obj", [scale, Preprocessor, {"fn": MAIN["scale"]}], ids=["function", "class", "in-a-dict"]
)
def test_code_carrying_streams_are_critical(tmp_path: Path, dialect: str, obj: object) -> None:
    messages = critical(dump(tmp_path, dialect, obj))
    assert messages, "a stream carrying code passed"
    assert any(
        f"a {dialect} stream carries Python code that runs when it is loaded" in m for m in messages
    )


def test_dill_function_names_what_it_rebuilds(tmp_path: Path) -> None:
    result = dump(tmp_path, "dill", scale, "scale.dill")
    messages = critical(result)
    assert any(
        m.startswith("dill._dill._create_function: rebuilds a Python function") for m in messages
    )
    assert any(m.startswith("dill._dill._create_code: builds a code object") for m in messages)


def test_cloudpickle_function_names_what_it_rebuilds(tmp_path: Path) -> None:
    messages = critical(dump(tmp_path, "cloudpickle", scale))
    assert any(
        "cloudpickle.cloudpickle._make_function: rebuilds a Python function" in m for m in messages
    )


@pytest.mark.parametrize("dialect", sorted(DUMPERS))
def test_plain_data_through_either_dialect_passes(tmp_path: Path, dialect: str) -> None:
    # Only the code is the problem: tensors and containers pickled by them load as plain pickle.
    result = dump(tmp_path, dialect, {"w": np.arange(4.0), "labels": ["cat", "dog"]})
    assert not critical(result), [f.message for f in result.findings]


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("joblib.externals.cloudpickle.cloudpickle", "_make_function"),
        ("srsly.cloudpickle.cloudpickle", "subimport"),
        ("cloudpickle.cloudpickle_fast", "_class_setstate"),
        ("dill.dill", "_eval_repr"),
        ("dill._dill", "_some_future_helper"),
    ],
)
def test_vendored_copies_and_unknown_helpers_are_critical(module: str, name: str) -> None:
    # A repository's policy cannot allow them either.
    policy = ImportPolicy.default(frozenset({f"{module}.{name}"}))
    verdict = policy.classify(module, name)
    assert verdict.severity == Severity.CRITICAL
    assert "carries Python code that runs when it is loaded" in verdict.reason
