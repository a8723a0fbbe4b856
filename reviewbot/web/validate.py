"""Names in a routed delivery must be names: a job with a malformed one is refused, not queued.

Payload fields go into Redis keys, task arguments, log lines and API paths, so the repository
(GitHub's ``owner/name`` rules, or the Hub's ``namespace/name``), the number, the head sha and
the requester are checked against what the platform itself allows before anything is queued.
"""

from __future__ import annotations

import re

from reviewbot.events import Decision
from reviewbot.models import ContributionRef, Platform

# GitHub: an owner of alphanumerics and hyphens, not starting with one (39 at most on github.com;
# Enterprise Managed Users add "_shortcode", so "_" and a longer name are allowed); a repository
# name of up to 100 of [A-Za-z0-9._-], never "." or "..".
_GITHUB_REPO = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}/(?!\.\.?\Z)[A-Za-z0-9._-]{1,100}\Z")
# The Hub (huggingface_hub's validate_repo_id, ASCII only): an optional namespace and a name of
# at most 96 characters, each starting and ending with an alphanumeric or "_", no "--" or "..".
_HUB_PART = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?"
_HUB_REPO = re.compile(rf"(?:{_HUB_PART}/)?{_HUB_PART}\Z")
_SHA = re.compile(r"(?:[0-9a-f]{40}|[0-9a-f]{64})\Z")
_REQUESTER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\[\]-]{0,99}\Z")
_MAX_NUMBER = 2**31 - 1
_MAX_INSTALLATION = 2**63 - 1


def repo_problem(platform: Platform, repo: str) -> str | None:
    """Why ``repo`` is not a repository name of ``platform``, or None when it is one."""
    if platform is Platform.GITHUB:
        return None if _GITHUB_REPO.match(repo) else "not a GitHub owner/name"
    if _HUB_REPO.match(repo) and "--" not in repo and ".." not in repo:
        return None
    return "not a Hub repository id"


def ref_problem(ref: ContributionRef, requested_by: str | None = None) -> str | None:
    """The first malformed field of a job, as a short phrase, or None."""
    why = repo_problem(ref.platform, ref.repo)
    if why is not None:
        return f"repository {why}"
    if not 0 <= ref.number <= _MAX_NUMBER:
        return "number out of range"
    if ref.head_sha is not None and not _SHA.match(ref.head_sha):
        return "head sha is not a commit id"
    if ref.installation_id is not None and not 0 < ref.installation_id <= _MAX_INSTALLATION:
        return "installation id out of range"
    if requested_by is not None and not _REQUESTER.match(requested_by):
        return "requester is not a login"
    return None


def decision_problem(decision: Decision) -> str | None:
    """Why the decision's jobs must not be queued (all or none), or None when they may be."""
    for sub in decision.submissions:
        why = ref_problem(sub.ref, sub.requested_by)
        if why is not None:
            return why
    for update in decision.states:
        why = ref_problem(update.ref)
        if why is not None:
            return why
    return None
