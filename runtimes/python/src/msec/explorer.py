"""The API explorer page at ``GET /explorer`` (docs/explorer.md).

One HTML file with its script and styles inline: it reads ``/openapi.json``, lists the
methods, builds a form per request schema and sends JSON calls. It is package data
(``msec/explorer.html``), a byte-identical copy of the TypeScript runtime's
``assets/explorer.html`` (test/browser/explorer-asset.test.ts checks both), read once on
the first request. Served with or without an OpenAPI document: without one the page says
so and how to give the server one.
"""
from importlib import resources
from typing import Optional

from .http1 import plain_response

#: The path the page is served at.
EXPLORER_PATH = "/explorer"

_cached: Optional[bytes] = None


def explorer_page() -> bytes:
    """The page's bytes, from the package data."""
    return resources.files(__package__ or "msec").joinpath("explorer.html").read_bytes()


def explorer_response() -> bytes:
    """The complete ``200`` answer carrying the page (``text/html``)."""
    global _cached
    if _cached is None:
        _cached = plain_response(200, "OK", "text/html; charset=utf-8", explorer_page(), "Cache-Control: no-cache\r\n")
    return _cached
