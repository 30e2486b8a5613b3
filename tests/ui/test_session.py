"""Sign-in, sessions, CSRF and the UI's error pages and headers (issue 5 foundation).

The pages of the other areas are not needed here: ``probe`` adds two routes to the app,
a GET page behind ``SignedIn`` that says who is signed in, and a POST behind
``CsrfChecked`` that records that it ran (so "nothing changed" is observable).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.responses import PlainTextResponse
from typer.testing import CliRunner

from justuno_braze.cli import app as cli
from justuno_braze.config import Settings
from justuno_braze.errors import ConfigError
from justuno_braze.services.demo import DEMO_USER_EMAIL, seed_demo
from justuno_braze.store import Store
from justuno_braze.store.tokens import token_hash
from justuno_braze.web.errors import NotFound
from justuno_braze.web.ui.render import CONTENT_SECURITY_POLICY
from justuno_braze.web.ui.session import (
    SIGN_IN_FAILED,
    CsrfChecked,
    SignedIn,
    safe_next,
)
from justuno_braze.web.ui.throttle import MAX_FAILURES
from tests.ui.conftest import UiClient, UiClock, UiUser, http_client, sign_in, soup

WHOAMI = "/probe/whoami"
CHANGE = "/probe/change"
MISSING = "/probe/missing"


@pytest.fixture
def changes(ui_app: FastAPI) -> list[str]:
    """What the probe's CSRF-checked POST did (one entry per accepted request)."""
    done: list[str] = []
    router = APIRouter()

    @router.get(WHOAMI)
    async def whoami(ui: SignedIn) -> PlainTextResponse:
        return PlainTextResponse(f"{ui.account.name} | {ui.user.email}")

    @router.get(MISSING)
    async def missing(ui: SignedIn, number: int = 0) -> PlainTextResponse:
        raise NotFound("workflow not found")  # what services raise for another account's id

    @router.post(CHANGE)
    async def change(ui: CsrfChecked) -> PlainTextResponse:
        done.append(ui.user.email)
        return PlainTextResponse("changed")

    ui_app.include_router(router)
    return done


def session_cookie(http: httpx.AsyncClient) -> str:
    cookie = http.cookies.get("jb_session")
    assert cookie is not None
    return cookie


# --- signing in ------------------------------------------------------------------------


async def test_sign_in_leads_to_the_page_asked_for(
    anon_client: httpx.AsyncClient, acme: UiUser, changes: list[str]
) -> None:
    asked = await anon_client.get(f"{WHOAMI}?tab=events")
    assert asked.status_code == 303
    assert asked.headers["location"] == "/signin?next=/probe/whoami%3Ftab%3Devents"

    form = soup(await anon_client.get(asked.headers["location"]))
    assert form.find("input", attrs={"name": "next"})["value"] == "/probe/whoami?tab=events"
    assert form.find("label", attrs={"for": "email"}).get_text(strip=True).startswith("Email")
    answer = await anon_client.post(
        "/signin",
        data={
            "email": "  ACME-User@Example.com ",  # typed carelessly: still the same person
            "password": acme.password,
            "csrf_token": form.find("input", attrs={"name": "csrf_token"})["value"],
            "next": "/probe/whoami?tab=events",
        },
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/probe/whoami?tab=events"
    cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith("jb_session="))
    assert "HttpOnly" in cookie and "Path=/" in cookie and "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # plain http and secure_cookies off

    page = await anon_client.get(WHOAMI)
    assert page.status_code == 200
    assert page.text == f"Acme Outdoor | {acme.email}"


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    anon_client: httpx.AsyncClient, acme: UiUser
) -> None:
    wrong = await sign_in(anon_client, acme.email, "not the password at all")
    unknown = await sign_in(anon_client, "nobody@example.com", acme.password)
    for answer, email in ((wrong, acme.email), (unknown, "nobody@example.com")):
        assert answer.status_code == 400
        html = soup(answer)
        assert html.find(attrs={"role": "alert"}).get_text(strip=True) == SIGN_IN_FAILED
        assert html.find("input", attrs={"name": "email"})["value"] == email
        assert html.find("input", attrs={"name": "password"})["value"] == ""  # never echoed
    assert "jb_session" not in anon_client.cookies
    assert (await anon_client.get("/dashboard")).status_code == 303


async def test_signed_in_user_opening_signin_goes_on(ui_client: UiClient) -> None:
    answer = await ui_client.get("/signin?next=/workflows")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/workflows"


async def test_home_leads_to_the_dashboard(anon_client: httpx.AsyncClient) -> None:
    answer = await anon_client.get("/")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard"


