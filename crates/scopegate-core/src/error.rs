//! One error surface for every caller: [`Error`], with a stable [`ErrorKind`] number and a
//! [`Blame`].
//!
//! Like h11, every error says whether *we* (the code calling scopegate, or its configuration)
//! got something wrong, the *peer* (provider, user's browser) misbehaved or refused, or the
//! *environment* (network, disk, operating system) failed. The C ABI turns [`ErrorKind`] into its
//! result codes and the Python package into its exception classes, so the numbers are a
//! contract: each is documented on its variant and never reused.
//!
//! Messages never contain a secret: every value quoted from a response has the request's known
//! secrets cut out, and token values are never formatted.
//!
//! The per-source enums ([`UsageError`], [`FlowError`](crate::FlowError),
//! [`CallbackError`](crate::CallbackError), ...) stay underneath as [`Error`]'s variants, for
//! Rust callers who want to match on them.

use std::fmt;

use crate::authorize::{AuthorizationError, CallbackError};
use crate::flow::FlowError;
use crate::lifecycle::ReauthorizationReason;
use crate::matrix::RejectReason;
use crate::method::Method;
use crate::profile::ProfileError;
use crate::revoke::RevocationError;
use crate::serial::SerialError;
use crate::token::{OAuthError, TokenResponseError, TokenSet};
use crate::transport::TransportError;

/// Who caused an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Blame {
    /// We: the caller misused scopegate or is misconfigured. Fix the calling code or its settings.
    Local,
    /// The peer: the provider, the user or their browser refused or misbehaved. Retry,
    /// re-authorize or report it to the provider.
    Remote,
    /// The environment: the network, the token store's disk or database, the operating system.
    /// Usually transient: retry later.
    Environment,
}

impl Blame {
    /// `local`, `remote` or `environment`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Blame::Local => "local",
            Blame::Remote => "remote",
            Blame::Environment => "environment",
        }
    }
}

/// The kind of an [`Error`], with a stable number (`kind as u32`) for C result codes and Python
/// exception classes. New kinds get new numbers; a number is never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u32)]
pub enum ErrorKind {
    /// 1: the API was used in a way it does not support (wrong order, unknown request id).
    Usage = 1,
    /// 2: the client configuration or profile lacks what the operation needs (no redirect URI,
    /// no client secret, no token endpoint, grant not supported, invalid client id or scope).
    Config = 2,
    /// 3: a provider profile could not be loaded or is invalid.
    Profile = 3,
    /// 4: an authorization callback was rejected (state mismatch, malformed, expired, used).
    Callback = 4,
    /// 5: the user or the provider refused the authorization (`error=access_denied` and others on
    /// the callback).
    AuthorizationDenied = 5,
    /// 6: no token is held for this account: log in (or run client credentials) first.
    NotAuthorized = 6,
    /// 7: only a new authorization by the user helps (invalid_grant, refresh token expired, no
    /// refresh token, repeated 401s).
    ReauthorizationRequired = 7,
    /// 8: the token endpoint refused with an OAuth error (`invalid_client`, `invalid_scope`,
    /// `invalid_grant` on a code exchange, ...).
    TokenRefused = 8,
    /// 9: the provider answered something unusable (not JSON, a field missing, a redirect, an
    /// unexpected HTTP status).
    Protocol = 9,
    /// 10: the request could not be completed (connection, TLS, timeout, body too large).
    Transport = 10,
    /// 11: the configured rights do not allow the API call (checked locally, nothing sent).
    PermissionDenied = 11,
    /// 12: the API path breaks a rule of the permission check (dot segment, bad escape...).
    PathRejected = 12,
    /// 13: no endpoint of the provider's access-rights matrix matches the call.
    UnknownEndpoint = 13,
    /// 14: the request's URL is outside the profile's API (another origin, or not under its base
    /// path): the token is never sent there.
    OriginRefused = 14,
    /// 15: the operation would replace one identity's token with another's (a user's token with
    /// the app's, or one account's with another account's).
    IdentityMismatch = 15,
    /// 16: the token store failed.
    Store = 16,
    /// 17: the revocation or remove-application endpoint refused.
    RevocationRefused = 17,
    /// 18: serialized data (a token set, a pending authorization) is unreadable or was written by
    /// a newer version.
    Serialization = 18,
    /// 19: the operating system's random number generator failed.
    Random = 19,
    /// 20: another operation is in flight on this session.
    Busy = 20,
    /// 21: the access token has expired and must be refreshed before the call.
    TokenExpired = 21,
    /// 22: the loopback login could not listen on its port.
    Listen = 22,
    /// 23: no authorization callback arrived in time.
    LoginTimeout = 23,
    /// 24: the tokens were renewed at the provider but the store could not write them: the
    /// renewed token set comes with the error, and the client keeps it in memory and writes it
    /// at its next operation.
    NotSaved = 24,
}

