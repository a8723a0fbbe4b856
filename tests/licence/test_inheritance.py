"""One test per inheritance rule: what a derivative owes each family of base licences."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from checks.findings import Severity
from tests.licence.conftest import Files, rules, run_check

BASE = "org/base"


def card(
    licence: str, *, base: str | list[str] = BASE, extra: str = "", body: str = "# Model\n"
) -> str:
    bases = base if isinstance(base, list) else [base]
    listed = "".join(f"  - {b}\n" for b in bases)
    return f"---\nlicense: {licence}\nbase_model:\n{listed}{extra}---\n{body}"


def base_card(licence: str, extra: str = "") -> str:
    return f"---\nlicense: {licence}\n{extra}---\n# Base\n"


def conflicts(result: object) -> list[str]:
    return [f.message for f in result.findings if f.rule == "base-licence-conflict"]  # type: ignore[attr-defined]


META = "Copyright © Meta Platforms, Inc. All Rights Reserved."
LLAMA = {
    "llama2": (
        "LLAMA 2 COMMUNITY LICENSE AGREEMENT",
        "Llama 2 is licensed under the LLAMA 2 Community License, "
        "Copyright (c) Meta Platforms, Inc. All Rights Reserved.",
        "",
        "Whatever-7B",
    ),
    "llama3": (
        "META LLAMA 3 COMMUNITY LICENSE AGREEMENT",
        f"Meta Llama 3 is licensed under the Meta Llama 3 Community License, {META}",
        "Built with Meta Llama 3",
        "Llama-3-Chat-Tuned",
    ),
    "llama3.1": (
        "LLAMA 3.1 COMMUNITY LICENSE AGREEMENT",
        f"Llama 3.1 is licensed under the Llama 3.1 Community License, {META}",
        "Built with Llama",
        "Llama-3.1-8B-Tuned",
    ),
    "llama3.2": (
        "LLAMA 3.2 COMMUNITY LICENSE AGREEMENT",
        f"Llama 3.2 is licensed under the Llama 3.2 Community License, {META}",
        "Built with Llama",
        "Llama-3.2-1B-Tuned",
    ),
    "llama3.3": (
        "LLAMA 3.3 COMMUNITY LICENSE AGREEMENT",
        f"Llama 3.3 is licensed under the Llama 3.3 Community License, {META}",
        "Built with Llama",
        "Llama-3.3-70B-Tuned",
    ),
    "llama4": (
        "LLAMA 4 COMMUNITY LICENSE AGREEMENT",
        f"Llama 4 is licensed under the Llama 4 Community License, {META}",
        "Built with Llama",
        "Llama-4-Scout-Tuned",
    ),
}


@pytest.mark.parametrize("key", sorted(LLAMA))
def test_llama_derivative_that_complies_passes(tree: Callable[[Files], Path], key: str) -> None:
    title, notice, built, name = LLAMA[key]
    root = tree(
        {
            "README.md": card(key, body=f"# {name}\n\n{built}\n"),
            "LICENSE": f"{title}\n\nterms…\n",
            "NOTICE": notice + "\n",
        }
    )
    result = run_check(root, base_cards={BASE: base_card(key)}, model_id=f"someone/{name}")
    assert [f for f in result.findings if f.rule.startswith("base-")] == []
    assert f"base model {BASE}: {key} (from the Hub)" in result.notes


@pytest.mark.parametrize("key", sorted(LLAMA))
def test_llama_derivative_relicensed_and_missing_everything(
    tree: Callable[[Files], Path], key: str
) -> None:
    root = tree({"README.md": card("apache-2.0")})
    result = run_check(root, base_cards={BASE: base_card(key)}, model_id="someone/my-model")
    assert conflicts(result) and f"`license: {key}`" in conflicts(result)[0]
    missing = [f for f in result.findings if f.rule == "base-obligation-missing"]
    whats = " ".join(f.message for f in missing)
    assert "COMMUNITY LICENSE AGREEMENT".title() in whats and "Notice" in whats
    if LLAMA[key][2]:
        assert LLAMA[key][2] in whats
        assert "begins with" in whats and "my-model" in whats
    assert all(f.severity is Severity.HIGH for f in missing)


def test_gemma_terms_restrictions_and_notice(tree: Callable[[Files], Path]) -> None:
    root = tree({"README.md": card("gemma")})
    result = run_check(root, base_cards={BASE: base_card("gemma")})
    whats = [f.extra["obligation"] for f in result.findings if f.rule == "base-obligation-missing"]
    assert len(whats) == 3 and "Gemma Terms of Use" in whats[0]
    ok = tree(
        {
            "README.md": card("gemma", body="Use is subject to the Gemma Prohibited Use Policy.\n"),
            "LICENSE": "Gemma Terms of Use\n…\n",
            "NOTICE": "Gemma is provided under and subject to the Gemma Terms of Use found at "
            "ai.google.dev/gemma/terms\n",
        }
    )
    assert rules(run_check(ok, base_cards={BASE: base_card("gemma")})) == []


@pytest.mark.parametrize(
    ("child", "fails"), [("apache-2.0", True), ("mit", True), ("cc-by-nc-4.0", False)]
)
def test_cc_by_nc_stays_non_commercial(
    tree: Callable[[Files], Path], child: str, fails: bool
) -> None:
    root = tree({"README.md": card(child), "LICENSE": "x"})
    result = run_check(root, base_cards={BASE: base_card("cc-by-nc-4.0")})
    assert bool(conflicts(result)) is fails


@pytest.mark.parametrize(
    ("child", "fails"), [("cc-by-4.0", True), ("cc-by-sa-4.0", False), ("gpl-3.0", False)]
)
def test_cc_by_sa_share_alike(tree: Callable[[Files], Path], child: str, fails: bool) -> None:
    root = tree({"README.md": card(child), "LICENSE": "x"})
    assert bool(conflicts(run_check(root, base_cards={BASE: base_card("cc-by-sa-4.0")}))) is fails


def test_cc_by_nd_forbids_sharing_derivatives(tree: Callable[[Files], Path]) -> None:
    root = tree({"README.md": card("cc-by-nd-4.0")})
    assert conflicts(run_check(root, base_cards={BASE: base_card("cc-by-nd-4.0")}))


@pytest.mark.parametrize(
    "base", ["creativeml-openrail-m", "bigscience-openrail-m", "openrail", "bigcode-openrail-m"]
)
def test_openrail_restrictions_are_carried(tree: Callable[[Files], Path], base: str) -> None:
    bad = run_check(tree({"README.md": card("mit")}), base_cards={BASE: base_card(base)})
    assert conflicts(bad) and "base-obligation-missing" in rules(bad)
    good = tree({"README.md": card(base), "LICENSE": "… Attachment A: Use Restrictions …\n"})
    assert rules(run_check(good, base_cards={BASE: base_card(base)})) == []


def test_apache_base_notices_kept(tree: Callable[[Files], Path], tmp_path: Path) -> None:
    base_dir = tmp_path / "base"
    base_dir.mkdir()
    (base_dir / "README.md").write_text(base_card("apache-2.0"))
    (base_dir / "NOTICE").write_text("Base model, Copyright 2024 Someone\n")
    root = tree({"README.md": card("mit")})
    result = run_check(root, base=base_dir)
    whats = [f.extra["obligation"] for f in result.findings if f.rule == "base-obligation-missing"]
    assert whats == [
        "a copy of the Apache License 2.0 and its notices",
        "the base's NOTICE file kept",
    ]
    assert all(f.severity is Severity.MEDIUM for f in result.findings if f.rule.startswith("base-"))
    assert f"base model {BASE}: apache-2.0 (from the --base folder)" in result.notes


def test_mit_base_notice_kept(tree: Callable[[Files], Path]) -> None:
    root = tree({"README.md": card("apache-2.0")})
    result = run_check(root, base_cards={BASE: base_card("mit")})
    assert rules(result).count("base-obligation-missing") == 1
    root.joinpath("LICENSE.base").write_text(
        "Permission is hereby granted, free of charge, to any person…\n"
    )
    assert "base-obligation-missing" not in rules(
        run_check(root, base_cards={BASE: base_card("mit")})
    )


def test_merge_owes_every_base(tree: Callable[[Files], Path]) -> None:
    bases = {"a/llama": base_card("llama3.1"), "b/nc": base_card("cc-by-nc-4.0")}
    root = tree(
        {"README.md": card("llama3.1", base=list(bases), extra="base_model_relation: merge\n")}
    )
    result = run_check(root, base_cards=bases)
    assert len(conflicts(result)) == 1 and "b/nc" in conflicts(result)[0]
    assert any(
        f.extra.get("base_model") == "a/llama"
        for f in result.findings
        if f.rule == "base-obligation-missing"
    )


def test_qwen_tongyi_agreement(tree: Callable[[Files], Path]) -> None:
    extra = "license_name: tongyi-qianwen\nlicense_link: LICENSE\n"
    root = tree({"README.md": card("other", extra=extra)})
    result = run_check(root, base_cards={BASE: base_card("other", extra)})
    assert conflicts(result) == [] and rules(result).count("base-obligation-missing") == 2


def test_unavailable_base_is_a_finding_not_a_pass(tree: Callable[[Files], Path]) -> None:
    result = run_check(tree({"README.md": card("apache-2.0")}), base_cards={})
    assert "base-licence-unavailable" in rules(result)


def test_unknown_base_licence_asks_for_a_human(tree: Callable[[Files], Path]) -> None:
    result = run_check(
        tree({"README.md": card("apache-2.0")}), base_cards={BASE: base_card("c-uda")}
    )
    assert "base-licence-unknown" in rules(result)
