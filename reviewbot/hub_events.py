"""Route a verified Hugging Face Hub delivery (``reviewbot.events`` holds the job types and
GitHub's routing): pull requests, their comments and pushes, and new fine-tunes of watched bases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from huggingface_hub import WebhookPayload

from reviewbot.events import (
    _MAIN_REFS,
    _PR_REF,
    Decision,
    Outcome,
    Reason,
    RoutingPolicy,
    StateUpdate,
    Submission,
    _ignore,
    _queue,
    accept_arguments,
    is_recheck_command,
)
from reviewbot.models import ContributionRef, Kind, Platform, base_models_from_tags
from reviewbot.waivers import is_accept_command


def hf_event_name(payload: WebhookPayload) -> str:
    return f"{payload.event.scope}.{payload.event.action}"


def route_huggingface(
    payload: WebhookPayload, raw: Mapping[str, Any], policy: RoutingPolicy
) -> Decision:
    """Route one verified Hub delivery; ``raw`` is the JSON ``payload`` was parsed from."""
    repo = payload.repo
    if repo.type != "model":
        return _ignore(f"{repo.type} repositories are not reviewed")
    scope, action = payload.event.scope, payload.event.action
    disc = payload.discussion

    if scope == "discussion" and action == "create":
        if disc is None or not disc.isPullRequest:
            return _ignore("discussion is not a pull request")
        if disc.status == "draft" and not policy.review_drafts:
            return _ignore("draft pull request: reviewed on its next push once ready")
        if disc.status != "open" and disc.status != "draft":
            return _ignore(f"pull request is {disc.status}")
        ref = ContributionRef(Platform.HF, repo.name, disc.num, None, Kind.PULL_REQUEST)
        return _queue(Submission(ref, Reason.REVIEW))

    if scope == "discussion" and action == "update":
        if disc is None or not disc.isPullRequest:
            return _ignore("discussion is not a pull request")
        state = disc.status if disc.status in ("closed", "merged") else "open"
        ref = ContributionRef(Platform.HF, repo.name, disc.num, None, Kind.PULL_REQUEST)
        return Decision(
            Outcome.LOGGED, f"pull request is {disc.status}", states=(StateUpdate(ref, state),)
        )

    if scope == "discussion.comment" and action == "create":
        comment = payload.comment
        if disc is None or not disc.isPullRequest or comment is None:
            return _ignore("comment outside a pull request")
        if not comment.hidden and is_recheck_command(comment.content, policy.fix_command):
            return _hub_fix(repo.name, disc.num, disc.status, comment.author.id)
        accept = not comment.hidden and is_accept_command(comment.content, policy.accept_command)
        if not accept and (
            comment.hidden or not is_recheck_command(comment.content, policy.recheck_command)
        ):
            return _ignore("not a re-check command")
        if disc.status not in ("open", "draft"):
            return _ignore(f"pull request is {disc.status}")
        ref = ContributionRef(Platform.HF, repo.name, disc.num, None, Kind.PULL_REQUEST)
        if accept:
            arguments = accept_arguments(comment.content, policy.accept_command)
            return _queue(Submission(ref, Reason.ACCEPT, comment.author.id, accept=arguments))
        return _queue(Submission(ref, Reason.RECHECK, comment.author.id))

    head_sha = _raw_head_sha(raw)
    if scope == "repo.content" and action == "update":
        subs: list[Submission] = []
        main_push = False
        for updated in payload.updatedRefs or ():
            match = _PR_REF.match(updated.ref)
            if match and updated.newSha:
                ref = ContributionRef(
                    Platform.HF, repo.name, int(match[1]), updated.newSha, Kind.PULL_REQUEST
                )
                subs.append(Submission(ref, Reason.REVIEW))
            elif updated.ref in _MAIN_REFS and updated.newSha:
                main_push, head_sha = True, updated.newSha
        if subs:
            return _queue(*subs)
        if main_push:
            return _new_model(repo.name, repo.tags, head_sha, policy)
        return _ignore("push outside a pull request")

    if scope == "repo" and action == "create":
        return _new_model(repo.name, repo.tags, head_sha, policy)
    return _ignore(f"{scope}.{action} events are not handled")


def _hub_fix(repo: str, number: int, status: str, author_id: str) -> Decision:
    """``/reviewbot fix`` on a Hub pull request; who may ask is the worker's question."""
    if status not in ("open", "draft"):
        return _ignore(f"pull request is {status}")
    ref = ContributionRef(Platform.HF, repo, number, None, Kind.PULL_REQUEST)
    return _queue(Submission(ref, Reason.FIX, author_id))


def _raw_head_sha(raw: Mapping[str, Any]) -> str | None:
    repo = raw.get("repo")
    sha = repo.get("headSha") if isinstance(repo, Mapping) else None
    return str(sha) if sha else None


def _new_model(
    name: str, tags: list[str] | None, head_sha: str | None, policy: RoutingPolicy
) -> Decision:
    if not policy.watched_models:
        return _ignore("no watched base models (REVIEWBOT_WATCHED_MODELS)")
    declared = base_models_from_tags(tags)
    watched = {m.casefold() for m in policy.watched_models}
    if declared and not {m.casefold() for m in declared} & watched:
        return _ignore("base model is not watched")
    ref = ContributionRef(Platform.HF, name, 0, head_sha, Kind.NEW_MODEL)
    return _queue(Submission(ref, Reason.REVIEW))
