"""``reviewbot setup github`` end to end over real HTTP: local page, fake GitHub, .env, a token."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from dotenv import dotenv_values

from reviewbot.cli import main
from reviewbot.config import Settings
from reviewbot.errors import PlatformError
from reviewbot.platforms import github as github_platform
from reviewbot.platforms.github import GitHubPlatform
from reviewbot.setup import manifest
from tests.fakes.fake_github import FakeGitHub
from tests.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK = "https://bot.example.org/webhooks/github"
INSTALLATION = 4242


class ManifestForm(HTMLParser):
    """The form the local page renders, read as a browser would submit it."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = values["action"]
        elif tag == "input" and "name" in values:
            self.fields[values["name"]] = values.get("value", "")


@dataclass
class Run:
    proc: subprocess.Popen[str]
    page_url: str
    env_file: Path

    def form(self) -> ManifestForm:
        parser = ManifestForm()
        parser.feed(requests.get(self.page_url, timeout=10).text)
        return parser

    def finish(self) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=60)
        return self.proc.returncode, out, err


@pytest.fixture
def start(tmp_path: Path, github: FakeGitHub) -> Iterator[Callable[..., Run]]:
    runs: list[Run] = []

    def start(*extra: str, env_file: Path | None = None) -> Run:
        port = free_port()
        env_file = env_file or tmp_path / ".env"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "REVIEWBOT_"))}
        env["PYTHONPATH"] = str(ROOT)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reviewbot",
                "setup",
                "github",
                "--no-browser",
                "--port",
                str(port),
                "--webhook-url",
                WEBHOOK,
                "--env-file",
                str(env_file),
                "--github-url",
                github.base_url,
                "--api-url",
                github.base_url,
                "--timeout",
                "60",
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        run = Run(proc, f"http://127.0.0.1:{port}/", env_file)
        runs.append(run)
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(run.page_url + "healthz", timeout=1)
                return run
            except requests.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"setup never listened: {run.finish()}")
                time.sleep(0.05)

    yield start
    for run in runs:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.communicate()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("GITHUB_", "HF_", "REDIS_", "REVIEWBOT_")):
            monkeypatch.delenv(key)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_app_is_created_and_its_settings_mint_a_token(
    start: Callable[..., Run], github: FakeGitHub, clean_env: None, app_keys: tuple[str, str]
) -> None:
    run = start()
    form = run.form()
    assert urlsplit(form.action).path == "/settings/apps/new"
    state = parse_qs(urlsplit(form.action).query)["state"][0]
    posted = requests.post(
        form.action, data={"manifest": form.fields["manifest"]}, allow_redirects=False, timeout=10
    )
    assert posted.status_code == 302
    callback = posted.headers["Location"]

    # a callback that does not carry this setup's state is refused, and nothing is written
    forged = callback.split("?")[0] + "?" + urlencode({"code": "0" * 40, "state": "x" + state})
    assert requests.get(forged, timeout=10).status_code == 400
    assert requests.get(callback.split("?")[0] + "?code=1", timeout=10).status_code == 400
    evil = requests.get(run.page_url, headers={"Host": "evil.example"}, timeout=10)
    assert evil.status_code == 421 and "state" not in evil.text
    assert not run.env_file.exists()

    done = requests.get(callback, timeout=30)
    assert done.status_code == 200, done.text
    code, out, err = run.finish()
    assert code == 0, err

    recorded = github.manifests[-1]
    assert recorded.org is None and recorded.state == state
    sent = recorded.manifest
    assert sent["default_permissions"] == manifest.default_permissions()
    assert sent["default_events"] == manifest.default_events()
    assert sent["hook_attributes"] == {"url": WEBHOOK, "active": True}
    assert sent["public"] is False
    assert sent["redirect_url"] == run.page_url + "callback"
    assert sent["url"] == "https://bot.example.org"

    assert mode(run.env_file) == 0o600
    values = dotenv_values(run.env_file)
    app = github.created_apps[int(values["GITHUB_APP_ID"] or 0)]
    session_secret = values.pop("REVIEWBOT_SESSION_SECRET") or ""
    assert len(session_secret) >= 32  # the dashboard's cookie-signing key, made here
    assert values == {
        "REVIEWBOT_PUBLIC_URL": "https://bot.example.org",
        "GITHUB_APP_ID": str(app["id"]),
        "GITHUB_PRIVATE_KEY": app["pem"],
        "GITHUB_WEBHOOK_SECRET": app["webhook_secret"],
        "GITHUB_API_URL": github.base_url,
        "REVIEWBOT_BOT_LOGIN": f"{app['slug']}[bot]",
        "GITHUB_CLIENT_ID": app["client_id"],
        "GITHUB_CLIENT_SECRET": app["client_secret"],
    }
    assert sent["callback_urls"] == ["https://bot.example.org/dashboard/oauth/callback"]
    for secret in (app["webhook_secret"], app["client_secret"], app["client_id"], session_secret):
        assert secret not in out + err + done.text
    for line in app["pem"].splitlines()[1:-1]:
        assert line not in out + err + done.text
    assert app["html_url"] in out and str(run.env_file) in out
    assert f"{app['html_url']}/installations/new" in out

    # the code works once, as on GitHub
    again = requests.post(
        f"{github.base_url}/app-manifests/{recorded.code}/conversions", timeout=10
    )
    assert again.status_code == 422

    settings = Settings(_env_file=run.env_file)  # type: ignore[call-arg]
    assert settings.github_enabled and settings.github_app_id == app["id"]
    assert settings.github_app_id is not None
    github_platform.clear_token_cache()
    platform = GitHubPlatform(
        app_id=settings.github_app_id,
        private_key=settings.github_private_key_pem(),
        api_url=settings.github_api_url,
    )
    assert platform.installation_token(INSTALLATION).startswith("ghs_")
    github_platform.clear_token_cache()
    # the fake still checks signatures: the new App's id with another App's key is refused
    impostor = GitHubPlatform(
        app_id=app["id"], private_key=app_keys[0], api_url=github.base_url, http_retries=0
    )
    with pytest.raises(PlatformError):
        impostor.installation_token(INSTALLATION)

    # the same file sourced by a shell (`set -a; . ./.env`) configures the service as well
    shell = subprocess.run(
        [
            "bash",
            "-c",
            'set -a; . "$1"; set +a; exec "$2" -c "$3"',
            "-",
            str(run.env_file),
            sys.executable,
            "from reviewbot.config import load_settings; "
            "print(load_settings().github_private_key_pem().count(chr(10)))",
        ],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert shell.stdout.strip() == str(app["pem"].count("\n")), shell.stderr


def test_an_org_app_keeps_the_other_lines_of_an_existing_env(
    start: Callable[..., Run], github: FakeGitHub, tmp_path: Path
) -> None:
    env_file = tmp_path / "service.env"
    env_file.write_text(
        "# our settings\nREDIS_URL=redis://localhost:6379/0\nGITHUB_APP_ID=1\n"
        "GITHUB_PRIVATE_KEY_PATH=./old.pem\nREVIEWBOT_WORKERS=4\n"
    )
    env_file.chmod(0o644)
    run = start("--org", "acme", "--name", "reviewbot acme", env_file=env_file)
    form = run.form()
    assert urlsplit(form.action).path == "/organizations/acme/settings/apps/new"
    # a browser follows GitHub's redirect by itself
    done = requests.post(form.action, data={"manifest": form.fields["manifest"]}, timeout=30)
    assert done.status_code == 200, done.text
    code, _out, err = run.finish()
    assert code == 0, err
    assert github.manifests[-1].org == "acme"

    text = env_file.read_text()
    assert text.startswith("# our settings\nREDIS_URL=redis://localhost:6379/0\n")
    assert "REVIEWBOT_WORKERS=4\n" in text and "GITHUB_PRIVATE_KEY_PATH" not in text
    assert text.count("GITHUB_APP_ID=") == 1
    values = dotenv_values(env_file)
    app = github.created_apps[int(values["GITHUB_APP_ID"] or 0)]
    assert app["owner"]["login"] == "acme" and app["slug"].startswith("reviewbot-acme")
    assert values["GITHUB_PRIVATE_KEY"] == app["pem"]
    assert mode(env_file) == 0o600


def test_a_code_github_refuses_is_one_line_and_exit_2(
    start: Callable[..., Run], tmp_path: Path
) -> None:
    run = start()
    state = parse_qs(urlsplit(run.form().action).query)["state"][0]
    unknown = run.page_url + "callback?" + urlencode({"code": "f" * 40, "state": state})
    assert requests.get(unknown, timeout=30).status_code == 502
    code, _out, err = run.finish()
    assert code == 2
    assert err.startswith("reviewbot: error: GitHub refused the manifest code (HTTP 404")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not run.env_file.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--webhook-url", "ftp://bot.example.org"], "must be an http(s) URL"),
        (["--webhook-url", WEBHOOK, "--org", "not an org!"], "not a GitHub organization"),
        (["--webhook-url", WEBHOOK, "--api-url", "api.github.com"], "--api-url must be an http"),
        (["--webhook-url", WEBHOOK, "--env-file", "/nonexistent-dir/.env"], "no such folder"),
        (["--webhook-url", WEBHOOK, "--timeout", "0.2"], "did not redirect back within 0.2 s"),
    ],
)
def test_bad_input_is_a_one_line_error(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = ["--env-file", str(tmp_path / ".env")] if "--env-file" not in args else []
    assert main(["setup", "github", "--no-browser", *env, *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("reviewbot: error: ") and message in err[-1], err
    assert not (tmp_path / ".env").exists()


def test_building_the_parser_loads_no_setup_flow() -> None:
    code = (
        "import sys\nfrom reviewbot.cli.main import _parser\n_parser()\n"
        "print(sorted(m for m in sys.modules if m.startswith('reviewbot.setup')))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "['reviewbot.setup', 'reviewbot.setup.cli']", run.stderr
