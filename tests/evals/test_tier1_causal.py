"""Tier 1 on tiny Llama and GPT-2 models built from config: tied heads, constant norms, adapters."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from checks.evals.check import QuickEvalCheck
from checks.findings import Severity
from tests.evals.builders import Tensors, contribution, rewrite, tiny_causal


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_causal(tmp_path_factory.mktemp("llama") / "base", "llama")


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_causal(tmp_path_factory.mktemp("gpt2") / "base", "gpt2")


def rules(root: Path, base: Path | None) -> set[str]:
    result = QuickEvalCheck().run(contribution(root, base))
    return {f.rule for f in result.findings if f.severity >= Severity.LOW}


def _finetune(t: Tensors) -> None:
    rng = np.random.default_rng(3)
    for name, value in t.items():
        if value.ndim == 2:  # norms stay at their constant init, as in a frozen-norm fine-tune
            t[name] = value + (rng.standard_normal(value.shape) * 0.02 * value.std()).astype(
                value.dtype
            )


def test_llama_finetune_passes_despite_identical_constant_norms(
    llama: Path, tmp_path: Path
) -> None:
    shutil.copytree(llama, tmp_path / "c")
    rewrite(tmp_path / "c", _finetune)
    assert rules(tmp_path / "c", llama) == set()


def test_gpt2_copy_with_tied_head_is_identical(gpt2: Path, tmp_path: Path) -> None:
    shutil.copytree(gpt2, tmp_path / "c")
    assert rules(tmp_path / "c", gpt2) == {"evals-identical"}


def test_gpt2_missing_block_fails(gpt2: Path, tmp_path: Path) -> None:
    shutil.copytree(gpt2, tmp_path / "c")
    rewrite(tmp_path / "c", lambda t: t.pop("transformer.h.1.mlp.c_fc.weight"))
    assert "evals-missing-tensor" in rules(tmp_path / "c", gpt2)


def test_llama_nan_in_fp16_copy_fails(llama: Path, tmp_path: Path) -> None:
    shutil.copytree(llama, tmp_path / "c")

    def to_half_with_nan(t: Tensors) -> None:
        for name in list(t):
            t[name] = t[name].astype(np.float16)
        t["model.layers.1.mlp.down_proj.weight"][3, 3] = np.inf

    rewrite(tmp_path / "c", to_half_with_nan)
    result = QuickEvalCheck().run(contribution(tmp_path / "c", llama))
    found = {f.rule: f for f in result.findings}
    assert found["evals-inf"].location == "model.layers.1.mlp.down_proj.weight"
    assert found["evals-dtype-changed"].severity is Severity.INFO


def test_fp16_cast_of_the_base_is_a_re_upload(llama: Path, tmp_path: Path) -> None:
    shutil.copytree(llama, tmp_path / "c")
    rewrite(tmp_path / "c", lambda t: t.update({n: v.astype(np.float16) for n, v in t.items()}))
    result = QuickEvalCheck().run(contribution(tmp_path / "c", llama))
    (same,) = [f for f in result.findings if f.rule == "evals-identical"]
    assert "cast to another dtype (F32→F16)" in same.message
    assert same.severity is Severity.MEDIUM