impl ErrorKind {
    /// Every kind, in number order.
    pub const ALL: [ErrorKind; 24] = [
        ErrorKind::Usage,
        ErrorKind::Config,
        ErrorKind::Profile,
        ErrorKind::Callback,
        ErrorKind::AuthorizationDenied,
        ErrorKind::NotAuthorized,
        ErrorKind::ReauthorizationRequired,
        ErrorKind::TokenRefused,
        ErrorKind::Protocol,
        ErrorKind::Transport,
        ErrorKind::PermissionDenied,
        ErrorKind::PathRejected,
        ErrorKind::UnknownEndpoint,
        ErrorKind::OriginRefused,
        ErrorKind::IdentityMismatch,
        ErrorKind::Store,
        ErrorKind::RevocationRefused,
        ErrorKind::Serialization,
        ErrorKind::Random,
        ErrorKind::Busy,
        ErrorKind::TokenExpired,
        ErrorKind::Listen,
        ErrorKind::LoginTimeout,
        ErrorKind::NotSaved,
    ];

    /// The stable number.
    pub const fn code(self) -> u32 {
        self as u32
    }

    /// The kind with this number.
    pub fn from_code(code: u32) -> Option<ErrorKind> {
        Self::ALL.iter().copied().find(|k| k.code() == code)
    }

