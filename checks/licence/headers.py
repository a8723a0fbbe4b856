"""The header rule: each source, script and config file carries a valid, allowed SPDX line."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from checks.findings import Finding, Severity
from checks.fixes import FIX_KEY, header_position, insert_line
from checks.licence.comments import (
    TAG,
    UNCOMMENTABLE_SUFFIXES,
    WEIGHT_SUFFIXES,
    style_for,
    suffix_of,
)
from checks.licence.compatibility import Fit, judge_header
from checks.licence.reuse_toml import ReuseFile, annotation_for
from checks.licence.spdx import Expression, check_expression, satisfied_by
from checks.licence.tags import Tag, find_tags

CHECK = "licence"
# REUSE headers sit at the top; reading a bounded head keeps big files cheap.
HEAD_BYTES = 16 * 1024
_LFS_RULE = re.compile(r"\S+\s+filter=lfs\s+diff=lfs\s+merge=lfs\s+-text")


@dataclass(frozen=True)
class HeaderRules:
    allowed: frozenset[str]  # empty: any valid expression is accepted
    suggestion: str  # the expression shown in the line to add
    card_covers: bool  # the model card's `license:` covers files that cannot hold a comment
    annotations: Sequence[ReuseFile] = ()


@dataclass
class HeaderStats:
    checked: int = 0
    covered_elsewhere: int = 0
    no_syntax: int = 0
    findings: list[Finding] = field(default_factory=list)


# Reads the first bytes of a file by its relative path; None when it cannot be read.
HeadReader = Callable[[str, int], "bytes | None"]


def check_headers(
    root: Path, files: Sequence[str], rules: HeaderRules, read_head: HeadReader | None = None
) -> HeaderStats:
    """``read_head`` reads files that are not under ``root`` (remote ones); default: local."""
    stats = HeaderStats()
    reader = read_head or (lambda rel, limit: _local_head(root / rel, limit))
    for rel in files:
        _check_file(root, rel, rules, stats, reader)
    return stats


def _local_head(path: Path, limit: int) -> bytes | None:
    try:
        with path.open("rb") as handle:
            return handle.read(limit)
    except OSError:
        return None


def _check_file(
    root: Path, rel: str, rules: HeaderRules, stats: HeaderStats, read_head: HeadReader
) -> None:
    path = root / rel
    sidecar = path.with_name(path.name + ".license")
    if sidecar.is_file():
        stats.covered_elsewhere += 1
        tags = find_tags(sidecar.read_text("utf-8", errors="replace"))
        if not tags:
            stats.findings.append(_missing_coverage(rel + ".license", rules, sidecar=True))
        for tag in tags:
            stats.findings.extend(_judge(rel + ".license", tag, TAG + " {}", rules))
        return
    style = style_for(rel)
    suffix = suffix_of(rel)
    # A weight file cannot hold a comment whatever its bytes: no need to read (or fetch) them.
    head = b"" if suffix in UNCOMMENTABLE_SUFFIXES else read_head(rel, HEAD_BYTES)
    if head is None:
        return  # vanished or unreadable: other checks report unreadable files
    binary = b"\0" in head
    annotation = annotation_for(rules.annotations, rel) if rules.annotations else None
    if style is None or binary or suffix in UNCOMMENTABLE_SUFFIXES:
        if style is None and not binary and suffix not in UNCOMMENTABLE_SUFFIXES:
            stats.no_syntax += 1  # plain text with no comment syntax: REUSE would want a sidecar
            return
        stats.covered_elsewhere += 1
        if annotation is not None:
            stats.findings.extend(
                _judge(rel, Tag(0, annotation.expression, True, ""), "", rules, "REUSE.toml")
            )
        elif not rules.card_covers:
            stats.findings.append(_missing_coverage(rel, rules, weights=suffix in WEIGHT_SUFFIXES))
        return
    text = head.decode("utf-8", errors="replace")
    if _hub_generated(rel, text):
        stats.covered_elsewhere += 1
        return
    stats.checked += 1
    tags = find_tags(text)
    if annotation is not None and (annotation.precedence == "override" or not tags):
        stats.findings.extend(
            _judge(rel, Tag(0, annotation.expression, True, ""), "", rules, "REUSE.toml")
        )
        return
    if not tags:
        if rel == "README.md" and rules.card_covers:
            return  # the card's own `license:` is its licence statement
        fix = style.line(rules.suggestion)
        stats.findings.append(
            Finding(
                CHECK,
                "licence-header-missing",
                Severity.MEDIUM,
                rel,
                f"no SPDX licence header; add this line {_where(text)}: {fix}",
                location="line 1",
                extra={
                    "fix": fix,
                    FIX_KEY: insert_line(rel, text, fix, after=header_position(text)).to_dict(),
                },
            )
        )
        return
    for tag in tags:
        stats.findings.extend(_judge(rel, tag, style.line("{}"), rules))


def _judge(
    rel: str, tag: Tag, template: str, rules: HeaderRules, source: str = ""
) -> list[Finding]:
    where = f"line {tag.line}" if tag.line else source
    origin = f" in {source}" if source else ""

    def fix_for(expression: str) -> str:
        return (
            template.format(expression) if template else f'SPDX-License-Identifier = "{expression}"'
        )

    checked = check_expression(tag.expression)
    if not checked.valid:
        fix = fix_for(rules.suggestion)
        return [
            Finding(
                CHECK,
                "licence-header-invalid",
                Severity.MEDIUM,
                rel,
                f"`{tag.expression or '(empty)'}`{origin} is not a valid SPDX expression "
                f"({'; '.join(checked.errors)}); write it as: {fix}",
                location=where,
                extra={"fix": fix},
            )
        ]
    out: list[Finding] = []
    assert checked.normalized is not None
    if not tag.canonical:
        fix = fix_for(checked.normalized)
        out.append(
            Finding(
                CHECK,
                "licence-header-invalid",
                Severity.MEDIUM,
                rel,
                f"the tag is spelt `{tag.raw.split(':')[0].strip(' #/*<!-;')}`; "
                f"REUSE tools only read "
                f"`{TAG}` exactly; write: {fix}",
                location=where,
                extra={"fix": fix},
            )
        )
    if checked.deprecated:
        olds = ", ".join(f"{old} → {new}" for old, new in checked.deprecated)
        fix = fix_for(checked.normalized)
        out.append(
            Finding(
                CHECK,
                "licence-header-deprecated",
                Severity.LOW,
                rel,
                f"deprecated SPDX id(s){origin} ({olds}); write: {fix}",
                location=where,
                extra={"fix": fix},
            )
        )
    if rules.allowed and not satisfied_by(checked, rules.allowed):
        out.extend(_fit(rel, checked, rules, where, origin))
    return out


def _fit(
    rel: str, checked: Expression, rules: HeaderRules, where: str, origin: str
) -> list[Finding]:
    """A licence other than the repository's: compatible, binding, or not allowed at all.

    The grant is its author's, so the fix never rewrites it: keep, replace, or declare it.
    """
    judged = judge_header(checked, rules.allowed)
    if judged is None or judged.severity is None:
        return []
    if judged.fit is Fit.COMPATIBLE:
        rule, fix = "licence-header-compatible", "nothing to change"
    elif judged.fit is Fit.INCOMPATIBLE:
        rule = "licence-header-mismatch"
        fix = (
            "remove the file or replace it with code under a licence the repository takes; "
            "if it is the contributor's own code, they may relicense it"
        )
    else:
        rule = "licence-header-mismatch"
        fix = (
            f"keep the file under {judged.licence} and ship its text in LICENSES/, or add it to "
            "`[licence] allowed` in .reviewbot.toml once a maintainer accepts it"
        )
    return [
        Finding(
            CHECK,
            rule,
            judged.severity,
            rel,
            f"`{checked.normalized}`{origin} is not the repository's licence "
            f"({', '.join(sorted(rules.allowed))}): {judged.reason}; fix: {fix}",
            location=where,
            extra={"fix": fix, "category": judged.category, "fit": judged.fit.name.lower()},
        )
    ]


def _missing_coverage(
    rel: str, rules: HeaderRules, *, weights: bool = False, sidecar: bool = False
) -> Finding:
    target = rel[: -len(".license")] if sidecar else rel
    fix = f"{TAG} {rules.suggestion}"
    what = "weight file" if weights else "file"
    return Finding(
        CHECK,
        "licence-coverage-missing",
        Severity.MEDIUM if weights else Severity.LOW,
        rel,
        f"this {what} cannot hold a header and nothing declares its licence; "
        f"add `{target}.license` "
        f"containing `{fix}`, a REUSE.toml annotation, or `license:` in the model card",
        extra={"fix": fix},
    )


def _hub_generated(rel: str, text: str) -> bool:
    """The .gitattributes the Hub writes into every new repository: LFS rules, nothing else."""
    if rel != ".gitattributes":
        return False
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return bool(lines) and all(_LFS_RULE.fullmatch(ln) for ln in lines)


def _where(text: str) -> str:
    if text.startswith("#!"):
        return "after the shebang line"
    if text.startswith("<?xml"):
        return "after the XML declaration"
    if text.startswith("---\n"):
        return "after the front matter"
    return "at the top of the file"
