"""GGUF contributions written by gguf-py's GGUFWriter against a tiny Llama saved by transformers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from checks.evals.check import QuickEvalCheck
from checks.findings import Finding, Severity
from tests.evals.builders import contribution, tiny_causal
from tests.evals.quantised import gguf_file


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_causal(tmp_path_factory.mktemp("gguf") / "tiny-llama", "llama")


def write_gguf(
    model: Path,
    dest: Path,
    qtype: str,
    change: Callable[[dict[str, np.ndarray]], None] | None = None,
) -> Path:
    return gguf_file(model, dest, qtype, change)


def review(root: Path, base: Path) -> tuple[list[Finding], list[str]]:
    result = QuickEvalCheck().run(contribution(root, base, base_id="tiny-org/tiny-llama"))
    return result.findings, result.notes


def rules(found: list[Finding]) -> set[str]:
    return {f.rule for f in found if f.severity >= Severity.LOW}


@pytest.mark.parametrize("qtype", ["Q8_0", "Q4_0"])
def test_quantised_copy_of_the_base(llama: Path, tmp_path: Path, qtype: str) -> None:
    found, notes = review(write_gguf(llama, tmp_path / "g", qtype), llama)
    assert rules(found) == {"evals-quantised-copy"}
    (copy,) = found
    assert copy.message.startswith(f"quantised copy of base tiny-org/tiny-llama (GGUF {qtype}")
    assert any("GGUF tensors" in n and "dequantised and compared" in n for n in notes)


def test_a_quantised_finetune_passes_quietly(llama: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(4)

    def finetune(t: dict[str, np.ndarray]) -> None:
        for name, v in t.items():
            if v.ndim == 2:
                t[name] = v + (rng.standard_normal(v.shape) * 0.05 * v.std()).astype(v.dtype)

    found, _ = review(write_gguf(llama, tmp_path / "g", "Q8_0", finetune), llama)
    assert rules(found) == set()


def test_unrelated_weights_in_gguf_fail(llama: Path, tmp_path: Path) -> None:
    other = tiny_causal(tmp_path / "other", "llama", seed=9)
    found, _ = review(write_gguf(other, tmp_path / "g", "Q8_0"), llama)
    assert "evals-unrelated" in rules(found)


def test_nan_in_a_gguf_tensor_fails(llama: Path, tmp_path: Path) -> None:
    def poison(t: dict[str, np.ndarray]) -> None:
        t["model.layers.1.post_attention_layernorm.weight"][3] = np.nan

    found, _ = review(write_gguf(llama, tmp_path / "g", "Q8_0", poison), llama)
    (nan,) = [f for f in found if f.rule == "evals-nan"]
    assert nan.location == "blk.1.ffn_norm.weight"
    assert nan.severity is Severity.HIGH


def test_swapped_gguf_tensors_fail_with_their_names(llama: Path, tmp_path: Path) -> None:
    a, b = "model.layers.0.mlp.up_proj.weight", "model.layers.1.mlp.up_proj.weight"

    def swap(t: dict[str, np.ndarray]) -> None:
        t[a], t[b] = t[b].copy(), t[a].copy()

    found, _ = review(write_gguf(llama, tmp_path / "g", "Q8_0", swap), llama)
    (outlier,) = [f for f in found if f.rule == "evals-outlier-tensors"]
    assert set(outlier.extra["tensors"]) == {"blk.0.ffn_up.weight", "blk.1.ffn_up.weight"}
