"""Verdicts of reviewbot, modelscan and modelaudit on one sample per technique of newer formats.

Each tool runs as a whole process on one sample's file or folder. The formats: PaddlePaddle,
OpenVINO IR, Flax msgpack, torch.distributed.checkpoint, auto_map, ONNX, TorchScript, Keras 3
``.keras``, TensorFlow SavedModel, chat templates, loader code (hubconf.py, custom_generate/,
TorchServe ``.mar``), joblib lzma, dill and cloudpickle, NeMo ``.nemo`` and MLflow ``MLmodel``.

Samples are written under benchmarks/.work/formats/ with the libraries that write them (openvino,
flax, torch's dcp.save and jit.save, onnx, keras, transformers' save_pretrained,
torch-model-archiver, joblib, dill, cloudpickle; paddle's pickle layout rebuilt with pickle, as
tests/weights/test_paddle.py says; SavedModel protobufs with tests/weights/saved_models.py's
builders, as TensorFlow is not installed). Hostile parts are assembled as bytes or text (often a
real save with one code, config or pickle member edited; the dill and cloudpickle functions are
real dumps of a harmless function) and never loaded. The peers come from the folder that
``--peers`` names (``scan_bench.py`` installs them in benchmarks/.venv).

    python benchmarks/formats_bench.py --peers benchmarks/.venv/bin
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import lzma
import marshal
import os
import pickle
import shutil
import subprocess
import sys
import tarfile
import warnings
import zipfile
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


def _onnx(folder: Path, location: str | None = None, domain: str | None = None) -> None:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    folder.mkdir(parents=True, exist_ok=True)
    io_x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    io_y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    weight = numpy_helper.from_array(np.full((4, 4), 0.5, np.float32), "w")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["t"]), helper.make_node("Relu", ["t"], ["y"])]
    opsets = [helper.make_opsetid("", 17)]
    if domain is not None:
        nodes[1] = helper.make_node("FastRelu", ["t"], ["y"], domain=domain)
        opsets.append(helper.make_opsetid(domain, 1))
    if location is not None:  # what an edited model points its weights at
        weight.data_location = TensorProto.EXTERNAL
        weight.ClearField("raw_data")
        entry = weight.external_data.add()
        entry.key, entry.value = "location", location
    graph = helper.make_graph(nodes, "tiny", [io_x], [io_y], [weight])
    onnx.save(helper.make_model(graph, opset_imports=opsets), folder / "model.onnx")


def _edit_zip(path: Path, suffix: str, old: bytes, new: bytes) -> None:
    """Rewrite the first member ending in ``suffix`` with ``old`` replaced by ``new``."""
    with zipfile.ZipFile(path) as zf:
        members = [(info.filename, zf.read(info)) for info in zf.infolist()]
    target = next(name for name, _ in members if name.endswith(suffix))
    if old not in dict(members)[target]:
        raise SystemExit(f"{target} no longer holds {old!r}: update the sample")
    with zipfile.ZipFile(path, "w") as zf:
        for name, body in members:
            zf.writestr(name, body.replace(old, new) if name == target else body)


def _torchscript(folder: Path, edit: tuple[str, bytes, bytes] | None = None) -> None:
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    module = torch.jit.script(torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU()))
    torch.jit.save(module, str(folder / "model.pt"))
    if edit is not None:
        _edit_zip(folder / "model.pt", *edit)


LINEAR_RETURN = b"    return torch.linear(input, weight, bias)\n"
TS_SAVE = b'    torch.save(weight, "/home/user/.bashrc")\n' + LINEAR_RETURN
SEQ_RETURN = b"    return (_1).forward(input0, )\n"
TS_LOAD_LIBRARY = b'    _2 = torch.ops.load_library("/tmp/libevil.so")\n' + SEQ_RETURN
# A Lambda's bytecode as Keras 3 stores it (base64 of marshal): compiled here, never run.
EVIL_LAMBDA = compile("lambda x: __import__('os').system('id') or x", "<lambda>", "eval")


def _lambda_layer() -> dict[str, object]:
    from tests.weights.keras_configs import k3_layer

    code = base64.b64encode(marshal.dumps(EVIL_LAMBDA.co_consts[0])).decode()
    function = {"class_name": "__lambda__",
                "config": {"code": code, "defaults": None, "closure": None}}  # fmt: skip
    return k3_layer("Lambda", {"name": "lambda", "trainable": True, "function": function,
                               "output_shape": None, "arguments": {}})  # fmt: skip


def _string_lookup(vocabulary: str) -> dict[str, object]:
    from tests.weights.keras_configs import k3_layer

    # StringLookup.get_config as Keras 3 writes it; the layer itself needs TensorFlow.
    return k3_layer("StringLookup", {
        "name": "lookup", "trainable": True, "invert": False, "max_tokens": None,
        "num_oov_indices": 1, "oov_token": "[UNK]", "mask_token": None, "output_mode": "int",
        "sparse": False, "pad_to_max_tokens": False, "idf_weights": None,
        "vocabulary": vocabulary, "vocabulary_size": None, "oov_method": "mod", "salt": None,
        "encoding": "utf-8",
    })  # fmt: skip


def _tfsm_layer() -> dict[str, object]:
    from tests.weights.keras_configs import k3_layer

    config = {"name": "tfsm", "trainable": False, "filepath": "/models/other",
              "call_endpoint": "serve"}  # fmt: skip
    return k3_layer("TFSMLayer", config)


def _keras(folder: Path, extra: Callable[[], dict[str, object]] | None = None) -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.keras"
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="relu")]).save(path)
    if extra is not None:
        with zipfile.ZipFile(path) as zf:
            members = {info.filename: zf.read(info) for info in zf.infolist()}
        config = json.loads(members["config.json"])
        config["config"]["layers"].append(extra())
        members["config.json"] = json.dumps(config).encode()
        with zipfile.ZipFile(path, "w") as zf:
            for name, body in members.items():
                zf.writestr(name, body)


def _saved_model(folder: Path, hostile: str | None = None) -> None:
    from tests.weights import saved_models as tf

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "variables").mkdir(exist_ok=True)
    ops = {
        "read": [tf.string_const("path", "/etc/passwd"), tf.node("read", "ReadFile", ["path"])],
        "py_func": [tf.node("py", "EagerPyFunc", ["x"], [tf.attr_s("token", "pyfunc_0")])],
    }
    graph = tf.plain_graph() if hostile is None else tf.graph(ops[hostile])
    (folder / "saved_model.pb").write_bytes(tf.saved_model(graph))


def _processor(folder: Path, template: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "chat_template.json").write_text(json.dumps({"chat_template": template}, indent=2))
    (folder / "preprocessor_config.json").write_text(json.dumps({"do_resize": True}))


def _files(files: dict[str, str]) -> Callable[[Path], None]:
    def go(folder: Path) -> None:
        for name, text in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)

    return go


HUBCONF = "dependencies = ['torch']\n\n\ndef tiny(pretrained=False):\n    return None\n"
HANDLER = """\
from ts.torch_handler.base_handler import BaseHandler


