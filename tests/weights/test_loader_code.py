"""Code a repository asks a loader to run: named, and critical when it reaches the system."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reviewbot.cli import main


def scan(folder: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, set[tuple[str, str, str]]]:
    code = main(["scan", "--format", "json", str(folder)])
    report = json.loads(capsys.readouterr().out)
    return code, {(Path(f["path"]).name, f["rule"], f["severity"]) for f in report["findings"]}


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


@pytest.mark.parametrize(
    ("name", "body", "call"),
    [
        ("hubconf.py", "import os\n\ndef model():\n    os.system('id')\n", "os.system"),
        ("modeling_tiny.py", "from subprocess import run as r\nr(['id'])\n", "subprocess.run"),
        (
            "custom_generate/generate.py",
            "import base64\nexec(base64.b64decode('cHJpbnQoMSk='))\n",
            "exec",
        ),
        ("tokenization_tiny.py", "import urllib.request as u\nu.urlopen('http://x')\n",
         "urllib.request.urlopen"),
        ("modeling_ffi.py", "import ctypes\nctypes.CDLL('libc.so.6')\n", "ctypes.CDLL"),
    ],
)  # fmt: skip
def test_dangerous_loader_code_is_critical_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, body: str, call: str
) -> None:
    folder = write(tmp_path / "repo", {name: body})
    code = main(["scan", "--format", "json", str(folder)])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    critical = [f for f in report["findings"] if f["rule"] == "code-runs-on-load"]
    assert critical and all(f["severity"] == "critical" for f in critical)
    assert any(call in f["message"] for f in critical)
    assert all(f["location"].startswith("line ") for f in critical)


def test_plain_loader_code_is_named_not_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hubconf = "dependencies = ['torch']\n\ndef tiny(pretrained=False):\n    return None\n"
    folder = write(tmp_path / "repo", {"hubconf.py": hubconf})
    code, found = scan(folder, capsys)
    assert code == 0
    assert found == {("hubconf.py", "loader-code", "medium")}


def test_code_no_loader_runs_is_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = "import subprocess\nsubprocess.run(['nvidia-smi'])\n"
    code, found = scan(write(tmp_path / "repo", {"scripts/train.py": train}), capsys)
    assert code == 0 and found == set()


def test_unparsable_loader_code_fails_closed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, found = scan(write(tmp_path / "repo", {"hubconf.py": "def broken(:\n"}), capsys)
    assert code == 1 and ("hubconf.py", "loader-code-unparsable", "high") in found


def test_auto_map_saved_by_transformers_names_the_modules_it_imports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from transformers import PretrainedConfig

    config = PretrainedConfig()
    config.auto_map = {
        "AutoConfig": "configuration_tiny.TinyConfig",
        "AutoModel": "modeling_tiny.TinyModel",
        "AutoModelForCausalLM": "someone/elsewhere--modeling_evil.EvilModel",
    }
    folder = tmp_path / "repo"
    config.save_pretrained(folder)
    code, found = scan(folder, capsys)
    assert code == 1
    assert ("config.json", "remote-code-elsewhere", "high") in found
    assert ("config.json", "remote-code", "medium") in found
    report_messages = main(["scan", "--format", "json", str(folder)])
    messages = " ".join(f["message"] for f in json.loads(capsys.readouterr().out)["findings"])
    assert report_messages == 1
    assert "modeling_tiny.py" in messages and "configuration_tiny.py" in messages
    assert "someone/elsewhere" in messages


def test_a_config_without_auto_map_says_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from transformers import PretrainedConfig

    folder = tmp_path / "repo"
    PretrainedConfig().save_pretrained(folder)
    code, found = scan(folder, capsys)
    assert code == 0 and found == set()
