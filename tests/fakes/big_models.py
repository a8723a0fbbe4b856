"""Real multi-gigabyte model files for the fakes to serve, built once per name and cached."""

from __future__ import annotations

import collections
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tests.fakes.blobs import Blob

MANIFEST = ".blobs.json"  # the sidecar: each file's size, mtime and sha256, so reruns never hash
_FORMAT = 1
_POOL = 4 << 20  # float32 values of noise that every tensor is tiled from: fast, not all zero


def default_cache_dir() -> Path:
    """``$REVIEWBOT_BIG_MODELS``, else a folder in the temp dir that outlives a test session."""
    configured = os.environ.get("REVIEWBOT_BIG_MODELS")
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "reviewbot-big-models"


@dataclass(frozen=True)
class BuiltModel:
    """A model folder and its files as Blobs whose sha256 is known."""

    folder: Path
    files: dict[str, Blob]
    seconds: float  # how long building (and hashing) took; 0.0 when the cache answered
    cached: bool

    @property
    def size(self) -> int:
        return sum(b.size for b in self.files.values())


@dataclass(frozen=True)
class LlamaShape:
    """A Llama-architecture geometry; the default is ~5.1 GiB of float32 in 28 layers."""

    vocab: int = 32000
    hidden: int = 2048
    intermediate: int = 5632
    layers: int = 28
    heads: int = 32
    kv_heads: int = 4

    def tensors(self) -> list[tuple[str, tuple[int, ...]]]:
        """Names and shapes as transformers' LlamaForCausalLM saves them, in file order."""
        kv = self.hidden // self.heads * self.kv_heads
        out: list[tuple[str, tuple[int, ...]]] = [
            ("model.embed_tokens.weight", (self.vocab, self.hidden))
        ]
        for i in range(self.layers):
            p = f"model.layers.{i}"
            out += [
                (f"{p}.self_attn.q_proj.weight", (self.hidden, self.hidden)),
                (f"{p}.self_attn.k_proj.weight", (kv, self.hidden)),
                (f"{p}.self_attn.v_proj.weight", (kv, self.hidden)),
                (f"{p}.self_attn.o_proj.weight", (self.hidden, self.hidden)),
                (f"{p}.mlp.gate_proj.weight", (self.intermediate, self.hidden)),
                (f"{p}.mlp.up_proj.weight", (self.intermediate, self.hidden)),
                (f"{p}.mlp.down_proj.weight", (self.hidden, self.intermediate)),
                (f"{p}.input_layernorm.weight", (self.hidden,)),
                (f"{p}.post_attention_layernorm.weight", (self.hidden,)),
            ]
        out += [
            ("model.norm.weight", (self.hidden,)),
            ("lm_head.weight", (self.vocab, self.hidden)),
        ]
        return out

    def config(self) -> dict[str, Any]:
        return {
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "hidden_act": "silu",
            "hidden_size": self.hidden,
            "intermediate_size": self.intermediate,
            "num_hidden_layers": self.layers,
            "num_attention_heads": self.heads,
            "num_key_value_heads": self.kv_heads,
            "head_dim": self.hidden // self.heads,
            "vocab_size": self.vocab,
            "max_position_embeddings": 2048,
            "rms_norm_eps": 1e-05,
            "rope_theta": 10000.0,
            "tie_word_embeddings": False,
            "attention_bias": False,
            "bos_token_id": 1,
            "eos_token_id": 2,
            "torch_dtype": "float32",
        }


