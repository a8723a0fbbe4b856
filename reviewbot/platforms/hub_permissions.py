"""Who may act on a Hub repository's pull requests: its owner, or a member of the owning
organisation with write access (the roles ``write`` and ``admin``).

The Hub has no per-repository permission lookup, so this reads what huggingface_hub reads:
``HfApi.list_organization_members`` (``GET /api/organizations/{org}/members``) and, for a
repository owned by a user, ``HfApi.get_user_overview`` (``GET /api/users/{name}/overview``).
A webhook names a comment's author by id, so a person matches by id or by user name. A member
whose role the Hub does not show is not trusted (fail closed): the bot's token must see roles.
Shared by every command a maintainer gives (``/reviewbot recheck``, ``accept``, ``fix``).
"""

from __future__ import annotations

from typing import Any

from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

WRITE_ROLES = frozenset({"write", "admin"})


def may_merge(api: HfApi, repo_id: str, user: str) -> bool:
    """Whether ``user`` (a Hub user id or name) owns ``repo_id`` or has write access in the
    organisation that does. Hub errors other than "no such organisation/user" propagate."""
    namespace = repo_id.split("/", 1)[0]
    try:
        members = list(api.list_organization_members(namespace))
    except HfHubHTTPError as exc:
        if _status(exc) != 404:
            raise
        return _is_user(api, namespace, user)
    for member in members:
        if _same(member, user):
            return str(getattr(member, "role", "") or "").casefold() in WRITE_ROLES
    return False


def _is_user(api: HfApi, name: str, user: str) -> bool:
    """The namespace is no organisation: a user owns the repository."""
    try:
        owner = api.get_user_overview(name)
    except HfHubHTTPError as exc:
        if _status(exc) == 404:
            return False  # neither an organisation nor a user: no one to trust
        raise
    return _same(owner, user)


def _same(person: Any, user: str) -> bool:
    # the id is the Hub's ``_id``, kept by huggingface_hub's User as an extra attribute
    ident = str(getattr(person, "_id", "") or "")
    name = str(getattr(person, "username", "") or "")
    return bool(user) and (user == ident or user.casefold() == name.casefold())


def _status(exc: HfHubHTTPError) -> int:
    response = exc.response
    return int(response.status_code) if response is not None else 0
