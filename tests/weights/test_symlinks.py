"""Symbolic links in a contribution are never followed, and one that leads out of it fails."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from reviewbot.cli import main


def onnx_with_sidecar(folder: Path, sidecar: str) -> None:
    """A real ONNX model whose weights onnx says live in ``sidecar`` beside it."""
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    w = numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g", [x], [y], [w])
    onnx.save_model(
        helper.make_model(graph),
        str(folder / "model.onnx"),
        save_as_external_data=True,
        location=sidecar,
        size_threshold=0,
    )


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, str]]]:
    code = main(argv)
    return code, json.loads(capsys.readouterr().out)["findings"]


def test_an_onnx_sidecar_linked_outside_the_repository_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours\n")
    repo = tmp_path / "repo"
    onnx_with_sidecar(repo, "weights.bin")
    (repo / "weights.bin").unlink()
    os.symlink(secret, repo / "weights.bin")
    code, findings = run(["scan", "--format", "json", str(repo)], capsys)
    (link,) = [f for f in findings if f["rule"] == "symlink-outside"]
    assert code == 1 and link["severity"] == "high" and link["path"].endswith("weights.bin")
    assert "ONNX external-data sidecar" in link["message"]
    code, findings = run(["review", str(repo), "--format", "json"], capsys)
    assert code == 1 and "symlink-outside" in {f["rule"] for f in findings}


def test_a_link_that_climbs_out_relatively_fails_and_one_inside_is_low(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    onnx_with_sidecar(repo, "weights.bin")
    os.symlink("weights.bin", repo / "alias.bin")
    os.symlink("../../etc", repo / "configs")  # a folder link, never walked into
    code, findings = run(["scan", "--format", "json", str(repo)], capsys)
    by_rule = {f["rule"]: f for f in findings}
    assert by_rule["symlink"]["severity"] == "low" and by_rule["symlink"]["path"].endswith(
        "alias.bin"
    )
    assert by_rule["symlink-outside"]["path"].endswith("configs") and code == 1
    assert not any("passwd" in f["path"] for f in findings)


def test_a_git_work_tree_reports_the_links_git_tracks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("---\nlicense: mit\n---\n# m\n")
    os.symlink("/etc/hostname", repo / "tokenizer.json")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    code, findings = run(["review", str(repo), "--format", "json"], capsys)
    (link,) = [f for f in findings if f["rule"] == "symlink-outside"]
    assert link["path"] == "tokenizer.json" and "/etc/hostname" in link["message"] and code == 1


def test_a_model_in_the_hub_cache_is_reviewed_where_it_lies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """huggingface_hub's cache links a snapshot's files to its own blobs: those are the files."""
    repo = tmp_path / "hub" / "models--org--tiny"
    blobs, snapshot = repo / "blobs", repo / "snapshots" / "0123abcd"
    blobs.mkdir(parents=True)
    snapshot.mkdir(parents=True)
    (blobs / "aa11").write_bytes(b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R.")
    (blobs / "bb22").write_text("---\nlicense: mit\n---\n# tiny\n")
    os.symlink("../../blobs/aa11", snapshot / "pytorch_model.bin")
    os.symlink("../../blobs/bb22", snapshot / "README.md")
    code, findings = run(["scan", "--format", "json", str(snapshot)], capsys)
    assert code == 1 and "unsafe-import" in {f["rule"] for f in findings}
    assert not any(f["rule"].startswith("symlink") for f in findings)
