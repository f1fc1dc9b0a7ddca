"""python -m scopegate login."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import scopegate
import scopegate.testing


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scopegate", *args], capture_output=True, text=True, timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_login_against_an_own_sandbox(tmp_path: Path) -> None:
    db = tmp_path / "tokens.db"
    r = run("--store", str(db), "--json", "login", "--provider", "yespo", "--sandbox", "--no-browser", "--timeout", "30")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    # Pointed at a sandbox, the profile has an id of its own (issue 18).
    assert out["provider"].startswith("yespo@127.0.0.1:")
    assert out["account"] == "sandbox" and out["refresh_token"] is True
    assert scopegate.SqliteStore(db).load("yespo", scopegate.testing.SANDBOX_CLIENT_ID, "sandbox") is None
    token = scopegate.SqliteStore(db).load(out["provider"], scopegate.testing.SANDBOX_CLIENT_ID, "sandbox")
    assert token is not None and token.access_token not in r.stdout + r.stderr


def test_login_against_a_running_sandbox(sandbox: scopegate.testing.Sandbox, tmp_path: Path) -> None:
    # The browser is the sandbox's own: with --no-browser the URL is printed; nobody opens it,
    # so the login times out; the registration and the profile were done by then.
    r = run("--store", str(tmp_path / "t.db"), "login", "--provider", "yuvo", "--sandbox", sandbox.base_url,
            "--client-id", "mine", "--client-secret-env", "MY_SECRET", "--no-browser", "--timeout", "0.5",
            env={"MY_SECRET": "s3cret-value"})
    assert r.returncode == 1 and "open this URL" in r.stderr and "no authorization callback" in r.stderr
    assert "s3cret-value" not in r.stderr + r.stdout
    assert sandbox.counters("yuvo")["authorize"] == 0


def test_usage_errors() -> None:
    r = run("--store", "/tmp/x.db", "login", "--provider", "yespo", "--client-id", "c", "--client-secret-env", "UNSET_VAR_X")
    assert r.returncode == 2 and "UNSET_VAR_X" in r.stderr
    assert run("login").returncode == 2  # argparse: --provider is required
