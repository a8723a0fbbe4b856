"""Shared fixtures (scancode, reuse-tool, skywalking-eyes, licensee, Hub cards) as conformance."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from checks.licence.card import card_findings, parse_card
from checks.licence.spdx import check_expression, hub_ids
from checks.licence.tags import find_tags, strip_closers
from checks.licence.texts_match import identify
from checks.policy import Policy
from tests.licence.conftest import rules, run_check

LICENCES = Path("corpus/licences")
SCANCODE = LICENCES / "scancode-toolkit/tests/licensedcode/data/spdx/lines"
_PREFIX = re.compile(r"(?i)^SPDX[-_ ]Licen[cs]e[-_ ]Identifier[ \t]*:?")


def _scancode_cases() -> list[str]:
    return sorted(
        p.name[: -len(".json")]
        for p in (Path(__file__).resolve().parents[3] / "shared" / SCANCODE).glob("*.json")
        if (p.parent / p.name[: -len(".json")]).exists()
    )


@pytest.mark.parametrize("name", _scancode_cases())
def test_spdx_lines_agree_with_scancode(shared_dir: Path, name: str) -> None:
    """We find every scancode line where the tag opens a comment; prose mentions are not headers."""
    folder = shared_dir / SCANCODE
    text = (folder / name).read_text("utf-8", errors="replace")
    expected = [
        strip_closers(_PREFIX.sub("", e[0]))
        for e in json.loads((folder / f"{name}.json").read_text())
    ]
    found = [t.expression for t in find_tags(text)]
    assert all(f in expected for f in found)
    # scancode also reports tags that follow prose on the line ("it SPDX-License-Identifier: …").
    prose = [
        m
        for m in re.finditer(r"(?im)^(?P<before>.*?)SPDX[-_ ]Licen[cs]e[-_ ]Identifier", text)
        if re.search(r"[^\W\d_]", m.group("before"))
    ]
    assert len(expected) - len(found) <= len(prose)


def test_reuse_fake_repository_passes(shared_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(shared_dir / LICENCES / "reuse-tool/tests/resources/fake_repository", root)
    result = run_check(root)  # the allowed set comes from LICENSES/<id>.txt, as in REUSE
    header_rules = [r for r in rules(result) if r.startswith("licence-header")]
    assert header_rules == []
    assert "headers: 8 files checked" in " ".join(result.notes)
    assert "GPL-3.0-or-later" in " ".join(result.notes)


def test_reuse_binary_needs_a_sidecar(shared_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(shared_dir / LICENCES / "reuse-tool/tests/resources/fsfe.png", root / "fsfe.png")
    assert "licence-coverage-missing" in rules(run_check(root))
    (root / "fsfe.png.license").write_text("SPDX-License-Identifier: CC-BY-4.0\n")
    assert "licence-coverage-missing" not in rules(run_check(root))


@pytest.mark.parametrize("kind", ["with_license", "without_license"])
def test_skywalking_include_fixtures(shared_dir: Path, kind: str) -> None:
    root = shared_dir / LICENCES / "skywalking-eyes/test/testdata/include_test" / kind
    result = run_check(root, policy=Policy(allowed_licences=frozenset({"Apache-2.0"})))
    checked = [f for f in result.findings if f.rule.startswith("licence-header")]
    if kind == "without_license":
        assert checked and all(f.rule == "licence-header-missing" for f in checked)
    else:
        # these carry the long ASF text, not SPDX lines: REUSE counts them as missing too
        assert all(f.rule == "licence-header-missing" for f in checked)


def test_skywalking_spdx_content_fixtures(shared_dir: Path) -> None:
    root = shared_dir / LICENCES / "skywalking-eyes/test/testdata/spdx_content_test"
    result = run_check(root, policy=Policy(allowed_licences=frozenset({"Apache-2.0"})))
    assert [f for f in result.findings if f.rule.startswith("licence-header")] == []


# Where our answer differs from licensee's on purpose (file-level identification, NC/ND licences).
DIVERGES = {
    "bsd-plus-patents": "BSD-3-Clause",  # licensee says other because of the extra PATENTS file
    "cc-by-nc-sa": "cc-by-nc-sa-4.0",  # we know the NonCommercial licences; licensee does not
    "cc-by-nd": "cc-by-nd-4.0",
    "fcpl-modified-mpl": "MPL-2.0",  # a lightly modified MPL scores above our threshold
    "licenses-dir-with-top-level-license": "Apache-2.0",  # project-level "other" in licensee
    "cc0-cal2013": None,  # an older CC0 wording scores just under our threshold
}


def _licensee_cases(shared: Path) -> list[tuple[str, Path, str]]:
    base = shared / LICENCES / "licensee/spec/fixtures"
    expected = yaml.safe_load((base / "fixtures.yml").read_text())
    cases = []
    for name, entry in expected.items():
        folder = base / name
        files = [
            p
            for p in folder.iterdir()
            if p.is_file() and re.match(r"(?i)(licen[cs]e|copying|unlicense)", p.name)
        ]
        if len(files) == 1:
            cases.append((name, files[0], str(entry["key"])))
    return cases


def test_licence_texts_agree_with_licensee(shared_dir: Path) -> None:
    cases = _licensee_cases(shared_dir)
    assert len(cases) >= 45
    for name, path, key in cases:
        match = identify(path.read_text("utf-8", errors="replace"))
        got = match.key if match else None
        if name in DIVERGES:
            assert got == DIVERGES[name], name
        elif key in ("other", "no-license"):
            assert got is None, name
        else:
            assert got is not None and got.lower() == key, name


def test_model_licence_texts_are_identified_by_title(shared_dir: Path) -> None:
    models = shared_dir / LICENCES / "model-licences/llama-models/models"
    for folder, key in [
        ("llama2", "llama2"),
        ("llama3", "llama3"),
        ("llama3_1", "llama3.1"),
        ("llama3_2", "llama3.2"),
        ("llama3_3", "llama3.3"),
        ("llama4", "llama4"),
    ]:
        match = identify((models / folder / "LICENSE").read_text("utf-8"))
        assert match is not None and match.key == key
    rail = (
        shared_dir / LICENCES / "model-licences/stable-diffusion/LICENSE-CreativeML-OpenRAIL-M.txt"
    )
    assert (m := identify(rail.read_text("utf-8"))) is not None and m.key == "creativeml-openrail-m"


def test_every_hub_licence_id_is_accepted_on_a_card(shared_dir: Path) -> None:
    ids = json.loads((shared_dir / LICENCES / "hub-docs/hf_license_ids.json").read_text())[
        "licenses"
    ]
    assert {row["id"] for row in ids} == set(hub_ids())
    for row in ids:
        extra = "license_name: x\nlicense_link: LICENSE\n" if row["id"] == "other" else ""
        card = parse_card(f"---\nlicense: {row['id']}\n{extra}---\n")
        assert card_findings(card, "licence") == [], row["id"]


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("sample_invalid_card_data.md", "card-licence-invalid"),
        ("sample_no_metadata.md", "card-licence-missing"),
        ("sample_simple.md", None),
        ("sample_windows_line_breaks.md", None),
    ],
)
def test_hub_card_fixtures(shared_dir: Path, name: str, rule: str | None) -> None:
    text = (shared_dir / LICENCES / "huggingface_hub/tests/fixtures/cards" / name).read_text(
        "utf-8"
    )
    findings = card_findings(parse_card(text), "licence")
    assert [f.rule for f in findings] == ([rule] if rule else [])


def test_expressions_that_make_license_expression_raise() -> None:
    for text in ["MIT AND", "GPL-2.0 WITH", "(MIT", "MIT OR OR Apache-2.0", "Apache-2.0 */", ""]:
        assert not check_expression(text).valid
