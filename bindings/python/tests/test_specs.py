"""Issue 23's specs from Python, against the sandbox's ``/specs`` server (in-process, loopback):
PAR, the device login, DPoP (nonces, never Bearer), ``client_key=``, and the ``Session``'s new
events. The same flows against node-oidc-provider are in ``test_oidc.py``."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

import scopegate
from scopegate.testing import Sandbox

from conftest import CALLBACK

SECRET = "specs-secret"
KEYS = Path(__file__).resolve().parents[3] / "crates/scopegate-core/tests/keys"


def specs_provider(sb: Sandbox, overrides: str = "") -> scopegate.Provider:
    issuer = f"{sb.base_url}/specs"
    with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration") as r:  # loopback only
        metadata = r.read().decode()
    p = scopegate.Provider.from_discovery(issuer, metadata)
    return p.with_overrides(f'[api]\nbase_url = "{issuer}/api/"\n{overrides}')


def test_from_discovery_checks_the_issuer(sandbox: Sandbox) -> None:
    p = specs_provider(sandbox)
    assert p.id
    with urllib.request.urlopen(f"{sandbox.base_url}/specs/.well-known/openid-configuration") as r:
        metadata = r.read().decode()
    with pytest.raises(scopegate.ConfigError, match="issuer"):
        scopegate.Provider.from_discovery("https://elsewhere.example", metadata)


def test_par_client_gets_a_url_with_only_client_id_and_request_uri(sandbox: Sandbox) -> None:
    client = scopegate.Client(
        specs_provider(sandbox, "[authorization]\npar = true\n"), "specs-par", SECRET, redirect_uri=CALLBACK
    )
    request = client.create_authorization_url()
    assert request.url is not None
    assert [k for k, _ in parse_qsl(urlsplit(request.url).query)] == ["client_id", "request_uri"]
    tokens = client.fetch_token(authorization_response=sandbox.authorize(request.url), request=request)
    assert tokens.token_type == "Bearer"


def test_dpop_client_calls_with_a_proof_and_a_nonce(sandbox: Sandbox) -> None:
    client = scopegate.Client(
        specs_provider(sandbox, "[dpop]\nrequired = true\n"), "specs-dpop", SECRET, redirect_uri=CALLBACK
    )
    request = client.create_authorization_url()
    assert request.url is not None
    tokens = client.fetch_token(authorization_response=sandbox.authorize(request.url), request=request)
    assert tokens.token_type == "DPoP"
    assert tokens.dpop_thumbprint
    # The key is a secret: no repr shows it; dumps() is the way out, for storage.
    assert "dpop" not in repr(tokens).lower()
    assert json.loads(tokens.dumps())["dpop_key"]["format"] == "scopegate.dpop_key"
    assert scopegate.TokenSet.loads(tokens.dumps()) == tokens
    assert client.request("GET", "me").status == 200
    assert client.request("GET", "me").status == 200
    renewed = client.refresh_token()
    assert renewed.dpop_thumbprint == tokens.dpop_thumbprint
    assert client.request("GET", "me").status == 200


def test_device_login_shows_the_code_and_waits(sandbox: Sandbox) -> None:
    client = scopegate.Client(specs_provider(sandbox), "specs-client", SECRET)
    shown: list[scopegate.UserCode] = []

    def approve(code: scopegate.UserCode) -> None:
        shown.append(code)
        # The user approves on another device.
        with urllib.request.urlopen(code.uri) as r:  # loopback only
            assert r.status == 200

    tokens = client.device_login(on_code=approve)
    assert len(shown) == 1
    code = shown[0]
    assert code.verification_uri_complete == code.uri and code.user_code in code.uri
    assert code.interval == 5 and code.expires_at > 0
    assert "UserCode(user_code=" in repr(code)
    assert tokens.refresh_token is not None and client.token == tokens


def test_device_login_refused_is_authorization_denied() -> None:
    with Sandbox(consent="deny") as sb:
        client = scopegate.Client(specs_provider(sb), "specs-client", SECRET)

        def refuse(code: scopegate.UserCode) -> None:
            urllib.request.urlopen(code.uri).close()  # loopback only

        with pytest.raises(scopegate.AuthorizationDenied) as e:
            client.device_login(on_code=refuse)
        assert e.value.kind is scopegate.ErrorKind.AUTHORIZATION_DENIED


def test_client_key_is_pem_text_or_bytes_and_never_shown() -> None:
    pem = (KEYS / "es256.pem").read_text()
    p = scopegate.Provider.from_toml(
        """
