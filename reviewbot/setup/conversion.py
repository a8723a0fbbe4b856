"""Trade the manifest flow's one-time code for the new App's id, key and secrets."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from reviewbot.setup import SetupError

TIMEOUT = 30  # seconds; the conversion is one small POST
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,200}$")


@dataclass(frozen=True)
class AppCredentials:
    """What GitHub returns once; the secret fields stay out of ``repr`` so no log can show them."""

    app_id: int
    slug: str
    html_url: str
    owner: str
    pem: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    client_id: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)

    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.pem, self.webhook_secret, self.client_secret) if s)


def convert(api_url: str, code: str) -> AppCredentials:
    """``POST /app-manifests/{code}/conversions``: unauthenticated, the code is the credential."""
    if not _CODE.match(code):
        raise SetupError("GitHub's callback carried a malformed code")
    url = f"{api_url.rstrip('/')}/app-manifests/{quote(code, safe='')}/conversions"
    try:
        answer = requests.post(
            url,
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "reviewbot-setup",
            },
            timeout=TIMEOUT,
        )
    except requests.RequestException as exc:
        raise SetupError(f"cannot reach {api_url}: {type(exc).__name__}") from None
    if answer.status_code != 201:
        raise SetupError(
            f"GitHub refused the manifest code (HTTP {answer.status_code}: {_message(answer)}); "
            "a code works once and for one hour: run the setup again"
        )
    try:
        data = answer.json()
        return _credentials(data)
    except (ValueError, KeyError, TypeError):
        raise SetupError("GitHub's answer to the conversion is not the App it describes") from None


def _credentials(data: dict[str, Any]) -> AppCredentials:
    pem, secret = str(data["pem"]), str(data["webhook_secret"])
    if "PRIVATE KEY-----" not in pem or not secret:
        raise ValueError("no key or webhook secret")
    return AppCredentials(
        app_id=int(data["id"]),
        slug=str(data["slug"]),
        html_url=str(data["html_url"]),
        owner=str((data.get("owner") or {}).get("login") or ""),
        pem=pem if pem.endswith("\n") else pem + "\n",
        webhook_secret=secret,
        client_id=str(data["client_id"]) if data.get("client_id") else None,
        client_secret=str(data["client_secret"]) if data.get("client_secret") else None,
    )


def _message(answer: requests.Response) -> str:
    try:
        text = str(answer.json().get("message") or answer.reason)
    except (ValueError, AttributeError):
        text = answer.reason or "no reason given"
    return " ".join(text.split())[:200]
