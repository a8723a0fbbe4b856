"""Header details: .gitignore, exemptions, sidecars, REUSE.toml, weights, invalid ids."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from checks.licence.check import LicenceCheck
from checks.policy import Policy
from checks.registry import default_checks
from tests.licence.conftest import Files, rules, run_check

CARD = "---\nlicense: apache-2.0\n---\n# Model\n"


def test_gitignored_and_exempt_files_are_skipped(tree: Callable[[Files], Path]) -> None:
    root = tree(
        {
            "README.md": CARD,
            ".gitignore": "build/\n",
            "build/gen.py": "x\n",
            "docs/a.py": "x\n",
            "b.py": "x\n",
        }
    )
    result = run_check(root, policy=Policy(header_exempt=("docs/**",)))
    assert [f.path for f in result.findings if f.rule == "licence-header-missing"] == ["b.py"]


def test_invalid_misspelt_deprecated_and_mismatched(tree: Callable[[Files], Path]) -> None:
    root = tree(
        {
            "README.md": CARD,
            "a.py": "# SPDX-License-Identifier: MIT AND\n",
            "b.py": "# SPDX-Licence-Identifier: Apache-2.0\n",
            "c.py": "# SPDX-License-Identifier: GPL-2.0+\n",
            "d.py": "# SPDX-License-Identifier: llama3\n",
        }
    )
    found = {
        (f.path, f.rule) for f in run_check(root).findings if f.rule.startswith("licence-header")
    }
    assert found == {
        ("a.py", "licence-header-invalid"),
        ("b.py", "licence-header-invalid"),
        ("c.py", "licence-header-deprecated"),
        ("c.py", "licence-header-mismatch"),
        ("d.py", "licence-header-invalid"),
    }


def test_policy_allows_more_licences(tree: Callable[[Files], Path]) -> None:
    root = tree({"README.md": CARD, "c.py": "# SPDX-License-Identifier: MPL-2.0 OR GPL-3.0-only\n"})
    assert "licence-header-mismatch" in rules(run_check(root))
    assert "licence-header-mismatch" not in rules(
        run_check(root, policy=Policy(allowed_licences=frozenset({"MPL-2.0"})))
    )


def test_weights_covered_by_card_sidecar_or_reuse_toml(tree: Callable[[Files], Path]) -> None:
    root = tree({"model.safetensors": b"\x00" * 16, "w.bin": b"\x00", "t.json": "{}"})
    result = run_check(root)
    assert [
        (f.path, f.severity.label) for f in result.findings if f.rule == "licence-coverage-missing"
    ] == [
        ("model.safetensors", "medium"),
        ("t.json", "low"),
        ("w.bin", "medium"),
    ]
    root.joinpath("model.safetensors.license").write_text("SPDX-License-Identifier: Apache-2.0\n")
    root.joinpath("REUSE.toml").write_text(
        'version = 1\n[[annotations]]\npath = ["*.bin", "*.json"]\n'
        'SPDX-License-Identifier = "MIT"\n'
    )
    assert "licence-coverage-missing" not in rules(run_check(root))
    root.joinpath("README.md").write_text(CARD)
    root.joinpath("REUSE.toml").unlink()
    assert "licence-coverage-missing" not in rules(run_check(root))


def test_licence_file_missing_and_mismatched(tree: Callable[[Files], Path]) -> None:
    root = tree({"README.md": CARD})
    assert "licence-file-missing" in rules(run_check(root))
    mit = (Path(__file__).resolve().parents[2] / "checks/licence/texts/mit.txt").read_text()
    root.joinpath("LICENSE").write_text(mit)
    result = run_check(root)
    assert "licence-file-mismatch" in rules(result) and "LICENSE: MIT" in " ".join(result.notes)


def test_card_other_needs_name_and_link(tree: Callable[[Files], Path]) -> None:
    root = tree({"README.md": "---\nlicense: other\n---\n"})
    assert "card-licence-invalid" in rules(run_check(root))
    root.joinpath("README.md").write_text("---\nlicense: not a licence!\n---\n")
    assert "card-licence-invalid" in rules(run_check(root))


def test_changed_policy_file_is_flagged(tree: Callable[[Files], Path]) -> None:
    root = tree({"README.md": CARD, ".reviewbot.toml": "# SPDX-License-Identifier: Apache-2.0\n"})
    assert "policy-changed" in rules(run_check(root))


def test_registered_in_default_checks() -> None:
    assert any(isinstance(c, LicenceCheck) for c in default_checks())
    assert (LicenceCheck.name, LicenceCheck.title) == ("licence", "licence check")


def test_the_hubs_generated_gitattributes_needs_no_header(tree: Callable[[Files], Path]) -> None:
    hub = (
        "*.7z filter=lfs diff=lfs merge=lfs -text\n"
        "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
        "saved_model/**/* filter=lfs diff=lfs merge=lfs -text\n"
    )
    root = tree({"README.md": CARD, ".gitattributes": hub})
    assert "licence-header-missing" not in rules(run_check(root))
    # Anything beyond LFS rules was written by someone, and is checked as usual.
    root.joinpath(".gitattributes").write_text(hub + "*.py text eol=lf\n")
    assert "licence-header-missing" in rules(run_check(root))
