"""Issue "nothing lost, one refresh", from Python: short-lived tokens, coalesced refreshes, and a
renewed token set that the store failed to write (PostgreSQL stopped mid-refresh, on a sandbox in
strict mode: a rotated-out refresh token presented again revokes the whole grant)."""

from __future__ import annotations

import os
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Mapping

import pytest

import scopegate
import scopegate.testing
from conftest import Authlib, log_in, sandbox_client
from test_authlib import BASIC
from test_authlib import authorize as authlib_authorize
from test_authlib import client as authlib_client
from test_transport import Recorder

ROOT = Path(__file__).resolve().parents[3]
PG = os.environ.get("SCOPEGATE_TEST_PG")


def refreshes(sb: scopegate.testing.Sandbox, provider: str = "yespo") -> int:
    counters = sb.counters(provider)
    grants = counters["token_requests"]
    assert isinstance(grants, dict)
    return int(grants.get("refresh_token", 0))


@pytest.mark.full  # the Authlib server
def test_a_token_shorter_than_the_leeway_is_not_refreshed_on_every_call() -> None:
    # Authlib issuing 30 s tokens, the default leeway of 60 s: 10 access_token() and 2 request()
    # calls used to make 12 refresh requests. Now a token is not due before half its lifetime.
    server = Authlib("--expires-in", "30")
    try:
        c = authlib_client(server, BASIC)
        authlib_authorize(c)
        for _ in range(10):
            c.access_token()
        for _ in range(2):
            assert c.request("GET", "me").status == 200
        stats = server.stats()
        assert stats["refreshes"] == 0, stats
        assert stats["invalid_grant"] == 0, stats
    finally:
        server.stop()


def test_eight_threads_calling_refresh_token_make_one_request(sandbox: scopegate.testing.Sandbox) -> None:
    client = sandbox_client(sandbox)
    log_in(sandbox, client)
    client.access_token()  # every thread has seen the current set
    sandbox.inject("yespo", "slow:500")
    start = threading.Barrier(8)
    got: list[str] = []

    def refresh() -> None:
        start.wait()
        got.append(client.refresh_token().access_token)

    threads = [threading.Thread(target=refresh) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert refreshes(sandbox) == 1, "one refresh request for 8 threads"
    assert len(set(got)) == 1 and len(got) == 8


def pg(action: str) -> None:
    subprocess.run([str(ROOT / "scripts/pg"), action], check=True, capture_output=True)


@pytest.mark.skipif(PG is None, reason="no PostgreSQL (scripts/test sets SCOPEGATE_TEST_PG)")
def test_the_database_stops_mid_refresh_and_nothing_is_lost() -> None:
    assert PG is not None
    with scopegate.testing.Sandbox(strict=True) as sb:
        transport = Recorder()
        armed = threading.Event()

        def send(method: str, url: str, headers: dict[str, str], body: bytes) -> tuple[int, Mapping[str, str], bytes]:
            if b"grant_type=refresh_token" in body and armed.is_set():
                armed.clear()
                stopper = threading.Thread(target=pg, args=("stop",))
                stopper.start()  # PostgreSQL stops while the (slowed) refresh is in flight
                try:
                    return transport(method, url, headers, body)
                finally:
                    stopper.join()
            return transport(method, url, headers, body)

        updates: list[scopegate.TokenSet] = []
        store = scopegate.PostgresStore(PG, connect_timeout=2.0)
        client = sandbox_client(
            sb, "yuvo", store=store, transport=send, update_token=updates.append,
            account=f"py-store-down-{uuid.uuid4().hex[:8]}",
        )
        first = log_in(sb, client)
        sb.inject("yuvo", "slow:1500")
        armed.set()
        with pytest.raises(scopegate.NotSavedError) as raised:
            client.refresh_token()
        e = raised.value
        assert isinstance(e, scopegate.StoreError)
        assert e.kind is scopegate.ErrorKind.NOT_SAVED and e.blame is scopegate.Blame.ENVIRONMENT
        renewed = e.tokens
        assert renewed is not None and renewed.refresh_token != first.refresh_token
        assert updates[-1].refresh_token == renewed.refresh_token, "update_token was called before the raise"
        assert renewed.refresh_token is not None and renewed.refresh_token not in str(e) + repr(e)
        # Still down: the renewed set is used for calls.
        assert client.access_token() == renewed.access_token
        assert client.request("GET", "companies").status == 200
        pg("start")
        # Back: the next call writes it.
        assert client.access_token() == renewed.access_token
        stored = scopegate.PostgresStore(PG).load(client.provider.id, client.client_id, client.account)
        assert stored is not None and stored.refresh_token == renewed.refresh_token
        # The grant lives: a refresh from the renewed refresh token.
        again = client.refresh_token()
        assert again.access_token != renewed.access_token
        counters = sb.counters("yuvo")
        assert refreshes(sb, "yuvo") == 2
        assert counters["reuse_detected"] == 0 and counters["token_errors"] == 0, counters


def test_a_row_sealed_with_a_lost_key_can_still_be_forgotten(sandbox: scopegate.testing.Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "tokens.db"
    old = sandbox_client(sandbox, "yuvo", store=scopegate.SqliteStore(path, seal_key=b"\x01" * 32))
    old.client_credentials()
    lost = sandbox_client(sandbox, "yuvo", store=scopegate.SqliteStore(path, seal_key=b"\x02" * 32))
    with pytest.raises(scopegate.StoreError):
        lost.access_token()
    assert lost.forget() is True  # removed without being read
    with pytest.raises(scopegate.NotAuthorized):
        lost.access_token()
