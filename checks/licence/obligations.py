"""Checks a contribution against each base model's terms: its licence, and what it must ship."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from checks.findings import Finding, Severity
from checks.fixes import FIX_KEY
from checks.licence.card import CARD, Card, parse_card
from checks.licence.inheritance import Obligation, Terms, Where, terms_for
from checks.licence.model_terms import PERMISSIVE, WAIVER, restricted_signal
from checks.licence.obligation_fixes import obligation_fix
from checks.licence.texts_match import identify

CHECK = "licence"
MAX_DOC = 1024 * 1024
_DOC = re.compile(r"\.(md|txt|rst)$|^(licen[cs]e|copying|notice|use_policy)", re.IGNORECASE)


@dataclass
class Outcome:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def documents(root: Path) -> dict[str, str]:
    """Top-level texts (and LICENSES/) where licences, notices and "Built with" lines live."""
    docs: dict[str, str] = {}
    paths = [p for p in root.iterdir() if p.is_file() and _DOC.search(p.name)]
    if (root / "LICENSES").is_dir():
        paths += [p for p in (root / "LICENSES").iterdir() if p.is_file()]
    for path in paths:
        if path.stat().st_size <= MAX_DOC:
            docs[path.relative_to(root).as_posix()] = path.read_text("utf-8", errors="replace")
    return docs


def check_bases(
    root: Path,
    card: Card | None,
    base_cards: Mapping[str, str],
    base_dir: Path | None,
    model_id: str | None,
    *,
    bases: Sequence[str] | None = None,
    relation: str | None = None,
) -> Outcome:
    """``bases`` default to the card's; ``relation`` (``relation.relation_of``) says which
    obligations apply: a quantised copy is the base's own work and keeps its licence."""
    out = Outcome()
    bases = list(bases if bases is not None else card.base_models if card else [])
    if not bases and base_dir is None:
        out.notes.append("no base model declared (`base_model:`): inheritance rules not applied")
        return out
    if not bases:
        bases = ["the --base model"]
    docs = documents(root)
    child = card.key if card else None
    local = base_dir / CARD if base_dir is not None else None
    for base in bases:
        text, source = base_cards.get(base), "from the Hub"
        if (
            text is None
            and local is not None
            and local.is_file()
            and (len(bases) == 1 or base == bases[0])
        ):
            text, source = local.read_text("utf-8", errors="replace"), "from the --base folder"
        if text is None:
            out.findings.append(
                Finding(
                    CHECK,
                    "base-licence-unavailable",
                    Severity.MEDIUM,
                    CARD,
                    f"could not read the card of base model {base}, so its licence terms were not "
                    "checked; review them by hand or rerun when the Hub is reachable",
                    extra={"base_model": base},
                )
            )
            out.notes.append(f"base model {base}: licence unknown (card not available)")
            continue
        base_card = parse_card(text)
        key = base_card.key
        terms = terms_for(key)
        if terms is None and base_card.licence_name:  # `license: unknown` with a license_name
            named = f"other:{base_card.licence_name.strip().lower()}"
            if (found := terms_for(named)) is not None:
                key, terms = named, found
        out.notes.append(f"base model {base}: {key or 'no licence declared'} ({source})")
        if terms is None:
            out.findings.append(_unknown(base, key, base_card, child))
            continue
        out.findings.extend(_judge(base, key or "", terms, child, docs, card, model_id, base_dir))
        if relation == "quantized" and key and child and child != key and terms.accepts(child):
            out.findings.append(_quantized_relicensed(base, key, terms, child))
    return out


