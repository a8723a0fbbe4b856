"""An adapter saved by peft names its base: Hub ids, revisions, folders, snapshots vs the base."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

from checks.evals.check import QuickEvalCheck
from checks.findings import Finding
from tests.evals.builders import contribution, tiny_causal

BASE_ID = "Tiny-Org/tiny-llama"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the base folder, a trained LoRA adapter peft made from that folder)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaForCausalLM

    root = tmp_path_factory.mktemp("adapter-base")
    base = tiny_causal(root / "tiny-llama", "llama")
    with warnings.catch_warnings():
        # peft still asks transformers for the property it renamed; nothing the test checks.
        warnings.filterwarnings("ignore", "`is_gradient_checkpointing`", FutureWarning)
        model = get_peft_model(
            LlamaForCausalLM.from_pretrained(str(base)),
            LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]),
        )
    with torch.no_grad():  # a trained adapter: B is no longer its zero init
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(std=0.01)
    model.save_pretrained(root / "adapter")
    return base, root / "adapter"


def claiming(adapter: Path, dest: Path, claimed: str | None) -> Path:
    shutil.copytree(adapter, dest)
    if claimed is not None:
        config = json.loads((dest / "adapter_config.json").read_text())
        config["base_model_name_or_path"] = claimed
        (dest / "adapter_config.json").write_text(json.dumps(config))
    return dest


def base_findings(root: Path, base: Path, base_id: str | None) -> list[Finding]:
    result = QuickEvalCheck().run(contribution(root, base, base_id=base_id))
    return [f for f in result.findings if f.rule == "evals-adapter-base"]


def test_peft_names_the_folder_it_was_made_from(made: tuple[Path, Path], tmp_path: Path) -> None:
    base, adapter = made
    claimed = json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"]
    assert Path(claimed).resolve() == base.resolve()  # what peft wrote, untouched
    assert base_findings(claiming(adapter, tmp_path / "a", None), base, None) == []


def test_the_same_folder_copied_elsewhere_matches(made: tuple[Path, Path], tmp_path: Path) -> None:
    base, adapter = made
    moved = Path(shutil.copytree(base, tmp_path / "elsewhere" / "tiny-llama"))
    assert base_findings(claiming(adapter, tmp_path / "a", None), moved, None) == []


@pytest.mark.parametrize(
    "claimed",
    [
        "tiny-org/Tiny-Llama",  # case
        "Tiny-Org/tiny-llama@main",  # a trailing revision
        "Tiny-Org/tiny-llama@0123abcd",
        "tiny-llama",  # the bare name
        "~/.cache/huggingface/hub/models--Tiny-Org--tiny-llama/snapshots/0123abcd",
        "./checkpoints/tiny-llama/",  # a local folder: its last part
        "C:\\models\\tiny-llama",
    ],
)
def test_names_of_this_base_are_silent(
    made: tuple[Path, Path], tmp_path: Path, claimed: str
) -> None:
    base, adapter = made
    assert base_findings(claiming(adapter, tmp_path / "a", claimed), base, BASE_ID) == []


def test_the_base_config_name_or_path_counts(made: tuple[Path, Path], tmp_path: Path) -> None:
    base, adapter = made
    snapshot = Path(shutil.copytree(base, tmp_path / "snapshot-0123"))
    config = json.loads((snapshot / "config.json").read_text())
    config["_name_or_path"] = BASE_ID
    (snapshot / "config.json").write_text(json.dumps(config))
    dest = claiming(adapter, tmp_path / "a", "tiny-org/tiny-llama")
    assert base_findings(dest, snapshot, None) == []


@pytest.mark.parametrize(
    "claimed", ["meta-llama/Llama-3.2-1B", "other-org/tiny-llama", "/data/models/llama-3"]
)
def test_another_base_is_a_clear_finding(
    made: tuple[Path, Path], tmp_path: Path, claimed: str
) -> None:
    base, adapter = made
    (found,) = base_findings(claiming(adapter, tmp_path / "a", claimed), base, BASE_ID)
    assert f"made for {claimed!r}, not the base under review ({BASE_ID})" in found.message
