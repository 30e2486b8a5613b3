"""Who is signed in to the UI: the :class:`UiSession` dependencies pages use, and the
sign-in / sign-out routes.

- ``SignedIn`` (GET pages): the session of the request's cookie; none (or expired) →
  303 to ``/signin?next=<this page>``.
- ``CsrfChecked`` (every state-changing POST): signed in AND the form field
  ``csrf_token`` (or the ``X-CSRF-Token`` header) equals the session's synchronizer
  token (``hmac.compare_digest``); else 403 and nothing happens.

The session cookie holds a random 256-bit token (the store keeps its sha256 only, see
:mod:`justuno_braze.services.users`); it is HttpOnly, SameSite=Lax, Path=/, and Secure
with the ``__Host-`` name prefix when the request came over https or
``Settings.secure_cookies`` says the site is https behind a proxy. The sign-in form has
no session yet, so it is protected by a double-submit token: a random value in a cookie
of its own that the form must repeat (a cross-site form cannot read or set it).

Sign-in failures always say "Email or password is incorrect"; after
:data:`~justuno_braze.web.ui.throttle.MAX_FAILURES` failures per email and IP the form is
refused for a while. ``next`` only ever leads to a path on this site.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, Response

from justuno_braze.services.users import (
    end_session,
    resume_session,
    start_session,
    verify_sign_in,
)
from justuno_braze.store import Account, AccountUser
from justuno_braze.web.auth import NowDep, StoreDep, get_now, get_settings, get_store
from justuno_braze.web.ui.render import page, see_other
from justuno_braze.web.ui.throttle import SignInThrottle

SESSION_COOKIE = "jb_session"
SIGNIN_COOKIE = "jb_signin"
SECURE_PREFIX = "__Host-"
SIGNIN_PATH = "/signin"
DEFAULT_PAGE = "/dashboard"
SIGN_IN_FAILED = "Email or password is incorrect."
SIGN_IN_EXPIRED = "The sign-in form expired. Please try again."
SESSION_ENDED = "Your session has ended. Please sign in again."
FORM_EXPIRED = (
    "This form has expired or did not come from this site. Reload the page and try again."
)
MAX_NEXT = 2000
SIGNIN_COOKIE_SECONDS = 2 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class UiSession:
    """The signed-in user, their account (the only one their pages show) and the CSRF
    token every form of theirs carries (``forms.csrf(ui)``)."""

    account: Account
    user: AccountUser
    csrf_token: str


class SignInRequired(Exception):
    """Not signed in on a page that needs it: answered with 303 to ``location``."""

    def __init__(self, location: str) -> None:
        self.location = location
        super().__init__(location)


def is_secure(request: Request) -> bool:
    """True when the cookies must be Secure: https, or the settings say the site is."""
    return request.url.scheme == "https" or get_settings(request).secure_cookies


def cookie_name(request: Request, base: str) -> str:
    """``base``, or ``__Host-<base>`` when secure (the browser then refuses the cookie
    unless it is Secure, Path=/ and has no Domain: a subdomain cannot plant it)."""
    return SECURE_PREFIX + base if is_secure(request) else base


def set_cookie(
    request: Request, response: Response, base: str, value: str, *, max_age: int | None = None
) -> None:
    response.set_cookie(
        cookie_name(request, base),
        value,
        max_age=max_age,
        path="/",
        secure=is_secure(request),
        httponly=True,
        samesite="lax",
    )


def delete_cookie(request: Request, response: Response, base: str) -> None:
    response.delete_cookie(
        cookie_name(request, base),
        path="/",
        secure=is_secure(request),
        httponly=True,
        samesite="lax",
    )


async def current_session(request: Request) -> UiSession | None:
    """The request's live session, or None (looked up once per request)."""
    cached: UiSession | bool | None = getattr(request.state, "ui_session", False)
    if cached is not False:
        return cached  # type: ignore[return-value]
    ui: UiSession | None = None
    token = request.cookies.get(cookie_name(request, SESSION_COOKIE))
    if token:
        store = get_store(request)
        stored = await resume_session(store, token, now=get_now(request))
        account = None if stored is None else await store.accounts.get(stored.account_id)
        if stored is not None and account is not None:
            ui = UiSession(account=account, user=stored.user, csrf_token=stored.csrf_token)
    request.state.ui_session = ui
    return ui


