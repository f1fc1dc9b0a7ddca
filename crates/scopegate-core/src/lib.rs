//! # scopegate-core
//!
//! The sans-IO core of scopegate: provider profiles, the OAuth 2.0 flows, token parsing, the
//! token lifecycle and the permission matrix, with [`Session`], the state machine of one
//! connection, on top. It is written once and driven by the `scopegate` crate (transport, token
//! stores, the blocking `Client`), the C ABI and the Python package — or by your own code over
//! your own HTTP stack.
//!
//! ## The I/O contract
//!
//! This crate performs **no network I/O and reads no clock**:
//!
//! - **Time is an input.** Every operation that depends on time takes `now: Timestamp`
//!   (wall-clock seconds, because token expiry must survive restarts and be shared between
//!   processes). Tests drive it with a virtual clock.
//! - **HTTP is a value.** [`Session::poll_transmit`] yields the token-endpoint, revocation,
//!   pushed authorization (PAR) or device authorization request to send, with a [`RequestId`];
//!   the caller sends it and hands back the answer with
//!   [`Session::handle_response`], or the failure with [`Session::handle_transport_error`],
//!   saying whether the request may have been sent ([`TransportError::may_have_been_sent`]).
//!   API calls are built by [`Session::api_request`] and their answer goes back through
//!   [`Session::handle_api_answer`] (or their status through [`Session::handle_api_response`]).
//!   A transport sends requests as they are and **never
//!   follows redirects** ([`HttpRequest::follow_redirects`]).
//! - **Timers are values.** [`Session::poll_timeout`] says when to call
//!   [`Session::handle_timeout`]: the end of a `Retry-After` back-off, the next poll of a device
//!   authorization, or when a refresh is due.
//! - **What happened comes out as events** from [`Session::poll_event`]:
//!   [`Event::TokensChanged`] (persist [`Session::tokens`] before using them),
//!   [`Event::ReauthorizationRequired`], [`Event::Revoked`], [`Event::Failed`],
//!   [`Event::UserCode`] (what to show the user of a device authorization) and
//!   [`Event::AuthorizationReady`] (the browser URL of a pushed authorization request).
//! - **Randomness** for `state` and PKCE verifiers comes from the operating system's CSPRNG
//!   (the one system call the core makes); tests may inject bytes
//!   ([`AuthorizationRequest::build_with_entropy`]).
//! - **Files** are read only when the caller asks for a profile file ([`Provider::from_file`]).
//!
//! Secrets never appear in `Debug`/`Display` output or in error messages (see [`ClientSecret`]
//! and the other secret types); [`TokenSet::to_json`] and [`PendingAuthorization::to_json`] are
//! the explicit ways out, for storage. Errors have a stable [`ErrorKind`] number and a
//! [`Blame`].
//!
//! ## The Session: commands, I/O, timers, events
//!
//! - **Commands** start an operation or ask for a request: [`Session::start_authorization`]
//!   (which pushes the request first when the profile says `[authorization] par = true`,
//!   RFC 9126), [`Session::handle_callback`], [`Session::start_device_authorization`]
//!   (RFC 8628), [`Session::client_credentials`], [`Session::refresh`], [`Session::revoke`], and
//!   [`Session::api_request`] (with [`Session::handle_api_answer`]). At most one operation is in
//!   flight; a command while one is (or [`Session::set_tokens`], [`Session::forget`]) gives
//!   [`Error::Busy`]. API requests are not operations: any number may be out at once.
//! - **I/O**, **timers** and **events** as above.
//!
//! The rules the session owns (and every driver of it, the `scopegate` crate's `Client`, C and
//! Python included, only applies):
//!
//! - **when to refresh**: the profile's margin (60 s by default) before the access token expires,
//!   but never before half its lifetime has passed ([`TokenSet::refresh_due_at`]), so a token
//!   shorter-lived than the margin is not due the moment it arrives; [`Session::poll_timeout`] is
//!   never in the past right after a refresh;
//! - a token set records whose it is ([`Identity`]); the session never replaces one identity's
//!   token with another's (a user's expired token without a refresh token needs the user again,
//!   never the app's client-credentials token; a login for another account is refused);
//! - the bearer token goes only to the profile's API: the origin (scheme, host, port) of one of
//!   its base URLs and a path under that base, or an origin the profile lists in
//!   `[api] send_token_to`; errors never quote a URL's user info;
//! - retries: a request that never left is tried again (3 tries in all); a 429/503 with
//!   `Retry-After` is waited for (3 tries, 30 s of waiting in all, saturating arithmetic); a
//!   request that may have arrived is never sent again (a code or a refresh token may be spent);
//! - a refresh token past its known lifetime, a dead grant, and a user token without a refresh
//!   token that has expired all give [`Event::ReauthorizationRequired`] without a request;
//! - the 401 refresh-and-retry, and Yotpo's repeated-401 rule ([`NextStep`]), counted in the
//!   token set so that stores keep the count across processes;
//! - the client authenticates as its profile says wherever it is authenticated (token,
//!   revocation, PAR and device requests), `private_key_jwt` included (RFC 7523: an assertion
//!   signed with [`ClientConfig::with_client_key`]'s key when the request leaves, signed again
//!   before a request that may have arrived is sent again);
//! - DPoP (RFC 9449) for a profile with `[dpop] required = true`: one key pair per account, kept
//!   in the token set ([`TokenSet::dpop_key`]) and carried by the pending authorization from
//!   start to exchange; a proof on every token, PAR and device-poll request and every API call;
//!   the servers' nonces kept per origin (the authorization server's apart from the
//!   resources'), a `use_dpop_nonce` answer sent again once with the nonce; a DPoP-bound token
//!   is never sent as a Bearer token.
//!
//! ## A whole connection, driven by hand
//!
//! ```
//! use scopegate_core::prelude::*;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let provider = Provider::builtin("yuvo")?;
//! let client = ClientConfig::new("my-client")?
//!     .with_secret("my-secret")
//!     .with_redirect_uri("https://app.example/callback")?;
//! let mut session = Session::new(provider, client);
//! let mut now = Timestamp::from_unix_secs(1_700_000_000);
//!
//! // 1. Send the user to the authorization URL; keep `pending` (e.g. `pending.to_json()` in
//! //    their web session) until the browser comes back.
//! let AuthorizationStart { url, mut pending } = session.start_authorization(now)?;
//! assert!(url.starts_with("https://api.yuvohub.com/oauth/authorize/?response_type=code"));
//!
//! // 2. The callback arrives: the session checks it and starts the code exchange.
//! let callback = format!("https://app.example/callback?code=abc&state={}", pending.state().expose_secret());
//! now = now.plus_secs(30);
//! session.handle_callback(now, &mut pending, &callback)?;
//!
//! // 3. Your HTTP stack sends what the session asks for, without following redirects.
//! let (id, request) = session.poll_transmit(now).expect("the code exchange");
//! assert_eq!(request.url().as_str(), "https://api.yuvohub.com/oauth/token/");
//! assert!(!request.follow_redirects());
//! let answer = HttpResponse::new(
//!     200,
//!     r#"{"access_token":"at1","token_type":"Bearer","expires_in":3600,"refresh_token":"rt1"}"#,
//! );
//! session.handle_response(now, id, answer)?;
//! assert!(matches!(session.poll_event(), Some(Event::TokensChanged)));
//! let stored = session.tokens().expect("tokens").to_json(); // persist before use
//!
//! // 4. API calls: the session adds the bearer token and keeps it inside the profile's API.
//! let (call, request) = session.api_request(now, Method::Get, "companies", None)?;
//! assert_eq!(request.url().as_str(), "https://api.yuvohub.com/companies");
//! assert_eq!(session.handle_api_response(call, 200), NextStep::Done);
//! let refused = session.api_request(now, Method::Get, "https://elsewhere.example/x", None);
//! assert_eq!(refused.unwrap_err().kind(), ErrorKind::OriginRefused);
//!
//! // 5. Timers: the refresh is due 60 s before expiry; the session starts it itself.
//! let due = session.poll_timeout().expect("a refresh is ahead");
//! assert_eq!(due, now.plus_secs(3600 - 60));
//! now = due;
//! session.handle_timeout(now);
//! let (id, request) = session.poll_transmit(now).expect("the refresh");
//! assert_eq!(request.form_value("grant_type"), Some("refresh_token"));
//! // A 429 with Retry-After is waited for (the session says until when)...
//! let busy = HttpResponse::new(429, "").with_header("Retry-After", "5");
//! session.handle_response(now, id, busy)?;
//! assert_eq!(session.poll_timeout(), Some(now.plus_secs(5)));
//! now = now.plus_secs(5);
//! session.handle_timeout(now);
//! let (id, _) = session.poll_transmit(now).expect("the same refresh again");
//! // ...and a refused refresh token means the user must authorize again.
//! let dead = HttpResponse::new(400, r#"{"error":"invalid_grant"}"#);
//! session.handle_response(now, id, dead)?;
//! let events: Vec<Event> = std::iter::from_fn(|| session.poll_event()).collect();
//! assert!(matches!(
//!     events.as_slice(),
//!     [Event::TokensChanged, Event::ReauthorizationRequired(ReauthorizationReason::InvalidGrant), Event::Failed(_)]
//! ));
//!
//! // A new process picks the (now dead-marked) token set up from storage.
//! let mut later = Session::new(Provider::builtin("yuvo")?, ClientConfig::new("my-client")?);
//! later.set_tokens(Some(TokenSet::from_json(&session.tokens().unwrap().to_json())?))?;
//! assert_eq!(later.refresh(now).unwrap_err().kind(), ErrorKind::ReauthorizationRequired);
//! # let _ = stored;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

