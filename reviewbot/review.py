"""A local review: a folder in, a report out. The service runs the same function on downloads."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from checks.base import Check, Contribution, ProgressCallback, RemoteBlob
from checks.findings import Finding
from checks.licence.card import base_model_ids
from checks.policy import Policy
from checks.policy_file import load_policy
from checks.registry import default_checks
from checks.report import CheckSummary, Report
from checks.runner import run_checks
from checks.weights.symlinks import symlink_finding
from reviewbot.files import folder_listing

if TYPE_CHECKING:
    from checks.cache import ResultCache


@dataclass(frozen=True)
class HubAccess:
    """Where base models' cards come from; None endpoint means huggingface_hub's default."""

    endpoint: str | None = None
    token: str | None = None


def review_folder(
    root: Path,
    *,
    base: Path | None = None,
    base_id: str | None = None,
    model_id: str | None = None,
    policy: Policy | None = None,
    hub: HubAccess | None = None,
    compute_sha256: bool = False,
    known_sha256: Mapping[str, str] | None = None,
    model_evals: bool = False,
    checks: Sequence[Check] | None = None,
    progress: ProgressCallback | None = None,
    result_cache: ResultCache | None = None,
    remote: Mapping[str, RemoteBlob] | None = None,
    max_stream_bytes: int | None = None,
    only: Collection[str] | None = None,
) -> Report:
    """Run every check on ``root``. With ``hub`` set, the cards of the base models the
    contribution's card declares are fetched for the licence check (a failure is a note).
    With ``result_cache``, files whose sha256 is in ``known_sha256`` and cached are not read.
    ``remote`` files stay on their platform and are read through range requests; tier-1 evals
    stream at most ``max_stream_bytes`` of tensor data (None: no bound). ``only`` limits the
    files checked to those relative paths (a pull request's changed files)."""
    policy_findings: list[Finding] = []
    if policy is None:
        policy, policy_findings = load_policy(root)
    cards: dict[str, str] = {}
    hub_notes: list[str] = []
    if hub is not None:
        ids = [i for i in base_model_ids(root) if base is None or i != base_id]
        if ids:
            from reviewbot.base_model import fetch_base_cards

            cards, hub_notes = fetch_base_cards(ids, endpoint=hub.endpoint, token=hub.token)
    if base is not None and base_id is not None and (base / "README.md").is_file():
        cards.setdefault(base_id, (base / "README.md").read_text("utf-8", errors="replace"))
    listing = folder_listing(root)
    contribution = Contribution(
        root=root,
        files=sorted(f for f in {*listing.files, *(remote or {})} if only is None or f in only),
        base=base,
        policy=policy,
        known_sha256=dict(known_sha256 or {}),
        compute_sha256=compute_sha256,
        base_cards=cards,
        model_id=model_id,
        base_id=base_id,
        run_model_evals=model_evals,
        result_cache=result_cache,
        remote=dict(remote or {}),
        max_stream_bytes=max_stream_bytes,
    )
    report = run_checks(contribution, checks if checks is not None else default_checks(), progress)
    report.findings.extend(policy_findings)
    report.findings.extend(
        symlink_finding(root / name, name, root)
        for name in listing.links
        if only is None or name in only
    )
    if hub_notes:
        report.checks.append(CheckSummary("hub", "base models from the Hub", hub_notes))
    return report
