"""scopegate: an OAuth 2.0 client for SaaS integrations, with a Rust core.

Log in, keep tokens fresh, call the provider's API, check permissions, for Yespo, Reteno, Yotpo,
Yuvo and any OAuth 2.0 provider described by a profile::

    import scopegate

    client = scopegate.Client("yespo", CLIENT_ID, CLIENT_SECRET,
                              redirect_uri="http://127.0.0.1:8081/callback",
                              store=scopegate.SqliteStore("tokens.db"))
    client.login()                      # browser, loopback callback, state checked, tokens stored
    print(client.request("GET", "contacts").json())   # refreshed when due

The method names follow Authlib (``create_authorization_url``, ``fetch_token``,
``refresh_token``, ``revoke_token``, ``update_token``). TLS is always verified. asyncio users
drive a :class:`Session` over their own HTTP client. Tests use ``scopegate.testing.Sandbox``, the
provider sandbox (``pip install 'scopegate[testing]'``). The library logs to the ``scopegate``
logger (a child per operation: ``scopegate.refresh``, ``scopegate.api``, ...); ``client.stats()``
counts refreshes by outcome, exchanges, 401s and waits.
"""

from __future__ import annotations

from ._native import (
    DEFAULT_ACCOUNT,
    AuthorizationRequest,
    Client,
    Decision,
    Event,
    MemoryStore,
    PostgresStore,
    Policy,
    Provider,
    Request,
    Response,
    Session,
    SqliteStore,
    TokenSet,
    TokenStore,
    UserCode,
    __version__,
)
from . import _logging
from .errors import (
    AuthorizationDenied,
    AuthorizationExpired,
    Blame,
    CallbackError,
    ConfigError,
    Error,
    ErrorKind,
    IdentityMismatch,
    LoginError,
    NotAuthorized,
    NotSavedError,
    OriginRefused,
    PathRejected,
    PermissionDenied,
    ProtocolError,
    ReauthorizationRequired,
    ReinstallRequired,
    RevocationError,
    SerializationError,
    StateMismatch,
    StoreError,
    TokenEndpointError,
    TokenExpired,
    TransportError,
    UnknownEndpoint,
    UsageError,
)

__all__ = [
    "DEFAULT_ACCOUNT",
    "AuthorizationDenied",
    "AuthorizationExpired",
    "AuthorizationRequest",
    "Blame",
    "CallbackError",
    "Client",
    "ConfigError",
    "Decision",
    "Error",
    "ErrorKind",
    "Event",
    "IdentityMismatch",
    "LoginError",
    "MemoryStore",
    "PostgresStore",
    "NotAuthorized",
    "NotSavedError",
    "OriginRefused",
    "PathRejected",
    "PermissionDenied",
    "Policy",
    "ProtocolError",
    "Provider",
    "ReauthorizationRequired",
    "ReinstallRequired",
    "Request",
    "Response",
    "RevocationError",
    "SerializationError",
    "Session",
    "SqliteStore",
    "StateMismatch",
    "StoreError",
    "TokenEndpointError",
    "TokenExpired",
    "TokenSet",
    "TokenStore",
    "TransportError",
    "UnknownEndpoint",
    "UsageError",
    "UserCode",
    "__version__",
]

_logging.install()
