"""``reviewbot setup github``: create the GitHub App from its manifest and write its settings."""

from __future__ import annotations

import re
import secrets
import sys
import webbrowser
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from reviewbot import logs
from reviewbot.setup import SetupError, envfile, local_server, manifest
from reviewbot.setup.conversion import AppCredentials, convert

WEBHOOK_PATH = "/webhooks/github"
_ORG = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")


@dataclass(frozen=True)
class Options:
    webhook_url: str
    env_file: Path
    org: str | None = None
    name: str = "reviewbot"
    port: int = 0
    open_browser: bool = True
    github_url: str = "https://github.com"
    api_url: str = "https://api.github.com"
    timeout: float = 600.0


def webhook_url(text: str) -> str:
    """An absolute http(s) URL; a bare origin gets the receiver's GitHub path."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SetupError(f"--webhook-url must be an http(s) URL, not {text!r}")
    if parts.path in ("", "/"):
        return f"{parts.scheme}://{parts.netloc}{WEBHOOK_PATH}"
    return text.strip()


def form_action(github_url: str, org: str | None, state: str) -> str:
    base = github_url.rstrip("/")
    where = f"/organizations/{quote(org)}/settings/apps/new" if org else "/settings/apps/new"
    return f"{base}{where}?state={state}"


def env_values(
    creds: AppCredentials, api_url: str, public_url: str | None = None
) -> dict[str, str]:
    """The settings ``reviewbot.config.Settings`` reads, named as it reads them.

    With the App's OAuth client and ``public_url`` (where the service is reached), the
    dashboard's sign-in settings too: the public URL and a fresh session secret.
    """
    values = {
        "GITHUB_APP_ID": str(creds.app_id),
        "GITHUB_PRIVATE_KEY": creds.pem,
        "GITHUB_WEBHOOK_SECRET": creds.webhook_secret,
        "GITHUB_API_URL": api_url.rstrip("/"),
        "REVIEWBOT_BOT_LOGIN": f"{creds.slug}[bot]",
    }
    if creds.client_id:
        values["GITHUB_CLIENT_ID"] = creds.client_id
    if creds.client_secret:
        values["GITHUB_CLIENT_SECRET"] = creds.client_secret
    if creds.client_id and creds.client_secret and public_url:
        values["REVIEWBOT_PUBLIC_URL"] = public_url
        values["REVIEWBOT_SESSION_SECRET"] = secrets.token_urlsafe(48)
    return values


def run(options: Options) -> AppCredentials:
    """Serve the page, wait for GitHub's redirect, exchange the code and write the env file."""
    if options.org is not None and not _ORG.match(options.org):
        raise SetupError(f"not a GitHub organization name: {options.org!r}")
    if not 0 <= options.port <= 65535:
        raise SetupError(f"--port must be between 0 and 65535, not {options.port}")
    for flag, value in (("--github-url", options.github_url), ("--api-url", options.api_url)):
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SetupError(f"{flag} must be an http(s) URL, not {value!r}")
    hook = webhook_url(options.webhook_url)
    homepage = f"{urlsplit(hook).scheme}://{urlsplit(hook).netloc}"
    env_file = options.env_file.expanduser().absolute()
    envfile.check_writable(env_file)  # before GitHub creates anything we could then not save
    state = secrets.token_urlsafe(32)
    created: list[AppCredentials] = []

    def on_code(code: str) -> str:
        creds = convert(options.api_url, code)
        for secret in creds.secrets():
            logs.register_secret(secret)
        values = env_values(creds, options.api_url, homepage)
        logs.register_secret(values.get("REVIEWBOT_SESSION_SECRET"))
        try:
            envfile.update(
                env_file,
                values,
                # two sources for one key is a configuration error: the inline key wins
                remove=("GITHUB_PRIVATE_KEY_PATH",),
            )
        except (OSError, SetupError) as exc:
            raise SetupError(
                f"the App {creds.html_url} was created but {env_file} could not be written "
                f"({getattr(exc, 'strerror', None) or exc}): generate a new private key and "
                "webhook secret on the App's settings page and set them by hand"
            ) from None
        created.append(creds)
        return (
            f"The App {creds.slug} is created and its settings are saved. You may close this tab."
        )

    def flow(callback_url: str) -> local_server.Flow:
        return local_server.Flow(
            action=form_action(options.github_url, options.org, state),
            manifest=manifest.build_manifest(
                name=options.name, url=homepage, webhook_url=hook, redirect_url=callback_url
            ),
            state=state,
            on_code=on_code,
        )

    server = local_server.listen(options.port, flow)
    thread = local_server.serve_in_background(server)
    try:
        page = server.url("/")
        print(
            f"Open {page} in a browser to create the GitHub App "
            f"(waiting up to {options.timeout:g} s)",
            flush=True,
        )
        if options.open_browser:
            webbrowser.open(page)
        if not server.flow.done.wait(options.timeout):
            raise SetupError(f"GitHub did not redirect back within {options.timeout:g} s")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    if server.flow.refused:
        print(f"refused {server.flow.refused} callback(s) with a wrong state", file=sys.stderr)
    if server.flow.error is not None:
        raise server.flow.error
    creds = created[0]
    print(f"Created the GitHub App {creds.slug}: {creds.html_url}")
    print(f"Wrote its settings to {env_file} (mode 0600)")
    print(f"Install it on your repositories: {creds.html_url.rstrip('/')}/installations/new")
    return creds
