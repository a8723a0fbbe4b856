"""Tier 1 on the real all-MiniLM-L6-v2 and perturbed copies of it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from safetensors.numpy import load_file, save_file

from checks.base import CheckResult
from checks.evals.check import QuickEvalCheck
from checks.findings import Severity, Verdict
from reviewbot.review import review_folder
from tests.evals.builders import contribution
from tests.evals.conftest import EMBEDDING, QUERY3


def run(root: Path, base: Path | None) -> CheckResult:
    return QuickEvalCheck().run(contribution(root, base))


def rules(result: CheckResult, at_least: Severity = Severity.LOW) -> set[str]:
    return {f.rule for f in result.findings if f.severity >= at_least}


def verdict(result: CheckResult) -> Verdict:
    return Verdict.of(f.severity for f in result.findings)


def test_untouched_copy_warns_identical(minilm_variants: dict[str, Path], minilm: Path) -> None:
    result = run(minilm_variants["copy"], minilm)
    assert rules(result) == {"evals-identical"}
    assert verdict(result) is Verdict.WARN
    assert "all 104 tensors are identical" in result.findings[0].message


def test_small_noise_passes(minilm_variants: dict[str, Path], minilm: Path) -> None:
    result = run(minilm_variants["noise"], minilm)
    assert verdict(result) is Verdict.PASS, result.findings
    assert any("relative L2 median 0.01" in n for n in result.notes)


def test_nan_fails_naming_the_tensor(minilm_variants: dict[str, Path], minilm: Path) -> None:
    result = run(minilm_variants["nan"], minilm)
    assert rules(result) == {"evals-nan"}
    (nan,) = result.findings
    assert nan.location == QUERY3 and nan.extra["nan"] == 10
    assert QUERY3 in nan.message and "10 NaN" in nan.message


def test_nan_is_found_without_a_base(minilm_variants: dict[str, Path]) -> None:
    result = run(minilm_variants["nan"], None)
    assert rules(result) == {"evals-nan"}
    assert any("no base given" in n for n in result.notes)


def test_swapped_layers_fail(minilm_variants: dict[str, Path], minilm: Path) -> None:
    result = run(minilm_variants["swap"], minilm)
    assert rules(result) == {"evals-swapped"}
    (swap,) = result.findings
    assert swap.severity is Severity.HIGH
    name = "encoder.layer.0.attention.self.query.weight"
    assert swap.extra["tensors"][name] == name.replace("layer.0", "layer.5")
    assert len(swap.extra["tensors"]) == 32


def test_scrambled_values_fail(minilm_variants: dict[str, Path], minilm: Path) -> None:
    result = run(minilm_variants["scramble"], minilm)
    assert rules(result) == {"evals-shuffled"}
    assert len(result.findings[0].extra["tensors"]) == 4


def test_truncated_embedding_fails(minilm_variants: dict[str, Path], minilm: Path) -> None:
    result = run(minilm_variants["truncate"], minilm)
    assert rules(result, Severity.HIGH) == {
        "evals-truncated-embedding",
        "evals-config-mismatch",
        "evals-tokenizer-mismatch",
    }
    trunc = next(f for f in result.findings if f.rule == "evals-truncated-embedding")
    assert trunc.location == EMBEDDING and "30000 rows; the base has 30522" in trunc.message


def test_reinitialised_weights_are_unrelated(
    minilm_variants: dict[str, Path], minilm: Path
) -> None:
    result = run(minilm_variants["reinit"], minilm)
    assert "evals-unrelated" in rules(result, Severity.HIGH)


def test_pickle_only_is_not_evaluated(tmp_path: Path) -> None:
    (tmp_path / "pytorch_model.bin").write_bytes(b"PK\x03\x04")
    result = run(tmp_path, None)
    assert rules(result) == {"evals-not-evaluated"}
    assert "convert to safetensors" in result.findings[0].message
    assert result.notes == ["tier 1 skipped: no safetensors (pickle weights only)"]


def test_unreadable_file_is_a_gap_the_weight_scan_fails(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"\xff" * 8 + b"{}")
    result = run(tmp_path, None)
    # The evals only say what they could not read; failing the file is the weight scan's job.
    assert [(f.rule, f.severity) for f in result.findings] == [("evals-unreadable", Severity.INFO)]
    assert result.notes == ["tier 1 skipped: no readable safetensors file"]
    report = review_folder(tmp_path, hub=None)
    assert report.verdict is Verdict.FAIL
    assert "safetensors-invalid" in {f.rule for f in report.findings if f.check == "weights"}


def _shard(src: Path, dest: Path, *, misfile: str | None = None) -> None:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("*.safetensors"))
    tensors = load_file(str(src / "model.safetensors"))
    names = sorted(tensors)
    halves = {
        "model-00001-of-00002.safetensors": names[:50],
        "model-00002-of-00002.safetensors": names[50:],
    }
    weight_map = {}
    for shard, part in halves.items():
        save_file({n: tensors[n] for n in part}, str(dest / shard), metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(part, shard))
    if misfile:
        weight_map[misfile] = "model-00002-of-00002.safetensors"
    index = {"metadata": {"total_size": 0}, "weight_map": weight_map}
    (dest / "model.safetensors.index.json").write_text(json.dumps(index))


def test_sharded_copy_matches_its_index(minilm: Path, tmp_path: Path) -> None:
    _shard(minilm, tmp_path / "ok")
    result = run(tmp_path / "ok", minilm)
    assert rules(result) == {"evals-identical"}


def test_index_naming_the_wrong_shard_fails(minilm: Path, tmp_path: Path) -> None:
    _shard(minilm, tmp_path / "bad", misfile=EMBEDDING)
    result = run(tmp_path / "bad", minilm)
    assert "evals-index-mismatch" in rules(result, Severity.HIGH)
    bad = next(f for f in result.findings if f.rule == "evals-index-mismatch")
    assert EMBEDDING in bad.message


def test_config_differing_from_base_fails(
    minilm_variants: dict[str, Path], minilm: Path, tmp_path: Path
) -> None:
    shutil.copytree(minilm_variants["noise"], tmp_path / "c")
    config = json.loads((tmp_path / "c" / "config.json").read_text())
    config["num_hidden_layers"] = 12
    (tmp_path / "c" / "config.json").write_text(json.dumps(config))
    result = run(tmp_path / "c", minilm)
    assert rules(result) == {"evals-config-mismatch"}
    assert {f.path for f in result.findings} == {"config.json"}
