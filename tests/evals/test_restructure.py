"""Restructured models saved by transformers: pruned, renumbered and renamed layers vs the base."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from checks.evals.check import QuickEvalCheck
from checks.findings import Finding, Severity
from tests.evals.builders import contribution, tiny_causal
from tests.evals.test_streaming import remote_copy
from tests.fakes.range_server import RangeServer

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


@pytest.fixture(scope="module")
def llama4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_causal(tmp_path_factory.mktemp("llama4") / "base", "llama", layers=4)


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_causal(tmp_path_factory.mktemp("gpt2r") / "base", "gpt2", layers=3)


def _tokenizer(base: Path, dest: Path) -> None:
    for name in TOKENIZER_FILES:
        if (base / name).exists():
            shutil.copyfile(base / name, dest / name)


def _nudge(model: object, scale: float = 0.01) -> None:
    """A fine-tune's scale of change on every parameter, with a fixed seed."""
    import torch

    assert isinstance(model, torch.nn.Module)
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * scale * (float(p.std()) or 1.0))


def prune(base: Path, dest: Path, drop: int, *, update_config: bool) -> Path:
    """Layer ``drop`` removed and the rest renumbered, as pruning tools save it."""
    from transformers import LlamaForCausalLM

    model = LlamaForCausalLM.from_pretrained(base)
    del model.model.layers[drop]
    if update_config:
        model.config.num_hidden_layers = len(model.model.layers)
        if getattr(model.config, "layer_types", None):
            model.config.layer_types = model.config.layer_types[: len(model.model.layers)]
    _nudge(model)
    model.save_pretrained(dest)
    _tokenizer(base, dest)
    return dest


def review(root: Path, base: Path) -> list[Finding]:
    return QuickEvalCheck().run(contribution(root, base)).findings


def rules(found: list[Finding]) -> set[str]:
    return {f.rule for f in found if f.severity >= Severity.LOW}


def test_pruned_model_whose_config_agrees_is_a_warning_listing_the_removed_layer(
    llama4: Path, tmp_path: Path
) -> None:
    found = review(prune(llama4, tmp_path / "p", 1, update_config=True), llama4)
    assert rules(found) == {"evals-pruned"}
    (pruned,) = [f for f in found if f.rule == "evals-pruned"]
    assert pruned.severity is Severity.MEDIUM
    assert "base layers 1 were removed" in pruned.message
    assert "4 → 3 layers" in pruned.message
    renamed = next(f for f in found if f.rule == "evals-restructured")
    assert renamed.extra["renamed"]["model.layers.1.self_attn.q_proj.weight"] == (
        "model.layers.2.self_attn.q_proj.weight"
    )
    # The norms are constant (their init): they follow their layer's renumbering.
    assert renamed.extra["renamed"]["model.layers.2.input_layernorm.weight"] == (
        "model.layers.3.input_layernorm.weight"
    )


def test_pruned_model_whose_config_still_counts_the_layer_fails_as_random_init(
    llama4: Path, tmp_path: Path
) -> None:
    found = review(prune(llama4, tmp_path / "p", 2, update_config=False), llama4)
    missing = [f for f in found if f.rule == "evals-missing-tensor"]
    assert missing and missing[0].severity is Severity.HIGH
    assert "base layers 2 are missing" in missing[0].message
    assert "would load as random init" in missing[0].message
    assert "evals-pruned" not in rules(found)


def test_renamed_half_precision_model_loads_cleanly_and_is_not_random_init(
    gpt2: Path, tmp_path: Path
) -> None:
    from transformers import GPT2LMHeadModel

    model = GPT2LMHeadModel.from_pretrained(gpt2)
    _nudge(model)
    # The bare transformer: every key loses its "transformer." prefix; stored as float16.
    model.transformer.half().save_pretrained(tmp_path / "r")
    _tokenizer(gpt2, tmp_path / "r")
    found = review(tmp_path / "r", gpt2)
    assert rules(found) == set()
    renamed = next(f for f in found if f.rule == "evals-restructured")
    assert (
        renamed.extra["renamed"]["h.0.attn.c_attn.weight"] == "transformer.h.0.attn.c_attn.weight"
    )
    assert renamed.extra["renamed"]["ln_f.weight"] == "transformer.ln_f.weight"
    assert not any("random init" in f.message for f in found)


def test_a_block_missing_under_any_name_still_fails(gpt2: Path, tmp_path: Path) -> None:
    from transformers import GPT2LMHeadModel

    model = GPT2LMHeadModel.from_pretrained(gpt2)
    _nudge(model)
    state = {k: v for k, v in model.state_dict().items() if "h.1.mlp.c_fc.weight" not in k}
    model.save_pretrained(tmp_path / "m", state_dict=state)
    found = review(tmp_path / "m", gpt2)
    missing = [f for f in found if f.rule == "evals-missing-tensor"]
    assert missing and "transformer.h.1.mlp.c_fc.weight" in missing[0].message


def test_a_pruned_model_left_on_the_platform_gets_the_local_findings(
    llama4: Path, tmp_path: Path, files_dir: Path, server: RangeServer
) -> None:
    local = prune(llama4, tmp_path / "p", 1, update_config=True)
    c = remote_copy(local, files_dir, server, tmp_path / "empty", llama4)
    found = QuickEvalCheck().run(c).findings
    assert [f.to_dict() for f in found] == [f.to_dict() for f in review(local, llama4)]
    # Sampled in the streamed pass: a handful of ranged GETs, not one per sampled value.
    weight_requests = [r for r in server.requests if r[1] == "model.safetensors"]
    assert len(weight_requests) < 10
