"""The labelled scanner corpora (picklescan, modelscan test suites): every file gets its verdict."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from checks.findings import Verdict
from checks.weights.imports import ImportPolicy
from checks.weights.scanner import scan_path
from tests.conftest import SHARED

CORPUS = SHARED / "corpus" / "scanners"
_ROW = re.compile(r"^\|\s*([^|]+?)\s*\|\s*[^|]*\|\s*(MAL|BENIGN)\b", re.MULTILINE)


def _labelled() -> list[tuple[Path, str]]:
    cases = []
    for sources in sorted(CORPUS.glob("*/SOURCES.md")):
        for name, label in _ROW.findall(sources.read_text(encoding="utf-8")):
            cases.append((sources.parent / name, label))
    return cases


CASES = _labelled()


def test_the_corpus_is_there_and_labelled() -> None:
    labels = [label for _, label in CASES]
    assert labels.count("MAL") >= 90 and labels.count("BENIGN") >= 14
    assert all(path.is_file() for path, _ in CASES)


@pytest.mark.parametrize(
    ("path", "label"), CASES, ids=[f"{p.parent.name}/{p.name}" for p, _ in CASES]
)
def test_corpus_file_gets_its_verdict(path: Path, label: str) -> None:
    result = scan_path(path, path.name, ImportPolicy.default())
    verdict = Verdict.of(f.severity for f in result.findings)
    summary = [(f.severity.label, f.rule, f.message) for f in result.findings]
    if label == "MAL":
        assert verdict is Verdict.FAIL, summary
    else:
        assert verdict is not Verdict.FAIL, summary
    assert not [f for f in result.findings if f.rule == "scanner-error"], summary
