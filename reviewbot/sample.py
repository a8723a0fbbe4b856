"""A small sample contribution with problems of the kinds reviewbot finds, for the demo.

The hostile files are assembled byte by byte; nothing here ever loads them.
"""

from __future__ import annotations

import argparse
import json
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np

CARD = """---
license: apache-2.0
library_name: transformers
pipeline_tag: text-generation
---

# tiny-demo-finetune

A sample community fine-tune built by `reviewbot demo`. Several of its files are unsafe on purpose.
"""

# What a hostile pickle looks like on the wire: posix.system('echo …') via GLOBAL + REDUCE.
_COMMAND = b"echo reviewbot-demo-payload"
SYSTEM_PAYLOAD = (
    b"\x80\x02cposix\nsystem\n" + b"X" + struct.pack("<I", len(_COMMAND)) + _COMMAND + b"\x85R."
)
# builtins.exec through STACK_GLOBAL (protocol 4), the form most scanners resolve worst.
EXEC_PAYLOAD = (
    b"\x80\x04\x8c\x08builtins\x94\x8c\x04exec\x94\x93\x94"
    + b"\x8c\x1bprint('reviewbot-demo-exec')\x94\x85\x94R\x94."
)
# A chat template that climbs from a Jinja object to Python's os module (CVE-2024-34359 shape).
ESCAPING_TEMPLATE = (
    "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    "{{ self.__init__.__globals__.__builtins__.__import__('os').popen('id').read() }}"
)


def build_sample(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text(CARD, encoding="utf-8")
    (folder / "config.json").write_text(
        json.dumps(
            {"model_type": "llama", "hidden_size": 16, "num_hidden_layers": 1, "vocab_size": 32},
            indent=2,
        ),
        encoding="utf-8",
    )
    _write_safetensors(folder / "model.safetensors")
    _write_torch_zip(folder / "pytorch_model.bin", SYSTEM_PAYLOAD)
    # Training metadata that real checkpoints carry: benign, but it needs a full unpickler.
    (folder / "training_args.bin").write_bytes(
        pickle.dumps(argparse.Namespace(learning_rate=2e-5, epochs=3), protocol=2)
    )
    # A pickle that pretends to be safetensors.
    (folder / "optimizer.safetensors").write_bytes(EXEC_PAYLOAD)
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"bos_token": "<s>", "chat_template": ESCAPING_TEMPLATE}, indent=2),
        encoding="utf-8",
    )
    return folder


def _write_safetensors(path: Path) -> None:
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    save_file(
        {
            "model.embed_tokens.weight": rng.standard_normal((32, 16), dtype=np.float32),
            "lm_head.weight": rng.standard_normal((32, 16), dtype=np.float32),
        },
        str(path),
        metadata={"format": "pt"},
    )


def _write_torch_zip(path: Path, pickle_bytes: bytes) -> None:
    """The layout torch.save writes: <folder>/data.pkl, <folder>/version, <folder>/data/<n>."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("pytorch_model/data.pkl", pickle_bytes)
        archive.writestr("pytorch_model/byteorder", "little")
        archive.writestr("pytorch_model/data/0", np.zeros(16, dtype=np.float32).tobytes())
        archive.writestr("pytorch_model/version", "3\n")
