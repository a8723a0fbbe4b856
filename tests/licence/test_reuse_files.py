"""REUSE.toml in any folder (nearest wins unless an outer one overrides) and .reuse/dep5."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.licence.conftest import Files, run_check

MIT_CARD = "---\nlicense: mit\n---\n# Model\n"


def _coverage(root: Path) -> dict[str, str]:
    return {
        f.path: f.rule
        for f in run_check(root).findings
        if f.rule in ("licence-coverage-missing", "licence-header-mismatch")
    }


def _toml(glob: str, expression: str, precedence: str = "closest") -> str:
    return (
        f'version = 1\n[[annotations]]\npath = "{glob}"\nprecedence = "{precedence}"\n'
        f'SPDX-License-Identifier = "{expression}"\n'
    )


def test_the_nearest_reuse_toml_wins(tree: Callable[[Files], Path]) -> None:
    root = tree(
        {
            "README.md": MIT_CARD,
            "REUSE.toml": _toml("**", "GPL-3.0-only"),
            "data/REUSE.toml": _toml("*.bin", "MIT"),
            "data/w.bin": b"\x00\x01",
            "other/w.bin": b"\x00\x01",
        }
    )
    found = _coverage(root)
    # data/REUSE.toml (paths relative to its folder) covers data/w.bin with MIT: fine.
    assert "data/w.bin" not in found
    # Only the root one covers other/w.bin, with a copyleft licence in an MIT repository.
    assert found.get("other/w.bin") == "licence-header-mismatch"


def test_an_outer_override_beats_a_nested_reuse_toml(tree: Callable[[Files], Path]) -> None:
    root = tree(
        {
            "README.md": MIT_CARD,
            "REUSE.toml": _toml("data/**", "GPL-3.0-only", "override"),
            "data/REUSE.toml": _toml("*.bin", "MIT"),
            "data/w.bin": b"\x00\x01",
        }
    )
    assert _coverage(root).get("data/w.bin") == "licence-header-mismatch"


def test_an_unreadable_nested_reuse_toml_is_named(tree: Callable[[Files], Path]) -> None:
    root = tree({"README.md": MIT_CARD, "sub/REUSE.toml": "version = = 1\n"})
    (found,) = [f for f in run_check(root).findings if f.rule == "licence-reuse-toml-invalid"]
    assert found.path == "sub/REUSE.toml"


def test_dep5_paragraphs_cover_files_last_one_winning(tree: Callable[[Files], Path]) -> None:
    dep5 = (
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        "Upstream-Name: model\n\n"
        "Files: *.bin\nCopyright: 2024 Someone\nLicense: GPL-3.0-only\n\n"
        "Files: weights/*.bin\nCopyright: 2024 Us\nLicense: MIT\n"
    )
    root = tree(
        {
            ".reuse/dep5": dep5,
            "weights/a.bin": b"\x00\x01",  # `*` crosses folders in dep5, the later MIT wins
            "top.bin": b"\x00\x01",
            "LICENSE": "MIT\n",
            "README.md": MIT_CARD,
        }
    )
    found = _coverage(root)
    assert "weights/a.bin" not in found
    assert found.get("top.bin") == "licence-header-mismatch"
