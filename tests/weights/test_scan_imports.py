"""The new parsers load only for files that need them; none of them pulls torch or YAML in."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import torch

from tests.weights.test_torchscript import Small, jit_save

LAZY = (
    "checks.weights.torchscript",
    "checks.weights.serving",
    "checks.weights.paddle",
    "checks.weights.openvino",
    "checks.weights.flax_msgpack",
    "checks.weights.dcp",
    "defusedxml",
    "yaml",
    "torch",
    "dill",
)


def loaded_after_scan(path: Path) -> list[str]:
    code = (
        "import sys\n"
        "from reviewbot.cli import main\n"
        "try:\n"
        f"    main(['scan', '--format', 'json', {str(path)!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('LOADED', sorted(m for m in sys.modules if m.startswith({LAZY!r})))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    line = run.stdout.strip().splitlines()[-1]
    assert line.startswith("LOADED "), run.stdout + run.stderr
    return list(ast.literal_eval(line.removeprefix("LOADED ")))


def test_scanning_a_state_dict_loads_none_of_them(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(2)}, path)
    assert loaded_after_scan(path) == []


def test_scanning_torchscript_loads_its_reader_but_not_torch(tmp_path: Path) -> None:
    loaded = loaded_after_scan(jit_save(tmp_path / "small.pt", Small()))
    assert "checks.weights.torchscript.program" in loaded
    assert not [m for m in loaded if m.split(".")[0] in ("torch", "yaml", "dill")]


def test_scanning_an_openvino_ir_loads_its_reader_but_no_ml_library(tmp_path: Path) -> None:
    (tmp_path / "model.xml").write_text('<?xml version="1.0"?><net name="m" version="11"/>')
    loaded = loaded_after_scan(tmp_path / "model.xml")
    assert "checks.weights.openvino" in loaded and "defusedxml" in loaded
    assert not [m for m in loaded if m.split(".")[0] in ("torch", "yaml", "dill")]
