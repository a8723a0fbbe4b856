"""Restructured models: tensors matched to the base by content when names or layers differ."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from checks.evals.fingerprints import F32, is_constant, probe
from checks.evals.safetensors_reader import TensorInfo
from checks.evals.structure import OPTIONAL
from checks.evals.weightset import WeightSet

# Relative L2 between two samples below which they are one tensor. A fine-tune moves a sample
# by a few percent and a dtype cast by less than 1%; two independent tensors of one shape sit
# at about sqrt(2) (1.0 when one is near zero), so 0.5 leaves room on both sides.
MATCH_REL_L2 = 0.5
LAYERED = re.compile(r"(?:^|\.)(?:layers|layer|h|blocks|block)\.(\d+)\.")


@dataclass
class Restructure:
    """How the contribution's tensors map onto the base's."""

    mapping: dict[str, str] = field(default_factory=dict)  # contribution name -> base name
    removed: list[str] = field(default_factory=list)  # base tensors nothing maps to
    removed_layers: list[int] = field(default_factory=list)  # base layers wholly removed
    unmatched: list[str] = field(default_factory=list)  # contribution tensors of no base one

    @property
    def renamed(self) -> dict[str, str]:
        return {c: b for c, b in sorted(self.mapping.items()) if c != b}

    @property
    def removed_outside_layers(self) -> list[str]:
        gone = set(self.removed_layers)
        return [n for n in self.removed if _layer(n) not in gone]


@dataclass
class Aliased(WeightSet):
    """The base seen under the contribution's names: ``alias`` maps a name to the stored one.
    Holds no sources of its own; closing it closes nothing."""

    alias: dict[str, str] = field(default_factory=dict)

    def info(self, name: str) -> TensorInfo:
        return self.files[self.where[name]].tensors[self.alias.get(name, name)]


def _significant(ws: WeightSet) -> set[str]:
    return {n for n in ws.where if not OPTIONAL.search(n)}


def needs_matching(ws: WeightSet, base: WeightSet) -> bool:
    """Names differ beyond buffers and tied heads: renamed, renumbered or pruned."""
    return _significant(ws) != _significant(base)


def _layer(name: str) -> int | None:
    m = LAYERED.search(name)
    return int(m.group(1)) if m else None


def match(
    ws: WeightSet, base: WeightSet, samples: Mapping[str, F32 | None] | None = None
) -> Restructure:
    """Pairs by sample distance within a shape, closest first and one to one (the same name
    wins a tie); then tensors whose samples are constant follow the renames their neighbours
    made (``model.layers.2.`` → ``model.layers.3.``), or keep their name.

    ``samples``: the contribution's, when a streamed pass gathered them (remote files, where a
    read per sampled value would cost a request each); else they are read in place."""
    mine = {n: samples.get(n) if samples is not None else probe(ws, n) for n in sorted(ws.where)}
    theirs = {n: probe(base, n) for n in sorted(base.where)}
    mapping = _by_content(ws, base, mine, theirs)
    _by_neighbours(ws, base, mapping)
    targeted = set(mapping.values())
    removed = sorted(_significant(base) - targeted)
    layers_left = {_layer(b) for b in targeted}
    removed_layers = sorted(
        {i for n in removed if (i := _layer(n)) is not None and i not in layers_left}
    )
    unmatched = sorted(_significant(ws) - set(mapping))
    return Restructure(mapping, removed, removed_layers, unmatched)


def _by_content(
    ws: WeightSet, base: WeightSet, mine: dict[str, F32 | None], theirs: dict[str, F32 | None]
) -> dict[str, str]:
    by_shape: dict[tuple[int, ...], list[str]] = {}
    for name, sample in theirs.items():
        if not is_constant(sample):
            by_shape.setdefault(base.info(name).shape, []).append(name)
    pairs: list[tuple[float, bool, str, str]] = []
    for name, sample in mine.items():
        others = by_shape.get(ws.info(name).shape)
        if sample is None or is_constant(sample) or not others:
            continue
        stack = np.stack([theirs[o] for o in others])  # type: ignore[misc]
        norms = np.linalg.norm(stack, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            dist = np.linalg.norm(stack - sample, axis=1) / np.maximum(norms, 1e-30)
        for other, d in zip(others, dist.tolist(), strict=True):
            if d < MATCH_REL_L2:
                pairs.append((d, other != name, name, other))
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for _, _, name, other in sorted(pairs):
        if name not in mapping and other not in taken:
            mapping[name] = other
            taken.add(other)
    return mapping


def _prefix_rule(c: str, b: str) -> tuple[str, str]:
    """The differing heads of two names after their longest common dotted tail."""
    cp, bp = c.split("."), b.split(".")
    k = 0
    while k < min(len(cp), len(bp)) and cp[-1 - k] == bp[-1 - k]:
        k += 1
    return _head(cp, k), _head(bp, k)


def _head(parts: list[str], tail: int) -> str:
    return ".".join(parts[: len(parts) - tail]) + ("." if len(parts) > tail else "")


def _by_neighbours(ws: WeightSet, base: WeightSet, mapping: dict[str, str]) -> None:
    rules = Counter(_prefix_rule(c, b) for c, b in mapping.items())
    # Most specific head first (a layer's own renumbering), then the most common.
    ordered = sorted(rules, key=lambda r: (-len(r[0]), -rules[r], r))
    taken = set(mapping.values())
    for name in sorted(set(ws.where) - set(mapping)):
        shape = ws.info(name).shape
        candidates = [b + name[len(c) :] for c, b in ordered if name.startswith(c)] + [name]
        for cand in candidates:
            if cand in base.where and cand not in taken and base.info(cand).shape == shape:
                mapping[name] = cand
                taken.add(cand)
                break


def aliased(base: WeightSet, r: Restructure) -> Aliased:
    """The base under the contribution's names, holding only the tensors something maps to
    (and buffers kept by name); removed ones are reported from ``r``."""
    view = Aliased(model=base.model, files=base.files)
    for c, b in r.mapping.items():
        view.where[c] = base.where[b]
        view.alias[c] = b
    targeted = set(r.mapping.values())
    for name, rel in base.where.items():
        if OPTIONAL.search(name) and name not in targeted and name not in view.where:
            view.where[name] = rel
    return view
