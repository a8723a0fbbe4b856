"""What the history keeps of a Hub contribution, from its model info and discussion details."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from huggingface_hub import DiscussionWithDetails
from huggingface_hub.hf_api import ModelInfo

from reviewbot.history.records import ContributionMeta
from reviewbot.models import ContributionRef, base_models_from_tags


def declared_bases(card_data: Any, tags: Iterable[str] | None) -> list[str]:
    """Base model ids a repository declares: card ``base_model`` (a str or a list), or tags."""
    found: list[str] = []
    declared = None
    if card_data is not None:
        declared = card_data.get("base_model") if hasattr(card_data, "get") else None
    if isinstance(declared, str):
        found.append(declared)
    elif isinstance(declared, list):
        found.extend(str(d) for d in declared)
    found.extend(base_models_from_tags(tags))
    return list(dict.fromkeys(found))


def hub_meta(
    endpoint: str,
    ref: ContributionRef,
    info: ModelInfo,
    details: DiscussionWithDetails | None,
) -> ContributionMeta:
    """``details`` is the pull request's discussion; None for a new model repository. The Hub
    says nothing of earlier contributions, so ``first_time`` stays False."""
    card = info.card_data
    declared = card.get("license") if card is not None and hasattr(card, "get") else None
    common: dict[str, Any] = {
        "platform": "hf", "repo": ref.repo, "number": ref.number, "kind": ref.kind.value,
        "base_models": declared_bases(card, info.tags),
        "licence": declared if isinstance(declared, str) else None,
    }  # fmt: skip
    if details is None:
        return ContributionMeta(
            **common,
            opened_at=_aware(info.created_at or info.last_modified),
            title=ref.repo,
            author=str(info.author or ref.repo.split("/")[0]),
            updated_at=_aware(info.last_modified) if info.last_modified else None,
            url=f"{endpoint}/{ref.repo}",
        )
    moments = [e.created_at for e in details.events or () if e.created_at]
    return ContributionMeta(
        **common,
        opened_at=_aware(details.created_at),
        title=str(details.title or ""),
        author=str(details.author or ""),
        # a draft is open for triage: its review is what is waited on
        state=details.status if details.status in ("closed", "merged") else "open",
        updated_at=_aware(max(moments)) if moments else None,
        url=f"{endpoint}/{ref.repo}/discussions/{ref.number}",
    )


def _aware(moment: datetime | None) -> datetime:
    """The Hub's times are UTC; one missing is taken as now."""
    if moment is None:
        return datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
