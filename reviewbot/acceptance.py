"""An accept request in the review flow: record its waivers, then take every waiver of the
contribution out of the report (``reviewbot.waivers`` has the rules; this adds the store)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from checks.report import Report
from reviewbot.models import ContributionRef
from reviewbot.waivers import (
    CRITICAL_NOTE,
    AcceptCommand,
    Accepted,
    Waiver,
    WaiverStore,
    WaiverStoreError,
    apply_waivers,
    content_hashes,
    parse_arguments,
    resolve,
)

log = logging.getLogger(__name__)
OPERATOR = "an operator"  # who accepts when the request names no one (the CLI)


@dataclass(frozen=True)
class Acceptance:
    """The report that counts, the findings accepted in it, notes for the verdict, and for an
    accept request how many waivers it made (None: no request; 0: it could not be done)."""

    report: Report
    accepted: tuple[Accepted, ...] = ()
    notes: tuple[str, ...] = ()
    made: int | None = None


def accept_and_waive(
    ref: ContributionRef,
    report: Report,
    store: WaiverStore,
    request: str | None,
    requested_by: str | None,
    *,
    blobs: Mapping[str, str],
) -> Acceptance:
    """Record what ``request`` (``RULE [PATH] -- reason``; None: just a review) accepts on this
    report, then apply all of the contribution's waivers to it. ``blobs``: the changed files'
    git blob shas as the platform lists them."""
    hashes = content_hashes(report, blobs)
    notes: tuple[str, ...] = ()
    made: int | None = None
    if request is not None:
        notes, made = _request(ref, report, hashes, store, request, requested_by)
    try:
        waivers = store.of(ref.platform.value, ref.repo, ref.number)
    except WaiverStoreError as exc:
        # fail closed: every finding counts until the waivers can be read again
        log.warning("accepted findings not applied: %s", exc, extra={"key": ref.key})
        waivers = []
    waived = apply_waivers(report, hashes, waivers)
    return Acceptance(waived.report, waived.accepted, notes, made)


def _request(
    ref: ContributionRef,
    report: Report,
    hashes: Mapping[str, str],
    store: WaiverStore,
    request: str,
    requested_by: str | None,
) -> tuple[tuple[str, ...], int]:
    """The notes for the verdict and how many findings ``request`` accepted (0: none)."""
    command = parse_arguments(request)
    if command is None:
        log.info("accept refused: not RULE [PATH] -- reason", extra={"key": ref.key})
        return (), 0
    by = requested_by or OPERATOR
    resolution = resolve(command, report, hashes, by=by, at=datetime.now(UTC))
    notes: tuple[str, ...] = ()
    if resolution.critical:
        paths = ", ".join(sorted({f.path for f in resolution.critical}))
        notes = (f"{CRITICAL_NOTE} ({paths})",)
        log.warning("accept of critical findings refused: %s", paths, extra={"key": ref.key})
    if not resolution.waivers:
        if not resolution.critical:
            log.info("accept matched no finding: %s", command.rule, extra={"key": ref.key})
        return notes, 0
    recorded = _record(ref, store, resolution.waivers, by, command)
    return notes, len(resolution.waivers) if recorded and not resolution.critical else 0


def _record(
    ref: ContributionRef,
    store: WaiverStore,
    waivers: tuple[Waiver, ...],
    by: str,
    command: AcceptCommand,
) -> bool:
    try:
        new = store.add(ref.platform.value, ref.repo, ref.number, waivers)
    except WaiverStoreError as exc:
        log.warning("accept not recorded: %s", exc, extra={"key": ref.key})
        return False
    log.info(
        "accepted %d findings (%d new) by %s: %s",
        len(waivers), new, by, command.reason, extra={"key": ref.key},
    )  # fmt: skip
    return True
