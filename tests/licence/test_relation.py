"""The card's base_model_relation and the GGUF metadata, cross-checked with the files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import gguf
import numpy as np
import pytest

from checks.findings import Severity
from checks.fixes import apply_fixes, fix_of
from checks.licence.card import base_model_ids
from tests.licence.conftest import Files, run_check

BASE = "meta-llama/Llama-3.1-8B"
LLAMA_CARD = "---\nlicense: llama3.1\n---\n# Llama 3.1\n"
APACHE_CARD = "---\nlicense: apache-2.0\n---\n# Base\n"


def write_gguf(
    path: Path,
    *,
    licence: str | None = "llama3.1",
    bases: tuple[tuple[str, str, str], ...] = (("Llama 3.1 8B", "Meta Llama", BASE),),
    file_type: int = gguf.LlamaFileType.MOSTLY_Q8_0,
) -> None:
    """A real GGUF file written by llama.cpp's own writer, with the metadata its converter sets."""
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("Whatever 8B")
    if licence:
        writer.add_license(licence)
    writer.add_file_type(int(file_type))
    writer.add_base_model_count(len(bases))
    for i, (name, org, repo) in enumerate(bases):
        writer.add_base_model_name(i, name)
        writer.add_base_model_organization(i, org)
        if repo:
            writer.add_base_model_repo_url(i, f"https://huggingface.co/{repo}")
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def card(licence: str, *, base: str | None = BASE, relation: str | None = None) -> str:
    lines = [f"license: {licence}"]
    if base:
        lines.append(f"base_model: {base}")
    if relation:
        lines.append(f"base_model_relation: {relation}")
    return "---\n" + "\n".join(lines) + "\n---\n# Llama-3.1-Whatever\nBuilt with Llama\n"


def by_rule(result: object, rule: str) -> list[object]:
    return [f for f in result.findings if f.rule == rule]  # type: ignore[attr-defined]


def test_gguf_licence_that_contradicts_the_card(tree: Callable[[Files], Path]) -> None:
    root = tree({"README.md": card("apache-2.0", base=None)})
    write_gguf(root / "model-Q8_0.gguf", licence="llama3.1")
    found = by_rule(run_check(root), "gguf-licence-mismatch")
    assert len(found) == 1
    assert found[0].severity is Severity.MEDIUM  # type: ignore[attr-defined]
    assert "llama3.1" in found[0].message and found[0].path == "model-Q8_0.gguf"  # type: ignore[attr-defined]


def test_gguf_that_agrees_with_the_card_is_quiet(tree: Callable[[Files], Path]) -> None:
    root = tree({"README.md": card("llama3.1", relation="quantized"), "LICENSE": "x"})
    write_gguf(root / "model-Q8_0.gguf")
    result = run_check(root, base_cards={BASE: LLAMA_CARD}, model_id="me/Llama-3.1-Whatever")
    rules = {f.rule for f in result.findings}
    assert not rules & {
        "gguf-licence-mismatch",
        "gguf-base-model-mismatch",
        "base-model-relation-mismatch",
        "quantized-licence-differs",
    }
    assert any("relation to the base: quantized" in n for n in result.notes)


def test_gguf_base_models_drive_the_inheritance_when_the_card_names_none(
    tree: Callable[[Files], Path],
) -> None:
    root = tree({"README.md": card("apache-2.0", base=None)})
    write_gguf(root / "model.gguf", licence=None)
    assert base_model_ids(root) == [BASE]
    result = run_check(root, base_cards={BASE: LLAMA_CARD})
    conflicts = by_rule(result, "base-licence-conflict")
    assert conflicts and BASE in conflicts[0].message  # type: ignore[attr-defined]
    assert any("from the GGUF metadata" in n for n in result.notes)


def test_gguf_names_organisation_and_name_without_a_url(tree: Callable[[Files], Path]) -> None:
    root = tree({"README.md": card("mit", base=None)})
    write_gguf(root / "model.gguf", licence=None, bases=(("Base Model", "Some Org", ""),))
    assert base_model_ids(root) == ["Some-Org/Base-Model"]


