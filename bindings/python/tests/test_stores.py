"""Stores: sealed at rest (SQLite), and the PostgreSQL store when a server is running
(`scripts/pg start`; its connection string in SCOPEGATE_TEST_PG, which scripts/test sets)."""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path
from typing import Callable

import pytest

import scopegate
import scopegate.testing

from conftest import log_in, sandbox_client

KEY1 = bytes([1] * 32)
KEY2 = bytes([2] * 32)


def test_sqlite_sealed_at_rest(sandbox: scopegate.testing.Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "tokens.db"
    store = scopegate.SqliteStore(path, seal_key=KEY1)
    assert "sealed" in repr(store)
    client = sandbox_client(sandbox, "yuvo", store=store)
    token = client.client_credentials()
    secret = token.access_token
    del store, client
    raw = path.read_bytes() + (path.with_name("tokens.db-wal").read_bytes() if path.with_name("tokens.db-wal").exists() else b"")
    assert secret.encode() not in raw
    # rotation: the new key with the old one still accepted
    rotated = scopegate.SqliteStore(path, seal_key=KEY2, old_keys=[KEY1])
    keys = rotated.keys()
    assert len(keys) == 1
    provider, client_id, account = keys[0]
    loaded = rotated.load(provider, client_id, account)
    assert loaded is not None and loaded.access_token == secret
    # a wrong key, or none: a StoreError saying what to set, never "no token"
    with pytest.raises(scopegate.StoreError) as e:
        scopegate.SqliteStore(path, seal_key=KEY2).load(provider, client_id, account)
    assert "SCOPEGATE_STORE_OLD_KEYS" in str(e.value)
    with pytest.raises(scopegate.StoreError):
        scopegate.SqliteStore(path).load(provider, client_id, account)


def test_a_sealed_store_refuses_unsealed_rows(sandbox: scopegate.testing.Sandbox, tmp_path: Path) -> None:
    """Issue 18: with a key, a token set stored without one (or planted by whoever can write the
    file) is a StoreError saying how to seal the store, never a token."""
    path = tmp_path / "tokens.db"
    sandbox_client(sandbox, "yuvo", store=scopegate.SqliteStore(path)).client_credentials()
    (provider, client_id, account), = scopegate.SqliteStore(path).keys()
    with pytest.raises(scopegate.StoreError, match="not sealed") as e:
        scopegate.SqliteStore(path, seal_key=KEY1).load(provider, client_id, account)
    assert "scopegate store seal" in str(e.value)
    assert scopegate.SqliteStore(path).load(provider, client_id, account) is not None


def test_bad_seal_keys_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        scopegate.SqliteStore(tmp_path / "a.db", seal_key=b"short")
    with pytest.raises(ValueError, match="seal_key"):
        scopegate.SqliteStore(tmp_path / "b.db", old_keys=[KEY1])


PG = os.environ.get("SCOPEGATE_TEST_PG")
_no_pg = pytest.mark.skipif(PG is None and "SCOPEGATE_REQUIRE_PG" not in os.environ, reason="no PostgreSQL")


def needs_pg(test: Callable[..., None]) -> Callable[..., None]:
    """A PostgreSQL test: skipped without a server (scripts/test requires one), not in the quick subset."""
    return pytest.mark.full(_no_pg(test))


@needs_pg
def test_postgres_store_with_threads(sandbox: scopegate.testing.Sandbox) -> None:
    assert PG is not None, "SCOPEGATE_REQUIRE_PG is set: run scripts/test"
    store = scopegate.PostgresStore(PG, seal_key=KEY1, pool_size=8)
    assert store.url.startswith("postgres://postgres@") and "sealed" in repr(store)
    account = f"py-{uuid.uuid4()}"
    client = sandbox_client(sandbox, "yespo", store=store, account=account, clock=sandbox.now)
    first = log_in(sandbox, client)
    sandbox.advance(172_800)  # expired
    results: list[str] = []
    lock = threading.Lock()

    def call() -> None:
        token = client.access_token()
        with lock:
            results.append(token)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and results[0] != first.access_token
    counts = sandbox.counters("yespo")["token_requests"]
    assert isinstance(counts, dict) and counts.get("refresh_token") == 1
    # Another handle (another instance of the service) sees the same token.
    other = scopegate.PostgresStore(PG, seal_key=KEY1)
    stored = other.load(sandbox.provider("yespo").id, scopegate.testing.SANDBOX_CLIENT_ID, account)
    assert stored is not None and stored.access_token == results[0]


def test_postgres_down_is_a_store_error_without_the_password() -> None:
    with pytest.raises(scopegate.StoreError) as e:
        scopegate.PostgresStore("postgres://app:PW-S3CRET@127.0.0.1:1/tokens", connect_timeout=2.0)
    assert "PW-S3CRET" not in str(e.value)
    assert "postgres://app@127.0.0.1:1/tokens" in str(e.value)
