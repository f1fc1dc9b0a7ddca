"""scopegate's sans-IO Session driven by httpx.AsyncClient: asyncio brings its own I/O.

The Session decides (state, PKCE, retries, back-offs, when to refresh, where the token may go);
this file only moves its requests with httpx (TLS verified, redirects not followed), receives the
loopback callback with asyncio, and persists the tokens on every `tokens_changed`.

    YESPO_CLIENT_ID=... YESPO_CLIENT_SECRET=... python async_httpx.py
    python async_httpx.py --sandbox      # against the local emulator
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import httpx

import scopegate

TOKENS = Path(os.environ.get("YESPO_SESSION_TOKENS", "yespo-session-tokens.json"))


def persist(text: str) -> None:
    """Writes the token set for the next run: into a new file only the user can read (created
    0600, so there is no moment in which others could), moved over TOKENS in one step, so that a
    crash leaves the old token set or the new one, never half of one. A real service: its
    database, sealed."""
    tmp = TOKENS.with_name(TOKENS.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, TOKENS)


async def send(http: httpx.AsyncClient, request: scopegate.Request) -> httpx.Response:
    return await http.request(request.method, request.url, headers=request.headers, content=request.body)


async def drive(session: scopegate.Session, http: httpx.AsyncClient) -> None:
    """Sends what the session asks for and waits out its back-offs until it is idle."""
    while True:
        while (request := session.poll_transmit(time.time())) is not None:
            try:
                r = await send(http, request)
            except httpx.ConnectError as e:  # nothing was sent: the session may try again
                session.handle_transport_error(time.time(), request, str(e), may_have_been_sent=False)
            except httpx.HTTPError as e:
                session.handle_transport_error(time.time(), request, str(e))
            else:
                session.handle_response(time.time(), request, r.status_code, r.headers.multi_items(), r.content)
        due = session.poll_timeout()
        if not session.is_busy or due is None:
            break
        await asyncio.sleep(max(0.0, due - time.time()))
        session.handle_timeout(time.time())
    while (event := session.poll_event()) is not None:
        if event.kind == "tokens_changed" and session.tokens is not None:
            persist(session.tokens.dumps())  # before the new token is used
        elif event.kind == "failed" and event.error is not None:
            raise event.error


async def call(session: scopegate.Session, http: httpx.AsyncClient, method: str, path: str) -> httpx.Response:
    """An API call: refresh first when due, once more after a 401."""
    for _ in range(2):
        if session.needs_refresh(time.time()):
            session.refresh(time.time())
            await drive(session, http)
        request = session.api_request(time.time(), method, path)
        response = await send(http, request)
        if session.handle_api_response(time.time(), request, response.status_code) != "refresh_and_retry":
            return response
        session.refresh(time.time())
        await drive(session, http)
    return response


async def listen(port: int) -> tuple[asyncio.Server, asyncio.Future[str]]:
    """Listens for the browser's one request to http://127.0.0.1:PORT/callback; the future gets its URL."""
    got: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        target = (await reader.readline()).decode("latin-1").split(" ")[1:2] or ["/"]
        ok = target[0].startswith("/callback?") and not got.done()
        writer.write(b"HTTP/1.1 %s\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok" % (b"200 OK" if ok else b"404 Not Found"))
        await writer.drain()
        writer.close()
        if ok:
            got.set_result(f"http://127.0.0.1:{port}{target[0]}")

    return await asyncio.start_server(answer, "127.0.0.1", port), got


async def main(use_sandbox: bool) -> None:
    sandbox = None
    if use_sandbox:
        import scopegate.testing  # the provider sandbox: pip install 'scopegate[testing]'

        sandbox = scopegate.testing.Sandbox()
    provider = sandbox.provider("yespo") if sandbox else scopegate.Provider.builtin("yespo")
    port = 8081
    if sandbox:  # any free loopback port: the sandbox accepts them all
        probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = probe.sockets[0].getsockname()[1]
        probe.close()
        await probe.wait_closed()
    session = scopegate.Session(
        provider,
        os.environ.get("YESPO_CLIENT_ID", scopegate.testing.SANDBOX_CLIENT_ID if sandbox else ""),
        os.environ.get("YESPO_CLIENT_SECRET", scopegate.testing.SANDBOX_CLIENT_SECRET if sandbox else ""),
        f"http://127.0.0.1:{port}/callback",
    )
    if TOKENS.exists() and not sandbox:
        session.set_tokens(scopegate.TokenSet.loads(TOKENS.read_text()))
    async with httpx.AsyncClient(timeout=30) as http:  # TLS verified; redirects not followed
        if session.tokens is None:
            request = session.start_authorization(time.time())
            assert request.url is not None
            server, callback = await listen(port)
            async with server:
                if sandbox:
                    sandbox.open(request.url)  # the sandbox plays the user's browser
                else:
                    print("open this URL in your browser:\n ", request.url, file=sys.stderr)
                url = await asyncio.wait_for(callback, timeout=300)
            session.handle_callback(time.time(), request, url)  # state checked here
            await drive(session, http)
        response = await call(session, http, "GET", "contacts")
        print(response.status_code, response.json())
    if sandbox:
        sandbox.stop()


if __name__ == "__main__":
    asyncio.run(main("--sandbox" in sys.argv[1:]))
