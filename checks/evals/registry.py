"""The two evals checks in verdict order; neither import pulls in torch."""

from __future__ import annotations

from checks.base import Check
from checks.evals.check import QuickEvalCheck
from checks.evals.model_check import ModelEvalCheck


def evals_checks(concurrency: int = 1) -> list[Check]:
    """Tier 1 always; tier 2 runs only when the contribution asks for model evals."""
    return [QuickEvalCheck(), ModelEvalCheck(concurrency=concurrency)]
