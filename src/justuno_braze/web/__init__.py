"""The HTTP API: ``create_app(settings)`` builds the FastAPI application (routers in
:mod:`justuno_braze.web.api`, thin over :mod:`justuno_braze.services`)."""

from __future__ import annotations
