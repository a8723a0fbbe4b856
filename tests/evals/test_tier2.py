"""Tier 2 in its sandbox on real MiniLM copies and tiny causal LMs, plus its skip paths."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from checks.base import CheckResult
from checks.evals.model_check import ModelEvalCheck
from checks.evals.sandbox import PROJECT_ROOT
from checks.findings import Severity
from checks.policy import Policy
from tests.evals.builders import contribution, rewrite, tiny_causal

pytestmark = pytest.mark.slow


def run(root: Path, base: Path | None, **kwargs: object) -> CheckResult:
    kwargs.setdefault("run_model_evals", True)
    return ModelEvalCheck().run(contribution(root, base, **kwargs))


def rules(result: CheckResult) -> set[str]:
    return {f.rule for f in result.findings if f.severity >= Severity.LOW}


def table(result: CheckResult) -> dict[str, tuple[float, float]]:
    (summary,) = [f for f in result.findings if f.rule == "evals-model-table"]
    return {r["metric"]: (r["base"], r["contribution"]) for r in summary.extra["table"]["rows"]}


def test_minilm_copy_keeps_its_auc(minilm_variants: dict[str, Path], minilm: Path) -> None:
    result = run(minilm_variants["copy"], minilm)
    assert rules(result) == set()
    base, mine = table(result)["paraphrase AUC"]
    assert base == mine and 0.7 < base < 0.95
    assert any(n.startswith("tier 2 ran (encoder") for n in result.notes)


@pytest.mark.parametrize("name", ["nan", "swap"])
def test_broken_minilm_loses_its_auc(
    minilm_variants: dict[str, Path], minilm: Path, name: str
) -> None:
    result = run(minilm_variants[name], minilm)
    assert rules(result) == {"evals-embedding-auc"}
    assert result.findings[-1].severity is Severity.HIGH


def test_truncated_minilm_does_not_load(minilm_variants: dict[str, Path], minilm: Path) -> None:
    result = run(minilm_variants["truncate"], minilm)
    assert rules(result) == {"evals-load"}


@pytest.fixture(scope="module")
def trained_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_causal(tmp_path_factory.mktemp("llama") / "base", "llama", train_steps=60)


def test_llama_copy_passes_with_a_table(trained_llama: Path, tmp_path: Path) -> None:
    shutil.copytree(trained_llama, tmp_path / "c")
    result = run(tmp_path / "c", trained_llama)
    assert rules(result) == set()
    base, mine = table(result)["perplexity (held-out text)"]
    assert base == mine and base < 300  # trained: well under the 512-token vocabulary


def test_llama_reinit_fails_on_perplexity(trained_llama: Path, tmp_path: Path) -> None:
    fresh = tiny_causal(tmp_path / "c", "llama", seed=7)
    result = run(fresh, trained_llama)
    assert "evals-perplexity" in rules(result)
    assert (
        next(f for f in result.findings if f.rule == "evals-perplexity").severity is Severity.HIGH
    )


def test_llama_nan_fails_on_perplexity(trained_llama: Path, tmp_path: Path) -> None:
    shutil.copytree(trained_llama, tmp_path / "c")

    def poison(t: dict[str, np.ndarray]) -> None:
        t["model.layers.0.self_attn.q_proj.weight"][:] = np.nan

    rewrite(tmp_path / "c", poison)
    result = run(tmp_path / "c", trained_llama)
    assert "evals-perplexity" in rules(result)
    assert math.isnan(table(result)["perplexity (held-out text)"][1])


def test_gpt2_small_noise_passes(tmp_path: Path) -> None:
    base = tiny_causal(tmp_path / "base", "gpt2", train_steps=30)
    shutil.copytree(base, tmp_path / "c")

    def noise(t: dict[str, np.ndarray]) -> None:
        rng = np.random.default_rng(0)
        for name, value in t.items():
            t[name] = value + (rng.standard_normal(value.shape) * 0.002).astype(value.dtype)

    rewrite(tmp_path / "c", noise)
    result = run(tmp_path / "c", base)
    assert rules(result) == set()
    assert set(table(result)) == {"perplexity (held-out text)", "repeated 4-grams"}


def test_skip_reasons(minilm_variants: dict[str, Path], minilm: Path, tmp_path: Path) -> None:
    copy = minilm_variants["copy"]
    assert run(copy, minilm, run_model_evals=False).notes == [
        "tier 2 skipped: not requested (review --model-evals)"
    ]
    assert run(copy, None).notes == ["tier 2 skipped: no base given (review --base)"]
    capped = run(copy, minilm, policy=Policy(eval_thresholds={"tier2_max_bytes": 1e6}))
    assert "over the CPU size cap of 0.00 GB" in capped.notes[0]
    (tmp_path / "pytorch_model.bin").write_bytes(b"PK")
    pickled = run(tmp_path, minilm)
    assert rules(pickled) == {"evals-not-evaluated"}
    assert pickled.notes == ["tier 2 skipped: no safetensors (pickle weights only)"]


def test_timeout_kills_the_sandbox(minilm_variants: dict[str, Path], minilm: Path) -> None:
    policy = Policy(eval_thresholds={"tier2_timeout_s": 1.0})
    result = run(minilm_variants["copy"], minilm, policy=policy)
    assert rules(result) == {"evals-model-error"}
    assert "did not finish in time" in result.findings[0].message


def test_without_torch_it_says_what_to_install(
    minilm_variants: dict[str, Path], minilm: Path
) -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from pathlib import Path\n"
        "from checks.evals.model_check import ModelEvalCheck\n"
        "from tests.evals.builders import contribution\n"
        f"c = contribution(Path({str(minilm_variants['copy'])!r}), Path({str(minilm)!r}),"
        " run_model_evals=True)\n"
        "print(ModelEvalCheck().run(c).notes)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, check=True
    )
    assert "tier 2 skipped: install reviewbot[evals]" in out.stdout


def test_sandbox_has_no_network() -> None:
    code = (
        "from checks.evals.tier2.worker import guard_network; guard_network()\n"
        "import socket\n"
        "try:\n    socket.create_connection(('127.0.0.1', 9))\nexcept OSError as e:\n    print(e)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, check=True
    )
    assert "network access is disabled" in out.stdout


def test_relative_paths_from_the_folder_above(trained_llama: Path, tmp_path: Path) -> None:
    """`reviewbot review heavy --base base --model-evals`, run where both folders are."""
    shutil.copytree(trained_llama, tmp_path / "base")
    shutil.copytree(trained_llama, tmp_path / "heavy")
    args = ["review", "heavy", "--base", "base", "--model-evals", "--offline", "--format", "json"]
    out = subprocess.run(
        [sys.executable, "-m", "reviewbot", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        timeout=300,
    )
    report = json.loads(out.stdout)
    tier2 = [f for f in report["findings"] if f["check"] == "evals-model"]
    assert [f["rule"] for f in tier2] == ["evals-model-table"], [f["message"] for f in tier2]
    assert "FileNotFoundError" not in out.stdout + out.stderr
