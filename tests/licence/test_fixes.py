"""Text fixes the licence check attaches to its findings: applied, the check passes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from checks.findings import Finding, Severity
from checks.fixes import (
    FIX_KEY,
    Fix,
    apply_fixes,
    fix_of,
    fixes_of,
    header_position,
    insert_line,
)
from tests.licence.conftest import Files, rules, run_check

CARD = "---\nlicense: apache-2.0\n---\n# A model\n"
APACHE = "Apache License\nVersion 2.0, January 2004\n"


def _apply(root: Path, fixes: list[Fix]) -> None:
    texts = {f.path: _read(root / f.path) for f in fixes}
    for path, text in apply_fixes(texts, fixes).items():
        (root / path).write_text(text, encoding="utf-8")


def _read(path: Path) -> str | None:
    return path.read_text("utf-8") if path.is_file() else None


def test_a_missing_header_goes_below_the_shebang_and_encoding(
    tree: Callable[[Files], Path],
) -> None:
    script = "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\nprint('hi')\n"
    root = tree({"README.md": CARD, "run.py": script, "conf.sh": "echo hi\n"})
    result = run_check(root)
    fixes = fixes_of(result.findings)
    assert [(f.path, f.line) for f in fixes] == [("conf.sh", 1), ("run.py", 2)]
    _apply(root, fixes)
    assert (root / "run.py").read_text().splitlines()[:3] == [
        "#!/usr/bin/env python",
        "# -*- coding: utf-8 -*-",
        "# SPDX-License-Identifier: Apache-2.0",
    ]
    assert (root / "conf.sh").read_text() == "# SPDX-License-Identifier: Apache-2.0\necho hi\n"
    assert "licence-header-missing" not in rules(run_check(root))


def test_a_license_other_card_gets_its_name_and_link(tree: Callable[[Files], Path]) -> None:
    card = "---\nlicense: other\nlibrary_name: transformers\n---\n# Tiny Llama Tune\n"
    root = tree({"README.md": card, "LICENSE": "The Tiny Terms\n\nUse it kindly.\n"})
    finding = next(f for f in run_check(root).findings if f.rule == "card-licence-invalid")
    fix = fix_of(finding)
    assert fix is not None and fix.line == 2
    _apply(root, [fix])
    text = (root / "README.md").read_text()
    assert "license_name: tiny-llama-tune-license\nlicense_link: LICENSE\n" in text
    assert "card-licence-invalid" not in rules(run_check(root))


def test_no_link_is_invented_without_a_licence_file(tree: Callable[[Files], Path]) -> None:
    root = tree({"README.md": "---\nlicense: other\n---\n"})
    finding = next(f for f in run_check(root).findings if f.rule == "card-licence-invalid")
    assert fix_of(finding) is None


def test_a_stale_fix_is_skipped_and_line_zero_creates() -> None:
    fixes = [Fix("a.py", 1, "print(1)", "# x\nprint(1)"), Fix("NOTICE", 0, "", "Built with Llama")]
    out = apply_fixes({"a.py": "print(2)\n", "NOTICE": None}, fixes)
    assert out == {"NOTICE": "Built with Llama\n"}  # a.py changed since: left alone


def test_header_positions() -> None:
    assert header_position("<?xml version='1.0'?>\n<a/>\n") == 1
    assert header_position("---\ntitle: x\n---\ntext\n") == 3
    assert header_position("# -*- coding: latin-1 -*-\nx = 1\n") == 1
    assert header_position("x = 1\n") == 0
    assert insert_line("e.py", "", "# h", after=0) == Fix("e.py", 0, "", "# h")


def test_the_notice_and_the_built_with_line_are_fixes(tree: Callable[[Files], Path]) -> None:
    base = "---\nlicense: llama3.1\n---\n# Base\n"
    card = "---\nlicense: llama3.1\nbase_model: org/base\n---\n# Llama-3.1-8B-Tuned\n\nTuned.\n"
    licence = "LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\n\nterms…\n"
    root = tree({"README.md": card, "LICENSE": licence})

    def obligations() -> list[str]:
        result = run_check(root, base_cards={"org/base": base}, model_id="someone/Llama-3.1-8B-T")
        return [f.message for f in result.findings if f.rule == "base-obligation-missing"]

    result = run_check(root, base_cards={"org/base": base}, model_id="someone/Llama-3.1-8B-T")
    fixes = fixes_of(result.findings)
    assert {(f.path, f.line) for f in fixes} == {("NOTICE", 0), ("README.md", 7)}
    assert len(obligations()) == 2
    _apply(root, fixes)
    assert (root / "README.md").read_text().endswith("Tuned.\n\nBuilt with Llama\n")
    assert (root / "NOTICE").read_text().startswith("Llama 3.1 is licensed under")
    assert obligations() == []


def test_two_lines_added_below_one_line_become_one_fix() -> None:
    def finding(new: str) -> Finding:
        fix = Fix("README.md", 2, "license: other", new)
        return Finding(
            "licence", "r", Severity.LOW, "README.md", "m", extra={FIX_KEY: fix.to_dict()}
        )

    merged = fixes_of(
        [finding("license: other\nlicense_name: x"), finding("license: other\nbase_model: b")]
    )
    assert merged == [
        Fix("README.md", 2, "license: other", "license: other\nlicense_name: x\nbase_model: b")
    ]
