"""The Yespo document's Python sample, done right: TLS verified, state checked, no pasted code,
no printed token, Basic auth at the token endpoint, tokens stored and refreshed. `--sandbox`:
against the local emulator (no Yespo account needed)."""
import os
import sys

import scopegate

sandbox = None
if "--sandbox" in sys.argv[1:]:
    import scopegate.testing  # the provider sandbox: pip install 'scopegate[testing]'

    sandbox = scopegate.testing.Sandbox()
client = scopegate.Client(
    sandbox.provider("yespo") if sandbox else scopegate.Provider.builtin("yespo"),
    os.environ.get("YESPO_CLIENT_ID", scopegate.testing.SANDBOX_CLIENT_ID if sandbox else ""),
    os.environ.get("YESPO_CLIENT_SECRET", scopegate.testing.SANDBOX_CLIENT_SECRET if sandbox else ""),
    redirect_uri=None if sandbox else "http://127.0.0.1:8081/callback",  # as registered in Yespo
    store=scopegate.SqliteStore(os.environ.get("YESPO_TOKENS", "yespo-tokens.db")),
)
if client.token is None:  # browser, loopback callback (state checked), code exchanged, stored
    client.login(open_browser=sandbox.open if sandbox else True)
contacts = client.request("GET", "contacts")  # bearer token, refreshed when due
print(contacts.status, contacts.json())