@dataclass
class _Noise:
    """Deterministic float32 noise, tiled: random-looking bytes at memcpy speed."""

    seed: int
    pool: npt.NDArray[np.float32] = field(init=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        self.pool = (rng.standard_normal(_POOL, dtype=np.float32) * 0.02).astype(np.float32)

    def array(self, shape: tuple[int, ...], index: int) -> npt.NDArray[np.float32]:
        out = np.empty(int(np.prod(shape)), dtype=np.float32)
        at = (index * 7919) % _POOL  # each tensor starts elsewhere in the pool
        done = 0
        while done < out.size:
            n = min(out.size - done, _POOL - at)
            out[done : done + n] = self.pool[at : at + n]
            done += n
            at = 0
        return out.reshape(shape)


def torch_checkpoint(
    directory: Path | None = None,
    name: str = "torch-1gib",
    *,
    total_bytes: int = 1 << 30,
    tensors: int = 4,
) -> BuiltModel:
    """``pytorch_model.bin`` written by the real ``torch.save``: a state dict of float32 tensors.

    ``torch.save`` needs the whole state dict at hand, so this holds ``total_bytes`` once.
    """
    params = {"kind": "torch", "total_bytes": total_bytes, "tensors": tensors}

    def build(folder: Path) -> None:
        import torch

        noise = _Noise(seed=1)
        columns = 1024
        rows = max(1, total_bytes // 4 // columns // tensors)
        state: collections.OrderedDict[str, Any] = collections.OrderedDict()
        for i in range(tensors):
            state[f"model.layers.{i}.weight"] = torch.from_numpy(noise.array((rows, columns), i))
        torch.save(state, folder / "pytorch_model.bin")

    return _cached(directory, name, params, build)


def sharded_safetensors(
    directory: Path | None = None,
    name: str = "llama-5gib",
    *,
    shape: LlamaShape | None = None,
    shards: int = 5,
) -> BuiltModel:
    """A Llama model as transformers shards it, written by the real safetensors library.

    ``model-0000K-of-0000N.safetensors`` (float32, split evenly by size), the
    ``model.safetensors.index.json`` with ``weight_map`` and ``metadata.total_size``, and a
    ``config.json`` whose geometry matches the tensors. One shard is in memory at a time.
    """
    geometry = shape or LlamaShape()
    params = {"kind": "safetensors", "shape": asdict(geometry), "shards": shards}

    def build(folder: Path) -> None:
        from safetensors.numpy import save_file

        noise = _Noise(seed=2)
        tensors = geometry.tensors()
        total = sum(4 * int(np.prod(s)) for _n, s in tensors)
        groups = _split(tensors, shards, total)
        weight_map: dict[str, str] = {}
        for k, group in enumerate(groups, start=1):
            file = f"model-{k:05d}-of-{len(groups):05d}.safetensors"
            arrays = {}
            for index, (tensor, dims) in group:
                norm = tensor.endswith("norm.weight")
                arrays[tensor] = np.ones(dims, np.float32) if norm else noise.array(dims, index)
                weight_map[tensor] = file
            save_file(arrays, str(folder / file), metadata={"format": "pt"})
            del arrays  # before the next shard is made: one shard in memory at a time
        index_json = {"metadata": {"total_size": total}, "weight_map": weight_map}
        (folder / "model.safetensors.index.json").write_text(json.dumps(index_json, indent=2))
        (folder / "config.json").write_text(json.dumps(geometry.config(), indent=2))

    return _cached(directory, name, params, build)


def _split(
    tensors: list[tuple[str, tuple[int, ...]]], shards: int, total: int
) -> list[list[tuple[int, tuple[str, tuple[int, ...]]]]]:
    """Up to ``shards`` consecutive groups of about equal bytes: each tensor joins the shard its
    middle byte falls in."""
    groups: list[list[tuple[int, tuple[str, tuple[int, ...]]]]] = [[] for _ in range(shards)]
    offset = 0
    for index, item in enumerate(tensors):
        size = 4 * int(np.prod(item[1]))
        groups[min(shards - 1, (offset + size // 2) * shards // total)].append((index, item))
        offset += size
    return [g for g in groups if g]


def _cached(
    directory: Path | None, name: str, params: dict[str, Any], build: Callable[[Path], None]
) -> BuiltModel:
    """The folder ``directory/name`` as built by ``build`` with ``params``, from cache if it can."""
    root = directory or default_cache_dir()
    folder = root / name
    found = _load(folder, params)
    if found is not None:
        return BuiltModel(folder, found, 0.0, cached=True)
    started = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    # built beside its final place and renamed in: an interrupted build never looks finished
    scratch = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        build(scratch)
        scratch.chmod(0o755)  # mkdtemp's 0700 would hide the model from any other user
        entries = {}
        for path in sorted(_files(scratch)):
            path.chmod(0o644)
            blob = Blob.of_file(path)
            st = path.stat()
            rel = path.relative_to(scratch).as_posix()
            entries[rel] = {"size": st.st_size, "sha256": blob.sha256}
        if folder.exists():
            shutil.rmtree(folder)
        scratch.rename(folder)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    # mtimes are taken after the rename: it keeps them, but a copy-on-rename filesystem may not
    for rel, entry in entries.items():
        entry["mtime_ns"] = (folder / rel).stat().st_mtime_ns
    manifest = {"format": _FORMAT, "params": params, "files": entries}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    files = {
        rel: Blob.of_file(folder / rel, sha256=str(entry["sha256"]))
        for rel, entry in entries.items()
    }
    return BuiltModel(folder, files, time.perf_counter() - started, cached=False)


def _files(folder: Path) -> Iterator[Path]:
    return (p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)


def _load(folder: Path, params: dict[str, Any]) -> dict[str, Blob] | None:
    """The cached Blobs, if the sidecar matches ``params`` and every file is as it was."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("format") != _FORMAT or manifest.get("params") != params:
        return None
    entries: dict[str, dict[str, Any]] = manifest.get("files", {})
    on_disk = {p.relative_to(folder).as_posix() for p in _files(folder)}
    if on_disk != set(entries):
        return None
    files = {}
    for rel, entry in entries.items():
        st = (folder / rel).stat()
        if (st.st_size, st.st_mtime_ns) != (entry["size"], entry["mtime_ns"]):
            return None
        files[rel] = Blob.of_file(folder / rel, sha256=str(entry["sha256"]))
    return files
