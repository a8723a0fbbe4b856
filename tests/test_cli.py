"""The command-line contract other tools depend on: output shapes and exit codes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from reviewbot.sample import build_sample

HEAVY = ("torch", "transformers", "celery", "fastapi", "starlette", "uvicorn", "redis", "github")


def reviewbot(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reviewbot", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample(tmp_path_factory.mktemp("sample") / "contribution")


@pytest.fixture
def clean_safetensors(tmp_path: Path) -> Path:
    path = tmp_path / "model.safetensors"
    save_file({"w": np.ones((4, 4), dtype=np.float32)}, str(path))
    return path


def test_clean_file_passes_with_exit_0(clean_safetensors: Path) -> None:
    run = reviewbot("scan", "--format", "json", str(clean_safetensors))
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["verdict"] == "pass"
    assert report["findings"] == []
    size = clean_safetensors.stat().st_size
    assert report["files"] == [
        {
            "path": str(clean_safetensors),
            "format": "safetensors",
            "sha256": None,
            "verdict": "pass",
            "bytes_read": report["files"][0]["bytes_read"],
            "full_download": False,
        }
    ]
    # The header is all a safetensors scan reads; the total is the sum over files.
    assert 0 < report["files"][0]["bytes_read"] <= size
    assert report["bytes_read"] == report["files"][0]["bytes_read"]


def test_hash_is_filled_only_when_asked(clean_safetensors: Path) -> None:
    run = reviewbot("scan", "--format", "json", "--hash", str(clean_safetensors))
    expected = hashlib.sha256(clean_safetensors.read_bytes()).hexdigest()
    assert json.loads(run.stdout)["files"][0]["sha256"] == expected


def test_hostile_folder_fails_with_exit_1_and_worst_first(sample: Path) -> None:
    run = reviewbot("scan", "--format", "json", str(sample))
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    assert report["verdict"] == "fail"
    order = ["critical", "high", "medium", "low", "info"]
    ranks = [order.index(f["severity"]) for f in report["findings"]]
    assert ranks == sorted(ranks)
    for finding in report["findings"]:
        assert {"check", "rule", "severity", "path", "message"} <= finding.keys()
    by_file = {f["path"].rsplit("/", 1)[-1]: f for f in report["files"]}
    assert by_file["pytorch_model.bin"]["verdict"] == "fail"
    assert by_file["model.safetensors"]["verdict"] == "pass"
    assert by_file["training_args.bin"]["verdict"] == "warn"
    assert any(
        f["severity"] == "critical" and f["path"].endswith("pytorch_model.bin")
        for f in report["findings"]
    )


def test_sarif_output_is_sarif_2_1_0(sample: Path) -> None:
    run = reviewbot("scan", "--format", "sarif", str(sample))
    assert run.returncode == 1
    sarif = json.loads(run.stdout)
    assert sarif["version"] == "2.1.0"
    (only_run,) = sarif["runs"]
    rules = {r["id"] for r in only_run["tool"]["driver"]["rules"]}
    assert only_run["results"]
    for result in only_run["results"]:
        assert result["ruleId"] in rules
        assert result["level"] in {"error", "warning", "note"}
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert any(r["level"] == "error" for r in only_run["results"])


def test_text_output_is_a_table_with_the_verdict(sample: Path) -> None:
    run = reviewbot("scan", str(sample / "pytorch_model.bin"))
    assert run.returncode == 1
    assert "critical" in run.stdout
    assert "verdict: fail" in run.stdout


@pytest.mark.parametrize(
    "args",
    [("scan",), ("scan", "--format", "xml", "x"), ("scan", "does-not-exist"), ("review", "nope")],
)
def test_usage_errors_exit_2_without_traceback(args: tuple[str, ...]) -> None:
    run = reviewbot(*args)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert run.stderr.strip()


def test_review_prints_the_comment_as_posted(sample: Path) -> None:
    run = reviewbot("review", str(sample))
    assert run.returncode == 1
    assert run.stdout.startswith("<!-- reviewbot:verdict -->")
    assert "reviewbot: fail" in run.stdout
    assert "`pytorch_model.bin`" in run.stdout
    assert "Traceback" not in run.stderr


def test_review_json_matches_scan_contract(sample: Path) -> None:
    run = reviewbot("review", "--format", "json", str(sample))
    report = json.loads(run.stdout)
    assert report["verdict"] == "fail"
    assert {f["path"] for f in report["files"]} >= {"pytorch_model.bin", "model.safetensors"}


def test_demo_prints_a_failing_verdict_and_exits_0(tmp_path: Path) -> None:
    run = reviewbot("demo", "--out", str(tmp_path / "demo"))
    assert run.returncode == 0, run.stderr
    assert "reviewbot: fail" in run.stdout
    assert (tmp_path / "demo" / "pytorch_model.bin").is_file()


def test_scan_imports_nothing_heavy(clean_safetensors: Path) -> None:
    code = (
        "import sys\n"
        "from reviewbot.cli import main\n"
        f"main(['scan', '--format', 'json', {str(clean_safetensors)!r}])\n"
        f"print('HEAVY', sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.stdout.strip().splitlines()[-1] == "HEAVY []", run.stdout
