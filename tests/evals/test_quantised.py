"""Quantised contributions: dequantised before the delta, and a quantised copy named as such."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from checks.base import CheckResult
from checks.evals.check import QuickEvalCheck
from checks.evals.dequant import dequantise
from checks.evals.files import local_folder
from checks.evals.quant import find_quantised
from checks.evals.quant_compare import _read
from checks.evals.weightset import load_weights
from checks.findings import Severity
from tests.evals import quantised as q
from tests.evals.builders import Tensors, contribution, rewrite, tiny_causal

Build = Callable[[Path, Path], Path]
LAYOUTS: dict[str, tuple[Build, str]] = {
    "fp8-channel": (lambda s, d: q.compressed_tensors(s, d, "FP8_DYNAMIC"), "FP8 E4M3"),
    "fp8-tensor": (lambda s, d: q.compressed_tensors(s, d, "FP8"), "FP8 E4M3"),
    "ct-int4": (lambda s, d: q.compressed_tensors(s, d, "W4A16"), "int4 packed"),
    "ct-int8": (lambda s, d: q.compressed_tensors(s, d, "W8A16"), "int8 packed"),
    "gptq-int4": (lambda s, d: q.gptq(s, d, bits=4), "int4 GPTQ"),
    "gptq-int8": (lambda s, d: q.gptq(s, d, bits=8), "int8 GPTQ"),
    "awq-int4": (q.awq, "int4 AWQ"),
    "bnb-int8": (lambda s, d: q.bitsandbytes(s, d, 8), "int8 bitsandbytes"),
    "bnb-nf4": (lambda s, d: q.bitsandbytes(s, d, 4), "NF4 bitsandbytes"),
}


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_causal(tmp_path_factory.mktemp("qbase") / "base", "llama")


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_causal(tmp_path_factory.mktemp("qother") / "other", "llama", seed=7)


def run(root: Path, base: Path | None) -> CheckResult:
    return QuickEvalCheck().run(contribution(root, base))


def rules(result: CheckResult) -> set[str]:
    return {f.rule for f in result.findings if f.severity >= Severity.LOW}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_quantised_copy_is_named_as_such(llama: Path, tmp_path: Path, layout: str) -> None:
    build, label = LAYOUTS[layout]
    result = run(build(llama, tmp_path / layout), llama)
    assert rules(result) == {"evals-quantised-copy"}, result.findings
    (copy,) = [f for f in result.findings if f.rule == "evals-quantised-copy"]
    assert copy.message.startswith("quantised copy of the base, ") and label in copy.message
    assert copy.severity is Severity.LOW
    assert any("dequantised with their scales" in n for n in result.notes)


@pytest.mark.parametrize("layout", ["fp8-channel", "gptq-int4", "awq-int4", "bnb-nf4"])
def test_quantised_unrelated_model_fails(
    other: Path, llama: Path, tmp_path: Path, layout: str
) -> None:
    build, _ = LAYOUTS[layout]
    result = run(build(other, tmp_path / layout), llama)
    assert rules(result) == {"evals-unrelated"}, result.findings


def _finetune(t: Tensors) -> None:
    rng = np.random.default_rng(5)
    for name, value in t.items():
        if value.ndim == 2:
            t[name] = value + (rng.standard_normal(value.shape) * 0.05 * value.std()).astype(
                value.dtype
            )


@pytest.mark.parametrize("layout", ["bnb-int8", "ct-int8", "gptq-int8"])
def test_int8_finetune_passes_and_is_not_a_copy(llama: Path, tmp_path: Path, layout: str) -> None:
    shutil.copytree(llama, tmp_path / "tuned")
    rewrite(tmp_path / "tuned", _finetune)
    build, _ = LAYOUTS[layout]
    result = run(build(tmp_path / "tuned", tmp_path / layout), llama)
    assert rules(result) == set(), result.findings
    assert any("relative L2 median 0.05" in n for n in result.notes), result.notes


def test_nan_scale_fails_naming_the_codes(llama: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    folder = q.compressed_tensors(llama, tmp_path / "fp8", "FP8_DYNAMIC")
    path = str(folder / "model.safetensors")
    tensors = load_file(path)  # numpy has no float8: torch carries the codes through
    tensors["model.layers.1.mlp.up_proj.weight_scale"][3] = float("nan")
    save_file(tensors, path, metadata={"format": "pt"})
    result = run(folder, llama)
    (nan,) = [f for f in result.findings if f.rule == "evals-nan"]
    assert nan.location == "model.layers.1.mlp.up_proj.weight"
    assert nan.extra["nan"] == 64  # row 3 of the [128, 64] weight


def test_broken_layout_is_reported_not_raised(llama: Path, tmp_path: Path) -> None:
    folder = q.gptq(llama, tmp_path / "gptq")

    def cut(t: Tensors) -> None:
        t["model.layers.0.self_attn.q_proj.g_idx"] = np.full(64, 99, dtype=np.int32)

    rewrite(folder, cut)
    result = run(folder, llama)
    broken = next(f for f in result.findings if f.rule == "evals-quantised-unreadable")
    assert broken.location == "model.layers.0.self_attn.q_proj.qweight"
    assert "int4 GPTQ" in broken.message and broken.severity is Severity.MEDIUM


@pytest.mark.parametrize("bits", [8, 4])
def test_dequantised_values_equal_bitsandbytes_own(llama: Path, tmp_path: Path, bits: int) -> None:
    import bitsandbytes.functional as bnbf
    import torch
    from transformers import AutoModelForCausalLM

    folder = q.bitsandbytes(llama, tmp_path / "bnb", bits)
    model = AutoModelForCausalLM.from_pretrained(folder, device_map="cpu")
    layer = model.model.layers[0].mlp.down_proj
    if bits == 4:
        theirs = bnbf.dequantize_4bit(layer.weight.data, layer.weight.quant_state)
    else:
        theirs = layer.weight.data.float() * layer.weight.SCB.float()[:, None] / 127
    with load_weights(local_folder(folder)) as ws:
        module = find_quantised(ws, None)["model.layers.0.mlp.down_proj.weight"]
        mine, _ = dequantise(
            module, lambda role: _read(ws, module.tensors[role]), ws.info(module.codes).dtype
        )
    np.testing.assert_allclose(mine, theirs.to(torch.float32).numpy(), rtol=1e-6, atol=1e-7)