    /// A snake_case name (`reauthorization_required`), stable like the number.
    pub const fn name(self) -> &'static str {
        match self {
            ErrorKind::Usage => "usage",
            ErrorKind::Config => "config",
            ErrorKind::Profile => "profile",
            ErrorKind::Callback => "callback",
            ErrorKind::AuthorizationDenied => "authorization_denied",
            ErrorKind::NotAuthorized => "not_authorized",
            ErrorKind::ReauthorizationRequired => "reauthorization_required",
            ErrorKind::TokenRefused => "token_refused",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Transport => "transport",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::PathRejected => "path_rejected",
            ErrorKind::UnknownEndpoint => "unknown_endpoint",
            ErrorKind::OriginRefused => "origin_refused",
            ErrorKind::IdentityMismatch => "identity_mismatch",
            ErrorKind::Store => "store",
            ErrorKind::RevocationRefused => "revocation_refused",
            ErrorKind::Serialization => "serialization",
            ErrorKind::Random => "random",
            ErrorKind::Busy => "busy",
            ErrorKind::TokenExpired => "token_expired",
            ErrorKind::Listen => "listen",
            ErrorKind::LoginTimeout => "login_timeout",
            ErrorKind::NotSaved => "not_saved",
        }
    }

    /// Who is to blame for errors of this kind when the error itself says nothing more precise.
    pub const fn default_blame(self) -> Blame {
        match self {
            ErrorKind::Usage
            | ErrorKind::Config
            | ErrorKind::Profile
            | ErrorKind::NotAuthorized
            | ErrorKind::PermissionDenied
            | ErrorKind::PathRejected
            | ErrorKind::UnknownEndpoint
            | ErrorKind::OriginRefused
            | ErrorKind::IdentityMismatch
            | ErrorKind::Serialization
            | ErrorKind::Busy
            | ErrorKind::TokenExpired => Blame::Local,
            ErrorKind::Callback
            | ErrorKind::AuthorizationDenied
            | ErrorKind::ReauthorizationRequired
            | ErrorKind::TokenRefused
            | ErrorKind::Protocol
            | ErrorKind::RevocationRefused => Blame::Remote,
            ErrorKind::Transport
            | ErrorKind::Store
            | ErrorKind::Random
            | ErrorKind::Listen
            | ErrorKind::LoginTimeout
            | ErrorKind::NotSaved => Blame::Environment,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The caller used the core in a way it does not support, or its configuration lacks something.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// The client id is empty, too long or not visible ASCII.
    #[error("client id must be 1-512 visible ascii characters")]
    InvalidClientId,
    /// The redirect URI is not acceptable.
    #[error("invalid redirect uri: {reason}")]
    InvalidRedirectUri {
        /// What is wrong.
        reason: String,
    },
    /// The flow needs a redirect URI and the client has none.
    #[error("provider `{provider}` needs a redirect uri: set it on the client configuration")]
    MissingRedirectUri {
        /// Provider id.
        provider: String,
    },
    /// A scope is not a valid scope token.
    #[error("invalid scope `{scope}`: scopes are non-empty printable ascii without spaces")]
    InvalidScope {
        /// The scope (truncated).
        scope: String,
    },
    /// The operating system's random number generator failed.
    #[error("cannot draw random bytes: {0}")]
    Random(String),
    /// The provider profile does not list this grant.
    #[error("provider `{provider}` does not support the {grant} grant")]
    GrantNotSupported {
        /// Provider id.
        provider: String,
        /// The grant.
        grant: crate::profile::GrantType,
    },
    /// The profile has no token endpoint (Yotpo's is not documented).
    #[error("provider `{provider}` has no token endpoint configured: {hint}")]
    TokenEndpointNotConfigured {
        /// Provider id.
        provider: String,
        /// How to configure it.
        hint: String,
    },
    /// The token request needs a client secret and the client has none.
    #[error("provider `{provider}` needs a client secret at its token endpoint: set it on the client configuration")]
    MissingClientSecret {
        /// Provider id.
        provider: String,
    },
    /// A grant, pending authorization or token set of one provider was used with another.
    #[error("this value belongs to provider `{got}`, not to `{expected}`")]
    ProviderMismatch {
        /// The provider in use.
        expected: String,
        /// The provider of the value.
        got: String,
    },
    /// A refresh was asked for a token set that has no refresh token.
    #[error("the token set has no refresh token; authorize again")]
    NoRefreshToken,
    /// The profile's refresh sends the original authorization code, and the token set lacks it.
    #[error(
        "provider `{provider}` sends the original authorization code with a refresh, and this token set does not have it; authorize again"
    )]
    MissingAuthorizationCode {
        /// Provider id.
        provider: String,
    },
    /// The profile has no revocation or remove-application endpoint.
    #[error(
        "provider `{provider}` has no revocation or remove-application endpoint in its profile: forget the token locally, or add a [revocation] table"
    )]
    NoRevocationEndpoint {
        /// Provider id.
        provider: String,
    },
    /// The profile names a revocation endpoint without its URL (Yotpo's remove-application one).
    #[error("provider `{provider}` has no revocation url configured: {hint}")]
    RevocationEndpointNotConfigured {
        /// Provider id.
        provider: String,
        /// How to configure it.
        hint: String,
    },
    /// A response or transport failure was handed to a flow that is not waiting for one.
    #[error("the flow is not waiting for a response (call poll_transmit first, and only once per request)")]
    NotWaitingForResponse,
    /// The profile authenticates with `private_key_jwt` and the client has no private key.
    #[error(
        "provider `{provider}` authenticates clients with private_key_jwt: set the client's private key (a PKCS#8 PEM file)"
    )]
    MissingClientKey {
        /// Provider id.
        provider: String,
    },
    /// The profile lacks an endpoint or value the operation needs (`device.url`,
    /// `authorization.par_url`, `authorization.issuer`).
    #[error("provider `{provider}` has no `{endpoint}` in its profile: {hint}")]
    EndpointNotConfigured {
        /// Provider id.
        provider: String,
        /// The profile field.
        endpoint: &'static str,
        /// What it is for.
        hint: &'static str,
    },
    /// The operation signs something that carries the time, and was called without it.
    #[error("{what} is signed with the current time: call the variant that takes `now`")]
    NeedsTime {
        /// What was to be signed.
        what: &'static str,
    },
    /// The provider has no `[api]` table, and the path is not a full URL.
    #[error("provider `{provider}` has no api base url: set [api] base_url in the profile")]
    NoApiBase {
        /// Provider id.
        provider: String,
    },
}

