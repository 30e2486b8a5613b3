"""``GET /demo/store``: the demo store's product page with a pop-up lead form.

Mounted only when the app runs the demo. The form posts a canonical ``form_submitted``
event of design :data:`~justuno_braze.services.demo.DEMO_DESIGN` to the ingestion API
with the PUBLIC design key (printed in the HTML as ``data-design-key``) — never the
account's ingest token. ``store.html`` and ``store.js`` sit next to this module (package
data); the HTML's ``$placeholders`` are filled HTML-escaped.
"""

from __future__ import annotations

import html
from functools import cache
from importlib import resources
from string import Template

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from justuno_braze.services.demo import (
    DEMO_ACCOUNT,
    DEMO_DESIGN,
    DEMO_STORE_PATH,
    demo_design_key,
)
from justuno_braze.web.auth import SettingsDep

router = APIRouter(include_in_schema=False)
CONSENT_TEXT = (
    "Yes, text me offers and order updates from Demo Store at the number above. "
    "Message and data rates may apply. Reply STOP to opt out."
)


@cache
def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


@router.get(DEMO_STORE_PATH, response_class=HTMLResponse)
async def store_page(settings: SettingsDep) -> HTMLResponse:
    values = {
        "account": DEMO_ACCOUNT,
        "design": DEMO_DESIGN,
        "design_key": demo_design_key(settings),
        "consent_text": CONSENT_TEXT,
        "script": f"{DEMO_STORE_PATH}.js",
    }
    page = Template(_asset("store.html")).substitute(
        {k: html.escape(v, quote=True) for k, v in values.items()}
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


@router.get(f"{DEMO_STORE_PATH}.js")
async def store_script() -> Response:
    return Response(_asset("store.js"), media_type="text/javascript")
