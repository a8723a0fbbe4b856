"""Fixtures for the licence tests: contributions written to tmp_path and a fake Hub on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from checks.base import CheckResult, Contribution
from checks.licence.check import LicenceCheck
from checks.policy import Policy
from tests.fakes.fake_hub import FakeHub, serve

Files = Mapping[str, str | bytes]


def write_tree(root: Path, files: Files) -> list[str]:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return sorted(files)


def run_check(
    root: Path,
    files: list[str] | None = None,
    *,
    policy: Policy | None = None,
    base_cards: Mapping[str, str] | None = None,
    base: Path | None = None,
    model_id: str | None = None,
) -> CheckResult:
    if files is None:
        files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    contribution = Contribution(
        root=root,
        files=files,
        policy=policy or Policy(),
        base_cards=dict(base_cards or {}),
        base=base,
        model_id=model_id,
    )
    return LicenceCheck().run(contribution)


@pytest.fixture
def tree(tmp_path: Path) -> Callable[[Files], Path]:
    def make(files: Files) -> Path:
        root = tmp_path / "contribution"
        root.mkdir(exist_ok=True)
        write_tree(root, files)
        return root

    return make


@pytest.fixture
def fake_hub(tmp_path: Path) -> Iterator[FakeHub]:
    yield from serve(tmp_path / "hub")


def rules(result: CheckResult) -> list[str]:
    return sorted(f.rule for f in result.findings)
