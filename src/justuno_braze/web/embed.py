"""The embed: ``GET /embed.js`` and the public per-design config it fetches.

Any site shows a design's pop-up with::

    <script src="https://<our host>/embed.js" data-account="demo" data-design="demo-popup"
            async></script>

The script (``embed.js``, package data next to this module, no dependencies) fetches
``GET /api/v1/accounts/{account}/designs/{design}/embed`` — the form and the design's
PUBLIC key, never the ingest token — renders the pop-up and posts the visitor's
``form_submitted`` event to the ingestion API with that key. Both URLs are served with
CORS for the design keys' allowed origins (:mod:`justuno_braze.web.embed_cors`), like the
ingestion URL the script posts to. An unknown account and an unknown design get the same
404.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, FastAPI, Path
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from justuno_braze.services.designs import embed_config
from justuno_braze.web.auth import AccountSlug, SettingsDep, StoreDep
from justuno_braze.web.embed_cors import EmbedCors
from justuno_braze.web.errors import ERROR_RESPONSES, NotFound

EMBED_SCRIPT_PATH = "/embed.js"
# the one account route answered without a token, by design (a store page reads it)
EMBED_CONFIG_PATH = "/api/v1/accounts/{account}/designs/{design}/embed"
SCRIPT_CACHE = "public, max-age=300"
CONFIG_CACHE = "public, max-age=60"  # a revoked design key stops being handed out soon

router = APIRouter()
DesignId = Annotated[
    str, Path(min_length=1, max_length=100, description="The design's id, e.g. 'demo-popup'")
]


class EmbedField(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    label: str
    type: str
    autocomplete: str
    required: bool


class EmbedForm(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    headline: str
    intro: str
    opener: str
    fields: list[EmbedField]
    consent_text: str
    submit: str
    thanks: str


class EmbedDesign(BaseModel):
    """What ``embed.js`` needs to render and submit one design's pop-up."""

    model_config = ConfigDict(from_attributes=True)

    account: str
    design: str
    key: str
    form: EmbedForm


@cache
def _script() -> str:
    return resources.files(__package__).joinpath("embed.js").read_text(encoding="utf-8")


@router.get(EMBED_SCRIPT_PATH, include_in_schema=False)
async def embed_script() -> Response:
    return Response(
        _script(), media_type="text/javascript", headers={"Cache-Control": SCRIPT_CACHE}
    )


@router.get(
    EMBED_CONFIG_PATH,
    response_model=EmbedDesign,
    tags=["embed"],
    summary="A design's pop-up form and public design key, for embed.js (no auth)",
    responses={k: v for k, v in ERROR_RESPONSES.items() if k != 401},  # no token to miss
)
async def design_embed(
    account: AccountSlug, design: DesignId, store: StoreDep, settings: SettingsDep
) -> JSONResponse:
    config = await embed_config(store, settings, account, design)
    if config is None:
        raise NotFound("no such design")
    return JSONResponse(
        EmbedDesign.model_validate(config).model_dump(), headers={"Cache-Control": CONFIG_CACHE}
    )


def install(app: FastAPI) -> None:
    """Serve the embed on ``app``: its routes and the CORS its cross-site calls need."""
    app.include_router(router)
    app.add_middleware(EmbedCors)
