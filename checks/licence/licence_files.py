"""The LICENSE/COPYING files: present, identified, and agreeing with the declared licence."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from checks.findings import Finding, Severity
from checks.licence.texts_match import Match, identify

_NAME = re.compile(r"^(licen[cs]e|copying)(\.(md|txt|rst))?$", re.IGNORECASE)
_VARIANT = re.compile(r"^(licen[cs]e|copying)[-._]", re.IGNORECASE)
MAX_TEXT = 1024 * 1024


@dataclass(frozen=True)
class LicenceFile:
    path: str
    match: Match | None


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
        found.append(LicenceFile(path.relative_to(root).as_posix(), identify(text)))
    return found


def family(key: str) -> str:
    """GPL-3.0-only, GPL-3.0-or-later and GPL-3.0 share one text: compare them as one."""
    low = key.lower().removeprefix("licenseref-")
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
    out: list[Finding] = []
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
