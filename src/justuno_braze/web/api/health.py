"""Liveness, readiness and metrics: ``/healthz``, ``/readyz``, ``/metrics`` (no auth —
they reveal no account data; bind the server to loopback or a private network)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from justuno_braze.web.auth import StoreDep
from justuno_braze.web.metrics import Metrics

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    reason: str | None = None


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="The database is reachable and migrated to head",
    responses={503: {"model": Readiness, "description": "Not ready; reason says why"}},
)
async def readyz(store: StoreDep) -> Response:
    if await store.is_current():
        return JSONResponse(Readiness(status="ready").model_dump())
    reason = "the database is unreachable or not migrated to head (run `justuno-braze db upgrade`)"
    return JSONResponse(
        Readiness(status="unavailable", reason=reason).model_dump(), status_code=503
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    registry: Metrics = request.app.state.metrics
    return Response(await registry.render(), media_type=CONTENT_TYPE_LATEST)
