"""Header licences judged by compatibility with the repository's, not by equality."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from checks.findings import Verdict
from checks.licence.compatibility import category
from checks.policy import Policy
from tests.licence.conftest import Files, run_check

APACHE = "---\nlicense: apache-2.0\n---\n# Model\n"
GPL3 = "---\nlicense: gpl-3.0\n---\n# Model\n"


def _header(tree: Callable[[Files], Path], card: str, expression: str) -> list[tuple[str, str]]:
    root = tree({"README.md": card, "vendored.py": f"# SPDX-License-Identifier: {expression}\n"})
    return [
        (f.rule, f.severity.label)
        for f in run_check(root).findings
        if f.path == "vendored.py" and f.rule.startswith("licence-header")
    ]


def test_categories_come_from_the_scancode_index() -> None:
    assert category("MIT") == "Permissive"
    assert category("gpl-3.0-only") == "Copyleft"
    assert category("LGPL-2.1-only") == "Copyleft Limited"
    assert category("CC-BY-NC-4.0") == "Source-available"
    assert category("LicenseRef-scancode-llama-3.1-license-2024") == "Proprietary Free"
    assert category("LicenseRef-not-a-licence") is None


@pytest.mark.parametrize("expression", ["MIT", "BSD-3-Clause", "ISC", "CC0-1.0", "0BSD"])
def test_permissive_code_in_an_apache_repository_is_at_most_low(
    tree: Callable[[Files], Path], expression: str
) -> None:
    assert _header(tree, APACHE, expression) == [("licence-header-compatible", "low")]


@pytest.mark.parametrize(
    "expression", ["GPL-3.0-only", "AGPL-3.0-or-later", "GPL-2.0-only", "MIT AND GPL-3.0-only"]
)
def test_copyleft_code_in_a_permissive_repository_fails(
    tree: Callable[[Files], Path], expression: str
) -> None:
    assert _header(tree, APACHE, expression) == [("licence-header-mismatch", "high")]


@pytest.mark.parametrize(
    "expression", ["CC-BY-NC-4.0", "LicenseRef-scancode-llama-3.1-license-2024"]
)
def test_non_commercial_or_proprietary_code_in_a_permissive_repository_fails(
    tree: Callable[[Files], Path], expression: str
) -> None:
    assert _header(tree, APACHE, expression) == [("licence-header-mismatch", "high")]


def test_weak_copyleft_warns_and_never_suggests_rewriting_the_grant(
    tree: Callable[[Files], Path],
) -> None:
    root = tree({"README.md": APACHE, "v.py": "# SPDX-License-Identifier: MPL-2.0\n"})
    (found,) = [f for f in run_check(root).findings if f.path == "v.py"]
    assert (found.rule, found.severity.label) == ("licence-header-mismatch", "medium")
    assert "SPDX-License-Identifier: Apache-2.0" not in found.message
    assert "weak copyleft" in found.message


def test_an_or_later_grant_satisfies_the_version_the_repository_takes(
    tree: Callable[[Files], Path],
) -> None:
    assert _header(tree, GPL3, "GPL-2.0-or-later") == []
    assert _header(tree, GPL3, "GPL-3.0-or-later") == []
    # An "only" grant of an older version does not.
    assert _header(tree, GPL3, "GPL-2.0-only") == [("licence-header-mismatch", "high")]


def test_a_choice_takes_the_licence_that_fits(tree: Callable[[Files], Path]) -> None:
    assert _header(tree, APACHE, "GPL-3.0-only OR MIT") == [("licence-header-compatible", "low")]
    assert _header(tree, APACHE, "Apache-2.0 OR GPL-3.0-only") == []


def test_a_compatible_header_keeps_the_verdict_passing(tree: Callable[[Files], Path]) -> None:
    root = tree(
        {
            "README.md": APACHE,
            "LICENSE": Path(__file__).parents[2].joinpath("LICENSE").read_text("utf-8"),
            "ours.py": "# SPDX-License-Identifier: Apache-2.0\n",
            "vendored.py": "# SPDX-License-Identifier: BSD-2-Clause\n",
        }
    )
    result = run_check(root, policy=Policy())
    assert Verdict.of(f.severity for f in result.findings) is Verdict.PASS


def test_a_licence_ref_whose_text_sits_in_licenses_is_declared(
    tree: Callable[[Files], Path],
) -> None:
    files: Files = {
        "README.md": APACHE,
        "tool.py": "# SPDX-License-Identifier: LicenseRef-Acme-Tools\n",
    }
    root = tree(files)
    (before,) = [f for f in run_check(root).findings if f.path == "tool.py"]
    assert before.severity.label == "medium" and "LICENSES/" in before.message
    root.joinpath("LICENSES").mkdir()
    root.joinpath("LICENSES/LicenseRef-Acme-Tools.txt").write_text("Acme may be used freely.\n")
    assert [f for f in run_check(root).findings if f.path == "tool.py"] == []


MIT_TEXT = Path(__file__).parents[2].joinpath("checks/licence/texts/mit.txt")


def test_a_licence_file_titled_mit_that_says_something_else_is_not_mit(
    tree: Callable[[Files], Path],
) -> None:
    card = "---\nlicense: mit\n---\n# Model\n"
    root = tree(
        {
            "README.md": card,
            "LICENSE": "The MIT License (MIT)\n\nCopyright 2025 Someone\n\n"
            "This model may be used for non-commercial research only. Commercial use is "
            "prohibited without a separate agreement.\n",
        }
    )
    (found,) = [f for f in run_check(root).findings if f.rule == "licence-file-altered"]
    assert found.severity.label == "high" and found.path == "LICENSE"
    assert "titled as the MIT licence" in found.message and "adds restrictions" in found.message


def test_the_real_mit_text_with_its_own_copyright_line_is_mit(
    tree: Callable[[Files], Path],
) -> None:
    body = MIT_TEXT.read_text("utf-8").split("---\n", 2)[2]
    root = tree(
        {
            "README.md": "---\nlicense: mit\n---\n# Model\n",
            "LICENSE": body.replace("[year] [fullname]", "2025 Jane Doe"),
        }
    )
    result = run_check(root)
    assert "licence-file-altered" not in [f.rule for f in result.findings]
    assert "LICENSE: MIT" in " ".join(result.notes)
