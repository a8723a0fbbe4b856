"""Encoders: paraphrase vs non-paraphrase AUC of pooled sentence embeddings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

BATCH = 32


def _pooling(path: str) -> str:
    config_path = Path(path) / "1_Pooling" / "config.json"
    if config_path.is_file():
        config = json.loads(config_path.read_text(encoding="utf-8"))
        if config.get("pooling_mode_cls_token"):
            return "cls"
    return "mean"


@torch.inference_mode()
def embed(model: Any, tok: Any, sentences: list[str], pooling: str) -> torch.Tensor:
    chunks = []
    for i in range(0, len(sentences), BATCH):
        batch = tok(sentences[i : i + BATCH], padding=True, truncation=True, return_tensors="pt")
        hidden = model(**batch).last_hidden_state.float()
        if pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        chunks.append(torch.nn.functional.normalize(pooled, dim=-1))
    return torch.cat(chunks)


def auc(positives: list[float], negatives: list[float]) -> float:
    """Probability that a paraphrase scores above a non-paraphrase (ties count half)."""
    if any(v != v for v in positives + negatives):  # NaN anywhere: no ranking exists
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def score(model: Any, tok: Any, job: dict[str, Any]) -> tuple[dict[str, float], torch.Tensor]:
    """Scores and the embeddings themselves, which the caller compares across sides."""
    pairs = json.loads(Path(job["pairs"]).read_text(encoding="utf-8"))["pairs"]
    sentences = sorted({s for a, b, _ in pairs for s in (a, b)})
    where = {s: i for i, s in enumerate(sentences)}
    vectors = embed(model, tok, sentences, _pooling(job["base"]))
    sims = [float(vectors[where[a]] @ vectors[where[b]]) for a, b, _ in pairs]
    pos = [s for s, (_, _, label) in zip(sims, pairs, strict=True) if label == 1]
    neg = [s for s, (_, _, label) in zip(sims, pairs, strict=True) if label == 0]
    return {"auc": auc(pos, neg), "paraphrase_cosine": sum(pos) / len(pos)}, vectors


def cosine_to_base(base: torch.Tensor, mine: torch.Tensor) -> float:
    """Mean cosine between each sentence's base and contribution embedding."""
    if base.shape != mine.shape:
        return float("nan")
    return float((base * mine).sum(-1).mean())