@pytest.mark.parametrize(
    "next_url",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "/%0d%0aSet-Cookie:x",  # percent-encoded stays a path: allowed, harmless
        "/ok\r\nLocation: https://evil.example",
        "evil.example",
        "/signin",
    ],
)
def test_next_is_only_ever_a_path_here(next_url: str) -> None:
    target = safe_next(next_url)
    assert target.startswith("/") and not target.startswith("//") and "\\" not in target
    assert "\r" not in target and "\n" not in target
    if next_url == "/%0d%0aSet-Cookie:x":
        assert target == next_url
    else:
        assert target == "/dashboard"


async def test_sign_in_refuses_an_open_redirect(
    anon_client: httpx.AsyncClient, acme: UiUser
) -> None:
    form = soup(await anon_client.get("/signin?next=https://evil.example/"))
    assert form.find("input", attrs={"name": "next"})["value"] == "/dashboard"
    answer = await anon_client.post(
        "/signin",
        data={
            "email": acme.email,
            "password": acme.password,
            "csrf_token": form.find("input", attrs={"name": "csrf_token"})["value"],
            "next": "//evil.example/path",
        },
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard"


async def test_sign_in_form_needs_its_token(ui_app: FastAPI, ui_store: Store, acme: UiUser) -> None:
    async with http_client(ui_app) as http:
        form = soup(await http.get("/signin"))
        token = form.find("input", attrs={"name": "csrf_token"})["value"]
        data = {"email": acme.email, "password": acme.password}
        missing = await http.post("/signin", data=data)
        wrong = await http.post("/signin", data={**data, "csrf_token": "x" * 43})
        for answer in (missing, wrong):
            assert answer.status_code == 403
            assert "expired" in soup(answer).find(attrs={"role": "alert"}).get_text()
        assert "jb_session" not in http.cookies
    # a cross-site page can post the token it saw, but not set the cookie it belongs to
    async with http_client(ui_app) as attacker:
        forged = await attacker.post("/signin", data={**data, "csrf_token": token})
        assert forged.status_code == 403
        assert "jb_session" not in attacker.cookies


async def test_failed_sign_ins_are_rate_limited(
    anon_client: httpx.AsyncClient, acme: UiUser, other: UiUser
) -> None:
    for _ in range(MAX_FAILURES):
        assert (await sign_in(anon_client, acme.email, "wrong password!!")).status_code == 400
    blocked = await sign_in(anon_client, acme.email, acme.password)  # even the right one
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    message = soup(blocked).find(attrs={"role": "alert"}).get_text(" ", strip=True)
    assert message.startswith("Too many failed sign-ins. Please wait 15 minutes")
    assert "jb_session" not in anon_client.cookies
    # another person is not locked out by someone guessing acme's password
    assert (await sign_in(anon_client, other.email, other.password)).status_code == 303


async def test_every_sign_in_starts_a_new_session(
    anon_client: httpx.AsyncClient, ui_store: Store, acme: UiUser, changes: list[str]
) -> None:
    planted = "t" * 43  # a token someone set in the victim's browser beforehand
    anon_client.cookies.set("jb_session", planted, domain="testserver.local")
    assert (await sign_in(anon_client, acme.email, acme.password)).status_code == 303
    first = session_cookie(anon_client)
    assert first != planted

    # a second sign-in (say, from a form left open in another tab) replaces the session
    token = "s" * 43
    anon_client.cookies.set("jb_signin", token, domain="testserver.local")
    again = await anon_client.post(
        "/signin", data={"email": acme.email, "password": acme.password, "csrf_token": token}
    )
    assert again.status_code == 303
    second = session_cookie(anon_client)
    assert second not in (first, planted)
    assert await ui_store.ui_sessions.find(token_hash(first)) is None
    assert await ui_store.ui_sessions.find(token_hash(second)) is not None
    assert (await anon_client.get(WHOAMI)).status_code == 200


# --- CSRF ------------------------------------------------------------------------------


async def test_a_post_without_the_csrf_token_changes_nothing(
    ui_client: UiClient, other_client: UiClient, changes: list[str]
) -> None:
    missing = await ui_client.http.post(CHANGE, data={"name": "x"})
    wrong = await ui_client.http.post(CHANGE, data={"csrf_token": "not-it"})
    others = await ui_client.http.post(CHANGE, data={"csrf_token": other_client.csrf})
    wrong_header = await ui_client.http.post(CHANGE, headers={"X-CSRF-Token": "nope"})
    for answer in (missing, wrong, others, wrong_header):
        assert answer.status_code == 403
        assert answer.headers["content-type"].startswith("text/html")
        assert "form has expired" in soup(answer).find("main").get_text()
    assert changes == []

    assert (await ui_client.post_form(CHANGE)).status_code == 200
    header = await ui_client.http.post(CHANGE, headers={"X-CSRF-Token": ui_client.csrf})
    assert header.status_code == 200
    assert changes == [ui_client.user.email, ui_client.user.email]


async def test_a_post_without_a_session_is_refused(
    anon_client: httpx.AsyncClient, changes: list[str]
) -> None:
    answer = await anon_client.post(CHANGE, data={"csrf_token": "anything"})
    assert answer.status_code == 403
    assert "sign in again" in soup(answer).find("main").get_text()
    assert changes == []


# --- signing out and expiry ------------------------------------------------------------


async def test_sign_out_ends_the_session(
    ui_client: UiClient, ui_app: FastAPI, ui_store: Store, changes: list[str]
) -> None:
    cookie = session_cookie(ui_client.http)
    refused = await ui_client.http.post("/signout")  # no token: a cross-site sign-out
    assert refused.status_code == 403
    assert (await ui_client.get(WHOAMI)).status_code == 200

    out = await ui_client.post_form("/signout")
    assert out.status_code == 303
    assert out.headers["location"] == "/signin"
    signin = await ui_client.get("/signin")
    assert soup(signin).find(attrs={"role": "status"}).get_text(strip=True) == (
        "You are signed out."
    )
    assert soup(await ui_client.get("/signin")).find(attrs={"role": "status"}) is None  # once
    assert (await ui_client.get(WHOAMI)).status_code == 303
    assert await ui_store.ui_sessions.find(token_hash(cookie)) is None
    # a copy of the old cookie (kept by an attacker) no longer works either
    async with http_client(ui_app) as replay:
        replay.cookies.set("jb_session", cookie)
        again = await replay.get(WHOAMI)
        assert again.status_code == 303
        assert again.headers["location"].startswith("/signin")


async def test_an_idle_session_expires(
    ui_client: UiClient, ui_clock: UiClock, ui_store: Store, changes: list[str]
) -> None:
    cookie = session_cookie(ui_client.http)
    ui_clock.advance(hours=11, minutes=59)
    assert (await ui_client.get(WHOAMI)).status_code == 200
    ui_clock.advance(hours=11, minutes=59)  # 12 h since sign-in, but active 11:59 ago
    assert (await ui_client.get(WHOAMI)).status_code == 200
    ui_clock.advance(hours=12, minutes=1)
    expired = await ui_client.get(WHOAMI)
    assert expired.status_code == 303
    assert expired.headers["location"] == "/signin?next=/probe/whoami"
    assert await ui_store.ui_sessions.find(token_hash(cookie)) is None
    assert (await ui_client.post_form(CHANGE)).status_code == 403
    assert changes == []


async def test_an_active_session_ends_after_seven_days(
    ui_client: UiClient, ui_clock: UiClock, changes: list[str]
) -> None:
    for _ in range(15):  # 15 x 11 h = 6 days 21 h, active all along
        ui_clock.advance(hours=11)
        assert (await ui_client.get(WHOAMI)).status_code == 200
    ui_clock.advance(hours=3)  # 7 days since sign-in
    assert (await ui_client.get(WHOAMI)).status_code == 303


# --- accounts, errors and headers ------------------------------------------------------


async def test_each_user_sees_only_their_own_account(
    ui_client: UiClient, other_client: UiClient, changes: list[str]
) -> None:
    mine = await ui_client.get(WHOAMI)
    theirs = await other_client.get(WHOAMI)
    assert mine.text == f"Acme Outdoor | {ui_client.user.email}"
    assert theirs.text == f"Other Brand | {other_client.user.email}"
    nav = soup(await ui_client.get("/no-such-page")).find("header").get_text(" ", strip=True)
    assert "Acme Outdoor" in nav and "Other Brand" not in nav


async def test_unknown_pages_are_html_and_the_api_stays_json(
    ui_client: UiClient, anon_client: httpx.AsyncClient, changes: list[str]
) -> None:
    page = await ui_client.get("/no-such-page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    html = soup(page)
    assert html.find("h1").get_text(strip=True) == "Page not found"
    assert html.find("nav", attrs={"aria-label": "Main"}) is not None  # signed in: the nav
    assert soup(await anon_client.get("/no-such-page")).find("nav") is None

    hidden = await ui_client.get(MISSING)
    assert hidden.status_code == 404
    assert soup(hidden).find("h1").get_text(strip=True) == "Page not found"
    invalid = await ui_client.get(f"{MISSING}?number=lots")
    assert invalid.status_code == 422
    assert invalid.headers["content-type"].startswith("text/html")
    assert "valid integer" in soup(invalid).find("main").get_text()

    api = await anon_client.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert api.json() == {"message": "Not Found"}
    unauthorized = await anon_client.get("/api/v1/accounts/acme/workflows")
    assert unauthorized.status_code == 401
    assert unauthorized.headers["content-type"] == "application/json"


async def test_ui_pages_carry_the_security_headers(
    ui_client: UiClient, anon_client: httpx.AsyncClient
) -> None:
    for answer in (
        await anon_client.get("/signin"),
        await ui_client.get("/no-such-page"),
    ):
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "script-src 'self'" in CONTENT_SECURITY_POLICY
        assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "same-origin"
        assert answer.headers["cache-control"] == "no-store"
        assert soup(answer).find("script", src=False) is None  # no inline script
    # the API docs load their assets from a CDN with an inline script: no CSP there
    docs = await anon_client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert "content-security-policy" not in docs.headers
    for name in ("app.css", "app.js"):
        assert (await anon_client.get(f"/ui/static/{name}")).status_code == 200


async def test_cookies_are_secure_when_the_settings_say_so(
    make_ui_app: Callable[..., FastAPI], acme: UiUser
) -> None:
    app = make_ui_app(secure_cookies=True)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        answer = await sign_in(http, acme.email, acme.password)
        assert answer.status_code == 303
        cookie = next(
            h for h in answer.headers.get_list("set-cookie") if h.startswith("__Host-jb_session=")
        )
        assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
        assert "Domain" not in cookie
        assert (await http.get("/no-such-page")).status_code == 404


# --- users add and the demo user -------------------------------------------------------


def test_users_add_creates_a_user_who_can_sign_in(
    ui_settings: Settings, acme: UiUser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    env = {"JUSTUNO_BRAZE_DATABASE_URL": ui_settings.database_url}
    runner = CliRunner()

    short = runner.invoke(
        cli, ["users", "add", "acme", "new@example.com", "--password-stdin"], "short\n", env=env
    )
    assert short.exit_code == 2
    assert "at least 12 characters" in short.output

    added = runner.invoke(
        cli,
        ["users", "add", "acme", "New.Person@Example.com"],
        "a long passphrase\na long passphrase\n",
        env=env,
    )
    assert added.exit_code == 0, added.output
    assert "a long passphrase" not in added.output  # the prompt hides it
    assert "added new.person@example.com to account 'acme'" in added.output

    taken = runner.invoke(
        cli,
        ["users", "add", "acme", "new.person@example.com", "--password-stdin"],
        "another long one\n",
        env=env,
    )
    assert taken.exit_code == 2
    assert "already exists" in taken.output
    unknown = runner.invoke(
        cli, ["users", "add", "nope", "x@example.com", "--password-stdin"], "x" * 20, env=env
    )
    assert unknown.exit_code == 2
    assert "no account 'nope'" in unknown.output


async def test_the_cli_user_signs_in(
    ui_settings: Settings,
    acme: UiUser,
    anon_client: httpx.AsyncClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    changes: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    added = await asyncio.to_thread(  # the command runs its own event loop
        CliRunner().invoke,
        cli,
        ["users", "add", "acme", "second@example.com", "--password-stdin"],
        "second person's password\n",
        env={"JUSTUNO_BRAZE_DATABASE_URL": ui_settings.database_url},
    )
    assert added.exit_code == 0, added.output
    answer = await sign_in(anon_client, "second@example.com", "second person's password")
    assert answer.status_code == 303
    assert (await anon_client.get(WHOAMI)).text == "Acme Outdoor | second@example.com"


async def test_the_demo_user_signs_in_after_seeding_twice(
    ui_store: Store, ui_settings: Settings, anon_client: httpx.AsyncClient, changes: list[str]
) -> None:
    now = datetime.now(UTC)
    first = await seed_demo(ui_store, ui_settings, now=now)
    again = await seed_demo(ui_store, ui_settings, now=now)
    assert first == again
    found = await ui_store.users.credentials(DEMO_USER_EMAIL)
    assert found is not None
    text = again.announcement("http://127.0.0.1:8080")
    assert "http://127.0.0.1:8080/signin" in text
    assert DEMO_USER_EMAIL in text and "demo-password" in text

    answer = await sign_in(anon_client, DEMO_USER_EMAIL, "demo-password")
    assert answer.status_code == 303
    assert (await anon_client.get(WHOAMI)).text == f"Demo | {DEMO_USER_EMAIL}"


def test_the_ui_settings_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {"JUSTUNO_BRAZE_SECURE_COOKIES": "true", "JUSTUNO_BRAZE_DEMO_PASSWORD": "s3cret-demo-pw"},
        dotenv=None,
    )
    assert settings.secure_cookies is True
    assert settings.demo_password == "s3cret-demo-pw"
    assert settings.masked()["demo_password"] == "****o-pw"
    assert "s3cret" not in repr(settings)
    assert Settings.from_env({}, dotenv=None).secure_cookies is False
    with pytest.raises(ConfigError, match="SECURE_COOKIES: expected true or false"):
        Settings.from_env({"JUSTUNO_BRAZE_SECURE_COOKIES": "maybe"}, dotenv=None)
