"""The exceptions scopegate raises, with the core's stable error kinds.

Every exception scopegate raises for a failure of its own is a :class:`Error`, with

- ``.kind``: an :class:`ErrorKind`, the core's stable number (the same numbers the C ABI returns);
- ``.blame``: a :class:`Blame`, who caused it: ``LOCAL`` (the calling code or its configuration),
  ``REMOTE`` (the provider, the user or their browser) or ``ENVIRONMENT`` (network, disk).

The class says what to do; the kind says precisely what happened. Which class each kind becomes is
decided in one place, the conversion point of the extension module (``bindings/python/src/errors.rs``).

Exceptions that are not scopegate's own pass through unchanged: whatever a ``transport`` callable,
an ``update_token`` callback or a ``clock`` raises comes back out as it was raised. Wrong argument
types raise :class:`TypeError`, as usual in Python.

Messages and attributes never contain a secret (tokens, client secrets, codes, ``state``).
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, ClassVar, Optional, Sequence, Union

from ._native import error_kinds as _error_kinds

if TYPE_CHECKING:
    from ._native import TokenSet

__all__ = [
    "AuthorizationDenied",
    "AuthorizationExpired",
    "Blame",
    "CallbackError",
    "ConfigError",
    "Error",
    "ErrorKind",
    "IdentityMismatch",
    "LoginError",
    "NotAuthorized",
    "NotSavedError",
    "OriginRefused",
    "PathRejected",
    "PermissionDenied",
    "ProtocolError",
    "ReauthorizationRequired",
    "ReinstallRequired",
    "RevocationError",
    "SerializationError",
    "StateMismatch",
    "StoreError",
    "TokenEndpointError",
    "TokenExpired",
    "TransportError",
    "UnknownEndpoint",
    "UsageError",
]


#: The core's error kinds (``scopegate_core::ErrorKind``): numbers that never change. Built at
#: import from the core's one table (``_error_kinds()``), so a kind added to the core is
#: here at once; ``errors.pyi`` spells the members out for type checkers (a test holds it to the
#: table).
ErrorKind = enum.IntEnum(  # type: ignore[misc]
    "ErrorKind", [(name.upper(), code) for code, name, _ in _error_kinds()], module=__name__
)
ErrorKind.__doc__ = "The core's error kinds (``scopegate_core::ErrorKind``): numbers that never change."


class Blame(str, enum.Enum):
    """Who caused an error."""

    LOCAL = "local"
    """The calling code or its configuration: fix it."""
    REMOTE = "remote"
    """The provider, the user or their browser: retry, authorize again, or report it."""
    ENVIRONMENT = "environment"
    """The network, the token store's disk, the operating system: usually transient."""


# The blame of each kind, from the same table.
_DEFAULT_BLAME = {code: blame for code, _, blame in _error_kinds()}


def default_blame(kind: ErrorKind) -> Blame:
    """The blame a kind has unless the error says otherwise (the core's ``default_blame``)."""
    return Blame(_DEFAULT_BLAME[int(kind)])


class Error(Exception):
    """Base of every scopegate exception: ``.kind`` and ``.blame``."""

    default_kind: ClassVar[ErrorKind] = ErrorKind.USAGE
    kind: ErrorKind
    blame: Blame

    def __init__(
        self,
        message: str,
        *,
        kind: Union[ErrorKind, int, None] = None,
        blame: Union[Blame, str, None] = None,
    ) -> None:
        super().__init__(message)
        self.kind = ErrorKind(kind) if kind is not None else self.default_kind
        self.blame = Blame(blame) if blame is not None else default_blame(self.kind)

    @property
    def message(self) -> str:
        """The message (``str(error)``)."""
        return str(self.args[0]) if self.args else ""


class UsageError(Error):
    """The API was used in a way it does not support (wrong order, another operation in flight)."""

    default_kind = ErrorKind.USAGE


class ConfigError(Error, ValueError):
    """The configuration is wrong or lacks something: a profile that does not load, a missing
    redirect URI or secret, an unknown right, an invalid client id or scope."""

    default_kind = ErrorKind.CONFIG


class SerializationError(Error, ValueError):
    """Saved data (``TokenSet.loads``, ``AuthorizationRequest.loads``) is unreadable or newer."""

    default_kind = ErrorKind.SERIALIZATION


class CallbackError(Error):
    """The authorization callback was rejected (malformed, expired, used twice, parameter missing)."""

    default_kind = ErrorKind.CALLBACK


class StateMismatch(CallbackError):
    """The callback's ``state`` is missing or not the one sent: possible cross-site request forgery."""


class AuthorizationDenied(Error):
    """The user or the provider refused the authorization (``error=access_denied`` and others)."""

    default_kind = ErrorKind.AUTHORIZATION_DENIED

    def __init__(
        self,
        message: str,
        *,
        error: str = "access_denied",
        description: Optional[str] = None,
        kind: Union[ErrorKind, int, None] = None,
        blame: Union[Blame, str, None] = None,
    ) -> None:
        super().__init__(message, kind=kind, blame=blame)
        self.error = error
        self.description = description


class NotAuthorized(Error):
    """No token is held for this account: log in (or run client credentials) first."""

    default_kind = ErrorKind.NOT_AUTHORIZED


