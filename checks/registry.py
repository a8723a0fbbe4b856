"""The checks a review runs, in the order their sections appear in the verdict."""

from __future__ import annotations

from checks.base import Check


def default_checks() -> list[Check]:
    # Imported here so that `reviewbot scan`, which needs only the weight scan, stays light.
    from checks.evals.registry import evals_checks
    from checks.licence.check import LicenceCheck
    from checks.weights.check import WeightScanCheck

    return [WeightScanCheck(), LicenceCheck(), *evals_checks()]
