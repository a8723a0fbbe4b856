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
    Accepted,
    WaiverStore,
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
    where = (ref.platform.value, ref.repo, ref.number)
    notes: list[str] = []
    made: int | None = None
    if request is not None:
        made = 0
        command = parse_arguments(request)
        if command is None:
            log.info("accept refused: not RULE [PATH] -- reason", extra={"key": ref.key})
        else:
            by = requested_by or OPERATOR
            resolution = resolve(command, report, hashes, by=by, at=datetime.now(UTC))
            if resolution.critical:
                paths = ", ".join(sorted({f.path for f in resolution.critical}))
                notes.append(f"{CRITICAL_NOTE} ({paths})")
                log.warning(
                    "accept of critical findings refused: %s", paths, extra={"key": ref.key}
                )
            if resolution.waivers:
                new = store.add(*where, resolution.waivers)
                log.info(
                    "accepted %d findings (%d new) by %s: %s",
                    len(resolution.waivers), new, by, command.reason, extra={"key": ref.key},
                )  # fmt: skip
            elif not resolution.critical:
                log.info("accept matched no finding: %s", command.rule, extra={"key": ref.key})
            made = 0 if resolution.critical else len(resolution.waivers)
    waived = apply_waivers(report, hashes, store.of(*where))
    return Acceptance(waived.report, waived.accepted, tuple(notes), made)