def _judge(
    base: str,
    key: str,
    terms: Terms,
    child: str | None,
    docs: Mapping[str, str],
    card: Card | None,
    model_id: str | None,
    base_dir: Path | None,
) -> list[Finding]:
    found: list[Finding] = []
    extra = {"base_model": base, "base_licence": key}
    if terms.version:
        extra["terms_version"] = terms.version
    if not terms.accepts(child):
        declared = f"`license: {child}`" if child else "no licence"
        found.append(
            Finding(
                CHECK,
                "base-licence-conflict",
                Severity.HIGH,
                CARD,
                f"base model {base} is under the {terms.title} ({key}); this contribution declares "
                f"{declared}, but a derivative must carry {terms.requirement}"
                + (
                    f"; the base's terms: {'; '.join(terms.restrictions)}"
                    if terms.restrictions
                    else ""
                ),
                extra=extra,
            )
        )
    waived = WAIVER.search(docs.get(CARD, "")) if terms.waiver_is_breach else None
    if waived is not None:
        found.append(
            Finding(
                CHECK,
                "base-restrictions-waived",
                Severity.HIGH,
                CARD,
                f"base model {base} is under the {terms.title} ({key}), whose use restrictions "
                f"bind every derivative; the model card says “{' '.join(waived.group(0).split())}”"
                f", which breaks the licence ({'; '.join(terms.restrictions)}); fix: remove the "
                "claim and state that use stays subject to the base's use restrictions",
                extra=extra,
            )
        )
    obligations = list(terms.obligations)
    if key == "apache-2.0" and base_dir is not None and any(base_dir.glob("NOTICE*")):
        obligations.append(
            Obligation(
                "the base's NOTICE file kept",
                Where.NOTICE_FILE,
                re.compile(r"\S"),
                "copy the base model's NOTICE file into the contribution",
                Severity.MEDIUM,
            )
        )
    for ob in obligations:
        met, detail = _met(ob, docs, card, model_id)
        if not met:
            text_fix = obligation_fix(ob, docs)
            fixed = {FIX_KEY: text_fix.to_dict()} if text_fix is not None else {}
            found.append(
                Finding(
                    CHECK,
                    "base-obligation-missing",
                    ob.severity,
                    _path_for(ob),
                    f"base model {base} ({key}) requires {ob.what} in {ob.where.value}{detail}; "
                    f"fix: {ob.fix}",
                    extra={**extra, "obligation": ob.what, "fix": ob.fix, **fixed},
                )
            )
    return found


def _quantized_relicensed(base: str, key: str, terms: Terms, child: str) -> Finding:
    return Finding(
        CHECK,
        "quantized-licence-differs",
        Severity.MEDIUM,
        CARD,
        f"this is a quantised copy of {base} (the {terms.title}, `{key}`) but declares "
        f"`license: {child}`; quantising changes no one's rights, so the copy stays under the "
        f"base's licence: declare `{key}`",
        extra={"base_model": base, "base_licence": key},
    )


def _unknown(base: str, key: str | None, base_card: Card, child: str | None) -> Finding:
    """LOW when we cannot tell; MEDIUM or HIGH when the base limits use and the child does not."""
    extra = {"base_model": base, "base_licence": key}
    named = restricted_signal(key, base_card.licence_name, base_card.licence_link)
    signal = named or restricted_signal(base_card.body)
    if signal is None or child is None or restricted_signal(child) is not None:
        return Finding(
            CHECK,
            "base-licence-unknown",
            Severity.LOW,
            CARD,
            f"base model {base} declares "
            + (f"`{key}`, whose terms reviewbot does not know" if key else "no licence")
            + "; check by hand what a derivative owes it",
            extra=extra,
        )
    where = "its licence name or link" if named else "its model card"
    permissive = child in PERMISSIVE
    return Finding(
        CHECK,
        "base-licence-restricted",
        Severity.HIGH if named and permissive else Severity.MEDIUM,
        CARD,
        f"base model {base} declares `{key}`, whose terms reviewbot does not know, but {where} "
        f"says “{signal}”; this contribution declares `license: {child}`"
        + (", which allows commercial use" if permissive else "")
        + "; a derivative cannot lift the base's restriction: declare the base's licence "
        "or check its terms by hand",
        extra={**extra, "signal": signal},
    )


def _met(
    ob: Obligation, docs: Mapping[str, str], card: Card | None, model_id: str | None
) -> tuple[bool, str]:
    if ob.where is Where.NAME:
        names = (
            [model_id.rsplit("/", 1)[-1]]
            if model_id
            else ([card.model_name] if card and card.model_name else [])
        )
        if not names:
            return False, " (the model's name is unknown: set `model_name:` in the card)"
        return any(ob.pattern.search(n) for n in names), f" (the name is “{names[0]}”)"
    if ob.where is Where.CARD:
        return bool(ob.pattern.search(docs.get(CARD, ""))), ""
    if ob.where is Where.NOTICE_FILE:
        notices = [t for p, t in docs.items() if "notice" in Path(p).name.lower()]
        if not notices:
            return False, " (there is no Notice file)"
        return any(ob.pattern.search(t) for t in notices), ""
    if any(ob.pattern.search(t) for t in docs.values()):
        return True, ""
    wanted = ob.identifies
    return wanted is not None and any(_identified(t, wanted) for t in docs.values()), ""


def _identified(text: str, wanted: str) -> bool:
    """``text`` is the licence ``wanted`` (an SPDX id, or a family such as ``gpl``)."""
    match = identify(text)
    if match is None:
        return False
    got, want = (_bare(match.key.lower()), _bare(wanted))
    return got == want or got.startswith(f"{want}-")


def _bare(spdx: str) -> str:
    return spdx.removesuffix("-only").removesuffix("-or-later")


def _path_for(ob: Obligation) -> str:
    return {Where.NOTICE_FILE: "NOTICE", Where.ANY_FILE: "LICENSE"}.get(ob.where, CARD)