impl UsageError {
    /// [`ErrorKind::Config`] for what the configuration lacks, [`ErrorKind::Usage`] for calls in
    /// the wrong order, [`ErrorKind::Random`] for the random number generator.
    pub fn kind(&self) -> ErrorKind {
        match self {
            UsageError::NotWaitingForResponse | UsageError::ProviderMismatch { .. } | UsageError::NeedsTime { .. } => {
                ErrorKind::Usage
            }
            UsageError::Random(_) => ErrorKind::Random,
            _ => ErrorKind::Config,
        }
    }
}

/// A token store failed (defined here so that every store, in any crate or language binding,
/// reports through the same [`Error`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database or file failed.
    #[error("token store {path}: {reason}")]
    Backend {
        /// The store's location (never a password).
        path: String,
        /// What failed (never a token value).
        reason: String,
    },
    /// The stored data cannot be read back (corrupt, or written by a newer version).
    #[error("token store {path}: stored data for {key} is unreadable: {reason}")]
    Corrupt {
        /// The store's location.
        path: String,
        /// `provider/client/account`.
        key: String,
        /// Why.
        reason: String,
    },
    /// Another process (or thread) held the store's lock longer than the store waits: its
    /// refresh is still running, or it hung.
    #[error(
        "token store {path}: waited {waited_secs} s for another process's refresh of this token to finish; it still holds the lock"
    )]
    Busy {
        /// The store's location.
        path: String,
        /// How long it waited.
        waited_secs: u64,
    },
    /// The store's file or directory could be read or replaced by somebody else: refused, with
    /// what to fix.
    #[error("token store {path}: {problem}")]
    Unsafe {
        /// The file or directory.
        path: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// A sealed token set cannot be opened or sealed: the key is missing or wrong, or the data
    /// was altered. Never read as garbage, never taken for "no token".
    #[error("token store {path}: the token set of {key}: {problem}")]
    Sealed {
        /// The store's location.
        path: String,
        /// `provider/client/account`.
        key: String,
        /// What is wrong and what to set.
        problem: String,
    },
    /// The database was written by a newer scopegate (schema version above ours).
    #[error("token store {path}: schema version {found} is newer than this scopegate understands ({supported})")]
    NewerSchema {
        /// The store's location.
        path: String,
        /// Version found.
        found: i64,
        /// Highest version supported.
        supported: i64,
    },
}