id = "as"
[authorization]
url = "https://as.example/authorize"
[token]
url = "https://as.example/token"
client_auth = "private_key_jwt"
grants = ["client_credentials"]
"""
    )
    sent: list[dict[str, str]] = []

    def transport(method: str, url: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        sent.append(dict(parse_qsl(body.decode())))
        return 200, {"Content-Type": "application/json"}, b'{"access_token":"a","token_type":"Bearer"}'

    for key in (pem, pem.encode()):
        c = scopegate.Client(p, "client-1", client_key=key, transport=transport)
        assert pem[40:80] not in repr(c)
        c.client_credentials()
    assert [s["client_assertion_type"] for s in sent] == ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"] * 2
    assert sent[0]["client_assertion"] != sent[1]["client_assertion"]
    with pytest.raises(scopegate.ConfigError, match="not a usable private key"):
        scopegate.Client(p, "client-1", client_key="not a key")
    with pytest.raises(TypeError):
        scopegate.Client(p, "client-1", client_key=42)  # type: ignore[arg-type]
    with pytest.raises(scopegate.ConfigError, match="private_key_jwt"):
        scopegate.Client(p, "client-1", transport=transport).client_credentials()


def test_session_events_for_par_device_and_dpop_nonces(sandbox: Sandbox) -> None:
    def send(request: scopegate.Request) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(request.url, data=request.body or None, method=request.method)
        for k, v in request.headers.items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req) as r:  # loopback only
                return r.status, dict(r.headers.items()), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers.items()), e.read()

    def run(s: scopegate.Session, now: float) -> list[scopegate.Event]:
        while (request := s.poll_transmit(now)) is not None:
            status, headers, body = send(request)
            s.handle_response(now, request, status, headers, body)
        events = []
        while (e := s.poll_event()) is not None:
            events.append(e)
        return events

    now = sandbox.now()
    # PAR: the push is the operation; the URL comes with the event.
    s = scopegate.Session(specs_provider(sandbox, "[authorization]\npar = true\n"), "specs-par", SECRET, CALLBACK)
    request = s.start_authorization(now)
    assert request.url is None
    (ready,) = run(s, now)
    assert ready.kind == "authorization_ready" and ready.url is not None
    assert s.authorization_url(now) == ready.url
    with pytest.raises(scopegate.AuthorizationExpired):
        s.authorization_url(now + 61)
    # The device grant: the code event, then polls through the timer.
    s = scopegate.Session(specs_provider(sandbox), "specs-client", SECRET)
    s.start_device_authorization(now)
    (code,) = run(s, now)
    assert code.kind == "user_code" and code.user_code is not None
    with urllib.request.urlopen(code.user_code.uri):  # loopback only
        pass
    at = s.poll_timeout()
    assert at == now + 5
    sandbox.advance(5)
    s.handle_timeout(at)
    assert [e.kind for e in run(s, at)] == ["tokens_changed"]
    # DPoP at the resource: a nonce challenge, answered once.
    s = scopegate.Session(specs_provider(sandbox, "[dpop]\nrequired = true\n"), "specs-dpop", SECRET)
    now = sandbox.now()
    s.client_credentials(now)
    assert [e.kind for e in run(s, now)] == ["tokens_changed"]
    tokens = s.tokens
    assert tokens is not None and tokens.token_type == "DPoP"
    request = s.api_request(now, "GET", "me")
    assert request.headers["Authorization"].startswith("DPoP ") and "DPoP" in request.headers
    status, headers, body = send(request)
    assert s.handle_api_response(now, request, status, headers, body) == "retry_with_nonce"
    request = s.api_request(now, "GET", "me")
    status, headers, body = send(request)
    assert status == 200
    assert s.handle_api_response(now, request, status, headers, body) == "done"
