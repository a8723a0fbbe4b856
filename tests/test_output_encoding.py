"""Every output format is valid UTF-8, even for file names that are not (Linux allows any bytes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reviewbot.sample import SYSTEM_PAYLOAD, build_sample

# A Latin-1 name as an old tool would write it: b"\xe9" is not UTF-8 on its own.
RAW_NAME = b"mod\xe8le-\xff.bin"
VISIBLE = "mod\\xe8le-\\xff.bin"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "reviewbot", *args], capture_output=True, timeout=120, env=env
    )


def strings(data: object) -> list[str]:
    """Every string value in a parsed JSON document."""
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for v in data.values() for s in strings(v)]
    if isinstance(data, list):
        return [s for v in data for s in strings(v)]
    return []


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = build_sample(tmp_path_factory.mktemp("names") / "contribution")
    # A hostile pickle under a name that is not UTF-8: the finding must still name it.
    with open(os.path.join(os.fsencode(root), RAW_NAME), "wb") as handle:
        handle.write(SYSTEM_PAYLOAD)
    return root


@pytest.mark.parametrize(
    "args",
    [
        ("scan", "--format", "text"),
        ("scan", "--format", "json"),
        ("scan", "--format", "sarif"),
        ("review", "--offline", "--format", "markdown"),
        ("review", "--offline", "--format", "json"),
    ],
    ids=lambda a: "-".join(a[::2]),
)
def test_undecodable_names_are_escaped_visibly(folder: Path, args: tuple[str, ...]) -> None:
    result = run(*args, str(folder), env={**os.environ, "COLUMNS": "240"})
    assert result.returncode == 1, result.stderr.decode("utf-8", "replace")
    text = result.stdout.decode("utf-8")  # strict: raises on any raw byte
    if "json" in args or "sarif" in args:
        text = "\n".join(strings(json.loads(text)))
    assert VISIBLE in text


def test_json_names_the_hostile_file_by_its_escaped_name(folder: Path) -> None:
    report = json.loads(run("scan", "--format", "json", str(folder)).stdout.decode("utf-8"))
    hits = [f for f in report["findings"] if f["path"].endswith(VISIBLE)]
    assert [f["rule"] for f in hits] == ["unsafe-import"]


def test_output_is_utf8_under_an_ascii_locale(folder: Path) -> None:
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": "ascii"}
    result = run("review", "--offline", "--format", "markdown", str(folder), env=env)
    text = result.stdout.decode("utf-8")
    assert "reviewbot: fail" in text and "❌" in text  # non-ASCII survives an ASCII locale


def test_version_prints_the_version() -> None:
    from reviewbot import __version__

    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.decode().strip() == f"reviewbot {__version__}"
