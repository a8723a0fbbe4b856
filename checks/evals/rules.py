"""Builds evals findings: one place for the check names and the rule-id prefix."""

from __future__ import annotations

from typing import Any

from checks.findings import Finding, Severity

TIER1 = "evals"
TIER2 = "evals-model"


def finding(
    rule: str,
    severity: Severity,
    path: str,
    message: str,
    *,
    location: str | None = None,
    check: str = TIER1,
    **extra: Any,
) -> Finding:
    return Finding(
        check=check,
        rule=f"evals-{rule}",
        severity=severity,
        path=path,
        message=message,
        location=location,
        extra=extra,
    )


def names(items: list[str], limit: int = 4) -> str:
    """A short list of tensor names for a message: the first few, then a count."""
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def size(n: float) -> str:
    """Bytes in binary units for a message: 5.0 GiB, 512.0 KiB, 100 bytes."""
    if n < 1024:
        return f"{int(n)} bytes"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        n /= 1024
        if n < 1024 or unit == "TiB":
            break
    return f"{n:.1f} {unit}"
