//! [`UsageError`]: the caller used the core in a way it does not support, or its configuration
//! lacks something.

use crate::kind::ErrorKind;

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
    /// A token store cannot be named or opened as given (no default location, a seal key that
    /// is not one, a store kind this build lacks).
    #[error("token store: {reason}")]
    InvalidStore {
        /// What is wrong.
        reason: String,
    },
    /// A loopback login's redirect URI asks for any free port (port 0), and the profile does not
    /// say that its provider accepts any port on a loopback redirect (RFC 8252 §7.3): set
    /// `loopback_any_port = true` in its `[authorization]` table if it does, or name the port the
    /// app registered.
    #[error(
        "provider `{provider}` does not accept any loopback port: the redirect uri names port 0 (any free port), which needs `loopback_any_port = true` in the profile's [authorization]; name the registered port instead"
    )]
    AnyPortNotAllowed {
        /// Provider id.
        provider: String,
    },
    /// A loopback login cannot listen on the redirect URI (RFC 8252 §7.3): not `http`, not a
    /// loopback host, or no port.
    #[error("loopback login needs a redirect uri like http://127.0.0.1:8081/callback: {reason}")]
    LoopbackRedirectUri {
        /// What is wrong with it.
        reason: String,
    },
    /// A DPoP-bound token set (`token_type` `DPoP`) has no DPoP key: its access token can only be
    /// sent with a proof of that key, never as a Bearer token.
    #[error(
        "the token set of provider `{provider}` is DPoP-bound but holds no DPoP key: it is never sent as a bearer token; log in again"
    )]
    DpopKeyMissing {
        /// Provider id.
        provider: String,
    },
    /// The DPoP key could not be made or used (the random number generator or the signature
    /// failed).
    #[error("dpop: {reason}")]
    Dpop {
        /// What failed.
        reason: String,
    },
    /// The browser URL of a pushed authorization request was asked for, and none was pushed
    /// (or its answer was not handed in yet).
    #[error(
        "no pushed authorization request is held: start_authorization pushes one, and its answer must be handed in first"
    )]
    NoPushedAuthorization,
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
            UsageError::NotWaitingForResponse
            | UsageError::ProviderMismatch { .. }
            | UsageError::NeedsTime { .. }
            | UsageError::NoPushedAuthorization => ErrorKind::Usage,
            UsageError::Random(_) | UsageError::Dpop { .. } => ErrorKind::Random,
            _ => ErrorKind::Config,
        }
    }
}
