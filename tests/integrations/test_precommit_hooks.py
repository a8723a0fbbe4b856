"""The pre-commit hooks block hostile weight files and missing SPDX headers in what is staged."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from safetensors.numpy import save_file

from tests.integrations.conftest import (
    APACHE_CARD,
    GIT_ENV,
    commit_all,
    git,
    init_repo,
    write_hostile_pickle,
)

ROOT = Path(__file__).resolve().parents[2]


def hooks() -> dict[str, dict[str, object]]:
    declared = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    return {h["id"]: h for h in declared}


def run_entry(hook_id: str, repo: Path, *files: str) -> subprocess.CompletedProcess[str]:
    """Run a hook's entry as pre-commit does: the entry's words, then the file names."""
    words = shlex.split(str(hooks()[hook_id]["entry"]))
    assert words[0] == "reviewbot"
    return subprocess.run(
        [sys.executable, "-m", "reviewbot", *words[1:], *files],
        capture_output=True,
        text=True,
        cwd=repo,
        timeout=120,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "model-repo")
    (root / "README.md").write_text(APACHE_CARD)
    save_file({"w": np.ones((4, 4), dtype=np.float32)}, str(root / "model.safetensors"))
    (root / "train.py").write_text("# SPDX-License-Identifier: Apache-2.0\nprint('train')\n")
    commit_all(root, "a clean model")
    return root


def test_both_hooks_are_declared_for_pre_commit() -> None:
    declared = hooks()
    assert set(declared) == {"reviewbot-scan", "reviewbot-licence"}
    for hook in declared.values():
        assert hook["language"] == "python"
        assert hook.get("pass_filenames", True) is True  # they see only the staged files


def test_scan_hook_blocks_a_hostile_pickle_and_names_it(repo: Path) -> None:
    write_hostile_pickle(repo / "checkpoints" / "optimizer.pt")
    result = run_entry(
        "reviewbot-scan", repo, "model.safetensors", "checkpoints/optimizer.pt", "train.py"
    )
    assert result.returncode == 1
    assert "checkpoints/optimizer.pt" in result.stdout
    assert "unsafe-import" in result.stdout and "posix.system" in result.stdout
    assert "model.safetensors" not in result.stdout  # clean files are not listed


def test_scan_hook_passes_a_clean_tree_silently(repo: Path) -> None:
    result = run_entry("reviewbot-scan", repo, "README.md", "model.safetensors", "train.py")
    assert result.returncode == 0, result.stdout
    assert result.stdout == ""


def test_scan_hook_decides_formats_by_content_not_name(repo: Path) -> None:
    write_hostile_pickle(repo / "notes.txt")  # a pickle under a harmless name
    result = run_entry("reviewbot-scan", repo, "notes.txt")
    assert result.returncode == 1
    assert "notes.txt" in result.stdout


def test_scan_hook_reads_only_the_files_it_is_given(repo: Path) -> None:
    write_hostile_pickle(repo / "unstaged.bin")
    result = run_entry("reviewbot-scan", repo, "model.safetensors")
    assert result.returncode == 0
    assert "unstaged.bin" not in result.stdout


def test_licence_hook_prints_the_exact_line_to_add(repo: Path) -> None:
    (repo / "serve.py").write_text("#!/usr/bin/env python\nprint('serve')\n")
    result = run_entry("reviewbot-licence", repo, "serve.py", "train.py")
    assert result.returncode == 1
    assert "serve.py" in result.stdout
    # The repository's licence (its card says apache-2.0) is the one suggested.
    assert "# SPDX-License-Identifier: Apache-2.0" in result.stdout
    assert "train.py" not in result.stdout


def test_licence_hook_passes_files_with_headers(repo: Path) -> None:
    result = run_entry("reviewbot-licence", repo, "train.py")
    assert result.returncode == 0, result.stdout


@pytest.mark.slow
def test_pre_commit_try_repo_blocks_a_hostile_commit(repo: Path, tmp_path: Path) -> None:
    """The real pre-commit installs this repository as a hook repository and runs both hooks."""
    pre_commit = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    if pre_commit is None:
        pytest.fail("pre-commit is a dev dependency: `make test` installs it")
    source = tmp_path / "hook-source"
    # pre-commit clones the hook repository: give it this tree as one commit.
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "*.egg-info",
            "build",
            "demo-contribution",
            ".mypy_cache",
            ".ruff_cache",
            ".pytest_cache",
            "__pycache__",
            ".work",
            "benchmarks",
        ),
    )
    init_repo(source)
    commit_all(source, "hooks")
    write_hostile_pickle(repo / "pytorch_model.bin")
    (repo / "serve.py").write_text("print('serve')\n")
    git(repo, "add", "pytorch_model.bin", "serve.py")
    env = {**GIT_ENV, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    result = subprocess.run(
        [pre_commit, "try-repo", str(source), "--color", "never"],
        capture_output=True,
        text=True,
        cwd=repo,
        env=env,
        timeout=900,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "pytorch_model.bin" in result.stdout and "unsafe-import" in result.stdout
    assert "# SPDX-License-Identifier: Apache-2.0" in result.stdout
    git(repo, "rm", "-q", "--cached", "pytorch_model.bin")
    (repo / "serve.py").write_text("# SPDX-License-Identifier: Apache-2.0\nprint('serve')\n")
    git(repo, "add", "serve.py")
    clean = subprocess.run(
        [pre_commit, "try-repo", str(source), "--color", "never"],
        capture_output=True,
        text=True,
        cwd=repo,
        env=env,
        timeout=900,
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr
