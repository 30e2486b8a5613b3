"""Running the sandbox: in the foreground (``justuno-braze sandbox``) or in a thread.

``serve(options, host, port)`` blocks; ``running_sandbox(options)`` starts uvicorn on a
free 127.0.0.1 port in a background thread and yields the base URL (for tests).
"""

from __future__ import annotations

import gc
import importlib.util
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from justuno_braze.sandbox.app import Receive, SandboxApp, Scope, Send, create_app
from justuno_braze.sandbox.options import SandboxOptions, SandboxOptionsError, options_from_cli

__all__ = ["SandboxOptionsError", "options_from_cli", "running_sandbox", "serve"]


def _config(app: SandboxApp | FreezingApp, **kwargs: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        http="httptools" if importlib.util.find_spec("httptools") else "h11",
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        access_log=False,
        lifespan="on",
        workers=1,
        **kwargs,
    )


# The store holds millions of small objects and makes no reference cycles. Python's default
# collector scans every young object again and again as it ages (a full collection scans
# them all): about a tenth of the /users/track time with new users. In the sandbox's own
# process nothing is scanned twice: what is alive when a request is answered is frozen
# (``gc.freeze``: moved out of the collector's generations in O(1), and the young count
# reset), so a collection only ever sees the objects of the requests in flight — one runs
# only when a single request leaves more than ``GC_THRESHOLDS[0]`` new containers alive;
# what survives one is frozen too. The price: a reference cycle that is alive at a freeze
# and dies later is never freed. Neither uvicorn nor the sandbox makes one per request
# (``gc.collect()`` between thousands of /users/track requests finds none), so the store's
# own growth dwarfs that.
GC_THRESHOLDS = (5_000, 10, 10)


def _freeze_survivors(phase: str, info: dict[str, int]) -> None:
    if phase == "stop":
        gc.freeze()


def tune_garbage_collector() -> None:
    """Tune the collector of a process that is the sandbox's (see ``GC_THRESHOLDS``)."""
    gc.set_threshold(*GC_THRESHOLDS)
    gc.freeze()  # the modules loaded so far: alive for good
    if _freeze_survivors not in gc.callbacks:
        gc.callbacks.append(_freeze_survivors)


class FreezingApp:
    """The sandbox app as its own process serves it: after each request, what is alive
    is frozen (see ``GC_THRESHOLDS``). Only for a process tuned with
    ``tune_garbage_collector``: in a test process it would keep the tests' cycles alive."""

    __slots__ = ("app",)

    def __init__(self, app: SandboxApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        gc.freeze()


def serve(options: SandboxOptions, host: str = "127.0.0.1", port: int = 9292) -> None:
    """Run the sandbox in the foreground until interrupted (this process is the sandbox's,
    so its garbage collector is tuned for it)."""
    tune_garbage_collector()
    app = FreezingApp(create_app(options))
    server = uvicorn.Server(_config(app, host=host, port=port, log_level="info"))
    print(f"Braze sandbox on http://{host}:{port} (keys: {len(options.api_keys)})", flush=True)
    server.run()


@contextmanager
def running_sandbox(
    options: SandboxOptions | None = None, *, app: SandboxApp | None = None
) -> Iterator[str]:
    """Serve the sandbox on a free loopback port in a thread; yields ``http://127.0.0.1:N``.

    Pass ``app`` to serve an existing app (and inspect ``app.users`` afterwards).
    """
    application = app if app is not None else create_app(options)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(_config(application, log_level="warning"))
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"braze-sandbox-{port}", daemon=True)
    thread.start()
    try:
        while not server.started:
            if failure or not thread.is_alive():
                raise RuntimeError(f"the sandbox did not start: {failure[:1]}")
            thread.join(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
