"""What one review call did: its status and verdict, JSON-safe so a task can return it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

# "logged": reviewed, the verdict only logged (a new fine-tune, ``comment_on_new_models`` off)
Status = Literal["posted", "logged", "unchanged", "superseded", "skipped", "refused", "error"]


@dataclass(frozen=True)
class ReviewOutcome:
    """What one call did; JSON-safe, so a task can return it."""

    status: Status
    key: str
    verdict: str | None = None
    head_sha: str | None = None
    detail: str = ""
    # In a dry run, what would have been posted (nothing was).
    would: tuple[str, ...] = ()
    # An accept: how many findings it accepted (0: none it could; None: not an accept).
    accepted: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
