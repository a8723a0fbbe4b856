"""``/reviewbot fix`` on the Hub: commit the review's text fixes to the pull request's ref.

The Hub has no suggestion reviews, so the verdict comment shows each fix's exact text and this
command commits them all. Rules:

* Only the pull request's author or the repository's owner namespace may ask (``may_fix``, the
  one place that decides: an organisation-member check can replace it there).
* The fixes are those of a review of the current head, applied to that head's files; the commit
  names that head as its parent, so the Hub refuses it if someone pushed meanwhile.
* Idempotent: once committed, the head has moved and a review of it finds nothing left to fix,
  so a redelivered or retried command commits nothing more.
* ``REVIEWBOT_DRY_RUN`` commits nothing and says what it would have committed.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from checks.fixes import Fix, apply_fixes, fixes_of
from reviewbot.composition import ReviewInputs, current_settings, make_platform
from reviewbot.models import ContributionRef, Kind
from reviewbot.platforms.base import ChangedFile, safe_destination
from reviewbot.platforms.dry_run import DryRunPlatform
from reviewbot.platforms.hub import HubPlatform
from reviewbot.platforms.hub_fixes import commenter, commit_files, pull_author
from reviewbot.workspace import fetch_review

if TYPE_CHECKING:
    from reviewbot.config import Settings
    from reviewbot.platforms.base import PlatformClient

FixStatus = Literal["posted", "unchanged", "skipped", "refused"]


@dataclass(frozen=True)
class FixOutcome:
    """What a fix job did (the service turns it into its ``ReviewOutcome``)."""

    status: FixStatus
    detail: str
    head_sha: str | None = None
    would: tuple[str, ...] = ()


log = logging.getLogger(__name__)

COMMIT_MESSAGE = "reviewbot: apply the review's text fixes"
MAX_FIXED_BYTES = 1024 * 1024  # a file this big is not a header's home: left to its author


def may_fix(platform: HubPlatform, ref: ContributionRef, user_id: str) -> bool:
    """Whether the Hub user ``user_id`` may have reviewbot commit to this pull request: its
    author, or someone allowed to merge (the repository's owner, or a member of the owning
    organisation with write access, as for ``/reviewbot accept``)."""
    name = commenter(platform, ref, user_id)
    if name is not None and name.casefold() == pull_author(platform, ref).casefold():
        return True
    return platform.may_recheck(ref, user_id)


def fix_contribution(
    ref: ContributionRef,
    *,
    requested_by: str | None,
    platform: PlatformClient | None = None,
    settings: Settings | None = None,
    inputs: ReviewInputs | None = None,
) -> FixOutcome:
    """Commit the text fixes of a review of ``ref``'s head, if ``requested_by`` may ask."""
    if platform is None:
        settings = settings or current_settings()
        platform = make_platform(ref.platform, settings)
    inputs = inputs or ReviewInputs.of(settings, platform)
    hub = platform.inner if isinstance(platform, DryRunPlatform) else platform
    if not isinstance(hub, HubPlatform) or ref.kind is not Kind.PULL_REQUEST:
        return FixOutcome("skipped", "fix is a Hub pull-request command")
    skip = hub.skip_reason(ref)
    if skip is not None:
        return FixOutcome("skipped", skip)
    if requested_by is None or not may_fix(hub, ref, requested_by):
        log.info("fix refused", extra={"key": ref.key, "user": requested_by})
        return FixOutcome("refused", "fix asked by neither author nor owner")
    head = hub.head_sha(ref)
    pinned = replace(ref, head_sha=head)
    fixes = fixes_of(fetch_review(pinned, hub, head, inputs).report.findings)
    with tempfile.TemporaryDirectory(prefix="reviewbot-fix-") as tmp:
        changed = apply_fixes(_texts(hub, pinned, head, fixes, Path(tmp)), fixes)
    if not changed:
        return FixOutcome("unchanged", "no text fixes to commit", head)
    what = f"commit text fixes to {len(changed)} files on {head[:12]}"
    if inputs.dry_run:
        log.info("dry run: would %s", what, extra={"key": ref.key})
        return FixOutcome("skipped", f"dry run: {what}", head, (what,))
    with inputs.locks.hold(ref):
        commit = commit_files(hub, pinned, head, changed, COMMIT_MESSAGE)
    log.info("fixes committed", extra={"key": ref.key, "commit": commit})
    return FixOutcome("posted", what, commit)


def _texts(
    hub: HubPlatform, ref: ContributionRef, head: str, fixes: list[Fix], workdir: Path
) -> dict[str, str | None]:
    """The current text of each file a fix edits (None for one it creates); a file that is not
    UTF-8 text, or too big, is left out, so its fixes are not applied."""
    paths = sorted({f.path for f in fixes if f.line >= 1})
    hub.download(ref, head, [ChangedFile(p) for p in paths], workdir)
    texts: dict[str, str | None] = {f.path: None for f in fixes if f.line == 0}
    for path in paths:
        dest = safe_destination(workdir, path)
        if not dest.is_file() or dest.stat().st_size > MAX_FIXED_BYTES:
            continue
        try:
            texts[path] = dest.read_text("utf-8")
        except UnicodeDecodeError:
            continue
    return texts