def test_gguf_base_model_other_than_the_cards(tree: Callable[[Files], Path]) -> None:
    root = tree({"README.md": card("llama3.1", base="mistralai/Mistral-7B-v0.1")})
    write_gguf(root / "model.gguf")
    found = by_rule(run_check(root), "gguf-base-model-mismatch")
    assert len(found) == 1 and BASE in found[0].message  # type: ignore[attr-defined]


def test_quantised_copy_relicensed_under_a_permissive_licence(
    tree: Callable[[Files], Path],
) -> None:
    """An Apache-2.0 base accepts any licence for a derivative, but a quantised copy is not one."""
    root = tree({"README.md": card("mit", base="org/base", relation="quantized")})
    write_gguf(root / "model.gguf", licence="mit", bases=(("Base", "org", "org/base"),))
    found = by_rule(
        run_check(root, base_cards={"org/base": APACHE_CARD}), "quantized-licence-differs"
    )
    assert len(found) == 1 and "apache-2.0" in found[0].message  # type: ignore[attr-defined]


def test_a_fine_tune_of_an_apache_base_may_choose_its_licence(
    tree: Callable[[Files], Path],
) -> None:
    root = tree({"README.md": card("mit", base="org/base", relation="finetune")})
    (root / "model.safetensors").write_bytes(b"\x00" * 8)
    result = run_check(root, base_cards={"org/base": APACHE_CARD})
    assert not by_rule(result, "quantized-licence-differs")
    assert not by_rule(result, "base-model-relation-mismatch")


@pytest.mark.parametrize(
    ("relation", "files", "expected"),
    [
        ("adapter", {"model.safetensors": b"\0" * 8}, "no adapter"),
        ("finetune", {"adapter_config.json": json.dumps({"peft_type": "LORA"})}, "an adapter"),
        ("quantized", {"model.safetensors": b"\0" * 8}, "neither"),
    ],
)
def test_relation_that_the_files_contradict(
    tree: Callable[[Files], Path], relation: str, files: Files, expected: str
) -> None:
    root = tree({"README.md": card("llama3.1", relation=relation), **files})
    found = by_rule(run_check(root), "base-model-relation-mismatch")
    assert len(found) == 1 and expected in found[0].message  # type: ignore[attr-defined]


def test_quantization_config_shows_a_quantised_model(tree: Callable[[Files], Path]) -> None:
    config = {"model_type": "llama", "quantization_config": {"quant_method": "fp8"}}
    root = tree(
        {
            "README.md": card("llama3.1", relation="quantized"),
            "config.json": json.dumps(config),
            "model.safetensors": b"\0" * 8,
        }
    )
    assert not by_rule(run_check(root), "base-model-relation-mismatch")


def test_a_merge_of_one_model_and_an_unknown_relation(tree: Callable[[Files], Path]) -> None:
    root = tree({"README.md": card("llama3.1", relation="merge")})
    assert (
        "names one base model"
        in by_rule(run_check(root), "base-model-relation-mismatch")[0].message
    )  # type: ignore[attr-defined]
    root = tree({"README.md": card("llama3.1", relation="distilled")})
    invalid = by_rule(run_check(root), "base-model-relation-invalid")
    assert invalid and invalid[0].severity is Severity.LOW  # type: ignore[attr-defined]


def test_a_broken_gguf_gives_no_licence_facts_and_no_crash(tree: Callable[[Files], Path]) -> None:
    root = tree(
        {"README.md": card("mit", base=None), "model.gguf": b"GGUF\x03\x00\x00\x00" + b"\xff" * 40}
    )
    result = run_check(root)
    assert not by_rule(result, "gguf-licence-mismatch")
    assert base_model_ids(root) == []


def test_a_base_model_named_by_the_gguf_only_is_a_fix_for_the_card(
    tree: Callable[[Files], Path],
) -> None:
    root = tree({"README.md": card("llama3.1", base=None)})
    write_gguf(root / "model-Q8_0.gguf")
    [found] = by_rule(run_check(root), "card-base-model-missing")
    fix = fix_of(found)  # type: ignore[arg-type]
    assert fix is not None and fix.new == f"license: llama3.1\nbase_model: {BASE}"
    text = (root / "README.md").read_text()
    (root / "README.md").write_text(apply_fixes({"README.md": text}, [fix])["README.md"])
    assert by_rule(run_check(root), "card-base-model-missing") == []
