//! # scopegate-core
//!
//! The sans-IO core of scopegate: provider profiles, the OAuth 2.0 flows, token parsing, the
//! token lifecycle and the permission matrix. It is written once and wrapped by the
//! `scopegate` crate (transports, stores), the C ABI and the Python package.
//!
//! ## The I/O contract
//!
//! This crate performs **no network I/O and reads no clock**:
//!
//! - **Time is an input.** Every operation that depends on time takes `now: Timestamp`
//!   (wall-clock seconds, because token expiry must survive restarts). Tests drive it with a
//!   virtual clock.
//! - **HTTP is a value.** A [`flow::TokenFlow`] yields the request to send from
//!   [`poll_transmit`](flow::TokenFlow::poll_transmit) and consumes the answer in
//!   [`handle_response`](flow::TokenFlow::handle_response) (or a failure in
//!   [`handle_transport_error`](flow::TokenFlow::handle_transport_error)); its result comes
//!   out of [`poll_outcome`](flow::TokenFlow::poll_outcome). The caller's transport sends the
//!   request as it is and **never follows redirects** ([`http::HttpRequest::follow_redirects`]).
//! - **Randomness** for `state` and PKCE verifiers comes from the operating system's CSPRNG
//!   (the one system call the core makes); tests may inject bytes instead
//!   ([`authorize::AuthorizationRequest::build_with_entropy`]).
//! - **Files** are read only when the caller asks for a profile file
//!   ([`profile::Provider::from_file`]).
//!
//! Secrets never appear in `Debug`/`Display` output: see [`secret`].
//!
//! ## A whole authorization-code login, sans IO
//!
//! ```
//! use scopegate_core::prelude::*;
//!
//! let provider = Provider::builtin("yuvo")?;
//! let client = ClientConfig::new("my-client")?
//!     .with_secret("my-secret")
//!     .with_redirect_uri("https://app.example/callback")?;
//! let now = Timestamp::from_unix_secs(1_700_000_000);
//!
//! // 1. Send the user to the authorization URL; keep `pending` in their session.
//! let AuthorizationStart { url, mut pending } = AuthorizationRequest::new(&provider, &client).build(now)?;
//! assert!(url.starts_with("https://api.yuvohub.com/oauth/authorize/?response_type=code"));
//!
//! // 2. The browser comes back to the redirect URI.
//! let callback = format!("https://app.example/callback?code=abc&state={}", pending.state().expose_secret());
//! let grant = pending.handle_callback(&callback, now.plus_secs(30))?;
//!
//! // 3. Exchange the code: the flow yields the request, we send it and hand back the answer.
//! let mut flow = TokenFlow::authorization_code(&provider, &client, grant)?;
//! let request = flow.poll_transmit(now.plus_secs(31)).expect("one request");
//! assert!(!request.follow_redirects());
//! let answer = HttpResponse::new(200, r#"{"access_token":"at","token_type":"Bearer","expires_in":3600}"#);
//! flow.handle_response(now.plus_secs(32), answer)?;
//! let tokens = flow.poll_outcome().expect("outcome")?;
//! assert_eq!(tokens.expires_at, Some(now.plus_secs(31 + 3600)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod authorize;
pub mod error;
pub mod flow;
pub mod http;
pub mod lifecycle;
pub mod matrix;
pub mod method;
pub mod pkce;
pub mod profile;
pub mod revoke;
pub mod secret;
pub mod serial;
pub mod session;
pub mod time;
pub mod token;
pub mod transport;

pub use error::{Blame, Error, ErrorKind, StoreError, UsageError};
pub use session::{ApiRequestId, DEFAULT_ACCOUNT, Event, NextStep, RequestId, Session};

/// The types most callers need.
pub mod prelude {
    pub use crate::authorize::{
        AuthorizationError, AuthorizationErrorCode, AuthorizationGrant, AuthorizationRequest, AuthorizationStart,
        CallbackError, ClientConfig, PendingAuthorization,
    };
    pub use crate::error::{Blame, Error, ErrorKind, StoreError, UsageError};
    pub use crate::flow::{FlowError, TokenFlow};
    pub use crate::http::{HttpRequest, HttpResponse};
    pub use crate::lifecycle::{ApiVerdict, Connection, ReauthorizationReason, TokenState};
    pub use crate::matrix::{Decision, PermissionMatrix, Policy, RejectReason, Rights};
    pub use crate::method::Method;
    pub use crate::profile::{GrantType, ProfileError, Provider};
    pub use crate::revoke::{RevocationError, RevocationFlow, Revoked};
    pub use crate::secret::{AccessToken, AuthorizationCode, ClientSecret, PkceVerifier, RefreshToken, State};
    pub use crate::serial::SerialError;
    pub use crate::session::{ApiRequestId, DEFAULT_ACCOUNT, Event, NextStep, RequestId, Session};
    pub use crate::time::Timestamp;
    pub use crate::token::{Identity, OAuthError, TokenErrorCode, TokenResponseError, TokenSet};
    pub use crate::transport::{Transport, TransportError};
}
