"""Verdicts on PaddlePaddle, OpenVINO IR, Flax msgpack, torch.distributed.checkpoint and auto_map
samples: reviewbot against modelscan and modelaudit, each as a whole process on one path.

Samples are written under benchmarks/.work/formats/ with the libraries that write them (openvino,
flax, torch's dcp.save; paddle's pickle layout rebuilt with pickle, as tests/weights/test_paddle.py
says); hostile ones are assembled as bytes and never loaded. The peers come from the folder that
``--peers`` names (``scan_bench.py`` installs them in benchmarks/.venv).

    python benchmarks/formats_bench.py --peers benchmarks/.venv/bin
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "formats"
QUIET_ENV = {"PROMPTFOO_DISABLE_TELEMETRY": "1", "NO_ANALYTICS": "1", "DO_NOT_TRACK": "1"}


@dataclass(frozen=True)
class Sample:
    rel: str  # a file or a folder under WORK
    expect: str  # "hostile" must fail; "benign" and "warn" must not
    technique: str
    write: Callable[[Path], None]


def _reduce(module: str, name: str, arg: str = "id") -> bytes:
    def s(text: str) -> bytes:
        raw = text.encode()
        return b"\x8c" + bytes([len(raw)]) + raw

    return b"\x80\x04" + s(module) + s(name) + b"\x93" + s(arg) + b"\x85R."


def _varint(n: int) -> bytes:
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        out.append((n & 0x7F) | (0x80 if n >> 7 else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _blob(number: int, payload: bytes | str) -> bytes:
    raw = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(raw)) + raw


def _program(*ops: str) -> bytes:
    """A paddle ProgramDesc: one block of ops, each with its type (OpDesc field 3)."""
    body = b"".join(_blob(4, _blob(3, op)) for op in ops)
    return _blob(1, _varint(1 << 3) + _varint(0) + _varint(2 << 3) + _varint(0) + body)


def _paddle_params(folder: Path, hostile: bool) -> None:
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    if hostile:
        (folder / "model.pdparams").write_bytes(_reduce("os", "system"))
        return
    state = {
        "linear_0.w_0": np.ones((4, 3), np.float32),
        "linear_0.b_0": np.zeros(3, np.float32),
        "StructuredToParameterName@@": {"fc.weight": "linear_0.w_0", "fc.bias": "linear_0.b_0"},
    }
    (folder / "model.pdparams").write_bytes(pickle.dumps(state, protocol=4))


def _openvino(folder: Path, edit: tuple[str, str] | None = None, xml: bytes | None = None) -> None:
    import numpy as np
    import openvino as ov
    from openvino import opset13 as ops

    folder.mkdir(parents=True, exist_ok=True)
    x = ops.parameter([1, 4], np.float32, name="x")
    y = ops.relu(ops.matmul(x, ops.constant(np.full((4, 4), 0.5, np.float32)), False, False))
    ov.save_model(ov.Model([y], [x], "tiny"), folder / "model.xml", compress_to_fp16=False)
    if edit is not None:
        text = (folder / "model.xml").read_text()
        if edit[0] not in text:
            raise SystemExit(f"openvino no longer writes {edit[0]!r}: update the sample")
        (folder / "model.xml").write_text(text.replace(edit[0], edit[1], 1))
    if xml is not None:
        (folder / "model.xml").write_bytes(xml)


RELU = 'type="ReLU" version="opset1"'
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE net [<!ENTITY leak SYSTEM "file:///etc/passwd">]>
<net name="x" version="11"><layers><layer id="0" name="&leak;" type="Parameter"
version="opset1"/></layers></net>
"""
LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE net [<!ENTITY a0 "lol">'
    + b"".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">'.encode() for i in range(1, 10))
    + b']>\n<net name="&a9;"/>'
)


