"""Issue 23's "done when" from Python, against node-oidc-provider (an OpenID Certified server we
did not write; ``crates/scopegate/tests/oidc``; ``scripts/test`` starts it and sets
``SCOPEGATE_TEST_OIDC``): a discovered profile logs in as is (the loopback login), the device
login, a private_key_jwt client (``client_key=``) logs in and refreshes, a PAR-required client
logs in, a DPoP-required client logs in, refreshes and calls a DPoP-protected resource with nonce
round trips. Logins go through the provider's own pages with a headless browser (cookies, forms,
redirects by hand)."""

from __future__ import annotations

import html
import json
import os
import re
import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional, Union
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest

import scopegate

KEYS = Path(__file__).resolve().parents[3] / "crates/scopegate-core/tests/keys"
PASSWORD = "wonderland"


@pytest.fixture(scope="module")
def issuer() -> str:
    url = os.environ.get("SCOPEGATE_TEST_OIDC")
    if not url:
        if os.environ.get("SCOPEGATE_REQUIRE_OIDC"):
            pytest.fail("SCOPEGATE_REQUIRE_OIDC is set but SCOPEGATE_TEST_OIDC names no server")
        pytest.skip("no node-oidc-provider server (scripts/oidc start, then set SCOPEGATE_TEST_OIDC)")
    return url.rstrip("/")


def get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url) as r:  # loopback only
        data: dict[str, object] = json.load(r)
        return data


def provider(issuer: str, overrides: str = "") -> scopegate.Provider:
    with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration") as r:  # loopback only
        p = scopegate.Provider.from_discovery(issuer, r.read().decode())
    return p.with_overrides(overrides) if overrides else p


def redirect_uri() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/callback"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class Browser:
    """Cookies by name, redirects followed by hand, the first form of a page submitted."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}
        self.opener = urllib.request.build_opener(_NoRedirect)

    def request(self, method: str, url: str, form: Optional[list[tuple[str, str]]] = None) -> tuple[int, dict[str, str], str]:
        data = urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        if self.cookies:
            req.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        try:
            resp = self.opener.open(req)
        except urllib.error.HTTPError as e:
            resp = e
        with resp:
            for c in resp.headers.get_all("Set-Cookie") or []:
                name, _, value = c.split(";", 1)[0].partition("=")
                if value:
                    self.cookies[name.strip()] = value
                else:
                    self.cookies.pop(name.strip(), None)
            body = resp.read().decode("utf-8", "replace")
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, body

    def walk(self, start: str, stop_at: str) -> Union[str, tuple[int, str]]:
        """Goes through the provider's pages from `start`: the redirect URL to `stop_at`, or the
        last page (status, html)."""
        method, url, form = "GET", start, None
        for _ in range(30):
            status, headers, body = self.request(method, url, form)
            if 300 <= status < 400:
                url = urljoin(url, headers["location"])
                if url.startswith(stop_at):
                    return url
                method, form = "GET", None
                continue
            m = re.search(r'<form[^>]*action="([^"]*)"', body)
            if status != 200 or m is None:
                return status, body
            fields = [
                (html.unescape(n), html.unescape(v))
                for n, v in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', body)
            ]
            if 'name="password"' in body:
                fields += [("login", "alice"), ("password", PASSWORD)]
            method, url, form = "POST", urljoin(url, html.unescape(m.group(1))), fields
        raise AssertionError("too many pages")


def log_in(client: scopegate.Client) -> tuple[scopegate.TokenSet, str]:
    """create_authorization_url, the provider's pages, fetch_token: the tokens and the URL."""
    request = client.create_authorization_url()
    assert request.url is not None and client.redirect_uri is not None
    callback = Browser().walk(request.url, client.redirect_uri)
    assert isinstance(callback, str), callback
    return client.fetch_token(authorization_response=callback, request=request), request.url


