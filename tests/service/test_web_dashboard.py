"""The maintainer dashboard over real HTTP: sign-in, who sees what, CSRF, re-check, filters."""

from __future__ import annotations

import argparse
import io
import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from reviewbot.cli.triage import run_triage
from tests.fakes.fake_github import FakeGitHub
from tests.service.dashboard_helpers import (
    SESSION_SECRET,
    T0,
    Site,
    csrf_of,
    meta,
    review,
    running_dashboard,
)

HUB_VIEWERS = {"org/*": ["octocat"], "lab/model": ["mallory"]}


@pytest.fixture
def site(github: FakeGitHub, tmp_path: Path) -> Iterator[Site]:
    """acme/open is public; acme/mine is private with octocat a collaborator (write);
    acme/secret is private and octocat is not on it; on the Hub, octocat sees org/* only."""
    github.add_repo("acme/open", permissions={"octocat": "write", "reader": "read"})
    github.add_repo("acme/mine", permissions={"octocat": "write", "mallory": "read"}, private=True)
    github.add_repo("acme/secret", permissions={"mallory": "admin"}, private=True)
    with running_dashboard(github, tmp_path, reviewbot_hub_viewers=HUB_VIEWERS) as running:
        seed(running)
        yield running


def seed(site: Site) -> None:
    h = site.history
    at = T0 + timedelta(days=1)
    h.record_review(meta("acme/open", 1, days=0), review("pass", head="a1", at=at))
    h.record_review(
        meta("acme/open", 2, days=1),
        review("fail", head="b1", at=at + timedelta(days=1), rule="weights.pickle-global"),
    )
    h.record_review(
        meta("acme/open", 3, days=2), review("warn", head="c1", at=at + timedelta(days=2))
    )
    h.record_contribution(meta("acme/open", 4, days=3))  # never reviewed
    h.record_review(
        meta("acme/mine", 7, days=2),
        review("fail", head="m1", at=at + timedelta(days=3), rule="licence.conflict"),
    )
    h.record_review(
        meta("acme/secret", 9, days=1),
        review("fail", head="s1", at=at + timedelta(days=4), rule="secret.only-rule"),
    )
    h.record_review(meta("org/model", 5, days=1, platform="hf"), review("error", head="h1", at=at))
    h.record_review(
        meta("lab/model", 6, days=1, platform="hf"),
        review("fail", head="l1", at=at, rule="lab.only-rule"),
    )


def api(session: requests.Session, site: Site, query: str = "") -> requests.Response:
    return session.get(f"{site.url}/dashboard/api/contributions{query}", timeout=10)