// Unit tests that include the integration tests' helpers (tests/common) name the crate
// `scopegate_core`, as those do.
#[cfg(test)]
extern crate self as scopegate_core;

pub mod authorize;
pub mod client_assertion;
mod client_auth;
pub mod device;
pub mod discovery;
pub mod dpop;
mod error;
mod flow;
pub mod http;
pub mod jose;
mod kind;
pub mod matrix;
mod method;
pub mod par;
pub mod pkce;
pub mod profile;
mod revoke;
pub mod secret;
pub mod serial;
mod session;
mod store_error;
mod text;
mod time;
pub mod token;
mod transport;
mod usage;

// The curated root: what a driver of a Session, or a permission check, needs. Details live in
// the public modules above (profile, matrix, token, http, secret, serial, authorize, and the
// modern specs), and the single-request state machines under `low_level`.
pub use authorize::{
    AuthorizationError, AuthorizationRequest, AuthorizationStart, CallbackError, ClientConfig, PendingAuthorization,
};
pub use error::Error;
pub use http::{HttpRequest, HttpResponse};
pub use kind::{Blame, ErrorKind};
pub use matrix::{Decision, PermissionMatrix, Policy, RejectReason, Rights};
pub use method::Method;
pub use profile::{GrantType, ProfileError, Provider};
pub use revoke::Revoked;
pub use secret::{AccessToken, AuthorizationCode, ClientSecret, PkceVerifier, RefreshToken, State};
pub use serial::SerialError;
pub use session::{ApiRequestId, DEFAULT_ACCOUNT, Event, NextStep, RequestId, Session};
pub use store_error::StoreError;
pub use time::Timestamp;
pub use token::{Identity, OAuthError, ReauthorizationReason, TokenSet};
pub use transport::TransportError;
/// The `url` crate, whose [`Url`](url::Url) [`HttpRequest::new`] and the profiles take.
pub use url;
pub use usage::UsageError;

