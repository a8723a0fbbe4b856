"""What the card says a contribution is (``base_model_relation``, ``base_model``) against its files.

The Hub files a model under its base by ``base_model_relation`` (adapter, merge, quantized,
finetune) or, without one, by guessing from the files; GGUF files carry their own licence and
base models (``general.license``, ``general.base_model.N.*``). When the three disagree, a
maintainer cannot tell which terms apply, so each disagreement is a finding, and the relation
says which obligations apply: a quantised copy is the base's work and keeps the base's licence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import PurePosixPath

from checks.base import Contribution
from checks.findings import Finding, Severity
from checks.fixes import FIX_KEY, insert_line
from checks.io.limits import LimitExceeded
from checks.licence.card import CARD, Card, licence_key
from checks.licence.gguf_bases import MAX_GGUF_FILES, gguf_bases

RELATIONS = ("adapter", "merge", "quantized", "finetune")
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors", "adapter_model.bin")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".ckpt", ".h5", ".onnx")
MAX_CONFIG = 1 << 20
# GGUF file types (general.file_type) whose tensors are full-precision: F32, F16, BF16.
_FULL_PRECISION = {0, 1, 32}


@dataclass(frozen=True)
class Gguf:
    """The licence facts one GGUF file states about itself."""

    path: str
    licence: str | None
    base_models: tuple[str, ...]
    quantized: bool


@dataclass(frozen=True)
class Shape:
    """What the contribution's files show it to be."""

    adapter: bool
    quantized: bool
    has_weights: bool
    ggufs: tuple[Gguf, ...]

    @property
    def relation(self) -> str | None:
        if self.adapter:
            return "adapter"
        return "quantized" if self.quantized else None


def read_shape(contribution: Contribution) -> Shape:
    names = {PurePosixPath(f).name for f in contribution.files}
    ggufs = tuple(
        g
        for rel in sorted(f for f in contribution.files if f.lower().endswith(".gguf"))[
            :MAX_GGUF_FILES
        ]
        if (g := _read_gguf(contribution, rel)) is not None
    )
    quantized = _quantization_config(contribution) or any(g.quantized for g in ggufs)
    return Shape(
        adapter=any(name in names for name in ADAPTER_FILES),
        quantized=quantized,
        has_weights=any(f.lower().endswith(WEIGHT_SUFFIXES) for f in contribution.files),
        ggufs=ggufs,
    )


def relation_of(card: Card | None, shape: Shape) -> str | None:
    """The relation the card declares, else the one the files show (as the Hub infers it)."""
    declared = (card.relation or "").strip().lower() if card else ""
    if declared in RELATIONS:
        return declared
    if card is not None and len(card.base_models) > 1 and not shape.adapter:
        return "merge"
    return shape.relation or ("finetune" if card and card.base_models else None)


def declared_bases(card: Card | None, shape: Shape) -> tuple[str, ...]:
    """The card's base models, else those the GGUF metadata names."""
    if card is not None and card.base_models:
        return card.base_models
    return tuple(dict.fromkeys(b for g in shape.ggufs for b in g.base_models))


def relation_findings(card: Card | None, shape: Shape, check: str) -> list[Finding]:
    found: list[Finding] = []

    def finding(rule: str, severity: Severity, message: str, path: str = CARD) -> None:
        found.append(Finding(check, rule, severity, path, message))

    declared = (card.relation or "").strip().lower() if card and card.relation else None
    if declared is not None and declared not in RELATIONS:
        finding(
            "base-model-relation-invalid",
            Severity.LOW,
            f"`base_model_relation: {card.relation if card else declared}` is not one the Hub "
            f"knows ({', '.join(RELATIONS)}); the Hub will guess the relation from the files",
        )
    elif declared is not None:
        mismatch = _mismatch(declared, card, shape)
        if mismatch:
            finding("base-model-relation-mismatch", Severity.MEDIUM, mismatch)
    card_key = card.key if card else None
    card_bases = {b.lower() for b in card.base_models} if card else set()
    for gguf in shape.ggufs:
        gguf_key = licence_key(gguf.licence) if gguf.licence else None
        if gguf_key and card_key and gguf_key != card_key:
            finding(
                "gguf-licence-mismatch",
                Severity.MEDIUM,
                f"{gguf.path} says `general.license: {gguf.licence}` but the model card declares "
                f"`license: {card.licence if card else card_key}`; a user of the file sees the "
                "first, the Hub shows the second: make them agree",
                gguf.path,
            )
        if (
            gguf.base_models
            and card_bases
            and not card_bases & {b.lower() for b in gguf.base_models}
        ):
            finding(
                "gguf-base-model-mismatch",
                Severity.MEDIUM,
                f"{gguf.path} names its base model{'s' if len(gguf.base_models) > 1 else ''} "
                f"{', '.join(gguf.base_models)} (`general.base_model.*`), the card "
                f"{', '.join(card.base_models if card else ())}: the licence terms checked may be "
                "the wrong ones",
                gguf.path,
            )
    missing = _base_model_missing(card, shape, check)
    return found + ([missing] if missing else [])


