"""Session: the sans-IO state machine, driven by hand over http.client."""

from __future__ import annotations

import pytest

import scopegate
import scopegate.testing
from conftest import CALLBACK
from test_transport import Recorder


def drive(session: scopegate.Session, now: float) -> list[scopegate.Event]:
    """Sends what the session asks for until it is idle; returns the events."""
    send = Recorder()
    while (request := session.poll_transmit(now)) is not None:
        status, headers, body = send(request.method, request.url, request.headers, request.body)
        session.handle_response(now, request, status, headers, body)
    events = []
    while (event := session.poll_event()) is not None:
        events.append(event)
    return events


def test_a_whole_connection_by_hand(sandbox: scopegate.testing.Sandbox) -> None:
    session = scopegate.Session(
        sandbox.provider("yespo"), scopegate.testing.SANDBOX_CLIENT_ID, scopegate.testing.SANDBOX_CLIENT_SECRET, CALLBACK
    )
    now = sandbox.now()
    request = session.start_authorization(now)
    assert request.url is not None
    session.handle_callback(now, request, sandbox.authorize(request.url))
    assert session.is_busy
    events = drive(session, now)
    assert [e.kind for e in events] == ["tokens_changed"] and repr(events[0]) == "Event('tokens_changed')"
    tokens = session.tokens
    assert tokens is not None and tokens.identity == "user"

    call = session.api_request(now, "GET", "contacts")
    assert call.is_api and call.headers["Authorization"] == "Bearer " + tokens.access_token
    assert tokens.access_token not in repr(call)
    status, _, _ = Recorder()(call.method, call.url, call.headers, call.body)
    assert session.handle_api_response(now, call, status) == "done"
    with pytest.raises(TypeError):
        session.handle_response(now, call, 200)

    # The refresh is due `leeway` (60 s) before expiry; the timer says when.
    due = session.poll_timeout()
    assert due is not None and tokens.expires_at is not None and due == tokens.expires_at - 60
    assert not session.needs_refresh(now) and session.needs_refresh(due)
    session.handle_timeout(due)
    assert [e.kind for e in drive(session, due)] == ["tokens_changed"]
    assert session.tokens is not None and session.tokens.access_token != tokens.access_token

    # An expired token is refused before any I/O.
    with pytest.raises(scopegate.TokenExpired):
        session.api_request(due + 10**6, "GET", "contacts")


def test_failures_come_out_as_events(sandbox: scopegate.testing.Sandbox) -> None:
    session = scopegate.Session(sandbox.provider("yuvo"), scopegate.testing.SANDBOX_CLIENT_ID, "wrong")
    now = sandbox.now()
    session.client_credentials(now)
    events = drive(session, now)
    assert [e.kind for e in events] == ["failed"]
    assert isinstance(events[0].error, scopegate.TokenEndpointError)
    assert events[0].error.error == "invalid_client"
    # A failure before anything was sent is tried again; after, it fails.
    session.client_credentials(now)
    request = session.poll_transmit(now)
    assert request is not None
    session.handle_transport_error(now, request, "connection refused", may_have_been_sent=False)
    again = session.poll_transmit(now)
    assert again is not None
    session.handle_transport_error(now, again, "connection reset")
    failed = session.poll_event()
    assert failed is not None and isinstance(failed.error, scopegate.TransportError)
    with pytest.raises(scopegate.UsageError):
        session.handle_response(now, again, 200)


def test_session_state_and_misuse(sandbox: scopegate.testing.Sandbox) -> None:
    # The sandbox's Yuvo (an id of its own, issue 18), to take the tokens got from it below.
    session = scopegate.Session(sandbox.provider("yuvo"), "client", account="acme")
    assert session.account == "acme" and session.tokens is None and not session.is_busy
    with pytest.raises(scopegate.NotAuthorized):
        session.api_request(0, "GET", "companies")
    with pytest.raises(scopegate.NotAuthorized):
        session.refresh(0)
    other = scopegate.Session(sandbox.provider("yuvo"), scopegate.testing.SANDBOX_CLIENT_ID, scopegate.testing.SANDBOX_CLIENT_SECRET)
    other.client_credentials(sandbox.now())
    drive(other, sandbox.now())
    assert other.tokens is not None
    session.set_tokens(other.tokens)
    assert session.tokens == other.tokens
    session.set_tokens(None)
    assert session.tokens is None
    with pytest.raises(scopegate.UsageError):
        scopegate.Session("yespo", "c").set_tokens(other.tokens)  # another provider's tokens
    busy = scopegate.Session(sandbox.provider("yuvo"), "c", "s")
    busy.client_credentials(0)
    with pytest.raises(scopegate.UsageError):
        busy.client_credentials(0)


def test_a_header_that_is_not_utf8_never_costs_the_answer(sandbox: scopegate.testing.Sandbox) -> None:
    """Issue 18: the refresh's answer carries the rotated refresh token next to a Latin-1
    Set-Cookie (as bytes, or as a str with surrogates from `surrogateescape`): the answer is kept."""
    session = scopegate.Session(
        sandbox.provider("yespo"), scopegate.testing.SANDBOX_CLIENT_ID, scopegate.testing.SANDBOX_CLIENT_SECRET, CALLBACK
    )
    now = sandbox.now()
    request = session.start_authorization(now)
    assert request.url is not None
    session.handle_callback(now, request, sandbox.authorize(request.url))
    drive(session, now)
    for odd in [(b"Set-Cookie", b"lang=fran\xe7ais"), ("Set-Cookie", b"lang=fran\xe7ais".decode("utf-8", "surrogateescape"))]:
        before = session.tokens
        assert before is not None and before.refresh_token is not None
        session.refresh(now)
        sent = session.poll_transmit(now)
        assert sent is not None
        status, headers, body = Recorder()(sent.method, sent.url, sent.headers, sent.body)
        session.handle_response(now, sent, status, [*headers.items(), odd, (b"X-\xff", "dropped")], body)
        assert [e.kind for e in iter(session.poll_event, None)] == ["tokens_changed"]
        after = session.tokens
        assert after is not None and after.refresh_token not in (None, before.refresh_token), "rotated and held"
    # Neither a number nor None is a header value: that is the caller's mistake, named.
    session.refresh(now)
    sent = session.poll_transmit(now)
    assert sent is not None
    with pytest.raises(TypeError, match="header"):
        session.handle_response(now, sent, 200, [("X-Count", 3)], b"{}")
