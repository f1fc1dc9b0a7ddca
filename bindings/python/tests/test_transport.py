"""A Python callable as the transport (requests, httpx, mocks)."""

from __future__ import annotations

import http.client
import urllib.parse
from typing import Mapping

import pytest

import scopegate
import scopegate.testing
from conftest import CALLBACK, log_in


class Recorder:
    """A transport over http.client (never follows redirects), recording what it sends."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, str], bytes]] = []

    def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes) -> tuple[int, Mapping[str, str], bytes]:
        self.calls.append((method, url, dict(headers), body))
        u = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(u.hostname or "", u.port, timeout=10)
        try:
            conn.request(method, u.path + ("?" + u.query if u.query else ""), body=body or None, headers=headers)
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()


def test_every_request_goes_through_the_callable(sandbox: scopegate.testing.Sandbox) -> None:
    t = Recorder()
    client = scopegate.Client(
        sandbox.provider("yespo"), scopegate.testing.SANDBOX_CLIENT_ID, scopegate.testing.SANDBOX_CLIENT_SECRET,
        redirect_uri=CALLBACK, transport=t,
    )
    log_in(sandbox, client)
    assert client.request("GET", "contacts").status == 200
    client.refresh_token()
    methods = [(m, urllib.parse.urlsplit(u).path) for m, u, _, _ in t.calls]
    assert methods == [
        ("POST", "/yespo/uaa/oauth/token"),
        ("GET", "/yespo/api/v1/contacts"),
        ("POST", "/yespo/uaa/oauth/token"),
    ]
    _, _, headers, body = t.calls[0]
    assert headers["Authorization"].startswith("Basic ") and b"grant_type=authorization_code" in body
    assert t.calls[1][2]["Authorization"].startswith("Bearer ")
    assert isinstance(t.calls[0][3], bytes)


def test_an_exception_raised_by_the_transport_comes_back_unchanged(sandbox: scopegate.testing.Sandbox) -> None:
    class Boom(Exception):
        pass

    raised = Boom("proxy down")

    def failing(method: str, url: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        raise raised

    client = scopegate.Client(
        sandbox.provider("yuvo"), scopegate.testing.SANDBOX_CLIENT_ID, scopegate.testing.SANDBOX_CLIENT_SECRET,
        redirect_uri=CALLBACK, transport=failing,
    )
    with pytest.raises(Boom) as e:
        client.client_credentials()
    assert e.value is raised
    request = client.create_authorization_url()
    assert request.url is not None
    with pytest.raises(Boom) as e2:
        client.fetch_token(sandbox.authorize(request.url), request)
    assert e2.value is raised
    # An API call: log in with a working transport first, then fail.
    working = scopegate.Client(
        sandbox.provider("yuvo"), scopegate.testing.SANDBOX_CLIENT_ID, scopegate.testing.SANDBOX_CLIENT_SECRET,
        redirect_uri=CALLBACK, store=client.store,
    )
    log_in(sandbox, working)
    with pytest.raises(Boom) as e3:
        client.request("GET", "companies")
    assert e3.value is raised
    # KeyboardInterrupt-like exceptions too.
    def interrupted(*_: object) -> tuple[int, dict[str, str], bytes]:
        raise KeyboardInterrupt

    stopped = scopegate.Client(sandbox.provider("yuvo"), "c", "s", transport=interrupted)
    with pytest.raises(KeyboardInterrupt):
        stopped.client_credentials()


@pytest.mark.parametrize(
    "answer",
    [None, (200,), ("200", {}, b""), (200, {}, 12), (200, 5, b"{}"), (200, [("a",)], b"")],
)
def test_a_wrong_answer_is_a_type_error(sandbox: scopegate.testing.Sandbox, answer: object) -> None:
    client = scopegate.Client(sandbox.provider("yuvo"), "c", "s", transport=lambda *a: answer)
    with pytest.raises(TypeError):
        client.client_credentials()


def test_answers_as_str_pairs_and_oversized(sandbox: scopegate.testing.Sandbox) -> None:
    ok = '{"access_token":"at","token_type":"Bearer","expires_in":60}'
    pairs = scopegate.Client(sandbox.provider("yuvo"), "c", "s", transport=lambda *a: (200, [("Content-Type", "application/json")], ok))
    assert pairs.client_credentials().access_token == "at"
    huge = scopegate.Client(sandbox.provider("yuvo"), "c", "s", transport=lambda *a: (200, {}, b" " * (2 << 20)))
    with pytest.raises(scopegate.TransportError, match="larger than"):
        huge.client_credentials()


def test_a_transport_must_be_callable() -> None:
    with pytest.raises(TypeError, match="transport must be a callable"):
        scopegate.Client("yuvo", "c", "s", transport="requests")  # type: ignore[arg-type]


def test_header_bytes_that_are_not_utf8_are_kept_decoded(sandbox: scopegate.testing.Sandbox) -> None:
    """Issue 18: a transport that hands raw header bytes (httpx's `headers.raw`, a Latin-1 cookie)
    does not lose the answer over them."""
    ok = b'{"access_token":"at","token_type":"Bearer","expires_in":60}'
    raw = [(b"Content-Type", b"application/json"), (b"Set-Cookie", b"lang=fran\xe7ais"), (b"X-\xff", b"dropped")]
    client = scopegate.Client(sandbox.provider("yuvo"), "c", "s", transport=lambda *a: (200, raw, ok))
    assert client.client_credentials().access_token == "at"
    with_token = scopegate.Client(
        sandbox.provider("yuvo"), "c", "s", transport=lambda m, u, h, b: (200, raw, ok if "token" in u else b"[]")
    )
    with_token.client_credentials()
    response = with_token.request("GET", "companies")
    assert response.headers["set-cookie"] == "lang=fran\u00e7ais"
    assert "x-\u00ff" not in response.headers
