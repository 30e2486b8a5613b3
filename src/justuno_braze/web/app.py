"""The FastAPI application: ``create_app(settings, *, store=None)``.

The lifespan opens the store (unless one is given — tests pass theirs, and then the app
neither migrates nor closes it), seeds the demo when asked, and runs the delivery
``Worker`` in the same event loop when ``workers`` is on (stopped gracefully on
shutdown: in-flight requests finish, the rest is released). The routers are the modules
named in :data:`justuno_braze.web.api.ROUTERS`. OpenAPI is served at
``/api/v1/openapi.json``, the docs at ``/api/v1/docs``. The web UI's pages are the
routers of :data:`justuno_braze.web.ui.PAGES`, its files are served at ``/ui/static``,
and its errors are HTML pages outside ``/api/`` (:mod:`justuno_braze.web.ui.error_pages`).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from justuno_braze import __version__
from justuno_braze.config import Settings
from justuno_braze.store import Store
from justuno_braze.web import embed, errors
from justuno_braze.web.api import ROUTERS
from justuno_braze.web.auth import Clock, DesignGuard, TokenCache, utc_now
from justuno_braze.web.metrics import Metrics
from justuno_braze.web.ui import PAGES
from justuno_braze.web.ui import error_pages as ui_error_pages
from justuno_braze.web.ui.render import STATIC_DIR, STATIC_PATH
from justuno_braze.web.ui.throttle import SignInThrottle

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
OPENAPI_URL = f"{API_PREFIX}/openapi.json"
DOCS_URL = f"{API_PREFIX}/docs"


@dataclass
class AppOptions:
    """How the app runs beyond ``Settings``: workers, the demo, the clock (tests)."""

    workers: bool = False
    demo: bool = False
    var_dir: Path = Path("var")
    clock: Clock = utc_now
    # the demo: where the app is served (for the embedded sandbox's URL) and what it said
    public_url: str = "http://127.0.0.1:8080"
    announce: Callable[[str], None] | None = None
    worker_kwargs: dict[str, Any] = field(default_factory=dict)


def create_app(
    settings: Settings, *, store: Store | None = None, options: AppOptions | None = None
) -> FastAPI:
    """The application. With ``store`` the caller owns it (opened, migrated, closed)."""
    opts = options or AppOptions()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            own = store
            if own is None:
                from justuno_braze.services.connections import open_app_store

                own = await open_app_store(settings, var_dir=opts.var_dir)
                stack.push_async_callback(own.close)
            app.state.store = own
            metrics.bind(own)
            if opts.demo:
                from justuno_braze.services.demo import seed_demo

                seeded = await seed_demo(own, settings, now=opts.clock())
                app.state.demo = seeded
                if opts.announce is not None:
                    opts.announce(seeded.announcement(opts.public_url))
            if opts.workers:
                await stack.enter_async_context(_running_worker(app, own, settings, opts))
            yield

    app = FastAPI(
        title="justuno-braze",
        version=__version__,
        description="Justuno lead profiles into Braze: ingestion, workflows, Sync to App, "
        "durable delivery.",
        openapi_url=OPENAPI_URL,
        docs_url=DOCS_URL,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = opts.clock
    app.state.metrics = metrics
    app.state.ingest_tokens = TokenCache()
    app.state.design_guard = DesignGuard(_origins(settings, opts))
    app.state.braze_transports = {}
    app.state.demo_allowed_urls = ()
    app.state.signin_throttle = SignInThrottle()
    if store is not None:  # usable before the lifespan runs (ASGITransport skips it)
        app.state.store = store
        metrics.bind(store)
    if opts.demo:
        from justuno_braze.web.demo import store_page

        _embed_demo_sandbox(app, settings)
        app.include_router(store_page.router)
    errors.install(app)
    embed.install(app)
    ui_error_pages.install(app)
    for router in routers():
        app.include_router(router)
    for router in routers("justuno_braze.web.ui", PAGES):
        app.include_router(router)
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="ui-static")
    return app


def _origins(settings: Settings, opts: AppOptions) -> tuple[str, ...]:
    """The origins a design key is accepted from besides same-origin: the sites that embed
    the pop-up (``embed_origins``) and, in the demo, the served URL."""
    if not opts.demo:
        return settings.embed_origins
    url = urlsplit(opts.public_url)
    return (*settings.embed_origins, f"{url.scheme}://{url.netloc}")


def routers(
    package: str = "justuno_braze.web.api", names: tuple[str, ...] = ROUTERS
) -> list[APIRouter]:
    """The ``router`` of every module ``names`` of ``package`` that exists (areas land one
    by one; a module that exists but fails to import is an error, not skipped)."""
    out: list[APIRouter] = []
    for name in names:
        qualified = f"{package}.{name}"
        if importlib.util.find_spec(qualified) is None:
            continue
        module = importlib.import_module(qualified)
        out.append(module.router)
    return out


@asynccontextmanager
async def _running_worker(
    app: FastAPI, store: Store, settings: Settings, opts: AppOptions
) -> AsyncIterator[None]:
    from justuno_braze.delivery.worker import Worker

    metrics: Metrics = app.state.metrics
    factory = metrics.client_factory(
        settings,
        extra_allowed=app.state.demo_allowed_urls,
        transports=app.state.braze_transports,
    )
    worker = Worker(store, settings, client_factory=factory, **opts.worker_kwargs)
    app.state.worker = worker
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop), name="delivery-worker")
    log.info("delivery worker started")
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=settings.lease_seconds)
        except TimeoutError:
            log.warning("delivery worker did not stop in time; its leases will expire")
            task.cancel()
        except Exception:
            log.exception("delivery worker failed")
        await worker.aclose()
        log.info("delivery worker stopped")


def _embed_demo_sandbox(app: FastAPI, settings: Settings) -> None:
    """The demo's Braze: the sandbox app mounted at ``SANDBOX_MOUNT`` (HTTP, for people
    and tests) and reached in-process by the worker under ``EMBEDDED_SANDBOX_URL``."""
    import httpx

    from justuno_braze.sandbox.app import create_app as create_sandbox
    from justuno_braze.services.demo import (
        EMBEDDED_SANDBOX_URL,
        SANDBOX_MOUNT,
        demo_braze_urls,
        sandbox_options,
        uses_embedded_sandbox,
    )

    app.state.demo_allowed_urls = demo_braze_urls(settings)
    if not uses_embedded_sandbox(settings):
        return
    sandbox = create_sandbox(sandbox_options(settings))
    app.state.demo_sandbox = sandbox
    app.mount(SANDBOX_MOUNT, sandbox, name="demo-sandbox")
    app.state.braze_transports = {EMBEDDED_SANDBOX_URL: httpx.ASGITransport(app=sandbox)}
