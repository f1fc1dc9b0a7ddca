"""``python -m scopegate login``: mirrors ``scopegate login`` of the command line (same options,
same token store file), for machines that have the Python package and not the CLI."""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from types import ModuleType
from typing import Optional, Sequence

from . import _native
from .errors import ConfigError, Error

SANDBOX_ACCOUNT = "sandbox"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m scopegate", description="scopegate from Python")
    p.add_argument(
        "--store",
        help="token store: a SQLite file or a postgres:// connection string (default: $SCOPEGATE_STORE, "
        "else the command line's file in your data directory)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    sub = p.add_subparsers(dest="command", required=True)
    login = sub.add_parser("login", help="authorize in the browser over a loopback redirect and store the tokens")
    login.add_argument("--provider", required=True, help="built-in provider id or the path of a profile file")
    login.add_argument("--client-id", help="the app's client id (default with --sandbox: the sandbox's app)")
    login.add_argument("--client-secret-env", metavar="VAR", help="name of the environment variable holding the client secret")
    login.add_argument("--redirect-uri", help="redirect URI registered with the app (a loopback http URI)")
    login.add_argument("--account", help="account name the tokens are stored under")
    login.add_argument(
        "--sandbox", nargs="?", const="", metavar="URL",
        help="use the sandbox: a running one at URL, or (no URL) one started for this command",
    )
    login.add_argument("--no-browser", action="store_true", help="do not open a browser: print the URL")
    login.add_argument("--timeout", type=float, default=300, help="seconds to wait for the callback")
    return p


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def testing() -> ModuleType:
    """``scopegate.testing`` (the sandbox, in the scopegate-testing wheel), or a ConfigError saying how to get it."""
    try:
        from . import testing as t
    except ImportError as e:
        raise ConfigError(f"--sandbox: {e}") from None
    return t


def secret(var: Optional[str], sandbox: bool) -> str:
    if var:
        value = os.environ.get(var)
        if not value:
            raise ConfigError(f"environment variable {var} (from --client-secret-env) is not set or empty")
        return value
    if sandbox:
        client_secret: str = testing().SANDBOX_CLIENT_SECRET
        return client_secret
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("client secret (input hidden): ")
    raise ConfigError("no client secret: pass --client-secret-env VAR, naming an environment variable that holds it")


def login(args: argparse.Namespace) -> int:
    own = testing().Sandbox(consent="approve" if args.no_browser else "page") if args.sandbox == "" else None
    base = own.base_url if own else (args.sandbox.rstrip("/") if args.sandbox else None)
    try:
        client_id = args.client_id or (testing().SANDBOX_CLIENT_ID if base else None)
        if not client_id:
            raise ConfigError("pass --client-id (the app's client id)")
        client_secret = secret(args.client_secret_env, base is not None)
        redirect = args.redirect_uri or (f"http://127.0.0.1:{free_port()}/callback" if base else None)
        if base:
            assert redirect is not None
            provider = testing().connect_sandbox(base, args.provider, client_id, client_secret, redirect)
        elif os.path.sep in args.provider or args.provider.endswith(".toml"):
            provider = _native.Provider.from_file(args.provider)
        else:
            provider = _native.Provider.builtin(args.provider)
        # Yotpo's account is the store's app_key from the install; a profile pointed at a sandbox
        # has the id `yotpo@host:port`.
        is_yotpo = provider.id.partition("@")[0] == "yotpo"
        account = args.account or (SANDBOX_ACCOUNT if base and not is_yotpo else None)
        store_spec = args.store or os.environ.get("SCOPEGATE_STORE") or str(_native.default_store_path())
        client = _native.Client(
            provider, client_id, client_secret, redirect_uri=redirect,
            store=_native.open_store(store_spec), account=account,
        )
        if own is not None and args.no_browser:
            print("sandbox: approving the authorization request ourselves (--no-browser)", file=sys.stderr)
            opener: object = own.open
        else:
            opener = not args.no_browser
        if not args.json:
            print(f"waiting up to {args.timeout:g} s for the authorization callback ...", file=sys.stderr)
        token = client.login(open_browser=opener, timeout=args.timeout)  # type: ignore[arg-type]
    finally:
        if own is not None:
            own.stop()
    summary = {
        "provider": provider.id,
        "client_id": client_id,
        "account": client.account,
        "identity": token.identity,
        "scopes": token.scopes,
        "expires_at": token.expires_at,
        "refresh_token": token.refresh_token is not None,
        "store": store_spec if not store_spec.startswith(("postgres://", "postgresql://")) else "postgresql",
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"logged in: {provider.id} / {client_id} / account {client.account}")
        print(f"  {token!r}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    try:
        return login(args)
    except Error as e:
        print(f"error: {e}", file=sys.stderr)
        return 2 if isinstance(e, ConfigError) else 1
    except KeyboardInterrupt:
        return 130
