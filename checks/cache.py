"""Per-file scan results keyed by content: a blob scanned once is never read again for it.

The key is the file's sha256 (a Git LFS oid, the Hub's ``lfs.sha256``, or a digest computed while
scanning), the scanner version and a hash of the effective import policy. Whatever changes a
verdict changes the key, so stale results are never looked up rather than ever invalidated.
Pure: the store behind :class:`ResultCache` (Redis, a dict) lives outside ``checks``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Protocol

from checks.findings import Finding

# Bump whenever scanner behaviour changes (a parser, a rule, a message, a bound, the default
# import policy data): every cached result then misses and files are scanned afresh.
SCANNER_VERSION = "5"

# Findings that say something about this read of the file, not about its content: a scan that
# produced one is not stored (a network failure, a request bound, a server ignoring ranges).
TRANSIENT_RULES = frozenset({"unreadable-file", "limit-exceeded", "full-download"})


@dataclass(frozen=True)
class CachedScan:
    """One file's scan result, JSON-serialisable: its format and its findings as dicts."""

    format: str
    findings: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, fmt: str, findings: Iterable[Finding]) -> CachedScan:
        return cls(fmt, [f.to_dict() for f in findings])

    def restore(self, path: str) -> list[Finding]:
        """The findings, as if this file (``path``) had just been scanned."""
        return [Finding.from_dict({**data, "path": path}) for data in self.findings]

    def to_json(self) -> str:
        return json.dumps({"format": self.format, "findings": self.findings}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> CachedScan:
        data = json.loads(text)
        if not isinstance(data, Mapping) or not isinstance(data.get("findings"), list):
            raise ValueError("not a cached scan")
        return cls(str(data["format"]), [dict(f) for f in data["findings"]])


class ResultCache(Protocol):
    """Where cached scans live. ``get`` answers None on a miss (or when the store is down)."""

    def get(self, key: str) -> CachedScan | None: ...

    def put(self, key: str, scan: CachedScan) -> None: ...


class MemoryResultCache:
    """A ResultCache in a dict: for tests and one-process runs."""

    def __init__(self) -> None:
        self.entries: dict[str, str] = {}

    def get(self, key: str) -> CachedScan | None:
        text = self.entries.get(key)
        return CachedScan.from_json(text) if text is not None else None

    def put(self, key: str, scan: CachedScan) -> None:
        self.entries[key] = scan.to_json()


def policy_fingerprint(extra_allowed_imports: Iterable[str] = ()) -> str:
    """A short hash of the effective import policy: the extra allowed imports, sorted."""
    text = json.dumps(sorted(set(extra_allowed_imports)))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# Files scanned for what their whole name says, not their suffix: auto_map configs, the
# tokenizer config's chat templates, a torch.distributed.checkpoint's .metadata pickle.
NAMED_PROMISES = frozenset(
    {
        "config.json",
        "tokenizer_config.json",
        "preprocessor_config.json",
        "processor_config.json",
        ".metadata",
        # the same blob scanned as weights.pb (unknown bytes) and as saved_model.pb (a graph)
        "saved_model.pb",
        "saved_model.pbtxt",
        "keras_metadata.pb",
    }
)


def cache_key(sha256: str, policy_fingerprint: str, name: str) -> str:
    """What a scan depends on: the bytes, the scanner, the policy, and what the name promises
    (the same blob named .bin and .safetensors gets different name-mismatch findings)."""
    base = PurePosixPath(name).name.lower()
    promise = base if base in NAMED_PROMISES else PurePosixPath(base).suffix
    return f"{sha256.lower()}:{SCANNER_VERSION}:{policy_fingerprint}:{promise}"


def cacheable(findings: Sequence[Finding], *, full_download: bool = False) -> bool:
    """Whether a scan says only what the content is, so another scan of it would say the same."""
    return not full_download and not any(f.rule in TRANSIENT_RULES for f in findings)
