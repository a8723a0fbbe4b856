"""Causal LMs: rolling-window perplexity on the held-out text and greedy-generation repetition."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

PROMPTS = 3
NEW_TOKENS = 32
NGRAM = 4
MAX_TOKENS = 2048  # the held-out text is about 2,000 tokens; a small vocabulary splits it finer


def _window(model: Any) -> int:
    config = model.config
    for key in ("max_position_embeddings", "n_positions", "n_ctx"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 1:
            return min(value, 1024)
    return 1024


@torch.inference_mode()
def perplexity(model: Any, ids: list[int], prefix: int) -> float:
    """Disjoint windows, each token predicted once (lm-eval's rolling scheme with context 1)."""
    inputs = [prefix, *ids]
    width = _window(model)
    nll = 0.0
    for start in range(0, len(ids), width):
        window = torch.tensor([inputs[start : start + width]])
        targets = torch.tensor(ids[start : start + width])
        logits = model(window).logits[0, : len(targets)].float()
        nll += float(torch.nn.functional.cross_entropy(logits, targets, reduction="sum"))
    return math.exp(nll / len(ids)) if math.isfinite(nll) else float("nan")


@torch.inference_mode()
def greedy(model: Any, prompt: list[int]) -> list[int]:
    """Greedy decoding with the KV cache; EOS does not stop it, so every model writes as much."""
    out: list[int] = []
    past = None
    step = torch.tensor([prompt])
    for _ in range(NEW_TOKENS):
        result = model(step, past_key_values=past, use_cache=True)
        past = result.past_key_values
        token = int(result.logits[0, -1].float().nan_to_num(nan=-math.inf).argmax())
        out.append(token)
        step = torch.tensor([[token]])
    return out


def repetition(tokens: list[int]) -> float:
    """Share of repeated n-grams: 0 for varied text, near 1 for a loop."""
    grams = [tuple(tokens[i : i + NGRAM]) for i in range(len(tokens) - NGRAM + 1)]
    return 1.0 - len(set(grams)) / len(grams) if grams else 1.0


def score(model: Any, tok: Any, job: dict[str, Any]) -> dict[str, float]:
    text = Path(job["text"]).read_text(encoding="utf-8")
    ids = [int(i) for i in tok(text, add_special_tokens=False)["input_ids"]][:MAX_TOKENS]
    prefix = next((t for t in (tok.bos_token_id, tok.eos_token_id) if t is not None), ids[0])
    paragraphs = [p for p in text.split("\n\n") if p.strip()][1 : PROMPTS + 1]
    prompts = [tok(p, add_special_tokens=False)["input_ids"][:16] for p in paragraphs]
    reps = [repetition(greedy(model, [int(i) for i in p])) for p in prompts]
    return {
        "perplexity": perplexity(model, ids, int(prefix)),
        "tokens": float(len(ids)),
        "repetition": sum(reps) / len(reps),
    }
