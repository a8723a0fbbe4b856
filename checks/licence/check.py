"""The licence check: card licence, LICENSE texts, SPDX headers and base-model terms."""

from __future__ import annotations

from checks.base import CheckResult, Contribution, ProgressCallback
from checks.findings import Finding, Severity
from checks.licence.card import Card, card_findings, read_card
from checks.licence.headers import HeaderRules, check_headers
from checks.licence.licence_files import licence_file_findings, licence_files
from checks.licence.obligations import check_bases
from checks.licence.relation import declared_bases, read_shape, relation_findings, relation_of
from checks.licence.relation import notes as relation_notes
from checks.licence.reuse_toml import load_reuse_files
from checks.licence.selection import is_licence_metadata, select
from checks.licence.spdx import check_expression, hub_ids, hub_to_spdx, licence_ids
from checks.policy_file import POLICY_FILE


class LicenceCheck:
    name = "licence"
    title = "licence check"

    def run(
        self, contribution: Contribution, progress: ProgressCallback | None = None
    ) -> CheckResult:
        root = contribution.root
        result = CheckResult()
        card = read_card(root)
        files = licence_files(root)
        shipped = next((e for e in files if "/" not in e.path), None)
        result.findings.extend(
            card_findings(
                card,
                self.name,
                licence_file=shipped.path if shipped else None,
                name=shipped.match.key if shipped and shipped.match else None,
            )
        )
        result.notes.append(_card_note(card))

        declared = _declared_ids(card)
        policy_ids = frozenset().union(*(_ids_of(a) for a in contribution.policy.allowed_licences))
        result.findings.extend(
            licence_file_findings(
                files, declared or frozenset(contribution.policy.allowed_licences), self.name
            )
        )
        for entry in files:
            what = (
                f"{entry.match.key} ({entry.match.method} {entry.match.score:.0%})"
                if entry.match
                else "not identified"
            )
            result.notes.append(f"{entry.path}: {what}")
        identified = {e.match.key for e in files if e.match and check_expression(e.match.key).valid}
        # REUSE names each text after its id: LICENSES/GPL-3.0-or-later.txt declares that licence.
        identified |= {
            stem
            for e in files
            if e.path.startswith("LICENSES/")
            if check_expression(stem := e.path.split("/", 1)[1].rsplit(".", 1)[0]).valid
        }

        # A LicenseRef- text in LICENSES/ is a licence the repository declares for some files.
        shipped_refs = {k for k in identified if k.startswith("LicenseRef-")}
        allowed = policy_ids | declared | shipped_refs | (identified if not declared else set())
        suggestion = _suggestion(declared, contribution.policy.allowed_licences, identified)
        annotations, reuse_errors = load_reuse_files(root, contribution.files)
        for error in reuse_errors:
            result.findings.append(
                Finding(
                    self.name,
                    "licence-reuse-toml-invalid",
                    Severity.MEDIUM,
                    error.split(" ", 1)[0],
                    error,
                )
            )
        candidates = [f for f in contribution.files if not is_licence_metadata(f)]
        chosen, ignored, exempt = select(root, candidates, contribution.policy.header_exempt)
        rules = HeaderRules(
            allowed=frozenset(allowed),
            suggestion=suggestion,
            card_covers=bool(card and card.licence and not card.error),
            annotations=tuple(annotations),
        )
        stats = check_headers(
            root,
            chosen,
            rules,
            read_head=contribution.read_head if contribution.remote else None,
        )
        result.findings.extend(stats.findings)
        result.notes.append(
            f"headers: {stats.checked} files checked, {stats.covered_elsewhere} covered by "
            "sidecar, "
            f"REUSE.toml or card, {stats.no_syntax} without comment syntax skipped, "
            f"{ignored} gitignored, {exempt} exempt by policy; allowed: "
            f"{', '.join(sorted(allowed)) or 'any valid SPDX expression'}"
        )

        shape = read_shape(contribution)
        result.findings.extend(relation_findings(card, shape, self.name))
        result.notes.extend(relation_notes(card, shape))
        bases = check_bases(
            root,
            card,
            contribution.base_cards,
            contribution.base,
            contribution.model_id,
            bases=declared_bases(card, shape),
            relation=relation_of(card, shape),
        )
        result.findings.extend(bases.findings)
        result.notes.extend(bases.notes)

        if POLICY_FILE in contribution.files:
            result.findings.append(
                Finding(
                    self.name,
                    "policy-changed",
                    Severity.MEDIUM,
                    POLICY_FILE,
                    "this contribution changes the review policy; a maintainer must approve it, "
                    "and "
                    "the bot applies the target branch's policy, not this one",
                )
            )
        if progress is not None:
            for rel in chosen:
                progress(rel)
        return result


def _ids_of(value: str) -> frozenset[str]:
    """SPDX-style ids for a Hub id or an SPDX expression (non-SPDX Hub ids become LicenseRef-…)."""
    low = value.strip().lower()
    if low in hub_ids():
        return frozenset({hub_to_spdx(low)})
    checked = check_expression(value)
    return licence_ids(checked) if checked.valid else frozenset({f"LicenseRef-{value.strip()}"})


def _declared_ids(card: Card | None) -> frozenset[str]:
    if card is None or not card.licence or card.error:
        return frozenset()
    if card.licence.strip().lower() == "other":
        name = (card.licence_name or "other").strip()
        return frozenset({f"LicenseRef-{name}"})
    return _ids_of(card.licence)


def _suggestion(declared: frozenset[str], policy: frozenset[str], identified: set[str]) -> str:
    for pool in (declared, frozenset().union(*(_ids_of(p) for p in policy)), identified):
        if pool:
            return (
                " AND ".join(sorted(pool))
                if len(pool) > 1 and pool is declared
                else sorted(pool)[0]
            )
    return "<SPDX-ID>"


def _card_note(card: Card | None) -> str:
    if card is None:
        return "model card: none"
    if card.error:
        return f"model card: unreadable ({card.error})"
    base = f", base model(s): {', '.join(card.base_models)}" if card.base_models else ""
    return f"model card: license {card.licence or 'missing'}{base}"
