"""Build the benchmark corpus under a work folder, reusing every file that already exists."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scan_corpus import formats, pickles

MB = 1 << 20


@dataclass(frozen=True)
class Sample:
    """One corpus file: where it is, what a scanner should say, and its timing class."""

    rel: str
    expect: str  # "hostile" (must fail), "benign" (must pass), "warn" (benign: must not fail)
    cls: str
    technique: str


def _state_dict(total_bytes: int, count: int) -> dict[str, object]:
    import torch

    per = max(1, total_bytes // count // 4)
    return {f"layers.{i}.weight": torch.full((per,), float(i)) for i in range(count)}


def _torch_save(obj: object, path: Path, legacy: bool = False) -> None:
    import torch

    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)


def _mixed_checkpoint() -> dict[str, object]:
    """A realistic checkpoint: dtypes, Parameter, quantized tensor, optimizer state, metadata."""
    from collections import OrderedDict

    import torch

    model = OrderedDict(
        [
            ("emb.weight", torch.randn(64, 16).to(torch.bfloat16)),
            ("fc.weight", torch.nn.Parameter(torch.randn(16, 16).half())),
            ("fc.bias", torch.zeros(16, dtype=torch.float64)),
            ("mask", torch.ones(8, dtype=torch.bool)),
            ("ids", torch.arange(8, dtype=torch.int64)),
            ("q", torch.quantize_per_tensor(torch.randn(8), 0.1, 0, torch.qint8)),
            ("c", torch.randn(4, dtype=torch.complex64)),
        ]
    )
    optim = {
        "state": {0: {"step": torch.tensor(10.0), "exp_avg": torch.zeros(16)}},
        "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0]}],
    }
    return {
        "model": model,
        "optimizer": optim,
        "epoch": 3,
        "best": 0.91,
        "tags": {"a", "b"},
        "shape": torch.Size([16, 16]),
        "note": "ok",
    }


def _benign(root: Path, quick: bool) -> list[tuple[Sample, Callable[[Path], None]]]:
    import numpy as np

    def npy(p: Path) -> None:
        with p.open("wb") as fh:
            np.save(fh, np.arange(10 * MB // 4, dtype=np.float32))

    def npz(p: Path) -> None:
        with p.open("wb") as fh:
            np.savez(fh, w=np.ones((256, 256), np.float32), b=np.zeros(256, np.float16))

    def st(p: Path) -> None:
        import torch
        from safetensors.torch import save_file

        save_file({f"layers.{i}.weight": torch.full((65536,), float(i)) for i in range(40)}, p)

    def training_args(p: Path) -> None:
        from transformers import TrainingArguments

        _torch_save(TrainingArguments(output_dir="out", report_to=[]), p)

    def fifty_k(p: Path) -> None:
        import torch

        _torch_save({f"t.{i}": torch.full((4,), float(i)) for i in range(50_000)}, p)

    items: list[tuple[Sample, Callable[[Path], None]]] = [
        (
            Sample("benign/zip_10mb.pt", "benign", "small zip", "torch.save zip, 10 MB"),
            lambda p: _torch_save(_state_dict(10 * MB, 24), p),
        ),
        (
            Sample("benign/zip_100mb.pt", "benign", "100 MB zip", "torch.save zip, 100 MB"),
            lambda p: _torch_save(_state_dict(100 * MB, 100), p),
        ),
        (
            Sample("benign/legacy_10mb.pt", "benign", "small legacy", "torch.save legacy, 10 MB"),
            lambda p: _torch_save(_state_dict(10 * MB, 24), p, legacy=True),
        ),
        (
            Sample(
                "benign/mixed_dtypes.pt",
                "benign",
                "small zip",
                "bf16/fp16/bool/complex/quantized/Parameter/optimizer state",
            ),
            lambda p: _torch_save(_mixed_checkpoint(), p),
        ),
        (Sample("benign/tensors_50k.pt", "benign", "50k-tensor", "50,000 tensors, zip"), fifty_k),
        (Sample("benign/array.npy", "benign", "npy", "float32 .npy, 10 MB"), npy),
        (Sample("benign/arrays.npz", "benign", "npy", "numeric .npz"), npz),
        (Sample("benign/model.safetensors", "benign", "safetensors", "safetensors, 10 MB"), st),
        (
            Sample(
                "benign/training_args.bin", "warn", "small zip", "transformers TrainingArguments"
            ),
            training_args,
        ),
        (
            Sample("benign/gguf/model.gguf", "benign", "other", "GGUF, ordinary chat template"),
            lambda p: p.write_bytes(formats.gguf(formats.BENIGN_TEMPLATE)),
        ),
        (
            Sample("benign/tok/tokenizer_config.json", "benign", "other", "ordinary chat template"),
            lambda p: p.write_bytes(formats.tokenizer_config(formats.BENIGN_TEMPLATE)),
        ),
        (
            Sample("benign/dense.h5", "benign", "other", "Keras HDF5, Dense layers only"),
            lambda p: formats.keras_h5(p, lambda_layer=False),
        ),
    ]
    if not quick:
        items += [
            (
                Sample("benign/zip_1gb.pt", "benign", "1 GB zip", "torch.save zip, 1 GB"),
                lambda p: _torch_save(_state_dict(1024 * MB, 256), p),
            ),
            (
                Sample("benign/legacy_1gb.pt", "benign", "1 GB legacy", "torch.save legacy, 1 GB"),
                lambda p: _torch_save(_state_dict(1024 * MB, 256), p, legacy=True),
            ),
        ]
    return items


def _write(data: bytes) -> Callable[[Path], None]:
    return lambda p: p.write_bytes(data)


def _hostile(root: Path, bench_python: Path | None) -> list[tuple[Sample, Callable[[Path], None]]]:
    import torch

    items: list[tuple[Sample, Callable[[Path], None]]] = []

    def add(rel: str, cls: str, technique: str, make: Callable[[Path], None]) -> None:
        items.append((Sample(rel, "hostile", cls, technique), make))

    for name, data in pickles.reduce_protocols().items():
        add(f"hostile/{name}", "hostile pickle", name.removesuffix(".pkl"), _write(data))
    for name, data in pickles.hand_assembled().items():
        add(f"hostile/{name}", "hostile pickle", name.removesuffix(".pkl"), _write(data))

    evil = pickles.Reduce(os.system, pickles.CMD)
    exec_evil = pickles.Reduce(exec, "import os; os.system('true')")

    def torch_zip_exec(p: Path) -> None:
        _torch_save({"w": torch.zeros(4), "x": exec_evil}, p)

    def torch_legacy(p: Path) -> None:
        _torch_save({"w": torch.zeros(4), "x": evil}, p, legacy=True)

    def zip_bytes() -> bytes:
        tmp = root / "hostile" / "zip_exec.pt"
        if not tmp.exists():
            torch_zip_exec(tmp)
        return tmp.read_bytes()

    osp = pickles.os_system_pickle()
    add("hostile/zip_exec.pt", "hostile container", "torch zip, builtins.exec", torch_zip_exec)
    add("hostile/zip_exec.ckpt", "hostile container", ".ckpt that is a torch zip", torch_zip_exec)
    add(
        "hostile/legacy_main_pickle.pt",
        "hostile container",
        "legacy torch, os.system in the main pickle",
        torch_legacy,
    )
    add(
        "hostile/zip_crc_mismatch.pt",
        "hostile container",
        "zip CRC mismatch",
        lambda p: p.write_bytes(formats.patch_zip(zip_bytes(), "data.pkl", crc=True)),
    )
    add(
        "hostile/zip_name_mismatch.pt",
        "hostile container",
        "local name ≠ central name",
        lambda p: p.write_bytes(
            formats.patch_zip(zip_bytes(), "data.pkl", local_name=_renamed(zip_bytes()))
        ),
    )
    add(
        "hostile/zip_flag_0x1.pt",
        "hostile container",
        "zip flag 0x1 (encrypted bit)",
        lambda p: p.write_bytes(formats.patch_zip(zip_bytes(), "data.pkl", flags=0x1)),
    )
    add(
        "hostile/zip_flag_0x20.pt",
        "hostile container",
        "zip flag 0x20 (patched data)",
        lambda p: p.write_bytes(formats.patch_zip(zip_bytes(), "data.pkl", flags=0x20)),
    )
    add(
        "hostile/zip_nonpickle_member.pt",
        "hostile container",
        "zip member with non-pickle name",
        _write(formats.nested_pickle_zip()),
    )
    add(
        "hostile/ta/training_args.bin",
        "hostile pickle",
        "raw pickle named training_args.bin",
        _write(osp),
    )
    add(
        "hostile/pickle_named.safetensors",
        "hostile pickle",
        "pickle named .safetensors",
        _write(osp),
    )
    add("hostile/model.pth.tar", "hostile pickle", "pickle named .pth.tar", _write(osp))
    add("hostile/model.p", "hostile pickle", "pickle named .p", _write(osp))
    add("hostile/noext/model", "hostile pickle", "pickle without extension", _write(osp))
    add("hostile/object.npy", "hostile container", "object .npy", _write(formats.object_npy()))
    add(
        "hostile/object_member.npz",
        "hostile container",
        "object .npy inside .npz",
        formats.object_npz,
    )
    add(
        "hostile/array_then_payload.joblib",
        "hostile container",
        "joblib, array before the payload",
        formats.joblib_array_then_payload,
    )
    add(
        "hostile/lambda.h5",
        "hostile container",
        "Keras .h5 Lambda (h5py model_config)",
        lambda p: formats.keras_h5(p, lambda_layer=True),
    )
    add(
        "hostile/lambda.keras",
        "hostile container",
        "Keras v3 .keras Lambda",
        _write(formats.keras_zip(lambda_layer=True)),
    )
    add(
        "hostile/chat_template.gguf",
        "hostile container",
        "GGUF chat-template escape",
        _write(formats.gguf(formats.ESCAPE_TEMPLATE)),
    )
    add(
        "hostile/tok/tokenizer_config.json",
        "hostile container",
        "tokenizer_config.json chat-template escape",
        _write(formats.tokenizer_config(formats.ESCAPE_TEMPLATE)),
    )
    add(
        "hostile/st_out_of_bounds.safetensors",
        "hostile container",
        "safetensors range past EOF (malformed)",
        _write(formats.safetensors_bad("out_of_bounds")),
    )
    add(
        "hostile/st_overlap.safetensors",
        "hostile container",
        "safetensors overlapping ranges (malformed)",
        _write(formats.safetensors_bad("overlap")),
    )
    if bench_python is not None:

        def seven(p: Path) -> None:
            src = root / "hostile" / "_7z_member.pkl"
            src.write_bytes(osp)
            here = Path(__file__).resolve().parent
            subprocess.run(
                [str(bench_python), str(here / "sevenzip.py"), str(p), "data.pkl", str(src)],
                check=True,
            )
            src.unlink()

        add("hostile/archive.7z", "hostile container", "7z holding a pickle", seven)
    return items


def _renamed(data: bytes) -> str:
    for _, _, name in formats._central_entries(data):
        if name.endswith("data.pkl"):
            return name[: -len("data.pkl")] + "data.xyz"
    raise ValueError("no data.pkl")


def build(root: Path, quick: bool, bench_python: Path | None) -> list[Sample]:
    """Create missing corpus files under ``root`` and list every sample."""
    samples: list[Sample] = []
    for sample, make in _benign(root, quick) + _hostile(root, bench_python):
        path = root / sample.rel
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".part")
            print(f"  building {sample.rel}", file=sys.stderr, flush=True)
            make(tmp)
            os.replace(tmp, path)
        samples.append(sample)
    return samples
