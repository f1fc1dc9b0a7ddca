# Type stubs of scopegate.errors. The module builds ErrorKind from the core's error table at
# import; this stub spells its members out for type checkers, and
# tests/test_errors.py::test_the_stub_spells_the_table_out holds the two together.
import enum
from ._native import TokenSet
from typing import ClassVar, Sequence

__all__ = ['ErrorKind', 'Blame', 'Error', 'AuthorizationExpired', 'UsageError', 'ConfigError', 'SerializationError', 'CallbackError', 'StateMismatch', 'AuthorizationDenied', 'NotAuthorized', 'ReauthorizationRequired', 'ReinstallRequired', 'TokenExpired', 'TokenEndpointError', 'ProtocolError', 'RevocationError', 'PermissionDenied', 'UnknownEndpoint', 'PathRejected', 'OriginRefused', 'IdentityMismatch', 'TransportError', 'StoreError', 'NotSavedError', 'LoginError']

class ErrorKind(enum.IntEnum):
    """The core's error kinds (``scopegate_core::ErrorKind``): numbers that never change."""

    USAGE = 1
    CONFIG = 2
    PROFILE = 3
    CALLBACK = 4
    AUTHORIZATION_DENIED = 5
    NOT_AUTHORIZED = 6
    REAUTHORIZATION_REQUIRED = 7
    TOKEN_REFUSED = 8
    PROTOCOL = 9
    TRANSPORT = 10
    PERMISSION_DENIED = 11
    PATH_REJECTED = 12
    UNKNOWN_ENDPOINT = 13
    ORIGIN_REFUSED = 14
    IDENTITY_MISMATCH = 15
    STORE = 16
    REVOCATION_REFUSED = 17
    SERIALIZATION = 18
    RANDOM = 19
    BUSY = 20
    TOKEN_EXPIRED = 21
    LISTEN = 22
    LOGIN_TIMEOUT = 23
    NOT_SAVED = 24
    AUTHORIZATION_EXPIRED = 25

class Blame(str, enum.Enum):
    """Who caused an error."""
    LOCAL = 'local'
    REMOTE = 'remote'
    ENVIRONMENT = 'environment'

def default_blame(kind: ErrorKind) -> Blame:
    """The blame a kind has unless the error says otherwise (the core's ``default_blame``)."""

class Error(Exception):
    """Base of every scopegate exception: ``.kind`` and ``.blame``."""
    default_kind: ClassVar[ErrorKind]
    kind: ErrorKind
    blame: Blame
    def __init__(self, message: str, *, kind: ErrorKind | int | None = None, blame: Blame | str | None = None) -> None: ...
    @property
    def message(self) -> str:
        """The message (``str(error)``)."""

class UsageError(Error):
    """The API was used in a way it does not support (wrong order, another operation in flight)."""

class ConfigError(Error, ValueError):
    """The configuration is wrong or lacks something: a profile that does not load, a missing
    redirect URI or secret, an unknown right, an invalid client id or scope."""

class SerializationError(Error, ValueError):
    """Saved data (``TokenSet.loads``, ``AuthorizationRequest.loads``) is unreadable or newer."""

class CallbackError(Error):
    """The authorization callback was rejected (malformed, expired, used twice, parameter missing)."""

class StateMismatch(CallbackError):
    """The callback's ``state`` is missing or not the one sent: possible cross-site request forgery."""

class AuthorizationDenied(Error):
    """The user or the provider refused the authorization (``error=access_denied`` and others)."""
    error: str
    description: str | None
    def __init__(self, message: str, *, error: str = 'access_denied', description: str | None = None, kind: ErrorKind | int | None = None, blame: Blame | str | None = None) -> None: ...

class NotAuthorized(Error):
    """No token is held for this account: log in (or run client credentials) first."""

class ReauthorizationRequired(Error):
    """Only a new authorization by the user helps. ``.reason``: ``invalid_grant``,
    ``refresh_token_expired``, ``repeated_unauthorized`` or ``no_refresh_token``."""
    reason: str
    def __init__(self, message: str, *, reason: str = 'invalid_grant', kind: ErrorKind | int | None = None, blame: Blame | str | None = None) -> None: ...

class ReinstallRequired(ReauthorizationRequired):
    """The provider answered several API calls in a row with 401 (Yotpo: 3): the app was probably
    uninstalled, and must be installed (authorized) again."""

class TokenExpired(Error):
    """The access token has expired: refresh it before the call (``Session`` users)."""

class TokenEndpointError(Error):
    """The token endpoint refused (``.error``: ``invalid_client``, ``invalid_grant``...,
    ``.description``, ``.status``)."""
    error: str | None
    description: str | None
    status: int | None
    def __init__(self, message: str, *, error: str | None = None, description: str | None = None, status: int | None = None, kind: ErrorKind | int | None = None, blame: Blame | str | None = None) -> None: ...

class ProtocolError(TokenEndpointError):
    """The token endpoint answered something unusable (not JSON, a field missing, a redirect, an
    unexpected status): ``.error`` is ``None``."""

class RevocationError(Error):
    """The revocation or remove-application endpoint refused; the token is kept."""
    error: str | None
    description: str | None
    status: int | None
    def __init__(self, message: str, *, error: str | None = None, description: str | None = None, status: int | None = None, kind: ErrorKind | int | None = None, blame: Blame | str | None = None) -> None: ...

class PermissionDenied(Error):
    """The configured rights do not allow the call (checked locally: nothing was sent).
    ``.needs``: the rights that would allow it; ``.endpoint``: the endpoint's template."""
    needs: list[str]
    endpoint: str | None
    def __init__(self, message: str, *, needs: Sequence[str] = (), endpoint: str | None = None, kind: ErrorKind | int | None = None, blame: Blame | str | None = None) -> None: ...

class UnknownEndpoint(PermissionDenied):
    """No endpoint of the provider's permission matrix matches the call (fail closed)."""

class PathRejected(PermissionDenied):
    """The path breaks a rule of the permission check (dot segment, encoded slash...):
    ``.reason`` names the rule."""
    reason: str
    def __init__(self, message: str, *, reason: str = '', kind: ErrorKind | int | None = None, blame: Blame | str | None = None) -> None: ...

class OriginRefused(Error):
    """The URL is outside the provider's API: the token is never sent there."""

class IdentityMismatch(Error):
    """The operation would replace one identity's token with another's (a user's with the app's,
    or one account's with another's)."""

class TransportError(Error):
    """The request could not be completed (connection, TLS, timeout, body too large)."""

class StoreError(Error):
    """The token store failed."""

class NotSavedError(StoreError):
    """The provider renewed the tokens and the token store could not write them (the database
    went away mid-refresh, the disk is full). Nothing is lost: ``.tokens`` is the renewed
    :class:`TokenSet` (the old refresh token may already be spent), the client's ``update_token``
    has been called with it before this was raised, and the client keeps it in memory, uses it
    for calls and writes it to the store at its next call."""
    tokens: TokenSet | None
    def __init__(self, message: str, *, tokens: TokenSet | None = None, kind: ErrorKind | int | None = None, blame: Blame | str | None = None) -> None: ...

class LoginError(Error):
    """The loopback login could not listen on its port, or no callback arrived in time."""

class AuthorizationExpired(Error):
    """The authorization expired before it was completed: the device code (``device_login``)
    expired before the user approved, or a pushed authorization request's ``request_uri`` (PAR)
    passed its ``expires_in``. Start it again."""
