"""An in-process ``serve --demo`` app for the demo store and embed tests: the demo seeded,
the embedded sandbox mounted, a client on the app (no worker: tests ``drain``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from justuno_braze.config import Settings
from justuno_braze.store import Store, open_store
from justuno_braze.vault import Vault
from justuno_braze.web.app import AppOptions, create_app

PUBLIC_URL = "http://shop.demo.test:8080"  # the demo's served URL: a design key's origin
EMBED_CONFIG = "/api/v1/accounts/demo/designs/demo-popup/embed"


@dataclass
class Demo:
    app: FastAPI
    store: Store
    settings: Settings
    client: httpx.AsyncClient


@asynccontextmanager
async def demo_app(tmp_path: Path, **overrides: Any) -> AsyncIterator[Demo]:
    """The demo app; ``overrides`` are ``Settings`` fields."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/demo.db", secret_key=Vault.generate_key(), **overrides
    )
    store = await open_store(settings.database_url, vault=Vault(settings.secret_key))
    app = create_app(settings, store=store, options=AppOptions(demo=True, public_url=PUBLIC_URL))
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                yield Demo(app, store, settings, client)
    finally:
        await store.close()


async def design_key(client: httpx.AsyncClient) -> str:
    """The demo design's public key, as ``embed.js`` gets it."""
    config = await client.get(EMBED_CONFIG)
    assert config.status_code == 200, config.text
    key: str = config.json()["key"]
    return key