def _flax(folder: Path, hostile: str | None = None) -> None:
    import jax
    import jax.numpy as jnp
    import msgpack
    from flax import linen as nn
    from flax import serialization

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "flax_model.msgpack"
    if hostile == "ext":
        path.write_bytes(msgpack.packb({"w": msgpack.ExtType(42, b"\x00" * 8)}))
        return
    params = nn.Dense(4).init(jax.random.PRNGKey(0), jnp.ones((1, 4)))
    data = serialization.to_bytes(params)
    path.write_bytes(data[: len(data) // 2] if hostile == "truncated" else data)


class _Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("true",))


def _dcp(folder: Path, hostile: str | None = None) -> None:
    import torch
    import torch.distributed.checkpoint as dcp

    state = {"model": {"w": torch.ones(4, 4)}, "step": 3}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dcp.save(state, checkpoint_id=str(folder), no_dist=True)
    if hostile == "metadata":
        (folder / ".metadata").write_bytes(_reduce("os", "system"))
    elif hostile == "item":
        shard = next(folder.glob("*.distcp"))
        buffer = io.BytesIO()
        torch.save(_Evil(), buffer)
        shard.write_bytes(shard.read_bytes() + buffer.getvalue())


def _auto_map(folder: Path, module: str | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    config = {"model_type": "tiny", "auto_map": {"AutoModel": "tiny.TinyModel"}}
    (folder / "config.json").write_text(json.dumps(config))
    if module is not None:
        (folder / "tiny.py").write_text(module)


def samples() -> list[Sample]:
    def write(name: str, data: bytes) -> Callable[[Path], None]:
        def go(folder: Path) -> None:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)

        return go

    return [
        Sample("paddle_params", "benign", "paddle.save state dict (.pdparams)",
               lambda p: _paddle_params(p, False)),
        Sample("paddle_params_evil", "hostile", ".pdparams with os.system",
               lambda p: _paddle_params(p, True)),
        Sample("paddle_program", "benign", ".pdmodel of matmul_v2/relu",
               write("inference.pdmodel", _program("matmul_v2", "relu"))),
        Sample("paddle_py_func", "hostile", ".pdmodel with a py_func op",
               write("inference.pdmodel", _program("relu", "py_func"))),
        Sample("openvino", "benign", "openvino.save_model IR", _openvino),
        Sample("openvino_xxe", "hostile", "IR XML with an external entity (XXE)",
               lambda p: _openvino(p, xml=XXE)),
        Sample("openvino_laughs", "hostile", "IR XML entity bomb (billion laughs)",
               lambda p: _openvino(p, xml=LAUGHS)),
        Sample("openvino_overrun", "hostile", "Const offset past the end of the .bin",
               lambda p: _openvino(p, ('offset="0"', 'offset="4096"'))),
        Sample("openvino_extension", "warn", "layer from a custom op set",
               lambda p: _openvino(p, (RELU, 'type="MyOp" version="extension"'))),
        Sample("flax", "benign", "flax serialization.to_bytes params", _flax),
        Sample("flax_ext", "hostile", "msgpack ext type 42", lambda p: _flax(p, "ext")),
        Sample("flax_truncated", "hostile", "truncated flax_model.msgpack",
               lambda p: _flax(p, "truncated")),
        Sample("dcp", "warn", "dcp.save checkpoint folder", _dcp),
        Sample("dcp_metadata_evil", "hostile", ".metadata with os.system",
               lambda p: _dcp(p, "metadata")),
        Sample("dcp_item_evil", "hostile", ".distcp with a torch.save'd os.system item",
               lambda p: _dcp(p, "item")),
        Sample("auto_map_evil", "hostile", "auto_map module tiny.py calls os.system",
               lambda p: _auto_map(p, "import os\nos.system('id')\n")),
        Sample("auto_map_missing", "warn", "auto_map names a module the repo lacks",
               lambda p: _auto_map(p, None)),
    ]  # fmt: skip


def tools(peers: Path | None) -> dict[str, Callable[[Path], list[str]]]:
    found: dict[str, Callable[[Path], list[str]]] = {
        "reviewbot": lambda p: [sys.executable, "-m", "reviewbot", "scan", "--no-progress",
                                "--format", "json", str(p)],
    }  # fmt: skip
    if peers is not None and (peers / "modelscan").exists():
        found["modelscan"] = lambda p: [str(peers / "modelscan"), "-p", str(p)]
    if peers is not None and (peers / "modelaudit").exists():
        found["modelaudit"] = lambda p: [
            str(peers / "modelaudit"), "scan", "--no-cache", "--format", "json", str(p)
        ]  # fmt: skip
    return found


def verdict(expect: str, rc: int) -> str:
    """✓ right, ✗ wrong, E an error exit without a finding (exit 1 is a catch for every tool)."""
    if rc not in (0, 1):
        return "E"
    failed = rc == 1
    return "✓" if failed == (expect == "hostile") else "✗"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=Path, help="folder holding modelscan and modelaudit")
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    chosen = tools(args.peers)
    env = {**os.environ, **QUIET_ENV}
    rows = []
    for sample in samples():
        path = WORK / sample.rel
        sample.write(path)
        marks, rules = [], ""
        for name, argv in chosen.items():
            proc = subprocess.run(
                argv(path), capture_output=True, env=env, timeout=300, stdin=subprocess.DEVNULL
            )
            marks.append(verdict(sample.expect, proc.returncode))
            if name == "reviewbot":
                try:
                    report = json.loads(proc.stdout)
                    rules = ", ".join(sorted({f["rule"] for f in report["findings"]})) or "–"
                except ValueError:
                    rules = "(no report)"
        rows.append(f"| {sample.rel} | {sample.technique} | {sample.expect} | "
                    + " | ".join(marks) + f" | {rules} |")  # fmt: skip
    print("| sample | technique | expect | " + " | ".join(chosen) + " | reviewbot rules |")
    print("|---|---|---|" + "---|" * len(chosen) + "---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
