"""SARIF 2.1.0 for code-scanning uploads."""

from __future__ import annotations

import json
from typing import Any

from checks.findings import Finding, Severity
from checks.report import Report
from reviewbot import __version__
from reviewbot.render.visible import visible_report

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/reviewbot/reviewbot"

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning ranks security alerts by this CVSS-like score.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "7.5",
    Severity.MEDIUM: "5.0",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def render_sarif(report: Report) -> str:
    report = visible_report(report)
    findings = report.sorted_findings()
    rules: dict[str, dict[str, Any]] = {}
    for finding in findings:
        rule_id = f"{finding.check}/{finding.rule}"
        known = rules.get(rule_id)
        if known is None or Severity.parse(known["properties"]["severity"]) < finding.severity:
            rules[rule_id] = _rule(rule_id, finding)
    rule_ids = sorted(rules)
    run = {
        "tool": {
            "driver": {
                "name": "reviewbot",
                "version": __version__,
                "informationUri": INFO_URI,
                "rules": [rules[r] for r in rule_ids],
            }
        },
        "results": [_result(f, rule_ids) for f in findings],
        "artifacts": [{"location": {"uri": f.path}} for f in report.files],
        "properties": {"verdict": report.verdict.value},
    }
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2)


def _rule(rule_id: str, finding: Finding) -> dict[str, Any]:
    return {
        "id": rule_id,
        "name": finding.rule,
        "shortDescription": {"text": f"{finding.check}: {finding.rule}"},
        "defaultConfiguration": {"level": _LEVEL[finding.severity]},
        "properties": {
            "severity": finding.severity.label,
            "security-severity": _SECURITY_SEVERITY[finding.severity],
            "tags": ["security", finding.check],
        },
    }


def _result(finding: Finding, rule_ids: list[str]) -> dict[str, Any]:
    rule_id = f"{finding.check}/{finding.rule}"
    message = finding.message if not finding.location else f"{finding.message} ({finding.location})"
    location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": finding.path}}}
    if finding.location:
        location["logicalLocations"] = [{"fullyQualifiedName": finding.location}]
    return {
        "ruleId": rule_id,
        "ruleIndex": rule_ids.index(rule_id),
        "level": _LEVEL[finding.severity],
        "message": {"text": message},
        "locations": [location],
        "properties": {"severity": finding.severity.label},
    }
