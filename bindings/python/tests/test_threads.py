"""Threads: one refresh for many, and the GIL released while scopegate waits."""

from __future__ import annotations

import threading
import time

import scopegate
import scopegate.testing
from conftest import log_in, sandbox_client

THREADS = 16


def test_sixteen_threads_on_an_expired_token_make_one_refresh(sandbox: scopegate.testing.Sandbox) -> None:
    # The client reads the sandbox's clock, so the token expires when the sandbox says.
    client = sandbox_client(sandbox, clock=sandbox.now)
    first = log_in(sandbox, client)
    assert first.expires_at is not None
    sandbox.advance(int(first.expires_at - sandbox.now()) + 1)
    assert first.is_expired(sandbox.now())
    barrier = threading.Barrier(THREADS)
    got: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            got.append(client.access_token())
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(got) == THREADS and len(set(got)) == 1 and got[0] != first.access_token
    assert sandbox.counters("yespo")["token_requests"].get("refresh_token") == 1  # type: ignore[union-attr]


def test_the_gil_is_released_during_network_io(sandbox: scopegate.testing.Sandbox) -> None:
    client = sandbox_client(sandbox, "yuvo")
    sandbox.inject("yuvo", "slow:800")  # the next token answer takes 0.8 s
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.01)

    counter = threading.Thread(target=count)
    counter.start()
    started = time.monotonic()
    try:
        client.client_credentials()
    finally:
        stop.set()
        counter.join()
    assert time.monotonic() - started >= 0.7
    assert ticks >= 20, f"the other thread ran only {ticks} times in 0.8 s: the GIL was held"


def test_the_gil_is_released_while_waiting_for_the_store(sandbox: scopegate.testing.Sandbox) -> None:
    # One thread refreshes slowly (holding the store's lock); another waits for the lock; a third
    # Python thread keeps running meanwhile.
    client = sandbox_client(sandbox)
    log_in(sandbox, client)
    sandbox.inject("yespo", "slow:800")
    slow = threading.Thread(target=client.refresh_token)
    slow.start()
    time.sleep(0.1)
    waiter = threading.Thread(target=client.access_token)
    waiter.start()
    ticks = 0
    deadline = time.monotonic() + 0.4
    while time.monotonic() < deadline:
        ticks += 1
        time.sleep(0.01)
    slow.join(10)
    waiter.join(10)
    assert ticks >= 20
    assert sandbox.counters("yespo")["token_requests"].get("refresh_token") == 1  # type: ignore[union-attr]
