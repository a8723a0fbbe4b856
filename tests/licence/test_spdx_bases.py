"""Bases under SPDX-listed licences: what a derivative owes follows their ScanCode category."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from checks.findings import Severity
from checks.licence.inheritance import terms_for
from tests.licence.conftest import Files, run_check

BASE = "org/base"
TEXTS = Path(__file__).parents[2] / "checks/licence/texts"


def text(name: str) -> str:
    """A shipped reference licence text without its front matter, with a real copyright line."""
    body = (TEXTS / f"{name}.txt").read_text("utf-8").split("---\n", 2)[2]
    return body.replace("[year]", "2024").replace("[fullname]", "Base Model Authors")


def card(licence: str) -> str:
    return f"---\nlicense: {licence}\nbase_model:\n  - {BASE}\n---\n# Derivative\n"


def base_rules(files: Files, base: str, tree: Callable[[Files], Path]) -> dict[str, Severity]:
    base_card = f"---\nlicense: {base}\n---\n# Base\n"
    result = run_check(tree(files), base_cards={BASE: base_card})
    return {f.rule: f.severity for f in result.findings if f.rule.startswith("base-")}


@pytest.mark.parametrize(("base", "name"), [("bsd-3-clause", "bsd-3-clause"), ("isc", "isc"),
                                            ("zlib", "zlib"), ("bsd", "bsd-2-clause")])  # fmt: skip
def test_a_permissive_base_lets_the_derivative_choose_but_its_text_travels(
    tree: Callable[[Files], Path], base: str, name: str
) -> None:
    assert base_rules({"README.md": card("apache-2.0")}, base, tree) == {
        "base-obligation-missing": Severity.MEDIUM
    }
    kept = {"README.md": card("apache-2.0"), "LICENSE.base": text(name)}
    assert base_rules(kept, base, tree) == {}


@pytest.mark.parametrize("base", ["cc0-1.0", "unlicense", "wtfpl"])
def test_a_public_domain_base_asks_nothing(tree: Callable[[Files], Path], base: str) -> None:
    assert base_rules({"README.md": card("mit")}, base, tree) == {}


@pytest.mark.parametrize(
    ("base", "child", "name"),
    [("gpl-3.0", "gpl-3.0", "gpl-3.0"), ("agpl-3.0", "agpl-3.0", "agpl-3.0"),
     ("mpl-2.0", "mpl-2.0", "mpl-2.0"), ("gpl", "gpl-2.0", "gpl-2.0")],
)  # fmt: skip
def test_a_copyleft_base_keeps_the_derivative_under_it(
    tree: Callable[[Files], Path], base: str, child: str, name: str
) -> None:
    relicensed = base_rules({"README.md": card("apache-2.0")}, base, tree)
    assert relicensed["base-licence-conflict"] is Severity.HIGH
    faithful = {"README.md": card(child), "LICENSE": text(name)}
    assert base_rules(faithful, base, tree) == {}


def test_the_conflict_says_why(tree: Callable[[Files], Path]) -> None:
    base = "---\nlicense: gpl-3.0\n---\n# Base\n"
    result = run_check(tree({"README.md": card("mit")}), base_cards={BASE: base})
    (conflict,) = [f for f in result.findings if f.rule == "base-licence-conflict"]
    assert "copyleft" in conflict.message and "`license: gpl-3.0`" in conflict.message


def test_a_licence_file_that_only_names_the_licence_is_not_its_text(
    tree: Callable[[Files], Path],
) -> None:
    files = {"README.md": card("apache-2.0"), "LICENSE.base": "BSD-3-Clause\n"}
    assert "base-obligation-missing" in base_rules(files, "bsd-3-clause", tree)


def test_every_hub_licence_with_a_category_has_terms(shared_dir: Path) -> None:
    rows = json.loads(
        (shared_dir / "corpus/licences/hub-docs/hf_license_ids.json").read_text("utf-8")
    )["licenses"]
    unknown = sorted(r["id"] for r in rows if terms_for(r["id"]) is None)
    # Left to a human: ids that name no licence, and licences license-expression cannot place.
    assert unknown == ["c-uda", "cc", "h-research", "other", "unknown"], unknown
