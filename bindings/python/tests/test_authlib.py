"""The flows against an authorization server we did not write: Authlib (the server of the Rust
interop tests, crates/scopegate/tests/authlib/server.py)."""

from __future__ import annotations

import pytest

import scopegate
from conftest import Authlib

# The Authlib server runs on this interpreter: Authlib and Flask, not in the quick subset.
pytestmark = pytest.mark.full

BASIC = ("basic-client", "basic secret:+/=")
POST = ("post-client", "post-secret")


def client(server: Authlib, creds: tuple[str, str], body_auth: bool = False, **kw: object) -> scopegate.Client:
    provider = server.provider()
    if body_auth:
        provider = provider.with_overrides('[token]\nclient_auth = "body"\n')
    return scopegate.Client(provider, creds[0], creds[1], redirect_uri="http://127.0.0.1:45678/callback", **kw)  # type: ignore[arg-type]


def authorize(c: scopegate.Client) -> scopegate.TokenSet:
    """Authlib approves at once and redirects to the callback; read its Location."""
    import http.client
    import urllib.parse

    request = c.create_authorization_url()
    assert request.url is not None and "code_challenge_method=S256" in request.url
    u = urllib.parse.urlsplit(request.url)
    conn = http.client.HTTPConnection(u.hostname or "", u.port, timeout=10)
    conn.request("GET", f"{u.path}?{u.query}")
    answer = conn.getresponse()
    location = answer.getheader("Location")
    conn.close()
    assert answer.status == 302 and location is not None
    return c.fetch_token(location, request)


def test_authorization_code_with_pkce_refresh_api_and_revoke(authlib: Authlib) -> None:
    updates: list[scopegate.TokenSet] = []
    c = client(authlib, BASIC, update_token=updates.append)
    token = authorize(c)
    assert token.scopes == ["read"] and token.refresh_token and updates == [token]
    me = c.request("GET", "me")
    assert me.status == 200 and me.json() == {"client_id": "basic-client", "scope": "read"}
    before = authlib.stats()["refreshes"]
    refreshed = c.refresh_token()
    assert refreshed.refresh_token != token.refresh_token and updates[-1] == refreshed
    assert authlib.stats()["refreshes"] == before + 1  # type: ignore[operator]
    assert c.request("GET", "me").status == 200
    assert c.revoke_token() == "revoked"
    assert c.token is None


def test_client_credentials_with_secret_in_the_body(authlib: Authlib) -> None:
    c = client(authlib, POST, body_auth=True, account="app")
    token = c.client_credentials(["read"])
    assert token.identity == "app" and token.scopes == ["read"]
    assert c.request("GET", "me").json() == {"client_id": "post-client", "scope": "read"}


def test_authlib_refusals(authlib: Authlib) -> None:
    wrong = client(authlib, ("basic-client", "wrong"))
    with pytest.raises(scopegate.TokenEndpointError) as e:
        wrong.client_credentials()
    assert e.value.error == "invalid_client" and e.value.status == 401 and "wrong" not in str(e.value)
    # Authlib rotates refresh tokens strictly: the old one is dead.
    c = client(authlib, BASIC)
    first = authorize(c)
    c.refresh_token()
    stale_store = scopegate.MemoryStore()
    stale_store.save(BASIC[0], first)
    stale = client(authlib, BASIC, store=stale_store)
    with pytest.raises(scopegate.ReauthorizationRequired) as dead:
        stale.refresh_token()
    assert dead.value.reason == "invalid_grant" and dead.value.blame is scopegate.Blame.REMOTE
