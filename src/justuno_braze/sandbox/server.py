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


# The store holds millions of small dicts and no reference cycles: collecting the young
# generation every 700 allocations costs a third of the /users/track time with new users.
GC_THRESHOLDS = (50_000, 50, 100)


def serve(options: SandboxOptions, host: str = "127.0.0.1", port: int = 9292) -> None:
    """Run the sandbox in the foreground until interrupted (this process is the sandbox's,
    so its garbage-collector thresholds are raised)."""
    gc.set_threshold(*GC_THRESHOLDS)
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