def refs(answer: requests.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [f"{r['platform']}:{r['repo']}#{r['number']}" for r in answer.json()["contributions"]]


# -- signed out ---------------------------------------------------------------------------------


def test_signed_out_pages_redirect_to_sign_in_and_the_api_answers_401(site: Site) -> None:
    anon = site.browser()
    for path in ("/dashboard", "/dashboard/github/acme/open/2"):
        answer = anon.get(site.url + path, allow_redirects=False, timeout=10)
        assert answer.status_code == 303
        assert answer.headers["Location"].startswith("/dashboard/signin?next=")
    for path in ("/dashboard/api/contributions", "/dashboard/api/anything/else"):
        answer = anon.get(site.url + path, allow_redirects=False, timeout=10)
        assert answer.status_code == 401
        assert "contributions" not in answer.json()
        assert "acme" not in answer.text
    recheck = anon.post(
        f"{site.url}/dashboard/github/acme/open/2/recheck",
        data={"csrf": "x"},
        allow_redirects=False,
        timeout=10,
    )
    assert recheck.status_code == 303 and "signin" in recheck.headers["Location"]
    assert site.jobs.settle(0.2) == []


def test_the_webhook_routes_are_untouched_by_the_dashboard(site: Site) -> None:
    answer = requests.get(f"{site.url}/healthz", timeout=10)
    assert answer.status_code == 200
    assert "set-cookie" not in answer.headers


# -- signing in ---------------------------------------------------------------------------------


def test_sign_in_round_trip_lands_back_where_the_user_was_going(site: Site) -> None:
    session = site.browser()
    first = session.get(f"{site.url}/dashboard?verdict=fail", allow_redirects=False, timeout=10)
    to_signin = session.get(site.url + first.headers["Location"], allow_redirects=False, timeout=10)
    authorize = urlsplit(to_signin.headers["Location"])
    assert f"{authorize.scheme}://{authorize.netloc}" == site.github.base_url
    assert authorize.path == "/login/oauth/authorize"
    asked = parse_qs(authorize.query)
    assert asked["redirect_uri"] == [f"{site.url}/dashboard/oauth/callback"]
    assert asked["state"][0]
    landed = session.get(to_signin.headers["Location"], timeout=10)
    assert landed.status_code == 200
    assert landed.url == f"{site.url}/dashboard?verdict=fail"
    assert "signed in as <strong>octocat" in landed.text


def test_the_session_cookie_is_signed_httponly_lax_and_carries_no_token(site: Site) -> None:
    session = site.browser()
    session.get(f"{site.url}/dashboard", timeout=10)
    [cookie] = list(session.cookies)
    assert cookie.path == "/dashboard"
    assert cookie.has_nonstandard_attr("httponly")
    assert cookie.get_nonstandard_attr("samesite", "").lower() == "lax"
    assert not cookie.secure  # the public URL is http here; https makes it Secure
    token = list(site.github.user_tokens)[-1]  # the one this sign-in was given
    assert token not in (cookie.value or "")
    page = session.get(f"{site.url}/dashboard/github/acme/open/2", timeout=10).text
    assert token not in page and SESSION_SECRET not in page
    # A cookie signed with another secret is no session at all.
    forged = site.browser()
    forged.cookies.set("reviewbot_session", cookie.value + "x", path="/dashboard")
    assert api(forged, site).status_code == 401


def test_the_user_token_is_never_logged(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    session = site.sign_in("octocat")
    page = session.get(f"{site.url}/dashboard/github/acme/open/2", timeout=10).text
    session.post(
        f"{site.url}/dashboard/github/acme/open/2/recheck", data={"csrf": csrf_of(page)}, timeout=10
    )
    site.jobs.wait_for(1)
    token = list(site.github.user_tokens)[-1]
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "dashboard sign-in" in logged and "octocat" in logged
    assert token not in logged


def test_behind_an_https_public_url_the_cookie_is_secure(
    github: FakeGitHub, tmp_path: Path
) -> None:
    public = "https://reviewbot.example.org"
    with running_dashboard(github, tmp_path, reviewbot_public_url=public) as site:
        answer = requests.get(f"{site.url}/dashboard/signin", allow_redirects=False, timeout=10)
    cookie = answer.headers["set-cookie"].lower()
    assert "; secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    redirect = parse_qs(urlsplit(answer.headers["Location"]).query)["redirect_uri"]
    assert redirect == [f"{public}/dashboard/oauth/callback"]


def test_a_callback_with_a_state_this_browser_was_not_given_signs_nobody_in(site: Site) -> None:
    victim = site.browser()
    attacker = site.browser()
    start = attacker.get(f"{site.url}/dashboard/signin", allow_redirects=False, timeout=10)
    callback = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    # The attacker's own code and state, fed to someone else's browser (login CSRF).
    answer = victim.get(callback.headers["Location"], allow_redirects=False, timeout=10)
    assert answer.status_code == 400
    assert "stale" in answer.text
    assert api(victim, site).status_code == 401
    # A code GitHub does not know is refused too, even with the right state.
    fresh = site.browser()
    start = fresh.get(f"{site.url}/dashboard/signin", allow_redirects=False, timeout=10)
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    bad = fresh.get(
        f"{site.url}/dashboard/oauth/callback",
        params={"code": "not-a-code", "state": state},
        allow_redirects=False,
        timeout=10,
    )
    assert bad.status_code == 400 and "did not accept" in bad.text
    assert api(fresh, site).status_code == 401


def test_signing_out_needs_the_csrf_token_and_ends_the_session(site: Site) -> None:
    session = site.sign_in()
    page = session.get(f"{site.url}/dashboard", timeout=10).text
    refused = session.post(
        f"{site.url}/dashboard/signout", data={"csrf": "wrong"}, allow_redirects=False, timeout=10
    )
    assert refused.status_code == 403 and api(session, site).status_code == 200
    out = session.post(f"{site.url}/dashboard/signout", data={"csrf": csrf_of(page)}, timeout=10)
    assert out.status_code == 200 and "signed out" in out.text
    assert api(session, site).status_code == 401


# -- visibility ---------------------------------------------------------------------------------


def test_a_user_sees_only_the_repositories_github_and_the_settings_let_them_see(site: Site) -> None:
    octocat = site.sign_in("octocat")
    listed = refs(api(octocat, site))
    assert sorted({ref.split("#")[0] for ref in listed}) == [
        "github:acme/mine",
        "github:acme/open",
        "hf:org/model",
    ]
    page = octocat.get(f"{site.url}/dashboard", timeout=10).text
    assert "acme/secret" not in page and "lab/model" not in page
    # Not even the charts tell of the rules that fired on the repositories they cannot see.
    assert "secret.only-rule" not in page and "lab.only-rule" not in page
    assert "licence.conflict" in page
    # Asking by name changes nothing: no rows, and the same 404 as for no such contribution.
    assert refs(api(octocat, site, "?repo=github:acme/secret")) == []
    hidden = octocat.get(f"{site.url}/dashboard/github/acme/secret/9", timeout=10)
    missing = octocat.get(f"{site.url}/dashboard/github/acme/open/99", timeout=10)
    assert hidden.status_code == missing.status_code == 404
    assert "PR 9" not in hidden.text
    assert octocat.get(f"{site.url}/dashboard/hf/lab/model/6", timeout=10).status_code == 404

    mallory = site.sign_in("mallory")
    assert sorted({ref.split("#")[0] for ref in refs(api(mallory, site))}) == [
        "github:acme/mine",
        "github:acme/open",
        "github:acme/secret",
        "hf:lab/model",
    ]


def test_visibility_is_asked_of_github_again_once_the_cache_expires(
    github: FakeGitHub, tmp_path: Path
) -> None:
    github.add_repo("acme/later", private=True)
    with running_dashboard(github, tmp_path, reviewbot_visibility_ttl_seconds=0) as site:
        site.history.record_review(meta("acme/later", 1, days=0), review("pass", head="x", at=T0))
        session = site.sign_in("octocat")
        assert refs(api(session, site)) == []
        github.repos["acme/later"].permissions["octocat"] = "read"
        assert refs(api(session, site)) == ["github:acme/later#1"]


# -- the contribution page ----------------------------------------------------------------------


def test_a_contribution_page_shows_what_changed_between_heads(site: Site) -> None:
    pickle = {"check": "weights", "rule": "weights.pickle-global", "severity": "high",
              "path": "model.bin", "message": "calls os.system"}  # fmt: skip
    card = {"check": "licence", "rule": "licence.missing", "severity": "medium",
            "path": "README.md", "message": "no licence"}  # fmt: skip
    evals = {"check": "evals", "rule": "evals.perplexity-regression", "severity": "medium",
             "path": "model.safetensors", "message": "worse than the base",
             "perplexity": 14.25, "base_perplexity": 9.5}  # fmt: skip
    h = site.history
    at = T0 + timedelta(days=3)
    h.record_review(
        meta("acme/open", 8, days=0), review("fail", head="1" * 40, at=at, findings=[pickle, card])
    )
    h.record_review(
        meta("acme/open", 8, days=0),
        review("warn", head="2" * 40, at=at + timedelta(hours=1), findings=[card, evals]),
    )
    session = site.sign_in()
    page = session.get(f"{site.url}/dashboard/github/acme/open/8", timeout=10)
    assert page.status_code == 200
    text = page.text
    history = text[text.index('id="history"') :]
    newest = history[: history.index("</tr>", history.index("2222222222"))]
    assert '<div class="added">+ <code>evals.perplexity-regression' in newest
    assert '<div class="removed">− <code>weights.pickle-global' in newest
    assert "first review" in history[history.index("1111111111") :]
    assert "perplexity" in text and "14.25" in text  # the eval table
    assert 'href="https://github.com/acme/open/pull/8"' in text
    assert "model.bin" in text[text.index('id="files"') :]


def test_titles_are_escaped_on_every_page(site: Site) -> None:
    hostile = meta("acme/open", 11, days=0)
    hostile = type(hostile)(**{**hostile.__dict__, "title": "<script>alert(1)</script>"})
    site.history.record_review(hostile, review("pass", head="e" * 40, at=T0))
    session = site.sign_in()
    for path in ("/dashboard?state=all", "/dashboard/github/acme/open/11"):
        text = session.get(site.url + path, timeout=10).text
        assert "<script>alert(1)</script>" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


# -- re-check -----------------------------------------------------------------------------------


def test_recheck_without_the_sessions_csrf_token_is_refused(site: Site) -> None:
    session = site.sign_in()
    other = site.sign_in()
    other_token = csrf_of(other.get(f"{site.url}/dashboard", timeout=10).text)
    for form in ({}, {"csrf": ""}, {"csrf": "guess"}, {"csrf": other_token}):
        answer = session.post(
            f"{site.url}/dashboard/github/acme/open/2/recheck", data=form, timeout=10
        )
        assert answer.status_code == 403
    assert site.jobs.settle(0.2) == []


def test_recheck_queues_a_job_for_a_collaborator_with_write(site: Site) -> None:
    session = site.sign_in("octocat")
    page = session.get(f"{site.url}/dashboard/github/acme/open/2", timeout=10).text
    answer = session.post(
        f"{site.url}/dashboard/github/acme/open/2/recheck", data={"csrf": csrf_of(page)}, timeout=10
    )
    assert answer.status_code == 200 and "Re-check queued" in answer.text
    [call] = site.jobs.wait_for(1)
    assert (call.ref.display, call.reason, call.requested_by) == (
        "github:acme/open#2",
        "recheck",
        "octocat",
    )


def test_recheck_is_refused_to_a_reader_and_to_someone_who_cannot_see(site: Site) -> None:
    reader = site.sign_in("reader")  # "read" on the public acme/open
    page = reader.get(f"{site.url}/dashboard/github/acme/open/2", timeout=10).text
    answer = reader.post(
        f"{site.url}/dashboard/github/acme/open/2/recheck", data={"csrf": csrf_of(page)}, timeout=10
    )
    assert answer.status_code == 200 and "Only collaborators with write" in answer.text
    hidden = reader.post(
        f"{site.url}/dashboard/github/acme/secret/9/recheck",
        data={"csrf": csrf_of(page)},
        timeout=10,
    )
    assert hidden.status_code == 404
    assert site.jobs.settle(0.3) == []


def test_recheck_of_a_hub_contribution_for_a_named_viewer(site: Site) -> None:
    session = site.sign_in("octocat")
    page = session.get(f"{site.url}/dashboard/hf/org/model/5", timeout=10).text
    answer = session.post(
        f"{site.url}/dashboard/hf/org/model/5/recheck", data={"csrf": csrf_of(page)}, timeout=10
    )
    assert "Re-check queued" in answer.text
    [call] = site.jobs.wait_for(1)
    assert call.ref.display == "hf:org/model#5"


# -- filters, sorting and paging match `reviewbot triage` ----------------------------------------


def triage_json(site: Site, **args: object) -> list[str]:
    defaults: dict[str, object] = dict(
        repo=[], verdict=None, state="open", since=None, sort="risk", format="json",
        refresh=False, limit=None,
    )  # fmt: skip
    out = io.StringIO()
    run_triage(argparse.Namespace(**{**defaults, **args}), site.history, out=out)
    rows = json.loads(out.getvalue())["contributions"]
    return [f"{r['platform']}:{r['repo']}#{r['number']}" for r in rows]


@pytest.mark.parametrize(
    ("query", "args"),
    [
        ("", {}),
        ("?verdict=fail,warn", {"verdict": "fail,warn"}),
        ("?verdict=none", {"verdict": "none"}),
        ("?sort=age", {"sort": "age"}),
        ("?sort=updated&state=all", {"sort": "updated", "state": "all"}),
        ("?repo=github:acme/open&sort=risk", {"repo": ["github:acme/open"]}),
        ("?since=52w", {"since": "52w"}),
    ],
)
def test_the_api_answers_what_triage_prints_for_the_same_filters(
    site: Site, query: str, args: dict[str, object]
) -> None:
    # mallory sees every GitHub repository the history has, so the two lists can be compared
    mallory = site.sign_in("mallory")
    expected = [r for r in triage_json(site, **args) if not r.startswith("hf:org/")]
    assert refs(api(mallory, site, query)) == expected


def test_the_lists_own_form_with_every_field_left_at_any_lists_everything(site: Site) -> None:
    session = site.sign_in("mallory")
    sent = "?repo=&verdict=&state=open&since=&sort=risk"
    assert refs(api(session, site, sent)) == refs(api(session, site))
    assert session.get(f"{site.url}/dashboard{sent}", timeout=10).status_code == 200


def test_the_api_body_is_the_triage_json_itself(site: Site) -> None:
    mallory = site.sign_in("mallory")
    out = io.StringIO()
    args = argparse.Namespace(
        repo=["github:acme/open"], verdict=None, state="open", since=None, sort="risk",
        format="json", refresh=False, limit=None,
    )  # fmt: skip
    run_triage(args, site.history, out=out)
    assert api(mallory, site, "?repo=github:acme/open").json() == json.loads(out.getvalue())


def test_paging_walks_the_whole_list_once(site: Site) -> None:
    mallory = site.sign_in("mallory")
    everything = refs(api(mallory, site, "?state=all"))
    first = api(mallory, site, "?state=all&per_page=3")
    assert first.headers["X-Total-Count"] == str(len(everything))
    walked, url = [], f"{site.url}/dashboard/api/contributions?state=all&per_page=3"
    while url:
        answer = mallory.get(url, timeout=10)
        walked += refs(answer)
        url = answer.links.get("next", {}).get("url", "")
        if url.startswith("/"):
            url = site.url + url
    assert walked == everything and len(everything) > 3
    page2 = mallory.get(f"{site.url}/dashboard?state=all&per_page=3&page=2", timeout=10).text
    assert "page 2 of" in page2 and 'rel="prev"' in page2 and 'rel="next"' in page2


@pytest.mark.parametrize(
    "query", ["?verdict=maybe", "?state=sideways", "?sort=vibes", "?since=7x", "?page=0", "?repo=x"]
)
def test_a_bad_filter_is_a_400_that_names_it(site: Site, query: str) -> None:
    session = site.sign_in()
    answer = api(session, site, query)
    assert answer.status_code == 400
    assert "bad" in answer.json()["error"]
    assert session.get(f"{site.url}/dashboard{query}", timeout=10).status_code == 400
