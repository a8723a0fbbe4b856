"""Finds a model's weights: safetensors shards, their index, and pickle-only leftovers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from checks.evals.files import READ_ERRORS, ModelFiles
from checks.evals.safetensors_reader import ReadError, SafetensorsFile, TensorInfo
from checks.io.source import OpenedSource

INDEX = "model.safetensors.index.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


@dataclass
class WeightSet:
    """Every tensor of one model, by name, with the file that holds it.

    The files' sources stay open for the tensor pass; ``close`` (or ``with``) closes them and
    books what each read on ``model``.
    """

    model: ModelFiles
    files: dict[str, SafetensorsFile] = field(default_factory=dict)  # by relative path
    where: dict[str, str] = field(default_factory=dict)  # tensor name -> relative path
    unreadable: dict[str, str] = field(default_factory=dict)  # not safetensors we read: why
    failed: dict[str, str] = field(default_factory=dict)  # the bytes could not be had: why
    duplicates: dict[str, list[str]] = field(default_factory=dict)
    pickles: list[str] = field(default_factory=list)
    _sources: dict[str, OpenedSource] = field(default_factory=dict)

    def info(self, name: str) -> TensorInfo:
        return self.files[self.where[name]].tensors[name]

    def file_of(self, name: str) -> SafetensorsFile:
        return self.files[self.where[name]]

    @property
    def nbytes(self) -> int:
        return sum(f.size for f in self.files.values())

    def close(self) -> None:
        for rel, source in self._sources.items():
            f = self.files.get(rel)
            self.model.account(rel, source, f.header_bytes + f.streamed if f else None)
            source.close()
        self._sources.clear()

    def __enter__(self) -> WeightSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Base:
    """The base model a contribution is compared with: a local folder."""

    root: Path
    files: ModelFiles
    weights: WeightSet | None  # None: it has no readable safetensors


def model_weight_files(names: Iterable[str]) -> tuple[list[str], list[str]]:
    """Top-level safetensors (not adapters) and pickle files among relative paths."""
    tops = [n for n in names if "/" not in n]
    st = sorted(n for n in tops if n.endswith(".safetensors") and n != ADAPTER_WEIGHTS)
    pk = sorted(n for n in tops if n.endswith(PICKLE_SUFFIXES) and not n.startswith("training"))
    return st, pk


def load_weights(model: ModelFiles, names: Iterable[str] | None = None) -> WeightSet:
    """The model's top-level safetensors (among ``names``, by default all its files)."""
    st, pk = model_weight_files(model.names if names is None else names)
    ws = WeightSet(model=model, pickles=pk)
    for rel in st:
        _add(ws, rel)
    return ws


def load_adapter(model: ModelFiles) -> WeightSet:
    ws = WeightSet(model=model)
    _add(ws, ADAPTER_WEIGHTS)
    return ws


def _add(ws: WeightSet, rel: str) -> None:
    try:
        source = ws.model.open(rel)
    except READ_ERRORS as exc:
        ws.failed[rel] = str(exc) or type(exc).__name__
        return
    ws._sources[rel] = source
    try:
        ws.files[rel] = SafetensorsFile(source)
    except ReadError as exc:
        ws.unreadable[rel] = str(exc)
        return
    except READ_ERRORS as exc:
        ws.failed[rel] = str(exc) or type(exc).__name__
        return
    ws.model.formats[rel] = "safetensors"
    for name in ws.files[rel].tensors:
        if name in ws.where:
            ws.duplicates.setdefault(name, [ws.where[name]]).append(rel)
        ws.where[name] = rel