/// What went wrong. Every variant has a [`kind`](Error::kind) with a stable number and a
/// [`blame`](Error::blame); none of them formats a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The calling code misused the API, or its configuration lacks something.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// A provider profile could not be loaded.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The authorization callback was rejected, or carried the provider's refusal.
    #[error(transparent)]
    Callback(#[from] CallbackError),
    /// The token endpoint refused or misbehaved, or the transport failed during a token request.
    #[error(transparent)]
    Flow(#[from] FlowError),
    /// The transport failed on an API or revocation request.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The token store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The tokens were renewed but could not be stored (disk full, say): they are carried here,
    /// so the caller can still use them, and knows they are not stored.
    #[error("{error}; the tokens were renewed but are NOT stored: use them from this error and store them again")]
    NotSaved {
        /// The store's failure.
        error: StoreError,
        /// The renewed tokens.
        tokens: Box<TokenSet>,
    },
    /// The revocation or remove-application endpoint refused (the token is kept).
    #[error(transparent)]
    Revocation(#[from] RevocationError),
    /// Serialized data could not be read.
    #[error(transparent)]
    Serialization(#[from] SerialError),
    /// No token is held for this provider and account.
    #[error("no token stored for {provider}/{account}: log in first")]
    NotAuthorized {
        /// Provider id.
        provider: String,
        /// Account.
        account: String,
    },
    /// The user must authorize (for Yotpo: install) the app again.
    #[error("{provider}/{account} must be authorized again: {}", reason.describe())]
    ReauthorizationRequired {
        /// Provider id.
        provider: String,
        /// Account.
        account: String,
        /// Why.
        reason: ReauthorizationReason,
        /// The token endpoint's answer, when a refusal caused it.
        oauth: Option<Box<OAuthError>>,
    },
    /// The access token has expired: refresh before the call.
    #[error("the access token of {provider}/{account} has expired: refresh it first")]
    TokenExpired {
        /// Provider id.
        provider: String,
        /// Account.
        account: String,
    },
    /// The configured rights do not allow the call (checked locally, nothing was sent).
    #[error("{method} {path} is not allowed with the configured rights; rights that allow it: {would_allow}")]
    PermissionDenied {
        /// Method.
        method: Method,
        /// Endpoint template.
        path: String,
        /// Comma-separated right ids (or `none`).
        would_allow: String,
    },
    /// The path was rejected by the permission check (nothing was sent).
    #[error("path rejected: {0}")]
    PathRejected(RejectReason),
    /// No endpoint of the provider's matrix matches (nothing was sent).
    #[error("{method} {path} is not an endpoint of the provider's api (per its profile)")]
    UnknownEndpoint {
        /// Method.
        method: Method,
        /// The path as given (query removed, truncated).
        path: String,
    },
    /// The request's URL is outside the profile's API: the token is never sent there.
    #[error("refusing to send the token to {url}: {reason}")]
    OriginRefused {
        /// The URL (query removed, truncated).
        url: String,
        /// Why.
        reason: String,
    },
    /// The operation would replace one identity's token with another's.
    #[error("{0}")]
    IdentityMismatch(String),
    /// Another operation is in flight on this session.
    #[error("another operation is in flight on this session: drive it to its end first")]
    Busy,
}

impl Error {
    /// The kind, with its stable number.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Usage(e) => e.kind(),
            Error::Profile(_) => ErrorKind::Profile,
            Error::Callback(CallbackError::Denied(_)) => ErrorKind::AuthorizationDenied,
            Error::Callback(_) => ErrorKind::Callback,
            Error::Flow(FlowError::Usage(e)) => e.kind(),
            Error::Flow(FlowError::Transport { .. }) => ErrorKind::Transport,
            Error::Flow(FlowError::Response(TokenResponseError::Refused(_))) => ErrorKind::TokenRefused,
            Error::Flow(_) => ErrorKind::Protocol,
            Error::Transport(_) => ErrorKind::Transport,
            Error::Store(_) => ErrorKind::Store,
            Error::NotSaved { .. } => ErrorKind::NotSaved,
            Error::Revocation(_) => ErrorKind::RevocationRefused,
            Error::Serialization(_) => ErrorKind::Serialization,
            Error::NotAuthorized { .. } => ErrorKind::NotAuthorized,
            Error::ReauthorizationRequired { .. } => ErrorKind::ReauthorizationRequired,
            Error::TokenExpired { .. } => ErrorKind::TokenExpired,
            Error::PermissionDenied { .. } => ErrorKind::PermissionDenied,
            Error::PathRejected(_) => ErrorKind::PathRejected,
            Error::UnknownEndpoint { .. } => ErrorKind::UnknownEndpoint,
            Error::OriginRefused { .. } => ErrorKind::OriginRefused,
            Error::IdentityMismatch(_) => ErrorKind::IdentityMismatch,
            Error::Busy => ErrorKind::Busy,
        }
    }

    /// Who is to blame.
    pub fn blame(&self) -> Blame {
        match self {
            Error::Callback(e) => e.blame(),
            Error::Revocation(e) => e.blame(),
            Error::Flow(FlowError::Response(TokenResponseError::Refused(e))) if e.code.as_str() == "invalid_client" => {
                Blame::Local
            }
            other => other.kind().default_blame(),
        }
    }

    /// The OAuth error the provider sent (`error`, `error_description`, HTTP status), when this
    /// error carries one: a token endpoint or revocation refusal, or a re-authorization caused
    /// by one.
    pub fn oauth(&self) -> Option<&OAuthError> {
        match self {
            Error::Flow(FlowError::Response(TokenResponseError::Refused(e)))
            | Error::Revocation(RevocationError::Refused(e)) => Some(e),
            Error::ReauthorizationRequired { oauth, .. } => oauth.as_deref(),
            _ => None,
        }
    }

    /// The `error` of the authorization callback's refusal (`access_denied`...), when this is one.
    pub fn authorization_error(&self) -> Option<&AuthorizationError> {
        match self {
            Error::Callback(CallbackError::Denied(e)) => Some(e),
            _ => None,
        }
    }

    /// The HTTP status of the answer that caused this error, when there was one.
    pub fn http_status(&self) -> Option<u16> {
        if let Some(o) = self.oauth() {
            return Some(o.status);
        }
        match self {
            Error::Flow(FlowError::Response(
                TokenResponseError::Redirect { status, .. } | TokenResponseError::HttpStatus { status, .. },
            ))
            | Error::Revocation(RevocationError::Redirect { status } | RevocationError::HttpStatus { status, .. }) => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// The renewed tokens an [`Error::NotSaved`] carries.
    pub fn unsaved_tokens(&self) -> Option<&TokenSet> {
        match self {
            Error::NotSaved { tokens, .. } => Some(tokens),
            _ => None,
        }
    }

    /// The reason, when only a new authorization helps.
    pub fn reauthorization_reason(&self) -> Option<ReauthorizationReason> {
        match self {
            Error::ReauthorizationRequired { reason, .. } => Some(*reason),
            _ => None,
        }
    }

    /// Whether the endpoint said `invalid_grant`.
    pub fn is_invalid_grant(&self) -> bool {
        match self {
            Error::Flow(e) => e.is_invalid_grant(),
            Error::ReauthorizationRequired { reason: ReauthorizationReason::InvalidGrant, .. } => true,
            _ => false,
        }
    }
}

impl From<TokenResponseError> for Error {
    fn from(e: TokenResponseError) -> Self {
        Error::Flow(FlowError::Response(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_numbers_are_stable_and_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for (i, k) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(k.code(), i as u32 + 1, "{k}: numbers are dense and in order");
            assert!(seen.insert(k.name()));
            assert_eq!(ErrorKind::from_code(k.code()), Some(*k));
        }
        assert_eq!(ErrorKind::from_code(0), None);
        // The contract, spelled out: these never change.
        assert_eq!(ErrorKind::ReauthorizationRequired as u32, 7);
        assert_eq!(ErrorKind::Transport as u32, 10);
        assert_eq!(ErrorKind::OriginRefused as u32, 14);
        assert_eq!(ErrorKind::Store as u32, 16);
    }
}
