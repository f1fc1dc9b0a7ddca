"""Fixtures: a sandbox per test, the Authlib server of the Rust interop tests, logged-in clients.

Every server listens on 127.0.0.1 on an ephemeral port and stops with its fixture.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Iterator, Optional

import pytest

import scopegate
import scopegate.testing

ROOT = Path(__file__).resolve().parents[3]
AUTHLIB_SERVER = ROOT / "crates/scopegate/tests/authlib/server.py"
# A redirect URI nobody listens on: the tests hand the callback URL to fetch_token themselves.
CALLBACK = "http://127.0.0.1:9/callback"


@pytest.fixture
def sandbox() -> Iterator[scopegate.testing.Sandbox]:
    with scopegate.testing.Sandbox() as sb:
        yield sb


def sandbox_client(
    sb: scopegate.testing.Sandbox, provider: str = "yespo", store: Optional[scopegate.TokenStore] = None, **kw: object
) -> scopegate.Client:
    return scopegate.Client(
        sb.provider(provider),
        scopegate.testing.SANDBOX_CLIENT_ID,
        scopegate.testing.SANDBOX_CLIENT_SECRET,
        redirect_uri=CALLBACK,
        store=store,
        **kw,  # type: ignore[arg-type]
    )


def log_in(sb: scopegate.testing.Sandbox, client: scopegate.Client) -> scopegate.TokenSet:
    """The authorization code flow, the sandbox playing the user's browser."""
    request = client.create_authorization_url()
    assert request.url is not None
    return client.fetch_token(authorization_response=sb.authorize(request.url), request=request)


class Authlib:
    """The Authlib authorization server (crates/scopegate/tests/authlib/server.py)."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-W", "error::DeprecationWarning", str(AUTHLIB_SERVER), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.startswith("PORT "), f"the authlib server did not start: {line!r}"
        self.base = f"http://127.0.0.1:{int(line.split()[1])}"

    def provider(self) -> scopegate.Provider:
        return scopegate.Provider.from_toml(
            f"""
id = "authlib"
name = "Authlib test server"

[authorization]
url = "{self.base}/authorize"
pkce = "S256"
scopes = ["read"]
loopback_any_port = true

[token]
url = "{self.base}/token"
client_auth = "basic"
grants = ["authorization_code", "refresh_token", "client_credentials"]

[api]
base_url = "{self.base}/api/"

[revocation]
kind = "rfc7009"
url = "{self.base}/revoke"
""",
            "authlib test server",
        )

    def stats(self) -> dict[str, object]:
        import json
        import urllib.request

        with urllib.request.urlopen(f"{self.base}/stats") as r:  # loopback only
            data: dict[str, object] = json.load(r)
            return data

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture(scope="module")
def authlib() -> Iterator[Authlib]:
    server = Authlib()
    try:
        yield server
    finally:
        server.stop()
