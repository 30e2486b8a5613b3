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

from justuno_braze.sandbox.app import SandboxApp, create_app
from justuno_braze.sandbox.options import SandboxOptions, SandboxOptionsError, options_from_cli

__all__ = ["SandboxOptionsError", "options_from_cli", "running_sandbox", "serve"]


def _config(app: SandboxApp, **kwargs: Any) -> uvicorn.Config:
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
# process, what survives a young-generation collection is frozen instead (``gc.freeze``:
# never scanned again), so each object is scanned once, and young collections run often
# enough for their objects to still be in the CPU cache. The price: a reference cycle that
# is alive at a collection and dies later is never freed — neither uvicorn nor the sandbox
# makes one per request, so the store's own growth dwarfs that.
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


def serve(options: SandboxOptions, host: str = "127.0.0.1", port: int = 9292) -> None:
    """Run the sandbox in the foreground until interrupted (this process is the sandbox's,
    so its garbage collector is tuned for it)."""
    tune_garbage_collector()
    app = create_app(options)
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
