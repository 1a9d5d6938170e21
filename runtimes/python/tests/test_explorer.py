"""The API explorer page at ``GET /explorer`` (docs/explorer.md): the package data file
``msec/explorer.html``, byte-identical to the TypeScript runtime's ``assets/explorer.html``,
served with or without an OpenAPI document; ``HEAD`` gives the same head without body."""
import os
import socket

from conftest import read_http, recv_until_closed
from methods import METHODS

from msec.explorer import explorer_page

#: The one source of the page, in the TypeScript runtime beside this project.
TS_ASSET = os.path.join(os.path.dirname(__file__), "..", "..", "ts", "assets", "explorer.html")


def connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.settimeout(5)
    return s


def test_the_page_is_the_ts_runtimes_asset_byte_for_byte():
    with open(TS_ASSET, "rb") as f:
        assert explorer_page() == f.read(), "copy runtimes/ts/assets/explorer.html to runtimes/python/src/msec/explorer.html"


def test_get_and_head_explorer(serve):
    page = explorer_page()
    s = serve(METHODS, openapi='{"openapi": "3.1.0"}\n')
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nCache-Control: no-cache\r\n"
        + f"Content-Length: {len(page)}\r\n\r\n".encode()
    )
    with connect(s.port) as c:
        c.sendall(b"HEAD /explorer HTTP/1.1\r\n\r\nGET /explorer HTTP/1.1\r\nConnection: close\r\n\r\n")
        assert recv_until_closed(c) == head + head + page


def test_explorer_is_served_without_a_document(serve):
    s = serve(METHODS)
    with connect(s.port) as c:
        c.sendall(b"GET /explorer HTTP/1.1\r\n\r\n")
        answer = read_http(c)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n")
    assert answer.endswith(explorer_page())
    assert b"No OpenAPI document on this server" in answer


def test_other_explorer_paths_are_404(serve):
    s = serve(METHODS)
    with connect(s.port) as c:
        c.sendall(b"GET /explorer/app.js HTTP/1.1\r\n\r\n")
        assert read_http(c).startswith(b"HTTP/1.1 404 Not Found\r\n")
