"""Whether an adapter's ``base_model_name_or_path`` names the base under review."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A Hub snapshot path: .../models--{org}--{name}/snapshots/{revision}
_CACHE = re.compile(r"(?:^|/)models--([^/]+?)--([^/]+)(?:/|$)")
_DRIVE = re.compile(r"^[a-z]:/")
# "org/name@main", "org/name@<sha>": a revision pinned after the id.
_REVISION = re.compile(r"@[^/@]*$")


@dataclass(frozen=True)
class ModelName:
    """A model named by a Hub id or a folder: its org (None when not known) and its name."""

    org: str | None
    name: str
    is_path: bool  # a local folder: only its last parts say which model it holds


def parse(text: str) -> ModelName | None:
    t = text.strip().replace("\\", "/").lower()
    cache = _CACHE.search(t)
    if cache:
        return ModelName(cache.group(1), cache.group(2), is_path=False)
    is_path = t.startswith(("/", "./", "../", "~")) or bool(_DRIVE.match(t))
    parts = [p for p in t.split("/") if p not in ("", ".")]
    if not parts:
        return None
    if not is_path and len(parts) <= 2:
        parts[-1] = _REVISION.sub("", parts[-1])
        if not parts[-1]:
            return None
    is_path = is_path or len(parts) > 2
    org = parts[-2] if len(parts) >= 2 else None
    return ModelName(org, parts[-1], is_path)


def same_model(a: ModelName, b: ModelName) -> bool:
    """The same name; the orgs must agree too when both are Hub ids that give one (a folder's
    parent is a hint, not an org: ``/data/llama-3`` may hold ``meta-llama/llama-3``)."""
    if a.name != b.name:
        return False
    if a.is_path or b.is_path or a.org is None or b.org is None:
        return True
    return a.org == b.org


def base_names(root: Path, config: Any, base_id: str | None) -> list[ModelName]:
    """What the base under review may be called: the id given for it, its config's
    ``_name_or_path`` and the folder itself (the one an adapter made from it names)."""
    texts = [base_id or "", str(root.resolve())]
    if isinstance(config, dict) and isinstance(config.get("_name_or_path"), str):
        texts.append(config["_name_or_path"])
    return [n for t in texts if (n := parse(t)) is not None]


def names_base(claimed: str, candidates: list[ModelName]) -> bool:
    mine = parse(claimed)
    if mine is None:
        return False
    hub = [c for c in candidates if not c.is_path and c.org]
    if not mine.is_path and mine.org and hub:
        # Hub id against Hub id: a folder that happens to share the name does not settle it.
        return any(same_model(mine, c) for c in hub)
    return any(same_model(mine, c) for c in candidates)
