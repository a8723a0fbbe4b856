"""`reviewbot triage --refresh`: what the platforms list as open, for rows the history lacks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from reviewbot.errors import ConfigError, PlatformError
from reviewbot.models import ContributionRef, Platform

if TYPE_CHECKING:
    from huggingface_hub import HfApi

    from reviewbot.config import Settings
    from reviewbot.history.view import ContributionRow, TriageQuery
    from reviewbot.platforms.github import GitHubPlatform

Lister = Callable[[str], list["ContributionRow"]]


def platform_refresher(
    settings: Settings, warn: Callable[[str], None]
) -> Callable[[TriageQuery, Sequence[str]], list[ContributionRow]]:
    """A refresher over the configured platforms; a repository that cannot be listed is
    named through ``warn`` and left out, the rest are still listed."""
    github: list[GitHubPlatform] = []
    hub: list[HfApi] = []

    def github_rows(repo: str) -> list[ContributionRow]:
        if not github:
            from reviewbot.composition import make_platform

            github.append(make_platform(Platform.GITHUB, settings))  # type: ignore[arg-type]
        ref = ContributionRef(Platform.GITHUB, repo, 0)
        return github[0].open_contributions(ref, with_verdicts=False)

    def hub_api() -> HfApi:
        if not hub:
            from huggingface_hub import HfApi

            token = settings.hf_token.get_secret_value() if settings.hf_token else None
            hub.append(HfApi(endpoint=settings.hf_endpoint, token=token))
        return hub[0]

    def hub_rows(repo: str) -> list[ContributionRow]:
        from reviewbot.platforms.hub_listing import open_pull_rows

        return open_pull_rows(hub_api(), repo, endpoint=settings.hf_endpoint)

    def hub_fine_tunes(base: str) -> list[ContributionRow]:
        from reviewbot.platforms.hub_listing import new_model_rows

        return new_model_rows(hub_api(), base, endpoint=settings.hf_endpoint)

    def refresh(query: TriageQuery, repos: Sequence[str]) -> list[ContributionRow]:
        rows: list[ContributionRow] = []
        for repo in repos:
            platform, _, name = repo.partition(":")
            lister = github_rows if platform == "github" else hub_rows
            rows += _listed(repo, lister, name, warn)
        for base in settings.reviewbot_watched_models:
            found = _listed(f"fine-tunes of {base}", hub_fine_tunes, base, warn)
            rows += [r for r in found if not query.repos or f"hf:{r.repo}" in query.repos]
        return rows

    return refresh


def _listed(
    what: str, lister: Lister, arg: str, warn: Callable[[str], None]
) -> list[ContributionRow]:
    try:
        return lister(arg)
    except (ConfigError, PlatformError) as exc:
        warn(f"{what}: not listed ({exc})")
    except Exception as exc:  # huggingface_hub and network errors: named, never a traceback
        warn(f"{what}: not listed ({type(exc).__name__}: {exc})")
    return []
