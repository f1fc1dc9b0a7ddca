//! One error surface for every caller: [`Error`], with a stable [`ErrorKind`] number and a
//! [`Blame`] (the table of kinds is [`kind`](crate::kind)).
//!
//! Like h11, every error says whether *we* (the code calling scopegate, or its configuration)
//! got something wrong, the *peer* (provider, user's browser) misbehaved or refused, or the
//! *environment* (network, disk, operating system) failed. [`Error::blame`] is the only place
//! that decides it. The C ABI turns [`ErrorKind`] into its result codes and the Python package
//! into its exception classes, so the numbers are a contract: each is documented in the table
//! and never reused.
//!
//! Messages never contain a secret: every value quoted from a response has the request's known
//! secrets cut out, and token values are never formatted.
//!
//! The per-source enums ([`UsageError`], [`FlowError`](crate::low_level::FlowError),
//! [`CallbackError`](crate::CallbackError), ...) stay underneath as [`Error`]'s variants, for
//! Rust callers who want to match on them.

use crate::authorize::{AuthorizationError, CallbackError};
use crate::device::DeviceError;
use crate::flow::FlowError;
use crate::kind::{Blame, ErrorKind};
use crate::matrix::RejectReason;
use crate::method::Method;
use crate::par::ParError;
use crate::profile::ProfileError;
use crate::revoke::RevocationError;
use crate::serial::SerialError;
use crate::store_error::StoreError;
use crate::token::{OAuthError, ReauthorizationReason, TokenResponseError, TokenSet};
use crate::transport::TransportError;
use crate::usage::UsageError;

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
    /// The device authorization grant (RFC 8628) failed: the device authorization endpoint
    /// refused, the user refused (`access_denied`), or the device code expired.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// The pushed authorization request (RFC 9126) was refused, or its `request_uri` expired.
    #[error(transparent)]
    Par(#[from] ParError),
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
    /// The loopback login could not listen on its port (the I/O crate's login).
    #[error("cannot listen on {addr} for the authorization callback: {reason}")]
    Listen {
        /// Address.
        addr: String,
        /// The system's reason.
        reason: String,
    },
    /// No valid authorization callback arrived in time (the I/O crate's login).
    #[error("no authorization callback arrived within {waited_secs} s; run the login again")]
    LoginTimeout {
        /// How long the login waited.
        waited_secs: u64,
    },
}

impl Error {
    /// The kind, with its stable number.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Usage(e) => e.kind(),
            Error::Profile(_) => ErrorKind::Profile,
            Error::Callback(CallbackError::Denied(_)) => ErrorKind::AuthorizationDenied,
            Error::Callback(_) => ErrorKind::Callback,
            Error::Flow(f) => flow_kind(f),
            Error::Transport(_) => ErrorKind::Transport,
            Error::Store(_) => ErrorKind::Store,
            Error::NotSaved { .. } => ErrorKind::NotSaved,
            Error::Revocation(_) => ErrorKind::RevocationRefused,
            Error::Serialization(_) => ErrorKind::Serialization,
            Error::Device(DeviceError::Refused(_)) | Error::Par(ParError::Refused(_)) => ErrorKind::TokenRefused,
            Error::Device(DeviceError::Malformed(_)) | Error::Par(ParError::Malformed(_)) => ErrorKind::Protocol,
            Error::Device(DeviceError::Expired) | Error::Par(ParError::Expired { .. }) => {
                ErrorKind::AuthorizationExpired
            }
            Error::Device(DeviceError::AccessDenied) => ErrorKind::AuthorizationDenied,
            Error::Device(DeviceError::Token(f)) => flow_kind(f),
            Error::NotAuthorized { .. } => ErrorKind::NotAuthorized,
            Error::ReauthorizationRequired { .. } => ErrorKind::ReauthorizationRequired,
            Error::TokenExpired { .. } => ErrorKind::TokenExpired,
            Error::PermissionDenied { .. } => ErrorKind::PermissionDenied,
            Error::PathRejected(_) => ErrorKind::PathRejected,
            Error::UnknownEndpoint { .. } => ErrorKind::UnknownEndpoint,
            Error::OriginRefused { .. } => ErrorKind::OriginRefused,
            Error::IdentityMismatch(_) => ErrorKind::IdentityMismatch,
            Error::Busy => ErrorKind::Busy,
            Error::Listen { .. } => ErrorKind::Listen,
            Error::LoginTimeout { .. } => ErrorKind::LoginTimeout,
        }
    }

    /// Who is to blame: the kind's [default](ErrorKind::default_blame), except where the error
    /// itself says more: `invalid_client` is the caller's configuration, and a callback that
    /// was used already or has expired (or a pushed request's `request_uri` that expired before
    /// the browser was sent to it) is the caller's doing. This is the only place that decides
    /// blame.
    pub fn blame(&self) -> Blame {
        let refused_client = self.oauth().is_some_and(|o| o.code.as_str() == "invalid_client");
        match self {
            Error::Flow(FlowError::Response(TokenResponseError::Refused(_)))
            | Error::Revocation(RevocationError::Refused(_))
            | Error::Device(
                DeviceError::Refused(_) | DeviceError::Token(FlowError::Response(TokenResponseError::Refused(_))),
            )
            | Error::Par(ParError::Refused(_))
                if refused_client =>
            {
                Blame::Local
            }
            Error::Callback(CallbackError::AlreadyUsed | CallbackError::Expired { .. }) => Blame::Local,
            Error::Par(ParError::Expired { .. }) => Blame::Local,
            Error::Flow(FlowError::Usage(e))
            | Error::Usage(e)
            | Error::Device(DeviceError::Token(FlowError::Usage(e))) => e.kind().default_blame(),
            other => other.kind().default_blame(),
        }
    }

    /// The OAuth error the provider sent (`error`, `error_description`, HTTP status), when this
    /// error carries one: a token endpoint or revocation refusal, or a re-authorization caused
    /// by one.
    pub fn oauth(&self) -> Option<&OAuthError> {
        match self {
            Error::Flow(FlowError::Response(TokenResponseError::Refused(e)))
            | Error::Revocation(RevocationError::Refused(e))
            | Error::Device(
                DeviceError::Refused(e) | DeviceError::Token(FlowError::Response(TokenResponseError::Refused(e))),
            )
            | Error::Par(ParError::Refused(e)) => Some(e),
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
            | Error::Device(DeviceError::Token(FlowError::Response(
                TokenResponseError::Redirect { status, .. } | TokenResponseError::HttpStatus { status, .. },
            )))
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

/// The kind of a token request's failure.
fn flow_kind(f: &FlowError) -> ErrorKind {
    match f {
        FlowError::Usage(e) => e.kind(),
        FlowError::Transport { .. } => ErrorKind::Transport,
        FlowError::Response(TokenResponseError::Refused(_)) => ErrorKind::TokenRefused,
        FlowError::Response(_) => ErrorKind::Protocol,
    }
}

impl From<TokenResponseError> for Error {
    fn from(e: TokenResponseError) -> Self {
        Error::Flow(FlowError::Response(e))
    }
}