def test_a_discovered_profile_logs_in_as_is_with_the_loopback_login(issuer: str) -> None:
    client = scopegate.Client(provider(issuer), "basic-client", "basic-secret", redirect_uri=redirect_uri())
    errors: list[BaseException] = []

    def browser(url: str) -> None:
        def go() -> None:
            try:
                assert client.redirect_uri is not None
                callback = Browser().walk(url, client.redirect_uri)
                assert isinstance(callback, str), callback
                with urllib.request.urlopen(callback) as r:  # our own loopback listener
                    assert r.status == 200
            except BaseException as e:  # noqa: BLE001 - reported by the test
                errors.append(e)

        threading.Thread(target=go, daemon=True).start()

    tokens = client.login(open_browser=browser, timeout=60)
    assert not errors, errors
    assert tokens.refresh_token is not None and "openid" in tokens.scopes
    assert client.refresh_token().refresh_token != tokens.refresh_token


def test_device_login_completes(issuer: str) -> None:
    client = scopegate.Client(provider(issuer), "device-client", "device-secret")
    shown: list[scopegate.UserCode] = []

    def approve(code: scopegate.UserCode) -> None:
        shown.append(code)
        page = Browser().walk(code.uri, "http://never.example")
        assert isinstance(page, tuple) and page[0] == 200 and "Device approved" in page[1], page

    tokens = client.device_login(on_code=approve)
    assert len(shown) == 1 and "user_code=" in shown[0].uri
    assert tokens.refresh_token is not None
    assert client.refresh_token().access_token != tokens.access_token


def test_private_key_jwt_client_logs_in_and_refreshes(issuer: str) -> None:
    p = provider(issuer, '[token]\nclient_auth = "private_key_jwt"\n')
    for client_id, key in [("jwt-es256", "es256.pem"), ("jwt-eddsa", "eddsa.pem"), ("jwt-rs256", "rs256.pem")]:
        pem = (KEYS / key).read_bytes()
        client = scopegate.Client(p, client_id, client_key=pem, redirect_uri=redirect_uri())
        tokens, _ = log_in(client)
        assert client.refresh_token().refresh_token != tokens.refresh_token, client_id
    # The wrong key: the provider refuses the assertion, the caller's configuration to blame.
    wrong = scopegate.Client(p, "jwt-rs256", client_key=(KEYS / "es256.pem").read_text())
    with pytest.raises(scopegate.TokenEndpointError) as e:
        wrong.client_credentials()
    assert e.value.error == "invalid_client" and e.value.blame is scopegate.Blame.LOCAL


def test_par_required_client_logs_in(issuer: str) -> None:
    client = scopegate.Client(
        provider(issuer, "[authorization]\npar = true\n"), "par-client", "par-secret", redirect_uri=redirect_uri()
    )
    tokens, url = log_in(client)
    assert [k for k, _ in parse_qsl(urlsplit(url).query)] == ["client_id", "request_uri"]
    assert tokens.token_type == "Bearer"


def test_dpop_client_logs_in_refreshes_and_calls_the_resource_with_nonces(issuer: str) -> None:
    p = provider(issuer, f'[dpop]\nrequired = true\n[api]\nbase_url = "{issuer}/api/"\n')
    client = scopegate.Client(p, "dpop-client", "dpop-secret", redirect_uri=redirect_uri())
    before = get_json(f"{issuer}/_test/stats")
    tokens, _ = log_in(client)
    assert tokens.token_type == "DPoP" and tokens.dpop_thumbprint
    me = client.request("GET", "me")
    assert me.status == 200, me.text
    assert me.json() == {"sub": "alice", "client_id": "dpop-client", "token_type": "DPoP", "jkt": tokens.dpop_thumbprint}
    renewed = client.refresh_token()
    assert renewed.token_type == "DPoP" and renewed.dpop_thumbprint == tokens.dpop_thumbprint
    assert client.request("GET", "me").status == 200
    after = get_json(f"{issuer}/_test/stats")
    n = lambda s, k: int(s[k])  # noqa: E731
    assert n(after, "api_nonce_challenges") == n(before, "api_nonce_challenges") + 1, "one round trip, then kept"
    assert n(after, "api_dpop") == n(before, "api_dpop") + 2
    # Never as Bearer: the resource would refuse it, and the client never sends it so.
    req = urllib.request.Request(f"{issuer}/api/me", headers={"Authorization": f"Bearer {renewed.access_token}"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)  # loopback only
    e.value.close()
    assert e.value.code == 401
