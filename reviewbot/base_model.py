"""Base models through huggingface_hub: card texts for the licence check, snapshots for evals."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from huggingface_hub import HfApi, ModelCardData, hf_hub_download, snapshot_download

# Weights, config, tokenizer and card: what the evals compare, never pickles or optimiser states.
BASE_PATTERNS: tuple[str, ...] = (
    "*.safetensors",
    "*.safetensors.index.json",
    "config.json",
    "generation_config.json",
    "tokenizer*",
    "special_tokens_map.json",
    "*.model",
    "vocab*",
    "merges.txt",
    "chat_template*",
    "README.md",
    "LICENSE*",
    "NOTICE*",
)


def fetch_base_cards(
    ids: Sequence[str],
    *,
    endpoint: str | None = None,
    token: str | None = None,
    cache_dir: str | Path | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Card text per base model id, and one note per id that could not be fetched (never raises).

    The README is preferred; a repo without one yields a card built from model_info's cardData.
    """
    api = HfApi(endpoint=endpoint, token=token)
    cards: dict[str, str] = {}
    notes: list[str] = []
    for repo_id in dict.fromkeys(ids):
        try:
            info = api.model_info(repo_id)
            siblings = {s.rfilename for s in info.siblings or []}
            if "README.md" in siblings:
                path = hf_hub_download(
                    repo_id,
                    "README.md",
                    revision=info.sha,
                    endpoint=endpoint,
                    token=token,
                    cache_dir=cache_dir,
                )
                cards[repo_id] = Path(path).read_text("utf-8", errors="replace")
            elif info.card_data is not None:
                fields = info.card_data.to_dict()  # type: ignore[no-untyped-call]
                data = ModelCardData(**fields)
                cards[repo_id] = f"---\n{data.to_yaml()}\n---\n"
            else:
                notes.append(f"base model {repo_id}: the Hub has no model card for it")
        # An unreachable Hub, a gated or missing repo: each becomes a note, the review goes on.
        except Exception as exc:
            notes.append(
                f"base model {repo_id}: could not fetch its card from the Hub ({_describe(exc)})"
            )
    return cards, notes


def download_base(
    repo_id: str,
    *,
    revision: str | None = None,
    endpoint: str | None = None,
    token: str | None = None,
    allow_patterns: Sequence[str] = BASE_PATTERNS,
    cache_dir: str | Path | None = None,
    local_dir: str | Path | None = None,
) -> Path:
    """A snapshot of a base model (safetensors, config, tokenizer, card); raises Hub errors."""
    path = snapshot_download(
        repo_id,
        revision=revision,
        endpoint=endpoint,
        token=token,
        allow_patterns=list(allow_patterns),
        cache_dir=cache_dir,
        local_dir=local_dir,
    )
    assert isinstance(path, str)  # a list only comes back from dry runs
    return Path(path)


def _describe(exc: Exception) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
