"""The Braze sandbox: a local emulator of the Braze REST API (see docs/sandbox.md).

Entry points: ``app.create_app(SandboxOptions)`` (the ASGI app, ``.users`` is its store),
``server.running_sandbox(options)`` (a thread on a free loopback port, yields the URL),
``server.serve(options, host, port)`` (the ``justuno-braze sandbox`` command). This
package imports nothing from the rest of justuno-braze, so it can catch the client's bugs.
"""
