"""Loads base and contribution one at a time (safetensors only, no remote code) and scores both."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

from checks.evals.tier2 import causal, encoder

CAUSAL_SUFFIXES = ("ForCausalLM", "LMHeadModel")


def model_kind(config: dict[str, Any]) -> str:
    archs = config.get("architectures") or []
    return "causal" if any(str(a).endswith(CAUSAL_SUFFIXES) for a in archs) else "encoder"


def _load(path: str, kind: str) -> Any:
    from transformers import AutoModel, AutoModelForCausalLM

    cls = AutoModelForCausalLM if kind == "causal" else AutoModel
    model = cls.from_pretrained(
        path, use_safetensors=True, trust_remote_code=False, dtype="float32"
    )
    return model.eval()


def _tokenizer(paths: list[str]) -> Any:
    from transformers import AutoTokenizer

    for path in paths:
        if any((Path(path) / n).is_file() for n in ("tokenizer.json", "vocab.txt", "vocab.json")):
            return AutoTokenizer.from_pretrained(path, trust_remote_code=False)
    return None


def evaluate(job: dict[str, Any]) -> dict[str, Any]:
    config = json.loads((Path(job["contribution"]) / "config.json").read_text(encoding="utf-8"))
    kind = model_kind(config)
    tok = _tokenizer([job["base"], job["contribution"]])
    if tok is None:
        return {"kind": kind, "skipped": "neither the base nor the contribution has a tokenizer"}
    scores: dict[str, dict[str, float]] = {}
    vectors: list[Any] = []
    for side in ("base", "contribution"):
        try:
            model = _load(job[side], kind)
        except Exception as exc:  # a model that will not load is the finding itself
            return {
                "kind": kind,
                "load_error": {"side": side, "message": f"{type(exc).__name__}: {exc}"},
            }
        if kind == "causal":
            scores[side] = causal.score(model, tok, job)
        else:
            scores[side], embedded = encoder.score(model, tok, job)
            vectors.append(embedded)
        del model
        gc.collect()
    if kind == "encoder":
        scores["base"]["cosine_to_base"] = 1.0
        scores["contribution"]["cosine_to_base"] = encoder.cosine_to_base(*vectors)
    return {"kind": kind, "scores": scores}
