"""Outliers and heavy changes in models saved by transformers: a few tensors far off, or all."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.evals.check import QuickEvalCheck
from checks.findings import Finding, Severity
from tests.evals.builders import contribution, tiny_causal

SWAPPED = ("model.layers.0.self_attn.q_proj.weight", "model.layers.3.self_attn.q_proj.weight")


@pytest.fixture(scope="module")
def llama4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_causal(tmp_path_factory.mktemp("llama4o") / "base", "llama", layers=4)


def finetune(base: Path, dest: Path, scale: float, edit: object = None) -> Path:
    """Every parameter moved by ``scale`` of its spread (a fine-tune at 0.01-0.05), then
    ``edit(state)`` applied, saved with save_pretrained."""
    import torch
    from transformers import LlamaForCausalLM

    model = LlamaForCausalLM.from_pretrained(base)
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * scale * (float(p.std()) or 1.0))
        if callable(edit):
            edit(dict(model.named_parameters()))
    model.save_pretrained(dest)
    return dest


def review(root: Path, base: Path) -> list[Finding]:
    return QuickEvalCheck().run(contribution(root, base)).findings


def rules(found: list[Finding]) -> set[str]:
    return {f.rule for f in found if f.severity >= Severity.LOW}


def test_tensors_swapped_after_a_finetune_fail_with_their_names(
    llama4: Path, tmp_path: Path
) -> None:
    def swap(params: dict[str, object]) -> None:
        a, b = (params[n] for n in SWAPPED)
        saved = a.detach().clone()  # type: ignore[attr-defined]
        a.copy_(b)  # type: ignore[attr-defined]
        b.copy_(saved)  # type: ignore[attr-defined]

    found = review(finetune(llama4, tmp_path / "s", 0.02, swap), llama4)
    assert rules(found) == {"evals-outlier-tensors"}  # no bit-exact copy is left to match
    (outlier,) = [f for f in found if f.rule == "evals-outlier-tensors"]
    assert outlier.severity is Severity.HIGH
    assert set(outlier.extra["tensors"]) == set(SWAPPED)
    assert all(name in outlier.message for name in SWAPPED)


def test_a_replaced_tensor_fails(llama4: Path, tmp_path: Path) -> None:
    import torch

    def replace(params: dict[str, object]) -> None:
        w = params["model.layers.2.mlp.down_proj.weight"]
        gen = torch.Generator().manual_seed(11)
        w.copy_(torch.randn(w.shape, generator=gen) * 0.02)  # type: ignore[attr-defined]

    found = review(finetune(llama4, tmp_path / "r", 0.02, replace), llama4)
    (outlier,) = [f for f in found if f.rule == "evals-outlier-tensors"]
    assert list(outlier.extra["tensors"]) == ["model.layers.2.mlp.down_proj.weight"]


def test_weights_moved_far_everywhere_warn_and_ask_for_tier_2(llama4: Path, tmp_path: Path) -> None:
    found = review(finetune(llama4, tmp_path / "h", 0.65), llama4)
    assert rules(found) == {"evals-heavy-change"}
    (heavy,) = [f for f in found if f.rule == "evals-heavy-change"]
    assert heavy.severity is Severity.MEDIUM
    assert "--model-evals" in heavy.message


def test_an_ordinary_finetune_has_no_outliers(llama4: Path, tmp_path: Path) -> None:
    assert rules(review(finetune(llama4, tmp_path / "f", 0.03), llama4)) == set()
