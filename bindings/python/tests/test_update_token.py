"""update_token: called after every change of the tokens, before the new token is used."""

from __future__ import annotations

import threading
import urllib.parse

import pytest

import scopegate
import scopegate.testing
from conftest import CALLBACK, log_in
from test_transport import Recorder


def test_update_token_comes_before_the_new_token_is_used(sandbox: scopegate.testing.Sandbox) -> None:
    log: list[tuple[str, str]] = []
    transport = Recorder()

    def send(method: str, url: str, headers: dict[str, str], body: bytes) -> object:
        bearer = headers.get("Authorization", "")
        log.append(("send " + urllib.parse.urlsplit(url).path, bearer.removeprefix("Bearer ")))
        return transport(method, url, headers, body)

    def update_token(token: scopegate.TokenSet) -> None:
        assert isinstance(token, scopegate.TokenSet)
        log.append(("update", token.access_token))

    client = scopegate.Client(
        sandbox.provider("yespo"), scopegate.testing.SANDBOX_CLIENT_ID, scopegate.testing.SANDBOX_CLIENT_SECRET,
        redirect_uri=CALLBACK, transport=send, update_token=update_token, clock=sandbox.now,  # type: ignore[arg-type]
    )
    first = log_in(sandbox, client)
    assert log[-1] == ("update", first.access_token)  # before fetch_token returned
    assert first.expires_at is not None
    sandbox.advance(int(first.expires_at - sandbox.now()) + 1)  # expired: the call refreshes first
    log.clear()
    client.request("GET", "contacts")
    kinds = [k for k, _ in log]
    assert kinds == ["send /yespo/uaa/oauth/token", "update", "send /yespo/api/v1/contacts"]
    assert log[2][1] == log[1][1] != first.access_token  # the API call carries the token update_token saw
    log.clear()
    refreshed = client.refresh_token()
    assert log[-1] == ("update", refreshed.access_token)


def test_other_threads_never_see_a_token_before_update_token(sandbox: scopegate.testing.Sandbox) -> None:
    seen: set[str] = set()
    used_unseen: list[str] = []
    client_box: list[scopegate.Client] = []

    def update_token(token: scopegate.TokenSet) -> None:
        # Slow persistence: another thread asking for the token meanwhile must wait.
        threading.Event().wait(0.2)
        seen.add(token.access_token)

    client = scopegate.Client(
        sandbox.provider("yespo"), scopegate.testing.SANDBOX_CLIENT_ID, scopegate.testing.SANDBOX_CLIENT_SECRET,
        redirect_uri=CALLBACK, update_token=update_token,
    )
    client_box.append(client)
    log_in(sandbox, client)

    def reader() -> None:
        for _ in range(20):
            t = client.access_token()
            if t not in seen:
                used_unseen.append(t)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    refresher = threading.Thread(target=lambda: [client.refresh_token() for _ in range(3)])
    refresher.start()
    for t in threads:
        t.start()
    refresher.join(30)
    for t in threads:
        t.join(30)
    assert used_unseen == []


def test_an_update_token_exception_propagates_and_the_token_is_kept(sandbox: scopegate.testing.Sandbox) -> None:
    class SaveFailed(Exception):
        pass

    def update_token(token: scopegate.TokenSet) -> None:
        raise SaveFailed("database down")

    client = scopegate.Client(
        sandbox.provider("yespo"), scopegate.testing.SANDBOX_CLIENT_ID, scopegate.testing.SANDBOX_CLIENT_SECRET,
        redirect_uri=CALLBACK, update_token=update_token,
    )
    with pytest.raises(SaveFailed):
        log_in(sandbox, client)
    assert client.token is not None  # the rotated tokens are never lost


def test_update_token_may_read_the_client_again(sandbox: scopegate.testing.Sandbox) -> None:
    box: list[scopegate.Client] = []
    inside: list[scopegate.TokenSet | None] = []

    client = scopegate.Client(
        sandbox.provider("yespo"), scopegate.testing.SANDBOX_CLIENT_ID, scopegate.testing.SANDBOX_CLIENT_SECRET,
        redirect_uri=CALLBACK, update_token=lambda t: inside.append(box[0].token),
    )
    box.append(client)
    token = log_in(sandbox, client)
    assert inside == [token]


def test_update_token_must_be_callable() -> None:
    with pytest.raises(TypeError, match="update_token must be callable"):
        scopegate.Client("yespo", "c", "s", update_token=42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="clock must be callable"):
        scopegate.Client("yespo", "c", "s", clock="now")  # type: ignore[arg-type]
