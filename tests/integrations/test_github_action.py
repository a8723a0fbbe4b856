"""The GitHub Action's review step, run as a runner runs it: its script, its variables, a real
`pull_request` payload and real commits."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from safetensors.numpy import save_file

from tests.integrations.conftest import APACHE_CARD, commit_all, init_repo, write_hostile_pickle

ROOT = Path(__file__).resolve().parents[2]


def action() -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load((ROOT / "action.yml").read_text())
    return data


def review_step() -> dict[str, object]:
    steps = action()["runs"]["steps"]  # type: ignore[index]
    return next(s for s in steps if s.get("id") == "review")


class Runner:
    """The files and variables a GitHub-hosted runner gives the step."""

    def __init__(self, tmp: Path, workspace: Path, event: dict[str, object]) -> None:
        self.tmp = tmp
        self.workspace = workspace
        self.event_path = tmp / "event.json"
        self.event_path.write_text(json.dumps(event))
        self.summary = tmp / "step_summary.md"
        self.output = tmp / "github_output"
        self.summary.touch()
        self.output.touch()
        # The install step's venv, standing in for `pip install $ACTION_PATH`: this interpreter.
        bin_dir = tmp / "runner-temp" / "reviewbot" / "bin"
        bin_dir.mkdir(parents=True)
        shim = bin_dir / "reviewbot"
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m reviewbot "$@"\n')
        shim.chmod(shim.stat().st_mode | stat.S_IEXEC)

    def run(self, **inputs: str) -> subprocess.CompletedProcess[str]:
        step = review_step()
        declared = action()["inputs"]
        env = {
            **os.environ,
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(self.event_path),
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_OUTPUT": str(self.output),
            "GITHUB_WORKSPACE": str(self.workspace),
            "RUNNER_TEMP": str(self.tmp / "runner-temp"),
        }
        for name, spec in declared.items():  # type: ignore[attr-defined]
            env[f"INPUT_{name.upper().replace('-', '_')}"] = inputs.get(
                name.replace("-", "_"), str(spec["default"])
            )
        return subprocess.run(
            ["bash", "-e", "-c", str(step["run"])],
            capture_output=True,
            text=True,
            cwd=self.workspace,
            env=env,
            timeout=180,
        )

    def outputs(self) -> dict[str, str]:
        lines = self.output.read_text().splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line)


def pull_request_event(shared_dir: Path, base: str, head: str) -> dict[str, object]:
    event: dict[str, object] = json.loads(
        (shared_dir / "fixtures/webhooks/github/pull_request.opened.json").read_text()
    )
    pull = event["pull_request"]
    pull["base"]["sha"] = base  # type: ignore[index]
    pull["head"]["sha"] = head  # type: ignore[index]
    return event


@pytest.fixture
def contribution(tmp_path: Path, shared_dir: Path) -> Runner:
    """A model repository whose base already holds a hostile file; the pull request adds one."""
    ws = init_repo(tmp_path / "workspace")
    (ws / "README.md").write_text(APACHE_CARD)
    save_file({"w": np.ones((4, 4), dtype=np.float32)}, str(ws / "model.safetensors"))
    write_hostile_pickle(ws / "legacy" / "old.bin")
    base = commit_all(ws, "base")
    write_hostile_pickle(ws / "pytorch_model.bin")
    head = commit_all(ws, "the contribution")
    return Runner(tmp_path, ws, pull_request_event(shared_dir, base, head))


def sarif_paths(path: Path) -> set[str]:
    sarif = json.loads(path.read_text())
    assert sarif["version"] == "2.1.0"
    return {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for run in sarif["runs"]
        for result in run["results"]
        for loc in result["locations"]
    }


def test_failing_pull_request_fails_the_job_with_sarif_summary_and_outputs(
    contribution: Runner,
) -> None:
    result = contribution.run(changed_only="true", offline="true")
    assert result.returncode == 1, result.stderr
    outputs = contribution.outputs()
    assert outputs["verdict"] == "fail"
    sarif = Path(outputs["sarif"])
    assert sarif == contribution.workspace / "reviewbot.sarif"
    # Only what the pull request changes: the base's old file is not this PR's business.
    paths = sarif_paths(sarif)
    assert "pytorch_model.bin" in paths and "legacy/old.bin" not in paths
    summary = contribution.summary.read_text()
    assert "reviewbot: fail" in summary
    assert "pull request \\#2" in summary  # the number, Markdown-escaped
    assert "pytorch\\_model.bin" in summary or "pytorch_model.bin" in summary


def test_whole_tree_without_changed_only(contribution: Runner) -> None:
    result = contribution.run(offline="true")
    assert result.returncode == 1
    assert {"pytorch_model.bin", "legacy/old.bin"} <= sarif_paths(
        Path(contribution.outputs()["sarif"])
    )


def test_fail_on_verdict_false_keeps_the_job_green(contribution: Runner) -> None:
    result = contribution.run(changed_only="true", offline="true", fail_on_verdict="false")
    assert result.returncode == 0, result.stderr
    assert contribution.outputs()["verdict"] == "fail"


def test_sarif_file_input_is_honoured(contribution: Runner) -> None:
    contribution.run(offline="true", sarif_file="out/findings.sarif")
    assert contribution.outputs()["sarif"] == str(contribution.workspace / "out/findings.sarif")


def test_clean_pull_request_passes(tmp_path: Path, shared_dir: Path) -> None:
    ws = init_repo(tmp_path / "workspace")
    (ws / "README.md").write_text(APACHE_CARD)
    base = commit_all(ws, "base")
    save_file({"w": np.zeros((2, 2), dtype=np.float32)}, str(ws / "model.safetensors"))
    head = commit_all(ws, "weights")
    runner = Runner(tmp_path, ws, pull_request_event(shared_dir, base, head))
    result = runner.run(changed_only="true", offline="true")
    assert result.returncode == 0, result.stdout + result.stderr
    assert runner.outputs()["verdict"] in {"pass", "warn"}
    assert sarif_paths(Path(runner.outputs()["sarif"])) <= {"LICENSE", "README.md"}


def test_missing_base_commit_reviews_the_whole_tree_and_says_so(
    tmp_path: Path, shared_dir: Path
) -> None:
    ws = init_repo(tmp_path / "workspace")
    write_hostile_pickle(ws / "pytorch_model.bin")
    head = commit_all(ws, "only commit")
    runner = Runner(tmp_path, ws, pull_request_event(shared_dir, "0" * 40, head))
    result = runner.run(changed_only="true", offline="true")
    assert result.returncode == 1
    assert "fetch-depth: 0" in runner.summary.read_text()
    assert "pytorch_model.bin" in sarif_paths(Path(runner.outputs()["sarif"]))


def test_a_broken_event_payload_is_one_line_not_a_traceback(contribution: Runner) -> None:
    contribution.event_path.write_text("{not json")
    result = contribution.run(offline="true")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "cannot read the event payload" in result.stderr
