"""The check interface: a contribution goes in, findings and per-file facts come out."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from checks.findings import Finding
from checks.policy import Policy

if TYPE_CHECKING:
    from checks.weights.cache import ResultCache

# Called once per file a check finishes, so a front end can draw progress.
ProgressCallback = Callable[[str], None]


@dataclass(frozen=True)
class Contribution:
    """A local folder reviewed as a contribution, with an optional base model folder beside it."""

    root: Path
    files: Sequence[str]
    base: Path | None = None
    policy: Policy = field(default_factory=Policy)
    # Content hashes the platform already knows (a Git LFS oid is a sha256), by relative path.
    known_sha256: dict[str, str] = field(default_factory=dict)
    compute_sha256: bool = False
    # Base model id → its card text, fetched by reviewbot.base_model for the licence check.
    base_cards: Mapping[str, str] = field(default_factory=dict)
    # The contribution's own model id on the Hub ("org/name"), when known: licences constrain names.
    model_id: str | None = None
    # The base's Hub id when the caller resolved one into ``base`` (adapters name their base by id).
    base_id: str | None = None
    # Tier-2 model evals (torch, in a sandbox) run only when asked: `review --model-evals`.
    run_model_evals: bool = False
    # Per-file scan results by content hash: a file whose sha256 is known and cached is not read.
    result_cache: ResultCache | None = None


@dataclass
class FileFacts:
    """What a check learnt about one file beyond its findings."""

    path: str
    format: str
    sha256: str | None = None
    bytes_read: int = 0  # what the scan read (or, remote, transferred); small for big checkpoints
    full_download: bool = False  # a remote server ignored ranges: the whole file came down
    cached: bool = False  # the result came from the result cache: the file was not read


@dataclass
class CheckResult:
    """A check's output. ``notes`` say what ran and what was skipped, and why."""

    findings: list[Finding] = field(default_factory=list)
    files: list[FileFacts] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Check(Protocol):
    """Every check (weights, licence, evals) has this shape; the runner fails it closed."""

    name: str
    title: str

    def run(
        self, contribution: Contribution, progress: ProgressCallback | None = None
    ) -> CheckResult: ...
