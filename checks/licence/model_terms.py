"""Model licences as data: builds Terms from model_licences.toml, and spots restricted unknowns."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from checks.findings import Severity
from checks.licence.terms import Obligation, Terms, Where, name_prefix, phrase

DATA = "model_licences.toml"

# A licence id, name, link or card text saying use is limited; "-nc-" as in cc-by-nc-4.0.
RESTRICTED = re.compile(
    r"non[-\s_]?commercial|research[-\s_]only|only\s+for\s+research|(?:^|[-_/])nc(?:[-_.]|$)"
    r"|non[-\s_]?production|research[-\s_]use|research[-\s_]licen[cs]e|(?:^|[-_])research$",
    re.IGNORECASE,
)
# Licences that grant commercial use with no more than notices: a restricted base forbids them.
PERMISSIVE = frozenset(
    {
        "apache-2.0",
        "mit",
        "bsd",
        "bsd-2-clause",
        "bsd-3-clause",
        "bsd-3-clause-clear",
        "0bsd",
        "isc",
        "unlicense",
        "cc0-1.0",
        "cc-by-2.0",
        "cc-by-2.5",
        "cc-by-3.0",
        "cc-by-4.0",
        "wtfpl",
        "zlib",
        "bsl-1.0",
        "afl-3.0",
        "ecl-2.0",
        "postgresql",
        "ncsa",
        "openmdw-1.0",
        "openmdw-1.1",
        "cdla-permissive-1.0",
        "cdla-permissive-2.0",
    }
)


@dataclass(frozen=True)
class ModelLicence:
    key: str
    ids: tuple[str, ...]
    family: str | None
    title_pattern: re.Pattern[str]
    terms: Terms


def _obligation(raw: Mapping[str, Any]) -> Obligation:
    if "phrase" in raw:
        pattern = phrase(raw["phrase"])
    elif "name_prefix" in raw:
        pattern = name_prefix(raw["name_prefix"])
    else:
        pattern = re.compile(raw["pattern"], re.IGNORECASE)
    return Obligation(
        raw["what"],
        Where[raw["where"]],
        pattern,
        raw["fix"],
        Severity[raw.get("severity", "HIGH")],
    )


@cache
def model_licences() -> tuple[ModelLicence, ...]:
    """Every licence of model_licences.toml, in file order (most specific title first)."""
    raw = tomllib.loads(resources.files("checks.licence").joinpath(DATA).read_text("utf-8"))
    entries = raw["licence"]
    families: dict[str, set[str]] = {}
    for entry in entries:
        if entry.get("family"):
            families.setdefault(entry["family"], set()).update(entry["ids"])
    out: list[ModelLicence] = []
    for entry in entries:
        accepted = frozenset(
            [*entry["ids"], *entry.get("accepts", ()), *families.get(entry.get("family", ""), ())]
        )
        terms = Terms(
            entry["key"],
            entry["title"],
            (lambda c: True) if "*" in accepted else accepted.__contains__,
            entry["requirement"],
            tuple(_obligation(o) for o in entry.get("obligation", ())),
            tuple(entry.get("restrictions", ())),
            entry.get("version", ""),
            bool(entry.get("waiver_is_breach", False)),
        )
        out.append(
            ModelLicence(
                entry["key"],
                tuple(entry["ids"]),
                entry.get("family"),
                re.compile(entry["text_title"], re.IGNORECASE),
                terms,
            )
        )
    return tuple(out)


@cache
def _by_id() -> dict[str, ModelLicence]:
    return {i: lic for lic in model_licences() for i in lic.ids}


def model_terms(key: str | None) -> Terms | None:
    """The terms of a model licence under any of its card keys, or None when it is not listed."""
    lic = _by_id().get(key) if key else None
    return lic.terms if lic else None


def canonical(key: str) -> str:
    """A model licence's main key for any of its aliases; other keys are returned unchanged."""
    lic = _by_id().get(key)
    return lic.key if lic else key


def titles() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """(key, title regex) for identifying model licence texts, most specific first."""
    return tuple((lic.key, lic.title_pattern) for lic in model_licences())


def restricted_signal(*texts: str | None) -> str | None:
    """The first phrase in ``texts`` saying a licence limits use (non-commercial, research…)."""
    for text in texts:
        m = RESTRICTED.search(text or "")
        if m:
            return m.group(0).strip("-_/.")
    return None


# A card claiming the base's use restrictions do not bind it (RAIL, DeepSeek, Gemma).
WAIVER = re.compile(
    r"\bno\s+(?:use[\s-]+(?:based\s+)?)?restrictions\b"
    r"|\brestrictions\s+(?:do|does)\s*(?:not|n['’]t)\s+apply"
    r"|\bunrestricted\s+use\b|\bwithout\s+(?:any\s+)?(?:use\s+)?restrictions\b"
    r"|\bfree\s+(?:of|from)\s+(?:any\s+|all\s+)?(?:use\s+)?restrictions\b"
    r"|\bnot\s+subject\s+to\s+(?:any|the)\s+(?:use\s+)?restrictions\b",
    re.IGNORECASE,
)
