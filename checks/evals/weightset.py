"""Finds a model folder's weights: safetensors shards, their index, and pickle-only leftovers."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checks.evals.safetensors_reader import ReadError, SafetensorsFile, TensorInfo

INDEX = "model.safetensors.index.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
MAX_JSON_BYTES = 64 << 20


@dataclass
class WeightSet:
    """Every tensor of the model in one folder, by name, with the file that holds it."""

    root: Path
    files: dict[str, SafetensorsFile] = field(default_factory=dict)  # by relative path
    where: dict[str, str] = field(default_factory=dict)  # tensor name -> relative path
    unreadable: dict[str, str] = field(default_factory=dict)  # relative path -> why
    duplicates: dict[str, list[str]] = field(default_factory=dict)
    pickles: list[str] = field(default_factory=list)

    def info(self, name: str) -> TensorInfo:
        return self.files[self.where[name]].tensors[name]

    def file_of(self, name: str) -> SafetensorsFile:
        return self.files[self.where[name]]

    @property
    def nbytes(self) -> int:
        return sum(f.size for f in self.files.values())


def model_weight_files(names: Iterable[str]) -> tuple[list[str], list[str]]:
    """Top-level safetensors (not adapters) and pickle files among relative paths."""
    tops = [n for n in names if "/" not in n]
    st = sorted(n for n in tops if n.endswith(".safetensors") and n != ADAPTER_WEIGHTS)
    pk = sorted(n for n in tops if n.endswith(PICKLE_SUFFIXES) and not n.startswith("training"))
    return st, pk


def folder_files(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_file() and not p.is_symlink())


def load_weights(root: Path, names: Iterable[str]) -> WeightSet:
    st, pk = model_weight_files(names)
    ws = WeightSet(root=root, pickles=pk)
    for rel in st:
        try:
            ws.files[rel] = SafetensorsFile(root / rel)
        except (OSError, ReadError) as exc:
            ws.unreadable[rel] = str(exc)
            continue
        for name in ws.files[rel].tensors:
            if name in ws.where:
                ws.duplicates.setdefault(name, [ws.where[name]]).append(rel)
            ws.where[name] = rel
    return ws


def load_single(root: Path, rel: str) -> WeightSet:
    return load_weights(root, [rel]) if rel != ADAPTER_WEIGHTS else _adapter(root)


def _adapter(root: Path) -> WeightSet:
    ws = WeightSet(root=root)
    try:
        ws.files[ADAPTER_WEIGHTS] = SafetensorsFile(root / ADAPTER_WEIGHTS)
    except (OSError, ReadError) as exc:
        ws.unreadable[ADAPTER_WEIGHTS] = str(exc)
        return ws
    ws.where = dict.fromkeys(ws.files[ADAPTER_WEIGHTS].tensors, ADAPTER_WEIGHTS)
    return ws


def read_json(path: Path) -> Any:
    """A small JSON file, or None when it is missing, too large or not JSON."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_JSON_BYTES:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
