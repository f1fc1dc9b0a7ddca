"""What Python sees of the library at work (issue 22): ``logging`` records per operation, at
levels by kind, never a secret; ``client.stats()`` counters."""

from __future__ import annotations

import logging

import pytest

import scopegate
import scopegate.testing
from conftest import log_in, sandbox_client


def test_records_go_to_the_scopegate_loggers(sandbox: scopegate.testing.Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="scopegate")
    client = sandbox_client(sandbox, clock=sandbox.now)
    tokens = log_in(sandbox, client)
    client.request("GET", "contacts")
    sandbox.inject("yespo", "503")
    with pytest.raises(scopegate.Error):
        client.refresh_token()
    renewed = client.refresh_token()

    records = [(r.name, r.levelno, r.getMessage()) for r in caplog.records if r.name.startswith("scopegate")]
    assert any(
        name == "scopegate.exchange" and level == logging.DEBUG and "done" in m and "provider=yespo" in m
        for name, level, m in records
    ), records
    assert any(name == "scopegate.api" and level == logging.DEBUG for name, level, _ in records), records
    assert any(
        name == "scopegate.refresh" and level == logging.WARNING and "outcome=provider_5xx" in m for name, level, m in records
    ), records
    text = "\n".join(m for _, _, m in records)
    for secret in (
        tokens.access_token,
        tokens.refresh_token,
        renewed.access_token,
        renewed.refresh_token,
        scopegate.testing.SANDBOX_CLIENT_SECRET,
    ):
        assert secret and secret not in text

    # The loggers' levels decide: at WARNING, a successful refresh logs nothing.
    caplog.clear()
    logging.getLogger("scopegate").setLevel(logging.WARNING)
    caplog.set_level(logging.WARNING, logger="scopegate")
    client.refresh_token()
    assert [r for r in caplog.records if r.name.startswith("scopegate")] == []


def test_stats_count_by_outcome(sandbox: scopegate.testing.Sandbox) -> None:
    client = sandbox_client(sandbox, clock=sandbox.now)
    assert client.stats()["exchanges"] == 0
    log_in(sandbox, client)
    sandbox.inject("yespo", "503")
    with pytest.raises(scopegate.Error):
        client.refresh_token()
    client.refresh_token()
    stats = client.stats()
    assert stats["exchanges"] == 1
    assert stats["refreshes_ok"] == 1
    assert stats["refreshes_provider_5xx"] == 1
    assert set(stats) == {
        "refreshes_ok", "refreshes_invalid_grant", "refreshes_transport", "refreshes_provider_5xx",
        "refreshes_rate_limited", "refreshes_not_saved", "refreshes_error", "exchanges", "unauthorized_401",
        "reauthorizations", "store_waits", "longest_store_wait_ms",
    }
    assert all(isinstance(v, int) for v in stats.values())
