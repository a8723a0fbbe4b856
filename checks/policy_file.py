"""Loads `.reviewbot.toml` into a Policy; a broken file gives findings, never an exception."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from checks.findings import Finding, Severity
from checks.licence.spdx import check_expression, hub_ids
from checks.policy import NOTIFY_MODES, Policy

POLICY_FILE = ".reviewbot.toml"
CHECK = "policy"
_LINE = re.compile(r"at line (\d+)")
_KNOWN = {
    "licence": {"allowed", "header-exempt"},
    "severity": None,  # any rule id
    "weights": {"allowed-imports"},
    "evals": None,  # free-form thresholds
    "triage": {"dashboard-issue"},
    "notify": {"comment"},
}
_IMPORT = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*\.(\*|[A-Za-z_]\w*)$")


class _Problems:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.findings: list[Finding] = []

    def add(self, message: str, table: str, key: str | None = None) -> None:
        line = self.line_of(table, key)
        self.findings.append(
            Finding(
                CHECK,
                "policy-invalid",
                Severity.MEDIUM,
                POLICY_FILE,
                f"{POLICY_FILE} line {line}: {message}" if line else f"{POLICY_FILE}: {message}",
                location=f"line {line}" if line else None,
            )
        )

    def line_of(self, table: str, key: str | None) -> int | None:
        """tomllib keeps no positions: find the key under its [table] header by scanning lines."""
        current = ""
        header = None
        for number, raw in enumerate(self.lines, 1):
            stripped = raw.strip()
            if stripped.startswith("[") and not stripped.startswith("[["):
                current = stripped.strip("[] ").split("]")[0].strip()
                if current == table:
                    header = number
                continue
            if key is not None and current == table:
                name = stripped.split("=", 1)[0].strip().strip("\"'")
                if "=" in stripped and name == key:
                    return number
        return header


def load_policy(root: Path) -> tuple[Policy, list[Finding]]:
    path = root / POLICY_FILE
    if not path.is_file():
        return Policy(), []
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return Policy(), [
            Finding(
                CHECK,
                "policy-invalid",
                Severity.MEDIUM,
                POLICY_FILE,
                f"cannot read {POLICY_FILE} ({exc})",
            )
        ]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _LINE.search(str(exc))
        where = f" line {match.group(1)}" if match else ""
        return Policy(), [
            Finding(
                CHECK,
                "policy-invalid",
                Severity.MEDIUM,
                POLICY_FILE,
                f"{POLICY_FILE}{where} is not valid TOML ({exc}); the default policy applies",
                location=f"line {match.group(1)}" if match else None,
            )
        ]
    problems = _Problems(text)
    for table, value in data.items():
        if table not in _KNOWN:
            problems.add(f"unknown table [{table}] ignored (known: {', '.join(_KNOWN)})", table)
        elif not isinstance(value, dict):
            problems.add(f"`{table}` must be a table ([{table}])", table)
    licence = _table(data, "licence")
    for key in licence:
        if key not in (_KNOWN["licence"] or ()):
            problems.add(f"unknown key `{key}` in [licence] ignored", "licence", key)
    allowed = _strings(licence, "allowed", "licence", problems)
    good_allowed: list[str] = []
    for item in allowed:
        if item.lower() in hub_ids() or check_expression(item).valid:
            good_allowed.append(item)
        else:
            problems.add(
                f"`{item}` in [licence] allowed is neither a Hub licence id nor valid SPDX",
                "licence",
                "allowed",
            )
    exempt = _strings(licence, "header-exempt", "licence", problems)
    overrides = {}
    for rule, level in _table(data, "severity").items():
        try:
            overrides[rule] = Severity.parse(str(level))
        except ValueError:
            problems.add(
                f"severity `{level}` for `{rule}` is not one of info, low, medium, high, critical",
                "severity",
                rule,
            )
    weights = _table(data, "weights")
    imports = []
    for item in _strings(weights, "allowed-imports", "weights", problems):
        if _IMPORT.match(item):
            imports.append(item)
        else:
            problems.add(
                f"`{item}` is not a `module.name` (or `module.*`) import",
                "weights",
                "allowed-imports",
            )
    thresholds: dict[str, float] = {}
    for key, value in _table(data, "evals").items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.add(f"[evals] `{key}` must be a number, not {value!r}", "evals", key)
        else:
            thresholds[key] = float(value)
    triage = _table(data, "triage")
    for key in triage:
        if key not in (_KNOWN["triage"] or ()):
            problems.add(f"unknown key `{key}` in [triage] ignored", "triage", key)
    dashboard = triage.get("dashboard-issue", False)
    if not isinstance(dashboard, bool):
        problems.add(
            f"[triage] `dashboard-issue` must be true or false, not {dashboard!r}",
            "triage",
            "dashboard-issue",
        )
        dashboard = False
    notify = _table(data, "notify")
    for key in notify:
        if key not in (_KNOWN["notify"] or ()):
            problems.add(f"unknown key `{key}` in [notify] ignored", "notify", key)
    comment = notify.get("comment", NOTIFY_MODES[0])
    if comment not in NOTIFY_MODES:
        problems.add(
            f"[notify] comment {comment!r} is not one of {', '.join(NOTIFY_MODES)}; "
            f"{NOTIFY_MODES[0]} applies",
            "notify",
            "comment",
        )
        comment = NOTIFY_MODES[0]
    policy = Policy(
        extra_allowed_imports=frozenset(imports),
        severity_overrides=overrides,
        allowed_licences=frozenset(good_allowed),
        header_exempt=tuple(exempt),
        eval_thresholds=thresholds,
        dashboard_issue=dashboard,
        notify_comment=str(comment),
    )
    return policy, problems.findings


def _table(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    return value if isinstance(value, dict) else {}


def _strings(table: dict[str, Any], key: str, name: str, problems: _Problems) -> list[str]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add(f"[{name}] `{key}` must be a list of strings", name, key)
        return []
    return list(value)
