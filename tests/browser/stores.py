"""Other sites' pages that include ``embed.js``: a tiny HTTP server per "store", each on
its own loopback port (so its own origin). ``/?embed=<url of embed.js>`` answers a page
whose only content is a heading and the script tag a store would paste."""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Another store</title></head>
<body><h1>Another store</h1>
<script src="{embed}" data-account="demo" data-design="demo-popup" async></script>
</body></html>"""


class _StorePage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        embed = parse_qs(urlsplit(self.path).query).get("embed", [""])[0]
        body = PAGE.format(embed=html.escape(embed, quote=True)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@contextmanager
def running_store() -> Iterator[str]:
    """A store site on a free 127.0.0.1 port; yields its origin."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StorePage)
    thread = threading.Thread(target=server.serve_forever, name="store-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
