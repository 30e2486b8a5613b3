"""``GET /demo/store``: the demo store's product page, with the pop-up of design
:data:`~justuno_braze.services.demo.DEMO_DESIGN` loaded by ``/embed.js`` exactly as any
other store would include it (see :mod:`justuno_braze.web.embed`): the page itself carries
no form and no key. Mounted only when the app runs the demo. ``store.html`` sits next to
this module (package data); its ``$placeholders`` are filled HTML-escaped.
"""

from __future__ import annotations

import html
from functools import cache
from importlib import resources
from string import Template

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from justuno_braze.services.demo import DEMO_ACCOUNT, DEMO_DESIGN, DEMO_STORE_PATH
from justuno_braze.web.embed import EMBED_SCRIPT_PATH

router = APIRouter(include_in_schema=False)


@cache
def _page() -> str:
    values = {"account": DEMO_ACCOUNT, "design": DEMO_DESIGN, "embed_src": EMBED_SCRIPT_PATH}
    template = resources.files(__package__).joinpath("store.html").read_text(encoding="utf-8")
    return Template(template).substitute({k: html.escape(v, quote=True) for k, v in values.items()})


@router.get(DEMO_STORE_PATH, response_class=HTMLResponse)
async def store_page() -> HTMLResponse:
    return HTMLResponse(_page())
