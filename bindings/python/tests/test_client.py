"""Client against the sandbox: every flow and every documented exception."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import scopegate
import scopegate.testing
from conftest import CALLBACK, log_in, sandbox_client


def test_authorization_code_flow(sandbox: scopegate.testing.Sandbox) -> None:
    client = sandbox_client(sandbox)
    assert client.token is None
    request = client.create_authorization_url()
    assert request.url is not None and request.url.startswith(sandbox.base_url + "/yespo/uaa/oauth/authorize?")
    assert f"state={request.state}" in request.url and len(request.state) >= 32
    assert request.redirect_uri == CALLBACK and not request.used
    callback = sandbox.authorize(request.url)
    token = client.fetch_token(authorization_response=callback, request=request)
    assert request.used
    assert token.identity == "user" and token.token_type == "Bearer" and token.scopes == ["UseRestApi"]
    assert token.refresh_token and token.expires_at is not None and not token.is_expired()
    assert client.token == token
    assert client.access_token() == token.access_token
    # Basic client authentication at the token endpoint, as the Yespo document's sample does.
    assert sandbox.counters("yespo")["token_requests"] == {"authorization_code": 1}


def test_a_web_app_keeps_the_request_in_its_session(sandbox: scopegate.testing.Sandbox) -> None:
    client = sandbox_client(sandbox)
    request = client.create_authorization_url()
    assert request.url is not None
    saved = request.dumps()  # server-side session storage
    restored = scopegate.AuthorizationRequest.loads(saved)
    assert restored.url is None and restored.state == request.state
    token = client.fetch_token(sandbox.authorize(request.url), restored)
    assert token.access_token
    with pytest.raises(scopegate.CallbackError) as used:
        client.fetch_token(sandbox.authorize(request.url), restored)
    assert used.value.kind is scopegate.ErrorKind.CALLBACK and not isinstance(used.value, scopegate.StateMismatch)
    with pytest.raises(scopegate.SerializationError):
        scopegate.AuthorizationRequest.loads('{"format": "something else"}')


def test_state_is_checked(sandbox: scopegate.testing.Sandbox) -> None:
    client = sandbox_client(sandbox)
    request = client.create_authorization_url()
    other = client.create_authorization_url()
    assert other.url is not None
    forged = sandbox.authorize(other.url)  # a callback for another request
    with pytest.raises(scopegate.StateMismatch) as e:
        client.fetch_token(forged, request)
    assert e.value.kind is scopegate.ErrorKind.CALLBACK and e.value.blame is scopegate.Blame.REMOTE
    with pytest.raises(scopegate.StateMismatch):
        client.fetch_token(CALLBACK + "?code=abc", request)
    assert client.token is None


def test_refused_consent() -> None:
    with scopegate.testing.Sandbox(consent="deny") as sb:
        client = sandbox_client(sb, "yuvo")
        request = client.create_authorization_url()
        assert request.url is not None
        with pytest.raises(scopegate.AuthorizationDenied) as e:
            client.fetch_token(sb.authorize(request.url), request)
    assert e.value.error == "access_denied" and e.value.kind == 5 and e.value.blame is scopegate.Blame.REMOTE


def test_requests_and_responses(sandbox: scopegate.testing.Sandbox) -> None:
    client = sandbox_client(sandbox, rights=["events_and_contacts"])
    with pytest.raises(scopegate.NotAuthorized) as no:
        client.request("GET", "contacts")
    assert no.value.kind is scopegate.ErrorKind.NOT_AUTHORIZED
    log_in(sandbox, client)
    r = client.request("GET", "contacts")
    assert r.status == 200 and r.ok and isinstance(r.json(), (list, dict))
    assert r.headers["content-type"].startswith("application/json")
    assert json.loads(r.text) == r.json() and r.content == r.text.encode()
    assert repr(r) == "<Response [200]>"
    assert client.request("get", sandbox.base_url + "/yespo/api/v2/version").status == 200
    posted = client.request("POST", "event", json={"eventTypeKey": "x", "keyValue": "a@b.c"})
    assert posted.status < 500
    # Refused before anything is sent:
    with pytest.raises(scopegate.PermissionDenied) as denied:
        client.request("POST", "message/email", json={})
    assert denied.value.needs == ["full_api", "messages"] and denied.value.endpoint == "message/email"
    with pytest.raises(scopegate.PathRejected) as elsewhere:
        client.request("GET", "https://elsewhere.example/contacts")  # the permission check first
    assert elsewhere.value.reason == "other_origin"
    unchecked = sandbox_client(sandbox, store=client.store)  # no rights: no permission check
    with pytest.raises(scopegate.OriginRefused):
        unchecked.request("GET", "https://elsewhere.example/contacts")
    with pytest.raises(scopegate.PathRejected) as rejected:
        client.request("GET", "contact/%2e%2e/contacts")
    assert rejected.value.reason == "encoded_dot"
    with pytest.raises(scopegate.UnknownEndpoint):
        client.request("GET", "orders/1")
    with pytest.raises(scopegate.ConfigError):
        client.request("FETCH", "contacts")


def test_refresh_and_stores_shared_by_clients(sandbox: scopegate.testing.Sandbox, tmp_path: Path) -> None:
    store = scopegate.SqliteStore(tmp_path / "tokens.db")
    assert repr(store).startswith("SqliteStore(") and store.path == tmp_path / "tokens.db"
    first = log_in(sandbox, sandbox_client(sandbox, store=store))
    again = sandbox_client(sandbox, store=scopegate.SqliteStore(tmp_path / "tokens.db"))
    assert again.token == first  # another object, same file
    refreshed = again.refresh_token()
    assert refreshed.access_token != first.access_token and refreshed.refresh_token != first.refresh_token
    here = sandbox.provider("yespo").id  # pointed at the sandbox: an id of its own (issue 18)
    assert store.load(here, scopegate.testing.SANDBOX_CLIENT_ID) == refreshed
    assert store.keys() == [(here, scopegate.testing.SANDBOX_CLIENT_ID, "default")]
    # The rotated-out refresh token is dead at the provider: only a new login helps.
    old = scopegate.MemoryStore()
    old.save(scopegate.testing.SANDBOX_CLIENT_ID, first)
    stale = sandbox_client(sandbox, store=old)
    with pytest.raises(scopegate.ReauthorizationRequired) as e:
        stale.refresh_token()
    assert e.value.reason == "invalid_grant" and not isinstance(e.value, scopegate.ReinstallRequired)
    assert stale.token is not None and stale.token.invalidated == "invalid_grant"
    with pytest.raises(scopegate.ReauthorizationRequired):
        stale.access_token()  # known dead: no request
    assert store.delete(here, scopegate.testing.SANDBOX_CLIENT_ID) and store.keys() == []


def test_client_credentials_and_identities(sandbox: scopegate.testing.Sandbox) -> None:
    app = sandbox_client(sandbox, "yuvo", account="app")
    token = app.client_credentials()
    assert token.identity == "app" and app.access_token() == token.access_token
    user = sandbox_client(sandbox, "yuvo", store=app.store, account="app")
    with pytest.raises(scopegate.IdentityMismatch):
        log_in(sandbox, user)
    with pytest.raises(scopegate.ConfigError):
        sandbox_client(sandbox, "yespo").client_credentials()  # Yespo has no such grant


def test_token_endpoint_errors(sandbox: scopegate.testing.Sandbox) -> None:
    wrong = scopegate.Client(sandbox.provider("yuvo"), scopegate.testing.SANDBOX_CLIENT_ID, "wrong secret")
    with pytest.raises(scopegate.TokenEndpointError) as e:
        wrong.client_credentials()
    assert e.value.error == "invalid_client" and e.value.status in (400, 401)
    assert e.value.blame is scopegate.Blame.LOCAL and "wrong secret" not in str(e.value)
    client = sandbox_client(sandbox, "yuvo")
    sandbox.inject("yuvo", "malformed-json")
    with pytest.raises(scopegate.ProtocolError) as p:
        client.client_credentials()
    assert p.value.kind is scopegate.ErrorKind.PROTOCOL and p.value.error is None
    assert isinstance(p.value, scopegate.TokenEndpointError)


def test_yotpo_install_uninstall_and_reinstall(sandbox: scopegate.testing.Sandbox) -> None:
    sandbox.register("yotpo", "yotpo-app", "yotpo-secret", redirect_uri=CALLBACK)
    client = scopegate.Client(sandbox.provider("yotpo"), "yotpo-app", "yotpo-secret", redirect_uri=CALLBACK)
    token = log_in(sandbox, client)
    store_key = token.params["app_key"]
    assert client.account == store_key and token.expires_at is None
    assert client.request("GET", "store").status == 200
    sandbox.merchant_uninstall(store_key)
    assert [client.request("GET", "store").status for _ in range(2)] == [401, 401]
    with pytest.raises(scopegate.ReinstallRequired) as e:
        client.request("GET", "store")
    assert e.value.reason == "repeated_unauthorized" and isinstance(e.value, scopegate.ReauthorizationRequired)


def test_revoke_token(sandbox: scopegate.testing.Sandbox) -> None:
    sandbox.register("yotpo", "yotpo-app", "yotpo-secret", redirect_uri=CALLBACK)
    client = scopegate.Client(sandbox.provider("yotpo"), "yotpo-app", "yotpo-secret", redirect_uri=CALLBACK)
    log_in(sandbox, client)
    assert client.revoke_token() == "revoked"
    assert client.token is None and sandbox.counters("yotpo")["uninstalls"] == 1
    yespo = sandbox_client(sandbox)
    log_in(sandbox, yespo)
    with pytest.raises(scopegate.ConfigError, match="revocation"):
        yespo.revoke_token()
    assert yespo.forget() and yespo.token is None


def test_loopback_login(sandbox: scopegate.testing.Sandbox) -> None:
    shown: list[str] = []

    def browser(url: str) -> None:
        shown.append(url)
        sandbox.open(url)

    client = scopegate.Client(sandbox.provider("yespo"), scopegate.testing.SANDBOX_CLIENT_ID, scopegate.testing.SANDBOX_CLIENT_SECRET)
    token = client.login(open_browser=browser, timeout=30)
    assert token.identity == "user" and client.token == token
    assert len(shown) == 1 and "state=" in shown[0]
    with pytest.raises(scopegate.LoginError) as e:
        client.login(open_browser=lambda url: None, timeout=0.3)
    assert e.value.kind is scopegate.ErrorKind.LOGIN_TIMEOUT
    real = scopegate.Client("yespo", "id", "secret")
    with pytest.raises(scopegate.ConfigError, match="redirect_uri"):
        real.login(open_browser=False, timeout=1)


def test_reprs_and_messages_never_show_secrets(sandbox: scopegate.testing.Sandbox) -> None:
    client = scopegate.Client(sandbox.provider("yespo"), scopegate.testing.SANDBOX_CLIENT_ID, scopegate.testing.SANDBOX_CLIENT_SECRET, redirect_uri=CALLBACK)
    request = client.create_authorization_url()
    token = log_in(sandbox, client)
    secrets = [scopegate.testing.SANDBOX_CLIENT_SECRET, request.state, token.access_token, token.refresh_token or "?"]
    shown = " ".join(repr(x) for x in (client, request, token, client.store, sandbox, client.provider))
    assert "[redacted]" in repr(token) and "[redacted]" in repr(request)
    for s in secrets:
        assert s not in shown
    with pytest.raises(scopegate.StateMismatch) as e:
        client.fetch_token(CALLBACK + "?code=" + token.access_token + "&state=x", client.create_authorization_url())
    for s in secrets:
        assert s not in str(e.value)