async def signed_in(request: Request) -> UiSession:
    ui = await current_session(request)
    if ui is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(f"{SIGNIN_PATH}?next={quote(safe_next(here), safe='/')}")
    return ui


async def csrf_checked(request: Request) -> UiSession:
    ui = await current_session(request)
    if ui is None:
        raise HTTPException(403, SESSION_ENDED)
    sent = request.headers.get("X-CSRF-Token")
    if sent is None:
        value = (await request.form()).get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), ui.csrf_token.encode()):
        raise HTTPException(403, FORM_EXPIRED)
    return ui


SignedIn = Annotated[UiSession, Depends(signed_in)]
CsrfChecked = Annotated[UiSession, Depends(csrf_checked)]


def safe_next(value: str) -> str:
    """``value`` when it is a path on this site, else :data:`DEFAULT_PAGE` (never
    ``//host``, ``https://…``, backslashes or control characters: no open redirect)."""
    if (
        not value
        or len(value) > MAX_NEXT
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(c) < 32 or ord(c) == 127 for c in value)
    ):
        return DEFAULT_PAGE
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path in (SIGNIN_PATH, "/signout"):
        return DEFAULT_PAGE
    return value


def _throttle(request: Request) -> SignInThrottle:
    throttle: SignInThrottle = request.app.state.signin_throttle
    return throttle


def _signin_page(
    request: Request,
    *,
    next_url: str,
    email: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    """The sign-in form, with its double-submit token (the cookie's, or a new one)."""
    token = request.cookies.get(cookie_name(request, SIGNIN_COOKIE), "")
    if not _TOKEN.match(token):
        token = secrets.token_urlsafe(32)
    response = page(
        request,
        "session/signin.html",
        None,
        status_code=status_code,
        signin_token=token,
        next_url=next_url,
        email=email,
        error=error,
    )
    set_cookie(request, response, SIGNIN_COOKIE, token, max_age=SIGNIN_COOKIE_SECONDS)
    return response


@router.get("/")
async def home() -> Response:
    return see_other(DEFAULT_PAGE)


@router.get(SIGNIN_PATH)
async def signin_form(
    request: Request, next_url: Annotated[str, Query(alias="next")] = ""
) -> Response:
    target = safe_next(next_url)
    if await current_session(request) is not None:
        return see_other(target)
    return _signin_page(request, next_url=target)


@router.post(SIGNIN_PATH)
async def signin(
    request: Request,
    store: StoreDep,
    now: NowDep,
    email: Annotated[str, Form(max_length=1000)] = "",
    password: Annotated[str, Form(max_length=2000)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=MAX_NEXT)] = "",
) -> Response:
    target = safe_next(next_url)
    expected = request.cookies.get(cookie_name(request, SIGNIN_COOKIE), "")
    if not (expected and csrf_token and hmac.compare_digest(csrf_token, expected)):
        return _signin_page(
            request, next_url=target, email=email, error=SIGN_IN_EXPIRED, status_code=403
        )
    ip = request.client.host if request.client else ""
    throttle = _throttle(request)
    wait = throttle.retry_after(email, ip)
    if wait is not None:
        minutes = max(1, -(-wait // 60))
        response = _signin_page(
            request,
            next_url=target,
            email=email,
            error=f"Too many failed sign-ins. Please wait {minutes} minute"
            f"{'s' if minutes != 1 else ''} and try again.",
            status_code=429,
        )
        response.headers["Retry-After"] = str(wait)
        return response
    user = await verify_sign_in(store, email, password, now=now)
    if user is None:
        throttle.failed(email, ip)
        return _signin_page(
            request, next_url=target, email=email, error=SIGN_IN_FAILED, status_code=400
        )
    throttle.succeeded(email, ip)
    previous = request.cookies.get(cookie_name(request, SESSION_COOKIE))
    if previous:
        await end_session(store, previous)  # a new session on every sign-in (no fixation)
    token, _ = await start_session(store, user, now=now)
    response = see_other(target)
    set_cookie(request, response, SESSION_COOKIE, token)
    delete_cookie(request, response, SIGNIN_COOKIE)
    return response


@router.post("/signout")
async def signout(request: Request, ui: CsrfChecked, store: StoreDep) -> Response:
    await end_session(store, request.cookies.get(cookie_name(request, SESSION_COOKIE), ""))
    response = see_other(SIGNIN_PATH, notice="You are signed out.")
    delete_cookie(request, response, SESSION_COOKIE)
    return response
