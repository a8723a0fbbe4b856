"""LoRA adapters against the real MiniLM base."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from checks.evals.check import QuickEvalCheck
from checks.findings import Severity
from tests.evals.builders import contribution

BASE_ID = "sentence-transformers/all-MiniLM-L6-v2"


def adapter(
    dest: Path,
    *,
    r: int = 8,
    shape_r: int | None = None,
    targets: list[str] | None = None,
    trained: bool = True,
    base_name: str = BASE_ID,
) -> Path:
    dest.mkdir()
    targets = targets or ["query", "value"]
    rng = np.random.default_rng(0)
    tensors = {}
    k = shape_r or r
    for layer in range(6):
        for module in ("query", "value"):
            prefix = f"base_model.model.encoder.layer.{layer}.attention.self.{module}"
            tensors[f"{prefix}.lora_A.weight"] = rng.standard_normal((k, 384)).astype(np.float32)
            b = rng.standard_normal((384, k)) if trained else np.zeros((384, k))
            tensors[f"{prefix}.lora_B.weight"] = b.astype(np.float32)
    save_file(tensors, str(dest / "adapter_model.safetensors"))
    config = {
        "peft_type": "LORA",
        "base_model_name_or_path": base_name,
        "r": r,
        "lora_alpha": 16,
        "target_modules": targets,
    }
    (dest / "adapter_config.json").write_text(json.dumps(config))
    return dest


def rules(root: Path, base: Path) -> set[str]:
    result = QuickEvalCheck().run(contribution(root, base, base_id=BASE_ID))
    assert any("LoRA layout" in n for n in result.notes)
    return {f.rule for f in result.findings if f.severity >= Severity.LOW}


def test_trained_adapter_for_this_base_passes(minilm: Path, tmp_path: Path) -> None:
    assert rules(adapter(tmp_path / "a"), minilm) == set()


def test_untrained_adapter_warns(minilm: Path, tmp_path: Path) -> None:
    assert rules(adapter(tmp_path / "a", trained=False), minilm) == {"evals-adapter-untrained"}


def test_wrong_rank_fails(minilm: Path, tmp_path: Path) -> None:
    assert rules(adapter(tmp_path / "a", r=16, shape_r=8), minilm) == {"evals-adapter-shape"}


@pytest.mark.parametrize("targets", [["q_proj", "v_proj"], ["query", "gate_proj"]])
def test_target_modules_absent_from_base_fail(
    minilm: Path, tmp_path: Path, targets: list[str]
) -> None:
    assert rules(adapter(tmp_path / "a", targets=targets), minilm) == {
        "evals-adapter-target-missing"
    }


def test_adapter_for_another_base_warns(minilm: Path, tmp_path: Path) -> None:
    found = rules(adapter(tmp_path / "a", base_name="meta-llama/Llama-3.2-1B"), minilm)
    assert found == {"evals-adapter-base"}


def test_adapter_for_a_wider_base_fails(minilm: Path, tmp_path: Path) -> None:
    dest = adapter(tmp_path / "a")
    tensors = {
        "base_model.model.encoder.layer.0.attention.self.query.lora_A.weight": np.ones(
            (8, 768), np.float32
        )
    }
    save_file(tensors, str(dest / "adapter_model.safetensors"))
    assert "evals-adapter-shape" in rules(dest, minilm)