class Handler(BaseHandler):
    def preprocess(self, data):
        return [row.get("body") for row in data]
"""


def _mar(folder: Path, hostile: bool = False) -> None:
    import torch

    src = folder / "src"
    src.mkdir(parents=True, exist_ok=True)
    torch.save({"w": torch.zeros(2, 2)}, src / "model.pt")
    (src / "handler.py").write_text(HANDLER)
    archiver = Path(sys.executable).parent / "torch-model-archiver"
    subprocess.run(
        [str(archiver), "--model-name", "tiny", "--version", "1.0", "--export-path", str(folder),
         "--serialized-file", str(src / "model.pt"), "--handler", str(src / "handler.py")],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    shutil.rmtree(src)
    if hostile:
        old = b"class Handler(BaseHandler):\n"
        _edit_zip(folder / "tiny.mar", "handler.py", old, b"import os\n\n\n" + old
                  + b"    def initialize(self, context):\n        os.system('id')\n\n")  # fmt: skip


def _joblib(folder: Path, hostile: bool = False) -> None:
    import joblib
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.joblib"
    if hostile:  # joblib's lzma files are the legacy .lzma container (FORMAT_ALONE)
        path.write_bytes(lzma.compress(_reduce("os", "system"), format=lzma.FORMAT_ALONE))
    else:
        joblib.dump({"coef": np.arange(100.0), "labels": ["a", "b"]}, path, compress="lzma")


# A function from a notebook or training script (module __main__) is pickled by value.
NOTEBOOK = "import math\n\ndef scale(x):\n    return math.sqrt(x) * 2\n"


def _code_pickle(folder: Path, dialect: str, function: bool) -> None:
    import cloudpickle
    import dill
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    main: dict[str, object] = {"__name__": "__main__"}
    exec(compile(NOTEBOOK, "<notebook>", "exec"), main)  # noqa: S102  (defines, calls nothing)
    obj = main["scale"] if function else {"w": np.arange(4.0), "labels": ["cat", "dog"]}
    dumps: Callable[[object], bytes] = dill.dumps if dialect == "dill" else cloudpickle.dumps
    (folder / "model.pkl").write_bytes(dumps(obj))


NEMO_CONFIG = {
    "target": "nemo.collections.asr.models.EncDecCTCModel",
    "encoder": {"_target_": "nemo.collections.asr.modules.ConformerEncoder", "n_layers": 2},
    "optim": {"sched": {"_target_": "torch.optim.lr_scheduler.CosineAnnealingLR"}},
}


def _nemo(folder: Path, hostile: str | None = None) -> None:
    import torch
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save({"encoder.w": torch.zeros(2, 2)}, buffer)
    ckpt = buffer.getvalue()
    if hostile == "ckpt":  # the state dict's data.pkl swapped for an os.system reduce
        with zipfile.ZipFile(io.BytesIO(ckpt)) as zf:
            members = {info.filename: zf.read(info) for info in zf.infolist()}
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zf:
            for name, body in members.items():
                zf.writestr(name, _reduce("os", "system") if name.endswith("data.pkl") else body)
        ckpt = out.getvalue()
    config: dict[str, object] = dict(NEMO_CONFIG)
    if hostile == "target":
        config["preprocessor"] = {"_target_": "os.system", "command": "id"}
    members = {"./model_config.yaml": yaml.safe_dump(config).encode(),
               "./model_weights.ckpt": ckpt}  # fmt: skip
    with tarfile.open(folder / "model.nemo", "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _mlflow(folder: Path, custom: bool) -> None:
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    if custom:
        flavors: dict[str, object] = {"python_function": {
            "loader_module": "my_loader", "code": "code", "data": "data",
            "env": {"virtualenv": "python_env.yaml"}, "python_version": "3.11.9"}}  # fmt: skip
        (folder / "code").mkdir(exist_ok=True)
        (folder / "code" / "my_loader.py").write_text(
            "import os\n\n\ndef _load_pyfunc(path):\n    os.system('id')\n"
        )
    else:
        flavors = {
            "python_function": {"loader_module": "mlflow.sklearn", "model_path": "model.pkl",
                                "env": {"virtualenv": "python_env.yaml"}},
            "sklearn": {"pickled_model": "model.pkl", "serialization_format": "pickle"},
        }  # fmt: skip
        (folder / "model.pkl").write_bytes(pickle.dumps({"coef": [0.5, 1.5]}, protocol=4))
    mlmodel = {"artifact_path": "model", "flavors": flavors, "mlflow_version": "2.17.0"}
    (folder / "MLmodel").write_text(yaml.safe_dump(mlmodel))


def samples() -> list[Sample]:
    from tests.weights.chat_templates import CHATML, ESCAPE, saved_tokenizer

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
        Sample("onnx", "benign", "onnx.save of MatMul/Relu", _onnx),
        Sample("onnx_external_dotdot", "hostile", "external data at ../../etc/passwd",
               lambda p: _onnx(p, location="../../etc/passwd")),
        Sample("onnx_external_absolute", "hostile", "external data at /etc/shadow",
               lambda p: _onnx(p, location="/etc/shadow")),
        Sample("onnx_custom_domain", "warn", "node from a custom operator domain",
               lambda p: _onnx(p, domain="com.example.custom")),
        Sample("torchscript", "warn", "torch.jit.save of Linear/ReLU", _torchscript),
        Sample("torchscript_save", "hostile", "code/ edited to torch.save to ~/.bashrc",
               lambda p: _torchscript(p, ("linear.py", LINEAR_RETURN, TS_SAVE))),
        Sample("torchscript_load_library", "hostile", "code/ edited to torch.ops.load_library",
               lambda p: _torchscript(p, ("container.py", SEQ_RETURN, TS_LOAD_LIBRARY))),
        Sample("keras", "benign", "keras Model.save of a Dense model", _keras),
        Sample("keras_lambda", "hostile", "config.json Lambda with marshalled bytecode",
               lambda p: _keras(p, _lambda_layer)),
        Sample("keras_lookup_outside", "hostile", "StringLookup vocabulary /etc/passwd",
               lambda p: _keras(p, lambda: _string_lookup("/etc/passwd"))),
        Sample("keras_lookup_relative", "warn", "StringLookup vocabulary vocab.txt",
               lambda p: _keras(p, lambda: _string_lookup("vocab.txt"))),
        Sample("keras_tfsm", "hostile", "TFSMLayer loading /models/other",
               lambda p: _keras(p, _tfsm_layer)),
        Sample("saved_model", "benign", "saved_model.pb of MatMul and the saver", _saved_model),
        Sample("saved_model_read_file", "hostile", "saved_model.pb with a ReadFile op",
               lambda p: _saved_model(p, "read")),
        Sample("saved_model_py_func", "hostile", "saved_model.pb with an EagerPyFunc op",
               lambda p: _saved_model(p, "py_func")),
        Sample("chat_template", "benign", "save_pretrained chat_template.jinja + named",
               lambda p: saved_tokenizer(p, {"default": CHATML, "tool_use": CHATML})),
        Sample("chat_template_ssti", "hostile", "chat_template.jinja with an SSTI escape",
               lambda p: saved_tokenizer(p, {"default": ESCAPE})),
        Sample("chat_template_named_ssti", "hostile", "additional_chat_templates/ SSTI",
               lambda p: saved_tokenizer(p, {"default": CHATML, "tool_use": ESCAPE})),
        Sample("processor_template", "benign", "processor chat_template.json",
               lambda p: _processor(p, CHATML)),
        Sample("processor_template_ssti", "hostile", "processor chat_template.json with SSTI",
               lambda p: _processor(p, ESCAPE)),
        Sample("hubconf", "warn", "torch.hub hubconf.py entry point",
               _files({"hubconf.py": HUBCONF})),
        Sample("hubconf_evil", "hostile", "hubconf.py calls os.system",
               _files({"hubconf.py": "import os\n\n\ndef tiny():\n    os.system('id')\n"})),
        Sample("custom_generate_evil", "hostile", "custom_generate/generate.py runs subprocess",
               _files({"custom_generate/generate.py": "import subprocess\n\n\n"
                       "def generate(model, *args, **kwargs):\n    subprocess.run(['id'])\n"})),
        Sample("torchserve", "warn", "torch-model-archiver .mar with a handler", _mar),
        Sample("torchserve_evil", "hostile", ".mar handler.py edited to call os.system",
               lambda p: _mar(p, hostile=True)),
        Sample("joblib_lzma", "benign", "joblib.dump(compress='lzma') of arrays", _joblib),
        Sample("joblib_lzma_evil", "hostile", "lzma-compressed os.system pickle",
               lambda p: _joblib(p, hostile=True)),
        Sample("dill_data", "benign", "dill.dumps of arrays and labels",
               lambda p: _code_pickle(p, "dill", False)),
        Sample("dill_function", "hostile", "dill.dumps of a __main__ function (bytecode)",
               lambda p: _code_pickle(p, "dill", True)),
        Sample("cloudpickle_data", "benign", "cloudpickle.dumps of arrays and labels",
               lambda p: _code_pickle(p, "cloudpickle", False)),
        Sample("cloudpickle_function", "hostile", "cloudpickle.dumps of a __main__ function",
               lambda p: _code_pickle(p, "cloudpickle", True)),
        Sample("nemo", "benign", ".nemo tar: NeMo targets, torch.save weights", _nemo),
        Sample("nemo_ckpt_evil", "hostile", ".nemo model_weights.ckpt with os.system",
               lambda p: _nemo(p, "ckpt")),
        Sample("nemo_target_evil", "hostile", ".nemo config _target_: os.system",
               lambda p: _nemo(p, "target")),
        Sample("mlflow", "benign", "MLmodel, mlflow.sklearn flavour, pickle",
               lambda p: _mlflow(p, False)),
        Sample("mlflow_loader_module", "hostile", "MLmodel loader_module in code/ runs os.system",
               lambda p: _mlflow(p, True)),
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
    sys.path.insert(0, str(HERE.parent))  # the SavedModel and tokenizer builders in tests/weights
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
