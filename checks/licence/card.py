"""The model card (README.md front matter) via huggingface_hub: licence and base models."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checks.findings import Finding, Severity
from checks.fixes import FIX_KEY, Fix
from checks.licence.spdx import check_expression, hub_ids

CARD = "README.md"
_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Card:
    """The licence facts of a card from a card; ``error`` is set when the front matter is broken."""

    licence: str | None = None
    licence_name: str | None = None
    licence_link: str | None = None
    base_models: tuple[str, ...] = ()
    relation: str | None = None
    model_name: str | None = None
    body: str = ""
    has_metadata: bool = False
    error: str | None = None
    source: str = ""  # the whole README.md, so a fix can name the lines it changes

    @property
    def key(self) -> str | None:
        """A comparable licence key: a Hub id, ``other:<license_name>``, or a normalised SPDX id."""
        return licence_key(self.licence, self.licence_name)


def licence_key(licence: str | None, name: str | None = None) -> str | None:
    if not licence:
        return None
    low = licence.strip().lower()
    if low == "other":
        named = (name or "").strip().lower()
        return named if named in hub_ids() else f"other:{named}"
    if low in hub_ids():
        return low
    checked = check_expression(licence)
    return checked.normalized.lower() if checked.normalized else low


def parse_card(text: str) -> Card:
    # Imported here: huggingface_hub costs 0.25 s; a tree without a card never needs it.
    import yaml  # type: ignore[import-untyped]
    from huggingface_hub import ModelCard

    try:
        card = ModelCard(text, ignore_metadata_errors=True)
    except (ValueError, yaml.YAMLError) as exc:
        return Card(body=text, error=f"the front matter is not a YAML mapping ({_first_line(exc)})")
    data: dict[str, Any] = card.data.to_dict()  # type: ignore[no-untyped-call]
    licence = data.get("license")
    if isinstance(licence, list):  # some cards list several; all of them apply
        licence = " AND ".join(str(x) for x in licence)
    base = data.get("base_model")
    bases = tuple(str(b) for b in base) if isinstance(base, list) else (str(base),) if base else ()
    heading = _H1.search(card.text)
    return Card(
        licence=str(licence) if licence else None,
        licence_name=_str(data.get("license_name")),
        licence_link=_str(data.get("license_link")),
        base_models=bases,
        relation=_str(data.get("base_model_relation")),
        model_name=_str(data.get("model_name")) or (heading.group(1) if heading else None),
        body=card.text,
        has_metadata=bool(data),
        source=text,
    )


def read_card(root: Path) -> Card | None:
    path = root / CARD
    if not path.is_file():
        return None
    return parse_card(path.read_text("utf-8", errors="replace"))


def base_model_ids(root: Path) -> list[str]:
    """The Hub ids a contribution's card names as its base models, for fetching their cards;
    without any, those its GGUF files name (``general.base_model.*``)."""
    card = read_card(root)
    if card and card.base_models:
        return list(card.base_models)
    from checks.licence.gguf_bases import local_gguf_bases  # late: only cards without a base

    return local_gguf_bases(root)


def card_findings(
    card: Card | None, check: str, *, licence_file: str | None = None, name: str | None = None
) -> list[Finding]:
    """``licence_file`` (the shipped LICENSE) and ``name`` (what it was identified as) fill in
    the exact lines a ``license: other`` card lacks, so the finding carries its fix."""

    def finding(
        rule: str, message: str, severity: Severity = Severity.MEDIUM, fix: Fix | None = None
    ) -> Finding:
        extra = {FIX_KEY: fix.to_dict()} if fix is not None else {}
        return Finding(check, rule, severity, CARD, message, extra=extra)

    if card is None:
        return [
            finding(
                "card-licence-missing",
                "there is no model card (README.md); add one whose front matter declares "
                "`license:` (for example `license: apache-2.0`)",
            )
        ]
    if card.error:
        return [finding("card-licence-invalid", f"README.md front matter: {card.error}")]
    if not card.licence:
        return [
            finding(
                "card-licence-missing",
                "the model card declares no `license:`; add it to the front matter "
                "(a Hub licence id such as `apache-2.0`, or an SPDX expression)",
            )
        ]
    low = card.licence.strip().lower()
    if low == "other":
        missing = [
            k
            for k, v in (("license_name", card.licence_name), ("license_link", card.licence_link))
            if not v
        ]
        if missing:
            return [
                finding(
                    "card-licence-invalid",
                    f"`license: other` needs {' and '.join(f'`{m}:`' for m in missing)} "
                    "in the front matter",
                    fix=_other_fix(card, missing, licence_file, name),
                )
            ]
        return []
    if low in hub_ids():
        return []
    checked = check_expression(card.licence)
    if not checked.valid:
        return [
            finding(
                "card-licence-invalid",
                f"`license: {card.licence}` is neither a licence id the Hub accepts nor valid SPDX "
                f"({'; '.join(checked.errors)})",
            )
        ]
    return []


def _other_fix(
    card: Card, missing: list[str], licence_file: str | None, name: str | None
) -> Fix | None:
    """Lines for the missing ``license_name`` / ``license_link``, below ``license: other``.

    Only with a licence file to link: a link to nothing would pass the check and help no one.
    """
    if licence_file is None:
        return None
    lines = card.source.splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    for number, line in enumerate(lines[1:], 2):
        if line.strip() == "---":
            return None  # the end of the front matter: `license:` is written in another form
        if _LICENSE_OTHER.fullmatch(line):
            values = {"license_name": _slug(name or card.model_name), "license_link": licence_file}
            added = "\n".join(f"{key}: {values[key]}" for key in missing)
            return Fix(CARD, number, line, f"{line}\n{added}")
    return None


_LICENSE_OTHER = re.compile(r"license:\s*['\"]?other['\"]?\s*")


def _slug(text: str | None) -> str:
    """A ``license_name`` as the Hub writes them: lower case, words joined by dashes."""
    words = re.findall(r"[a-z0-9]+", (text or "").lower())
    slug = "-".join(words)[:60].strip("-")
    if not slug:
        return "custom-license"
    return slug if slug.endswith(("license", "licence")) else f"{slug}-license"


def _str(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
