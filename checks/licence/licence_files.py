"""The LICENSE/COPYING files: present, identified, and agreeing with the declared licence."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from checks.findings import Finding, Severity
from checks.licence.model_terms import canonical
from checks.licence.texts_match import THRESHOLD, Match, identify, named

_NAME = re.compile(r"^(licen[cs]e|copying)(\.(md|txt|rst))?$", re.IGNORECASE)
_VARIANT = re.compile(r"^(licen[cs]e|copying)[-._]", re.IGNORECASE)
MAX_TEXT = 1024 * 1024

# Words that turn a permissive text into a restrictive one when a copy adds them.
_RESTRICTS = re.compile(
    r"non-?commercial|research\s+(?:purposes?\s+)?only|commercial\s+use\s+is\s+(?:not|prohibited)"
    r"|(?:is|are)\s+prohibited|may\s+not\s+(?:be\s+)?(?:use|used|distribute|sell)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class LicenceFile:
    path: str
    match: Match | None
    title: Match | None = None  # the licence its title line names, scored against that text
    restrictive: bool = False  # it speaks of non-commercial or research-only use


def licence_files(root: Path) -> list[LicenceFile]:
    found: list[LicenceFile] = []
    candidates = [
        p for p in root.iterdir() if p.is_file() and (_NAME.match(p.name) or _VARIANT.match(p.name))
    ]
    licences_dir = root / "LICENSES"
    if licences_dir.is_dir():
        candidates += [p for p in licences_dir.iterdir() if p.is_file()]
    for path in sorted(candidates):
        if path.suffix == ".license" or path.stat().st_size > MAX_TEXT:
            continue
        text = path.read_text("utf-8", errors="replace")
        found.append(
            LicenceFile(
                path.relative_to(root).as_posix(),
                identify(text),
                named(text),
                bool(_RESTRICTS.search(text)),
            )
        )
    return found


def family(key: str) -> str:
    """GPL-3.0-only, GPL-3.0-or-later and GPL-3.0 share one text: compare them as one.

    A model licence's aliases are one licence too: ``LicenseRef-qwen`` (a card's ``license_name``)
    and ``other:qwen`` (its identified text) compare equal.
    """
    low = canonical("other:" + key.lower().removeprefix("licenseref-").removeprefix("other:"))
    low = low.removeprefix("other:")
    return re.sub(r"(-only|-or-later|\+)$", "", low)


def licence_file_findings(
    files: list[LicenceFile], declared: frozenset[str], check: str
) -> list[Finding]:
    """``declared``: licence keys the card or policy declares (Hub ids or SPDX ids)."""
    if not files:
        return [
            Finding(
                check,
                "licence-file-missing",
                Severity.MEDIUM,
                "LICENSE",
                "there is no LICENSE, LICENSE.md, LICENSE.txt or COPYING file; "
                "add the full text "
                "of the licence the model card declares",
            )
        ]
    out: list[Finding] = [f for e in files if (f := _altered(e, declared, check)) is not None]
    wanted = {family(d) for d in declared}
    for entry in files:
        if entry.match is None or not wanted:
            continue
        if family(entry.match.key) not in wanted and not entry.path.startswith("LICENSES/"):
            out.append(
                Finding(
                    check,
                    "licence-file-mismatch",
                    Severity.MEDIUM,
                    entry.path,
                    f"{entry.path} holds the {entry.match.key} text "
                    f"({entry.match.method} match {entry.match.score:.0%}), but the repository "
                    f"declares {', '.join(sorted(declared))}",
                    extra={"identified": entry.match.key},
                )
            )
    return out


def _altered(entry: LicenceFile, declared: frozenset[str], check: str) -> Finding | None:
    """A text titled as a known licence whose words are not that licence's."""
    title = entry.title
    if title is None or title.score >= THRESHOLD:
        return None
    if entry.match is not None and family(entry.match.key) == family(title.key):
        return None
    claimed = family(title.key) in {family(d) for d in declared}
    restricts = entry.match is None and entry.restrictive
    actually = (
        f"its text is the {entry.match.key} text"
        if entry.match is not None
        else f"only {title.score:.0%} of its words are that licence's"
    )
    return Finding(
        check,
        "licence-file-altered",
        Severity.HIGH if restricts or (claimed and entry.match is not None) else Severity.MEDIUM,
        entry.path,
        f"{entry.path} is titled as the {title.key} licence, but {actually}"
        + ("; it adds restrictions that licence does not have" if restricts else "")
        + f"; the repository cannot claim {title.key} for it: ship the unchanged {title.key} text, "
        "or declare the licence it really is (`license: other` with `license_name`)",
        extra={"named": title.key, "similarity": title.score},
    )