class ReauthorizationRequired(Error):
    """Only a new authorization by the user helps. ``.reason``: ``invalid_grant``,
    ``refresh_token_expired``, ``repeated_unauthorized`` or ``no_refresh_token``."""

    default_kind = ErrorKind.REAUTHORIZATION_REQUIRED

    def __init__(
        self,
        message: str,
        *,
        reason: str = "invalid_grant",
        kind: Union[ErrorKind, int, None] = None,
        blame: Union[Blame, str, None] = None,
    ) -> None:
        super().__init__(message, kind=kind, blame=blame)
        self.reason = reason


class ReinstallRequired(ReauthorizationRequired):
    """The provider answered several API calls in a row with 401 (Yotpo: 3): the app was probably
    uninstalled, and must be installed (authorized) again."""


class TokenExpired(Error):
    """The access token has expired: refresh it before the call (``Session`` users)."""

    default_kind = ErrorKind.TOKEN_EXPIRED


class TokenEndpointError(Error):
    """The token endpoint refused (``.error``: ``invalid_client``, ``invalid_grant``...,
    ``.description``, ``.status``)."""

    default_kind = ErrorKind.TOKEN_REFUSED

    def __init__(
        self,
        message: str,
        *,
        error: Optional[str] = None,
        description: Optional[str] = None,
        status: Optional[int] = None,
        kind: Union[ErrorKind, int, None] = None,
        blame: Union[Blame, str, None] = None,
    ) -> None:
        super().__init__(message, kind=kind, blame=blame)
        self.error = error
        self.description = description
        self.status = status


class ProtocolError(TokenEndpointError):
    """The token endpoint answered something unusable (not JSON, a field missing, a redirect, an
    unexpected status): ``.error`` is ``None``."""

    default_kind = ErrorKind.PROTOCOL


class RevocationError(Error):
    """The revocation or remove-application endpoint refused; the token is kept."""

    default_kind = ErrorKind.REVOCATION_REFUSED

    def __init__(
        self,
        message: str,
        *,
        error: Optional[str] = None,
        description: Optional[str] = None,
        status: Optional[int] = None,
        kind: Union[ErrorKind, int, None] = None,
        blame: Union[Blame, str, None] = None,
    ) -> None:
        super().__init__(message, kind=kind, blame=blame)
        self.error = error
        self.description = description
        self.status = status


class PermissionDenied(Error):
    """The configured rights do not allow the call (checked locally: nothing was sent).
    ``.needs``: the rights that would allow it; ``.endpoint``: the endpoint's template."""

    default_kind = ErrorKind.PERMISSION_DENIED

    def __init__(
        self,
        message: str,
        *,
        needs: Sequence[str] = (),
        endpoint: Optional[str] = None,
        kind: Union[ErrorKind, int, None] = None,
        blame: Union[Blame, str, None] = None,
    ) -> None:
        super().__init__(message, kind=kind, blame=blame)
        self.needs = list(needs)
        self.endpoint = endpoint


class UnknownEndpoint(PermissionDenied):
    """No endpoint of the provider's permission matrix matches the call (fail closed)."""

    default_kind = ErrorKind.UNKNOWN_ENDPOINT


class PathRejected(PermissionDenied):
    """The path breaks a rule of the permission check (dot segment, encoded slash...):
    ``.reason`` names the rule."""

    default_kind = ErrorKind.PATH_REJECTED

    def __init__(
        self,
        message: str,
        *,
        reason: str = "",
        kind: Union[ErrorKind, int, None] = None,
        blame: Union[Blame, str, None] = None,
    ) -> None:
        super().__init__(message, kind=kind, blame=blame)
        self.reason = reason


class OriginRefused(Error):
    """The URL is outside the provider's API: the token is never sent there."""

    default_kind = ErrorKind.ORIGIN_REFUSED


class IdentityMismatch(Error):
    """The operation would replace one identity's token with another's (a user's with the app's,
    or one account's with another's)."""

    default_kind = ErrorKind.IDENTITY_MISMATCH


class TransportError(Error):
    """The request could not be completed (connection, TLS, timeout, body too large)."""

    default_kind = ErrorKind.TRANSPORT


class StoreError(Error):
    """The token store failed."""

    default_kind = ErrorKind.STORE


class NotSavedError(StoreError):
    """The provider renewed the tokens and the token store could not write them (the database
    went away mid-refresh, the disk is full). Nothing is lost: ``.tokens`` is the renewed
    :class:`TokenSet` (the old refresh token may already be spent), the client's ``update_token``
    has been called with it before this was raised, and the client keeps it in memory, uses it
    for calls and writes it to the store at its next call."""

    default_kind = ErrorKind.NOT_SAVED
    tokens: "Optional[TokenSet]"

    def __init__(
        self,
        message: str,
        *,
        tokens: "Optional[TokenSet]" = None,
        kind: Union[ErrorKind, int, None] = None,
        blame: Union[Blame, str, None] = None,
    ) -> None:
        super().__init__(message, kind=kind, blame=blame)
        self.tokens = tokens


class LoginError(Error):
    """The loopback login could not listen on its port, or no callback arrived in time."""

    default_kind = ErrorKind.LOGIN_TIMEOUT


class AuthorizationExpired(Error):
    """The authorization expired before it was completed: the device code (``device_login``)
    expired before the user approved, or a pushed authorization request's ``request_uri`` (PAR)
    passed its ``expires_in``. Start it again."""

    default_kind = ErrorKind.AUTHORIZATION_EXPIRED
