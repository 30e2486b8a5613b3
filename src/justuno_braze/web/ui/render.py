"""Rendering UI pages: :func:`page` (a template as an HTML response with the security
headers) and :func:`see_other` (303 after a POST, with a one-shot notice).

Templates live in ``templates/`` (autoescaped). Every page gets ``request``, ``ui`` (the
:class:`~justuno_braze.web.ui.session.UiSession`, None on the sign-in and error pages of
someone not signed in) and ``notice`` (the flash message of the previous redirect, shown
once). Globals and filters for templates:

- ``static_url("app.css")`` → ``/ui/static/app.css?v=<version>`` (a new release is a new
  URL, so browsers never mix an old script with a new page);
- ``{{ when | datetime }}`` → ``2026-11-29 12:00 UTC`` (``—`` for None);
- ``{{ n | thousands }}`` → ``12,345``.

The Content-Security-Policy allows scripts and styles only from our own origin: no inline
``<script>``, no ``style="…"`` attributes, no ``on…=`` handlers (put them in
``static/<area>.js``). Server-made SVG charts are fine (presentation attributes such as
``fill`` are not styles).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from justuno_braze import __version__

if TYPE_CHECKING:
    from justuno_braze.web.ui.session import UiSession

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
STATIC_PATH = "/ui/static"
NOTICE_COOKIE = "jb_notice"
MAX_NOTICE = 300
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def static_url(name: str) -> str:
    return f"{STATIC_PATH}/{name}?v={__version__}"


def _datetime(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _thousands(value: int | float) -> str:
    return f"{value:,}"


templates = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.globals["static_url"] = static_url
templates.filters["datetime"] = _datetime
templates.filters["thousands"] = _thousands


def secure_headers(response: Response) -> Response:
    """The headers of every UI page: CSP, no framing, no referrer leaks off-site, never
    cached (pages show account data; the back button must not show it after sign-out)."""
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def page(
    request: Request,
    template: str,
    ui: UiSession | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """``templates/<template>`` rendered for ``ui`` as a response with the UI's headers."""
    raw_notice = request.cookies.get(NOTICE_COOKIE)
    notice = unquote(raw_notice)[:MAX_NOTICE] if raw_notice else None
    html = templates.get_template(template).render(request=request, ui=ui, notice=notice, **context)
    response = HTMLResponse(html, status_code=status_code)
    if raw_notice is not None:
        response.delete_cookie(NOTICE_COOKIE, path="/", httponly=True, samesite="lax")
    secure_headers(response)
    return response


def see_other(url: str, *, notice: str | None = None) -> RedirectResponse:
    """303 to ``url`` (a local path); ``notice`` is shown once on the page it leads to."""
    response = RedirectResponse(url, status_code=303)
    if notice:
        response.set_cookie(
            NOTICE_COOKIE,
            quote(notice[:MAX_NOTICE]),
            max_age=120,
            path="/",
            httponly=True,
            samesite="lax",
        )
    response.headers["Cache-Control"] = "no-store"
    return response
