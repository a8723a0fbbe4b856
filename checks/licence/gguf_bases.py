"""The base models GGUF metadata names (``general.base_model.*``), as Hub ids."""

from __future__ import annotations

import re
from pathlib import Path

from checks.io.limits import LimitExceeded

MAX_GGUF_FILES = 8  # the metadata of a few is enough: a repository's quants share it
_HUB_REPO = re.compile(r"^https?://(?:www\.)?(?:huggingface\.co|hf\.co)/(?P<id>[^/\s]+/[^/\s?#]+)")


def local_gguf_bases(root: Path) -> list[str]:
    """The base models the GGUF files at the top of a local folder name."""
    from checks.io.source import LocalFile
    from checks.weights.gguf import general_metadata

    found: list[str] = []
    for path in sorted(root.glob("*.gguf"))[:MAX_GGUF_FILES]:
        try:
            with LocalFile(path) as source:
                found.extend(gguf_bases(general_metadata(source)))
        except (OSError, LimitExceeded):
            continue
    return list(dict.fromkeys(found))


def gguf_bases(meta: dict[str, str | int]) -> tuple[str, ...]:
    count = meta.get("general.base_model.count")
    found: list[str] = []
    for i in range(min(count, 16) if isinstance(count, int) else 0):
        prefix = f"general.base_model.{i}."
        url = str(meta.get(prefix + "repo_url") or meta.get(prefix + "url") or "")
        org, name = meta.get(prefix + "organization"), meta.get(prefix + "name")
        if (match := _HUB_REPO.match(url)) is not None:
            found.append(match["id"])
        elif org and name:
            found.append(f"{_slug(str(org))}/{_slug(str(name))}")
    return tuple(dict.fromkeys(found))


def _slug(text: str) -> str:
    """As llama.cpp's converter writes names: spaces become dashes."""
    return "-".join(text.split())
