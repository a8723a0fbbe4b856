"""Tier-2 quick evals: perplexity, repetition or embedding AUC, base vs contribution, sandboxed."""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from checks.base import CheckResult, Contribution, ProgressCallback
from checks.evals.adapters import CONFIG as ADAPTER_CONFIG
from checks.evals.files import folder_files, local_folder
from checks.evals.rules import TIER2, finding, names
from checks.evals.sandbox import Limits, Outcome, run_worker
from checks.evals.thresholds import thresholds
from checks.evals.verdicts import judge
from checks.evals.weightset import load_weights, model_weight_files
from checks.findings import Severity

DATA = Path(__file__).resolve().parent / "data"
IMPORT_FLOOR = 2 << 30  # torch + transformers map 0.75 GiB before any weight; more when cold


def torch_available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "transformers"))


class ModelEvalCheck:
    name = TIER2
    title = "quick evals, tier 2 (model outputs vs base)"

    def __init__(self, concurrency: int = 1) -> None:
        self.concurrency = max(1, concurrency)

    def run(
        self, contribution: Contribution, progress: ProgressCallback | None = None
    ) -> CheckResult:
        result = CheckResult()
        why = self._skip_reason(contribution, result)
        if why is not None:
            result.notes.append(f"tier 2 skipped: {why}")
            return result
        assert contribution.base is not None
        limits = thresholds(contribution.policy)
        base_files = folder_files(contribution.base)
        size = max(
            _file_bytes(contribution.root, contribution.files),
            _file_bytes(contribution.base, base_files),
        )
        if size > limits["tier2_max_bytes"]:
            result.notes.append(
                f"tier 2 skipped: the model is {size / 1e9:.2f} GB, over the CPU size cap of "
                f"{limits['tier2_max_bytes'] / 1e9:.2f} GB ([evals] tier2_max_bytes)"
            )
            return result
        memory = max(
            _fp32_bytes(contribution.root, contribution.files),
            _fp32_bytes(contribution.base, base_files),
        )
        outcome, payload = self._evaluate(contribution, memory, limits["tier2_timeout_s"])
        judge(outcome, payload, limits, result)
        if progress is not None:
            progress("config.json")
        return result

    def _skip_reason(self, contribution: Contribution, result: CheckResult) -> str | None:
        files = list(contribution.files)
        if not contribution.run_model_evals:
            return "not requested (review --model-evals)"
        if not torch_available():
            return "install reviewbot[evals]"
        if ADAPTER_CONFIG in files:
            return "adapters are checked by tier 1 only"
        safetensors, pickles = model_weight_files(files)
        if not safetensors:
            if pickles:
                result.findings.append(
                    finding(
                        "not-evaluated",
                        Severity.MEDIUM,
                        pickles[0],
                        "not evaluated: convert to safetensors "
                        "(tier 2 never loads pickled weights)",
                        check=TIER2,
                    )
                )
                return "no safetensors (pickle weights only)"
            return "no model weights in this contribution"
        left = sorted(r for r in [*safetensors, "config.json"] if contribution.is_remote(r))
        if left:
            return f"{names(left)} stayed on the platform (tier 2 loads a local copy of the model)"
        if contribution.base is None:
            return "no base given (review --base)"
        if not model_weight_files(folder_files(contribution.base))[0]:
            return "the base has no safetensors"
        if "config.json" not in files:
            return "no config.json, so transformers cannot build the model"
        return None

    def _evaluate(
        self, contribution: Contribution, memory: int, timeout: float
    ) -> tuple[Outcome, dict[str, Any] | None]:
        assert contribution.base is not None
        cores = len(os.sched_getaffinity(0))
        threads = max(1, cores // self.concurrency)
        limits = Limits(
            address_space=IMPORT_FLOOR + 4 * memory,
            cpu_seconds=int(timeout * threads) + 10,
            wall_seconds=timeout,
            threads=threads,
        )
        with tempfile.TemporaryDirectory(prefix="reviewbot-evals-") as tmp:
            home = Path(tmp)
            job = home / "job.json"
            job.write_text(
                json.dumps(
                    {
                        # The sandbox runs in its own folder: relative paths would miss.
                        "base": str(contribution.base.resolve()),
                        "contribution": str(contribution.root.resolve()),
                        "text": str(DATA / "heldout.txt"),
                        "pairs": str(DATA / "pairs.json"),
                        "threads": threads,
                    }
                ),
                encoding="utf-8",
            )
            outcome = run_worker(job, home, limits)
        lines = outcome.stdout.strip().splitlines()
        payload = None
        if outcome.returncode == 0 and lines:
            try:
                payload = json.loads(lines[-1])
            except json.JSONDecodeError:
                payload = None
        return outcome, payload


def _file_bytes(root: Path, files: Sequence[str]) -> int:
    return sum((root / rel).stat().st_size for rel in model_weight_files(files)[0])


def _fp32_bytes(root: Path, files: Sequence[str]) -> int:
    """Bytes once loaded in float32, the dtype tier 2 evaluates in (half precision doubles)."""
    with load_weights(local_folder(root, files)) as ws:
        infos = [ws.info(n) for n in ws.where]
    return sum(i.numel * 4 if i.is_float else i.nbytes for i in infos)
