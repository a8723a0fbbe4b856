"""Whether a file's licence fits the repository's, from the ScanCode LicenseDB categories."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from functools import cache
from typing import Any

from license_expression import get_license_index

from checks.findings import Severity
from checks.licence.spdx import Expression, licensing

# ScanCode's categories (license-expression ships the index); the rest restrict use or reuse.
PERMISSIVE = frozenset({"Permissive", "Public Domain"})
COPYLEFT = "Copyleft"
WEAK_COPYLEFT = "Copyleft Limited"
_OR_LATER = re.compile(r"^(?P<family>.+)-(?P<version>\d+(?:\.\d+)*)-or-later$", re.IGNORECASE)
_VERSIONED = re.compile(r"^(?P<family>.+)-(?P<version>\d+(?:\.\d+)*)(?:-only)?$", re.IGNORECASE)


class Fit(IntEnum):
    """How a header licence sits with the repository's; ordered from best to worst."""

    SAME = 0  # the repository's own licence, or a grant ("or later") that includes it
    COMPATIBLE = 1  # third-party code the repository may carry as it is
    OBLIGATIONS = 2  # may be carried, but binds this file (weak copyleft) or is unclassified
    INCOMPATIBLE = 3  # would relicense the whole work or forbid what the repository allows


@dataclass(frozen=True)
class Judgement:
    fit: Fit
    licence: str  # the licence that decided it
    category: str | None
    reason: str

    @property
    def severity(self) -> Severity | None:
        return {
            Fit.SAME: None,
            Fit.COMPATIBLE: Severity.LOW,
            Fit.OBLIGATIONS: Severity.MEDIUM,
            Fit.INCOMPATIBLE: Severity.HIGH,
        }[self.fit]


@cache
def _categories() -> dict[str, str]:
    """Lower-cased SPDX ids (and LicenseRef-scancode-* keys) to their ScanCode category."""
    table: dict[str, str] = {}
    for row in get_license_index():
        category = row.get("category")
        if not category:
            continue
        keys = [row.get("spdx_license_key"), *(row.get("other_spdx_license_keys") or [])]
        keys.append(f"LicenseRef-scancode-{row['license_key']}")
        for key in keys:
            if key:
                table.setdefault(str(key).lower(), str(category))
    return table


def category(licence_id: str) -> str | None:
    return _categories().get(licence_id.lower())


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _grants(header: str, repo: str) -> bool:
    """``GPL-2.0-or-later`` includes ``GPL-3.0-only`` and ``GPL-3.0-or-later``."""
    later = _OR_LATER.match(header)
    if later is None:
        return False
    target = _OR_LATER.match(repo) or _VERSIONED.match(repo)
    return (
        target is not None
        and target["family"].lower() == later["family"].lower()
        and _version(target["version"]) >= _version(later["version"])
    )


def _repo_kind(repo: Iterable[str]) -> str:
    kinds = {category(r) for r in repo}
    if kinds and kinds <= PERMISSIVE:
        return "permissive"
    if COPYLEFT in kinds:
        return "copyleft"
    return "other"


def judge_licence(licence_id: str, repo: frozenset[str]) -> Judgement:
    """One licence id of a header against the repository's licences (SPDX ids)."""
    lowered = {r.lower() for r in repo}
    found = category(licence_id)
    if licence_id.lower() in lowered or any(_grants(licence_id, r) for r in repo):
        return Judgement(Fit.SAME, licence_id, found, "the repository's own licence")
    kind = _repo_kind(repo)
    if found in PERMISSIVE:
        return Judgement(
            Fit.COMPATIBLE,
            licence_id,
            found,
            f"{licence_id} ({found.lower()}) may be carried in a repository under "
            f"{_names(repo)}; keep its licence line and copyright notice as they are",
        )
    if found == COPYLEFT:
        return Judgement(
            Fit.INCOMPATIBLE,
            licence_id,
            found,
            f"{licence_id} is copyleft: distributing this file with the rest would put the whole "
            f"work under {licence_id}, which {_names(repo)} "
            + ("does not allow" if kind != "copyleft" else "is not compatible with"),
        )
    if found == WEAK_COPYLEFT:
        return Judgement(
            Fit.OBLIGATIONS,
            licence_id,
            found,
            f"{licence_id} is weak copyleft: the file may stay, but it keeps {licence_id} and "
            "its source (with changes) must be offered under it; check that is intended",
        )
    if found is None:
        return Judgement(
            Fit.OBLIGATIONS,
            licence_id,
            None,
            f"{licence_id} is not a licence reviewbot can classify, and the repository does not "
            "ship its text in LICENSES/; check its terms by hand",
        )
    severe = kind in ("permissive", "copyleft")
    return Judgement(
        Fit.INCOMPATIBLE if severe else Fit.OBLIGATIONS,
        licence_id,
        found,
        f"{licence_id} is {found.lower()} (it restricts use or redistribution), which "
        f"{_names(repo)} "
        + ("does not: the file cannot be shipped under the repository's terms" if severe else "")
        + ("" if severe else "may not allow; check its terms against the repository's"),
    )


def judge_header(expression: Expression, repo: frozenset[str]) -> Judgement | None:
    """The best choice an OR offers, the worst part an AND requires; None if not parsed."""
    if expression.parsed is None:
        return None
    spdx = licensing()

    def walk(node: Any) -> Judgement:
        if isinstance(node, spdx.AND):
            return max((walk(arg) for arg in node.args), key=lambda j: j.fit)
        if isinstance(node, spdx.OR):
            return min((walk(arg) for arg in node.args), key=lambda j: j.fit)
        symbol = getattr(node, "license_symbol", node)
        return judge_licence(str(symbol.key), repo)

    return walk(expression.parsed)


def _names(repo: Iterable[str]) -> str:
    return " / ".join(sorted(repo)) or "the repository's licence"
