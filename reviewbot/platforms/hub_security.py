"""The Hub's own per-file security scan, in a few words for the verdict's file list."""

from __future__ import annotations

from typing import Any


def describe_security(security: Any) -> str | None:
    """``securityFileStatus`` as huggingface_hub parses it, e.g. "unsafe: os.system (dangerous)".

    The Hub's picture is shown beside reviewbot's for information only: it scans on its own
    schedule ("unscanned" until it has) and the verdict never depends on it.
    """
    if security is None:
        return None
    status = str(getattr(security, "status", "") or "unknown")
    details: list[str] = []
    av = getattr(security, "av_scan", None) or {}
    if isinstance(av, dict) and av.get("virusFound"):
        names = av.get("virusNames") or []
        details.append("virus " + ", ".join(str(n) for n in names) if names else "virus found")
    pickle = getattr(security, "pickle_import_scan", None) or {}
    if isinstance(pickle, dict):
        flagged = [
            f"{imp.get('module')}.{imp.get('name')} ({imp.get('safety')})"
            for imp in pickle.get("imports") or []
            if isinstance(imp, dict) and imp.get("safety") not in (None, "innocuous")
        ]
        if flagged:
            shown = ", ".join(flagged[:3]) + (
                f" and {len(flagged) - 3} more" if len(flagged) > 3 else ""
            )
            details.append(shown)
    return f"{status}: {'; '.join(details)}" if details else status