def _base_model_missing(card: Card | None, shape: Shape, check: str) -> Finding | None:
    """The GGUF files name base models the card's front matter does not: the Hub files the
    model under its base by ``base_model``, so the entry is suggested as a fix."""
    bases = tuple(dict.fromkeys(b for g in shape.ggufs for b in g.base_models))
    if card is None or card.base_models or card.error or not bases:
        return None
    lines = card.source.splitlines()
    closing = next((i for i, ln in enumerate(lines[1:], 1) if ln.strip() == "---"), None)
    if not lines or lines[0].strip() != "---" or closing is None:
        return None
    entry = (
        f"base_model: {bases[0]}"
        if len(bases) == 1
        else "\n".join(["base_model:", *(f"- {b}" for b in bases)])
    )
    fix = insert_line(CARD, card.source, entry, after=closing)
    return Finding(
        check,
        "card-base-model-missing",
        Severity.LOW,
        CARD,
        f"the GGUF metadata names the base model{'s' if len(bases) > 1 else ''} "
        f"{', '.join(bases)}, the model card none; add `{entry.splitlines()[0]}` to its front "
        "matter so the Hub lists the model under its base",
        extra={FIX_KEY: fix.to_dict()},
    )


def notes(card: Card | None, shape: Shape) -> list[str]:
    relation = relation_of(card, shape)
    said = card.relation if card and card.relation else None
    out = [f"relation to the base: {relation or 'unknown'}" + ("" if said else " (from the files)")]
    if not (card and card.base_models) and (bases := declared_bases(card, shape)):
        out.append(f"base models from the GGUF metadata: {', '.join(bases)}")
    return out


def _mismatch(declared: str, card: Card | None, shape: Shape) -> str | None:
    if declared == "adapter" and not shape.adapter and shape.has_weights:
        return (
            "the card says `base_model_relation: adapter`, but there is no adapter "
            "(adapter_config.json) among the files, only full weights; say `finetune` (or "
            "`quantized`) so the Hub and users know what they download"
        )
    if declared != "adapter" and shape.adapter:
        return (
            f"the card says `base_model_relation: {declared}`, but the files are an adapter "
            "(adapter_config.json): say `adapter`, which also tells users they need the base"
        )
    if declared == "quantized" and shape.has_weights and not shape.quantized:
        return (
            "the card says `base_model_relation: quantized`, but neither config.json's "
            "`quantization_config` nor a quantised GGUF shows a quantisation"
        )
    if declared == "merge" and card is not None and len(card.base_models) == 1:
        return (
            "the card says `base_model_relation: merge` but names one base model; a merge lists "
            "every model merged, each with its own licence terms"
        )
    return None


def _quantization_config(contribution: Contribution) -> bool:
    for rel in ("config.json", "quantize_config.json", "quant_config.json"):
        if rel not in contribution.files:
            continue
        data = _json(contribution.read_head(rel, MAX_CONFIG))
        if rel != "config.json" or isinstance(data.get("quantization_config"), dict):
            return True
    return False


def _json(raw: bytes | None) -> dict[str, object]:
    try:
        data = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _read_gguf(contribution: Contribution, rel: str) -> Gguf | None:
    from checks.weights.gguf import general_metadata  # late: only repositories with GGUF files

    try:
        with contribution.open(rel) as source:
            meta = general_metadata(source)
    except (OSError, LimitExceeded):
        return None
    if not meta:
        return None
    licence = meta.get("general.license")
    file_type = meta.get("general.file_type")
    return Gguf(
        path=rel,
        licence=str(licence) if licence else None,
        base_models=gguf_bases(meta),
        quantized=isinstance(file_type, int) and file_type not in _FULL_PRECISION,
    )
