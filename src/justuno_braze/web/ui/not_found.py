"""The one "not found" of the UI's pages for an object named in the path: an id that is not
a number, an unknown id and another account's id all answer the same 404 page, so a page
never reveals that something exists in another account (the REST API's rule too)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from justuno_braze.services.apps import UnknownConnection
from justuno_braze.services.workflows import UnknownWorkflow
from justuno_braze.web.errors import NotFound

MAX_ID = 2**31 - 1
MAX_DIGITS = len(str(MAX_ID))
#: What the services raise for an object that is not the account's (or does not exist).
UNKNOWN = (UnknownConnection, UnknownWorkflow)
T = TypeVar("T")


def path_id(text: str) -> int:
    """An id or version number from the path (ASCII digits, 1 to 2**31 - 1), else 404."""
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_DIGITS:
        raise NotFound()
    number = int(text)
    if not 1 <= number <= MAX_ID:
        raise NotFound()
    return number


async def found(call: Awaitable[T]) -> T:
    """``await call``, with the service's "unknown to this account" as the 404 page."""
    try:
        return await call
    except UNKNOWN:
        raise NotFound() from None
