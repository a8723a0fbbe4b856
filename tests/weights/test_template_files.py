"""Chat templates in the files transformers writes them to, not only tokenizer_config.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reviewbot.cli import main
from tests.weights.chat_templates import CHATML, ESCAPE, saved_tokenizer


def scan_json(capsys: pytest.CaptureFixture[str], *paths: Path) -> tuple[int, dict[str, object]]:
    code = main(["scan", "--format", "json", *map(str, paths)])
    return code, json.loads(capsys.readouterr().out)


def findings_by_path(report: dict[str, object]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for f in report["findings"]:  # type: ignore[attr-defined]
        found.setdefault(Path(f["path"]).name, set()).add(f["severity"])
    return found


def test_templates_saved_by_transformers_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = saved_tokenizer(tmp_path / "tok", {"default": CHATML, "tool_use": CHATML})
    assert (folder / "chat_template.jinja").is_file()
    assert (folder / "additional_chat_templates" / "tool_use.jinja").is_file()
    code, report = scan_json(capsys, folder)
    assert code == 0 and report["findings"] == []


def test_a_hostile_default_template_file_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = saved_tokenizer(tmp_path / "tok", {"default": ESCAPE})
    code, report = scan_json(capsys, folder)
    assert code == 1
    assert "critical" in findings_by_path(report)["chat_template.jinja"]


def test_a_hostile_named_template_fails_and_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = saved_tokenizer(tmp_path / "tok", {"default": CHATML, "tool_use": ESCAPE})
    code, report = scan_json(capsys, folder)
    assert code == 1
    assert findings_by_path(report) == {"tool_use.jinja": {"critical"}}


def test_a_processor_chat_template_json_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "proc"
    folder.mkdir()
    (folder / "chat_template.json").write_text(json.dumps({"chat_template": ESCAPE}))
    (folder / "preprocessor_config.json").write_text("{}")
    code, report = scan_json(capsys, folder)
    assert code == 1 and "critical" in findings_by_path(report)["chat_template.json"]
    (folder / "chat_template.json").write_text(json.dumps({"chat_template": CHATML}))
    code, report = scan_json(capsys, folder)
    assert code == 0 and report["findings"] == []


def test_a_jinja_file_elsewhere_is_not_a_chat_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the paths loaders read are templates: a site generator's page is not one."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "page.jinja").write_text(ESCAPE)
    code, report = scan_json(capsys, folder)
    assert code == 0 and report["findings"] == []


def test_review_of_a_folder_sees_the_template_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = saved_tokenizer(tmp_path / "tok", {"default": ESCAPE})
    (folder / "README.md").write_text("---\nlicense: apache-2.0\n---\n# tok\n")
    code = main(["review", "--format", "json", "--offline", str(folder)])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert any(f["path"].endswith("chat_template.jinja") for f in report["findings"])
