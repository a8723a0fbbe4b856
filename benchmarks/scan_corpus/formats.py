"""Hostile and benign non-pickle containers: zip tricks, numpy, joblib, Keras, GGUF, templates."""

from __future__ import annotations

import base64
import io
import json
import os
import struct
import zipfile
from pathlib import Path

from scan_corpus.pickles import CMD, Reduce, inner_payload, os_system_pickle

ESCAPE_TEMPLATE = (
    "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    "{{ ''.__class__.__mro__[1].__subclasses__()[0].__init__.__globals__['__builtins__']"
    "['__import__']('os').popen('id').read() }}"
)
BENIGN_TEMPLATE = (
    "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)


def _central_entries(data: bytes) -> list[tuple[int, int, str]]:
    """(central header offset, local header offset, name) for every zip entry."""
    eocd = data.rfind(b"PK\x05\x06")
    count = struct.unpack_from("<H", data, eocd + 10)[0]
    pos = struct.unpack_from("<I", data, eocd + 16)[0]
    out: list[tuple[int, int, str]] = []
    for _ in range(count):
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, pos + 28)
        local = struct.unpack_from("<I", data, pos + 42)[0]
        name = data[pos + 46 : pos + 46 + name_len].decode()
        out.append((pos, local, name))
        pos += 46 + name_len + extra_len + comment_len
    return out


def patch_zip(
    data: bytes,
    member_suffix: str,
    *,
    crc: bool = False,
    flags: int = 0,
    local_name: str | None = None,
) -> bytes:
    """Patch the entry ending in ``member_suffix``: wrong CRC, extra flag bits or a local name."""
    buf = bytearray(data)
    for central, local, name in _central_entries(data):
        if not name.endswith(member_suffix):
            continue
        if crc:
            for off in (central + 16, local + 14):
                struct.pack_into("<I", buf, off, struct.unpack_from("<I", buf, off)[0] ^ 0xDEADBEEF)
        if flags:
            for off in (central + 8, local + 6):
                struct.pack_into("<H", buf, off, struct.unpack_from("<H", buf, off)[0] | flags)
        if local_name is not None:
            raw = local_name.encode()
            assert len(raw) == len(name.encode())
            buf[local + 30 : local + 30 + len(raw)] = raw
    return bytes(buf)


def plain_zip(members: dict[str, bytes]) -> bytes:
    """A stored (uncompressed) zip with the given members."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for name, payload in members.items():
            zf.writestr(name, payload)
    return out.getvalue()


def npy_header(descr: str, shape: tuple[int, ...]) -> bytes:
    """A version-1.0 ``.npy`` header."""
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    pad = 64 - (10 + len(text) + 1) % 64
    text += " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode()


def object_npy() -> bytes:
    """A ``.npy`` object array whose pickle calls os.system (assembled, numpy not needed)."""
    return npy_header("|O", (1,)) + os_system_pickle()


def gguf(template: str, architecture: str = "llama") -> bytes:
    """A GGUF v3 file without tensors whose metadata carries a chat template."""

    def gstr(text: str) -> bytes:
        raw = text.encode()
        return struct.pack("<Q", len(raw)) + raw

    kvs = [("general.architecture", architecture), ("tokenizer.chat_template", template)]
    body = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs))
    for key, value in kvs:
        body += gstr(key) + struct.pack("<I", 8) + gstr(value)
    return body


def tokenizer_config(template: str) -> bytes:
    """A Hugging Face ``tokenizer_config.json`` with a chat template."""
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": 4096,
        "chat_template": template,
    }
    return json.dumps(cfg, indent=2).encode()


def keras_config(lambda_layer: bool) -> str:
    """A Sequential model config, optionally with a Lambda layer holding marshalled code."""
    layers: list[dict[str, object]] = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "name": "in"}},
        {"class_name": "Dense", "config": {"name": "dense", "units": 4, "activation": "relu"}},
    ]
    if lambda_layer:
        code = base64.b64encode(b"\xe3" + CMD.encode()).decode()
        layers.append(
            {
                "class_name": "Lambda",
                "config": {
                    "name": "lambda",
                    "function": [code, None, None],
                    "function_type": "lambda",
                    "module": "builtins",
                    "output_shape": None,
                    "arguments": {},
                },
            }
        )
    return json.dumps({"class_name": "Sequential", "config": {"name": "seq", "layers": layers}})


def keras_h5(path: Path, lambda_layer: bool) -> None:
    """An HDF5 Keras model whose ``model_config`` attribute is written by h5py."""
    import h5py

    with h5py.File(path, "w") as h5:
        h5.attrs["keras_version"] = "2.15.0"
        h5.attrs["backend"] = "tensorflow"
        h5.attrs["model_config"] = keras_config(lambda_layer)
        h5.create_group("model_weights")


def keras_zip(lambda_layer: bool) -> bytes:
    """A Keras v3 ``.keras`` archive."""
    meta = json.dumps({"keras_version": "3.3.3", "date_saved": "2026-11-22@00:00:00"})
    return plain_zip(
        {"metadata.json": meta.encode(), "config.json": keras_config(lambda_layer).encode()}
    )


def safetensors_bad(kind: str) -> bytes:
    """A safetensors file whose header lies: ranges out of bounds or overlapping."""
    if kind == "out_of_bounds":
        header = {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 1 << 30]}}
        data = b"\x00" * 16
    else:
        header = {
            "a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
            "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]},
        }
        data = b"\x00" * 24
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def joblib_array_then_payload(path: Path) -> None:
    """joblib.dump of [array, payload]: the raw array bytes sit before the payload."""
    import joblib
    import numpy as np

    joblib.dump([np.arange(4096, dtype=np.float64), Reduce(os.system, CMD)], path)


def object_npz(path: Path) -> None:
    """An ``.npz`` holding a float array and an object ``.npy`` member."""
    import numpy as np

    clean = io.BytesIO()
    np.save(clean, np.arange(16, dtype=np.float32))
    path.write_bytes(plain_zip({"weights.npy": clean.getvalue(), "meta.npy": object_npy()}))


def nested_pickle_zip() -> bytes:
    """A zip whose only member has a non-pickle name but holds a pickle."""
    return plain_zip({"model/version": b"3", "model/notes.txt": inner_payload()})
