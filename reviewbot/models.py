"""The service's domain model: which contribution to review, carried as plain values."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

# ``platform:OWNER/REPO#N`` with an optional ``@sha`` (``-`` for none): what ``key`` writes, and
# what the CLI and a check run's ``external_id`` are read back from.
_REF = re.compile(
    r"^(?P<platform>github|hf):(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)#(?P<number>\d+)"
    r"(?:@(?P<sha>[0-9a-f]{7,64}|-))?$"
)


class Platform(StrEnum):
    GITHUB = "github"
    HF = "hf"


class Kind(StrEnum):
    PULL_REQUEST = "pull_request"  # a GitHub PR or a Hub pull-request discussion
    NEW_MODEL = "new_model"  # a new Hub model repository declaring a watched base_model


@dataclass(frozen=True)
class ContributionRef:
    """Everything a worker needs to find a contribution again: ids and strings only.

    ``number`` is the PR / discussion number (0 for a new model repository);
    ``head_sha`` is the revision reviewed (a verdict for a superseded sha is never posted).
    """

    platform: Platform
    repo: str
    number: int
    head_sha: str | None = None
    kind: Kind = Kind.PULL_REQUEST
    installation_id: int | None = None  # GitHub App installation that received the event

    @property
    def key(self) -> str:
        """Idempotency key: one verdict per (platform, repository, number, head sha)."""
        return f"{self.platform.value}:{self.repo}#{self.number}@{self.head_sha or '-'}"

    @property
    def display(self) -> str:
        return f"{self.platform.value}:{self.repo}#{self.number}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["platform"] = self.platform.value
        data["kind"] = self.kind.value
        return data

    @classmethod
    def parse(cls, text: str) -> ContributionRef:
        """The one reader of ``platform:OWNER/REPO#N[@sha]``; raises ValueError otherwise."""
        match = _REF.match(text.strip())
        if match is None:
            raise ValueError(f"not a contribution reference: {text!r}")
        sha = match["sha"]
        return cls(
            Platform(match["platform"]),
            match["repo"],
            int(match["number"]),
            head_sha=None if sha in (None, "-") else sha,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ContributionRef:
        return cls(
            platform=Platform(data["platform"]),
            repo=str(data["repo"]),
            number=int(data["number"]),
            head_sha=data.get("head_sha"),
            kind=Kind(data.get("kind", Kind.PULL_REQUEST.value)),
            installation_id=data.get("installation_id"),
        )


def base_models_from_tags(tags: Iterable[str] | None) -> list[str]:
    """``base_model:<id>`` and ``base_model:<relation>:<id>`` tags, as the Hub writes them."""
    found: list[str] = []
    for tag in tags or ():
        if not tag.startswith("base_model:"):
            continue
        rest = tag.removeprefix("base_model:")
        relation, _, model = rest.partition(":")
        # "finetune:org/model": the relation prefix never contains "/", a model id always does.
        found.append(model if model and "/" not in relation else rest)
    return list(dict.fromkeys(found))