/// The single-request state machines under the [`Session`]: one token request
/// ([`TokenFlow`](low_level::TokenFlow)), one revocation
/// ([`RevocationFlow`](low_level::RevocationFlow)), and what they are made of.
///
/// A [`Session`] drives these for you, with the rules around them (retries, `Retry-After`,
/// identities, the refresh rule, the 401 rules). Use them directly only to build a request the
/// Session does not make: a one-off token request in a test, a tool that talks to a token
/// endpoint without keeping tokens, or an interop check. Nothing here keeps state between
/// requests or applies a lifecycle rule.
pub mod low_level {
    pub use crate::client_auth::basic_authorization;
    pub use crate::flow::{FlowError, TokenFlow};
    pub use crate::revoke::{RevocationError, RevocationFlow};
    pub use crate::session::{MAX_RETRY_WAIT_SECS, MAX_TRIES};
    pub use crate::token::{ParseRules, TokenErrorCode, TokenResponse, TokenResponseError, parse_token_response};
}

/// What most callers need: `use scopegate_core::prelude::*;`.
pub mod prelude {
    pub use crate::{
        AccessToken, ApiRequestId, AuthorizationStart, Blame, ClientConfig, DEFAULT_ACCOUNT, Decision, Error,
        ErrorKind, Event, HttpRequest, HttpResponse, Identity, Method, NextStep, PendingAuthorization, Policy,
        Provider, ReauthorizationReason, RefreshToken, RequestId, Rights, Session, Timestamp, TokenSet, TransportError,
    };
}
