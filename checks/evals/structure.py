"""Structure: tensors against config.json, the sharded index, the tokenizer and the base."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from checks.evals.files import ModelFiles
from checks.evals.quant import QuantModule, auxiliary
from checks.evals.rules import finding, names
from checks.evals.weightset import INDEX, WeightSet
from checks.findings import Finding, Severity

EMBEDDING_SUFFIXES = (
    "embed_tokens.weight",
    "word_embeddings.weight",
    "wte.weight",
    "tok_embeddings.weight",
    "shared.weight",
    "embed_in.weight",
)
# Names a save may drop or add without changing the model: buffers and tied heads.
# Quantisers add activation and KV-cache scales beside the weights.
OPTIONAL = re.compile(
    r"(position_ids|rotary_emb\.inv_freq|attn\.(masked_)?bias|lm_head\.weight"
    r"|(input|output|k|v)_scale)$"
)
LAYER = re.compile(r"\.(?:layers|layer|h|blocks|block)\.(\d+)\.")
HIDDEN_KEYS = ("hidden_size", "n_embd", "d_model")
LAYER_KEYS = ("num_hidden_layers", "n_layer", "num_layers")
# Architecture keys a fine-tune keeps; vocab_size may grow with added tokens.
SAME_AS_BASE = (
    "model_type",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "intermediate_size",
    "n_embd",
    "n_layer",
    "n_head",
    "d_model",
)


def embedding_name(ws: WeightSet) -> str | None:
    for name in sorted(ws.where, key=len):
        if name.endswith(EMBEDDING_SUFFIXES) and len(ws.info(name).shape) == 2:
            return name
    return None


def first_int(config: dict[str, Any], keys: tuple[str, ...]) -> int | None:
    for key in keys:
        value = config.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def text_config(config: Any) -> dict[str, Any]:
    if not isinstance(config, dict):
        return {}
    inner = config.get("text_config")
    return inner if isinstance(inner, dict) else config


def check_config(ws: WeightSet, mine: ModelFiles) -> list[Finding]:
    config = text_config(mine.json("config.json"))
    if not config or not ws.where:
        return []
    out: list[Finding] = []
    emb = embedding_name(ws)
    vocab = first_int(config, ("vocab_size",))
    hidden = first_int(config, HIDDEN_KEYS)
    if emb is not None:
        rows, cols = ws.info(emb).shape
        path = ws.where[emb]
        if vocab is not None and rows != vocab:
            out.append(
                finding(
                    "config-mismatch",
                    Severity.HIGH,
                    path,
                    f"{emb} has {rows} rows but config.json says vocab_size {vocab}",
                    location=emb,
                )
            )
        if hidden is not None and cols != hidden:
            out.append(
                finding(
                    "config-mismatch",
                    Severity.HIGH,
                    path,
                    f"{emb} is {cols} wide but config.json says hidden size {hidden}",
                    location=emb,
                )
            )
    layers = first_int(config, LAYER_KEYS)
    found = {int(m.group(1)) for n in ws.where if (m := LAYER.search(n))}
    if layers is not None and found and max(found) + 1 != layers:
        out.append(
            finding(
                "config-mismatch",
                Severity.HIGH,
                "config.json",
                f"the weights hold {max(found) + 1} layers but config.json says {layers}",
            )
        )
    return out


def check_config_vs_base(
    files: ModelFiles, base_files: ModelFiles, skip: tuple[str, ...] = ()
) -> list[Finding]:
    """``skip``: keys a finding elsewhere explains (a layer count a pruning changed)."""
    mine = text_config(files.json("config.json"))
    theirs = text_config(base_files.json("config.json"))
    out: list[Finding] = []
    for key in SAME_AS_BASE:
        if key in skip:
            continue
        if key in mine and key in theirs and mine[key] != theirs[key]:
            out.append(
                finding(
                    "config-mismatch",
                    Severity.HIGH,
                    "config.json",
                    f"config.json {key} is {mine[key]!r}; the base has {theirs[key]!r}",
                )
            )
    return out


def check_index(ws: WeightSet, mine: ModelFiles) -> list[Finding]:
    out: list[Finding] = []
    for name, where in sorted(ws.duplicates.items()):
        out.append(
            finding(
                "index-mismatch",
                Severity.HIGH,
                where[-1],
                f"tensor {name} is stored in more than one file: {', '.join(where)}",
                location=name,
            )
        )
    if not mine.has(INDEX):
        return out
    index = mine.json(INDEX)
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict):
        return [
            *out,
            finding("index-mismatch", Severity.HIGH, INDEX, "the index has no weight_map"),
        ]
    missing_files = sorted(
        {str(v) for v in weight_map.values()} - set(ws.files) - set(ws.unreadable) - set(ws.failed)
    )
    if missing_files:
        out.append(
            finding(
                "index-mismatch",
                Severity.HIGH,
                INDEX,
                f"the index names shard files that are not here: {names(missing_files)}",
            )
        )
    wrong = sorted(n for n, f in weight_map.items() if f in ws.files and ws.where.get(n) != f)
    if wrong:
        out.append(
            finding(
                "index-mismatch",
                Severity.HIGH,
                INDEX,
                f"{len(wrong)} tensors are not in the shard the index names: {names(wrong)}",
            )
        )
    unlisted = sorted(set(ws.where) - set(weight_map))
    if unlisted:
        out.append(
            finding(
                "index-mismatch",
                Severity.HIGH,
                INDEX,
                f"{len(unlisted)} tensors in the shards are missing from the index "
                f"(loaders will not find them): {names(unlisted)}",
            )
        )
    return out


def tokenizer_size(model: ModelFiles) -> tuple[str, int] | None:
    """(file, highest token id + 1) from tokenizer.json or vocab.txt."""
    data = model.json("tokenizer.json")
    if isinstance(data, dict):
        ids: list[int] = []
        inner = data.get("model")
        vocab = inner.get("vocab") if isinstance(inner, dict) else None
        if isinstance(vocab, dict):
            ids += [v for v in vocab.values() if isinstance(v, int)]
        elif isinstance(vocab, list):
            ids.append(len(vocab) - 1)
        added = data.get("added_tokens")
        for token in added if isinstance(added, list) else []:
            if isinstance(token, dict) and isinstance(token.get("id"), int):
                ids.append(token["id"])
        if ids:
            return "tokenizer.json", max(ids) + 1
    lines = model.text("vocab.txt")
    return None if lines is None else ("vocab.txt", len(lines.splitlines()))


def check_tokenizer(
    ws: WeightSet, mine: ModelFiles, base_files: ModelFiles | None
) -> list[Finding]:
    emb = embedding_name(ws)
    if emb is None:
        return []
    size = tokenizer_size(mine) or (tokenizer_size(base_files) if base_files else None)
    if size is None:
        return []
    source, count = size
    rows = ws.info(emb).shape[0]
    if count <= rows:
        return []
    return [
        finding(
            "tokenizer-mismatch",
            Severity.HIGH,
            ws.where[emb],
            f"the tokenizer ({source}) has ids up to {count - 1} but {emb} has only {rows} rows: "
            "those tokens index past the embedding",
            location=emb,
        )
    ]


def check_against_base(
    ws: WeightSet, base: WeightSet, quantised: Mapping[str, QuantModule] | None = None
) -> list[Finding]:
    """Names, shapes and dtypes against the base; a quantised module stands for its weight
    (its shape is checked once dequantised)."""
    out: list[Finding] = []
    quantised = quantised or {}
    mine = (set(ws.where) - auxiliary(quantised)) | set(quantised)
    theirs = set(base.where)
    missing = sorted(n for n in theirs - mine if not OPTIONAL.search(n))
    extra = sorted(n for n in mine - theirs if not OPTIONAL.search(n))
    anchor = next(iter(sorted(ws.files)), ".")
    if missing:
        out.append(
            finding(
                "missing-tensor",
                Severity.HIGH,
                anchor,
                f"{len(missing)} base tensors are missing (they would load as random init): "
                f"{names(missing)}",
            )
        )
    if extra:
        out.append(
            finding(
                "extra-tensor",
                Severity.LOW,
                anchor,
                f"{len(extra)} tensors are not in the base: {names(extra)}",
            )
        )
    emb = embedding_name(base)
    retyped: list[str] = []
    for name in sorted(mine & theirs - set(quantised)):
        c, b = ws.info(name), base.info(name)
        path = ws.where[name]
        if c.dtype != b.dtype:
            retyped.append(name)
        if c.shape == b.shape:
            continue
        rows_only = len(c.shape) == len(b.shape) >= 1 and c.shape[1:] == b.shape[1:]
        is_vocab = name == emb or name.endswith("lm_head.weight")
        if rows_only and is_vocab and c.shape[0] < b.shape[0]:
            out.append(
                finding(
                    "truncated-embedding",
                    Severity.HIGH,
                    path,
                    f"{name} has {c.shape[0]} rows; the base has {b.shape[0]}: "
                    f"tokens {c.shape[0]}..{b.shape[0] - 1} lost their embedding",
                    location=name,
                )
            )
        elif rows_only and is_vocab:
            out.append(
                finding(
                    "vocab-extended",
                    Severity.INFO,
                    path,
                    f"{name} grew from {b.shape[0]} to {c.shape[0]} rows (added tokens)",
                    location=name,
                )
            )
        else:
            out.append(
                finding(
                    "shape-mismatch",
                    Severity.HIGH,
                    path,
                    f"{name} is {list(c.shape)}; the base has {list(b.shape)}",
                    location=name,
                )
            )
    if retyped:
        dtypes = sorted({f"{base.info(n).dtype}→{ws.info(n).dtype}" for n in retyped})
        out.append(
            finding(
                "dtype-changed",
                Severity.INFO,
                anchor,
                f"{len(retyped)} tensors changed dtype ({', '.join(dtypes)}): {names(retyped)}",
            )
        )
    return out
