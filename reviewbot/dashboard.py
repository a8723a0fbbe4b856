"""After a verdict: rewrite the repository's dashboard issue when its policy asks for one."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from checks.policy_file import POLICY_FILE, load_policy
from reviewbot.errors import PlatformError
from reviewbot.models import ContributionRef, Platform
from reviewbot.triage_issue import render_dashboard

if TYPE_CHECKING:
    from reviewbot.history.view import ContributionRow
    from reviewbot.platforms.base import PlatformClient

log = logging.getLogger(__name__)
POLICY_MAX_BYTES = 1 << 20


@runtime_checkable
class DashboardClient(Protocol):
    """What a platform offers for the dashboard issue (GitHub's client does)."""

    def open_contributions(
        self, ref: ContributionRef, *, with_verdicts: bool
    ) -> list[ContributionRow]: ...

    def write_dashboard(self, ref: ContributionRef, body: str) -> int: ...


def update_dashboard(client: DashboardClient, ref: ContributionRef) -> int:
    """Rewrite the dashboard from the open pull requests and their verdict labels, every box
    unticked; returns the issue's number."""
    rows = client.open_contributions(ref, with_verdicts=True)
    return client.write_dashboard(ref, render_dashboard(ref.repo, rows))


def dashboard_wanted(client: PlatformClient, ref: ContributionRef) -> bool:
    """``[triage] dashboard-issue = true`` in the policy file of the target branch (never the
    contribution's own: a contributor does not get to open issues through the bot)."""
    base = client.base_revision(ref)
    if base is None:
        return False
    with tempfile.TemporaryDirectory(prefix="reviewbot-policy-") as tmp:
        fetched = client.fetch_paths(
            ref, base, [POLICY_FILE], Path(tmp), max_bytes=POLICY_MAX_BYTES
        )
        if not fetched.paths:
            return False
        policy, _ = load_policy(Path(tmp))
    return policy.dashboard_issue


def after_verdict(client: PlatformClient, ref: ContributionRef) -> None:
    """Keep the dashboard current; a failure here is logged, the verdict is already out."""
    if ref.platform is not Platform.GITHUB or not isinstance(client, DashboardClient):
        return
    try:
        if dashboard_wanted(client, ref):
            update_dashboard(client, ref)
    except PlatformError as exc:
        log.warning("the dashboard issue was not updated: %s", exc, extra={"key": ref.key})
