//! A local emulator of what the provider documents in `../shared/seeds/` say, on 127.0.0.1 only.
//!
//! One server serves every built-in provider under its own path prefix (`/yespo`, `/reteno`,
//! `/yotpo`, `/yuvo`); [`Sandbox::profile`] gives the built-in profile with every URL pointed at
//! it, and a provider id of its own (`yespo@127.0.0.1:PORT`, as [`profile_at`] and
//! [`profile_overrides`] give too), so that its tokens never share a store key with the real
//! provider's; the sandbox's own calls take either id ([`builtin_id`]). What each provider does
//! here, and the document it follows:
//!
//! - **Yespo, Reteno** (UAA): `GET /{p}/uaa/oauth/authorize` (consent), `POST /{p}/uaa/oauth/token`
//!   with the client authenticated by Basic or in the body; `authorization_code`, and
//!   `refresh_token` which must carry the original `code` and `redirect_uri` as the document asks,
//!   and rotates (a used refresh token stops working); tokens carry `scope: UseRestApi` and live
//!   172800 s. `GET /{p}/api/v2/version`, and every API method of the profile's groups under
//!   `/{p}/api/v1/` (and `/v2/`): 401 without a live token, 403 when the app's registered rights
//!   do not open the method's group (the profile's own matrix decides), 404 for unknown methods.
//! - **Yotpo**: the install link in path form (`/yotpo/app/install/applications/{client_id}?state=`,
//!   since a URL fragment never reaches a server) leads to consent, then to the app's registered
//!   redirect URI with `code`, `app_key` and `state`. `POST /yotpo/oauth/token` (body credentials):
//!   a token that never expires, one per store (a new install replaces the old token).
//!   `DELETE /yotpo/apps/{app_key}/uninstall` (the remove application endpoint, bearer token).
//!   `GET /yotpo/api/store`: 401 once uninstalled. A merchant-side uninstall
//!   ([`Sandbox::merchant_uninstall`]) deletes the token and POSTs the uninstall webhook.
//! - **Yuvo**: `/yuvo/oauth/authorize/` and `/yuvo/oauth/token/` with their trailing slashes;
//!   authorization_code, refresh_token (every second refresh answer omits `refresh_token`: the old
//!   one stays valid), client_credentials; `error=access_denied` when consent is refused;
//!   `GET /yuvo/companies`.
//!
//! Consent is a small HTML page (approve / deny) or automatic ([`Consent`]). Fault knobs
//! ([`Fault`]) apply to the next token-endpoint answers of a provider (`no-refresh-token`, for
//! one, issues tokens without a refresh token). Apps are registered with [`Sandbox::register`]
//! (or `POST /_sandbox/register`, [`register_remote`] from Rust); each provider has the app
//! [`SANDBOX_CLIENT_ID`] / [`SANDBOX_CLIENT_SECRET`] from the start, and [`login_app`] says
//! which app a login through the sandbox registers.
//!
//! **Strict mode** ([`SandboxOptions::strict`], [`Sandbox::set_strict`], `POST /_sandbox/strict`)
//! punishes a client's mistakes as a careful server would:
//! - PKCE (RFC 7636, `S256` only) is required at Yespo, Reteno and Yuvo (Yotpo's install link has
//!   no place for it): an authorization request without `code_challenge`, or with another
//!   method, is answered on the redirect URI with `error=invalid_request` (and the `state`), RFC
//!   6749 §4.1.2.1; the token request must carry the matching `code_verifier`
//!   (`invalid_grant` otherwise), and a `code_verifier` for a code requested without a challenge
//!   is `invalid_grant` too (RFC 9700 §2.1.1). The profiles of a strict sandbox
//!   ([`Sandbox::profile`], [`profile_at_with`]) say `pkce = "S256"`. Strict or not, a challenge
//!   that was sent is verified.
//! - Refresh-token reuse (RFC 9700 §4.14.2): every token belongs to a grant family (one
//!   authorization code, or one client credentials issue). A refresh token that was rotated out
//!   and comes back is answered `400 {"error":"invalid_grant","error_description":"refresh token
//!   reuse detected; the grant is revoked"}`, and the whole family is revoked: its current refresh
//!   token and access tokens stop working (API calls get 401). [`Counters::reuse_detected`]
//!   counts it. Out of strict mode a used refresh token is only `invalid_grant`.
//!
//! **Time** is read from the sandbox's own clock ([`SandboxClock`]): the system clock until
//! [`Sandbox::advance`] moves it forward; the expiry of codes and tokens follows it.
//!
//! **Without sockets**: [`Sandbox::transport`] gives a
//! [`Transport`](scopegate::Transport) that hands each request to the same
//! routing as the HTTP server, in-process; a request to any other origin is a
//! [`TransportError::Connect`](scopegate_core::TransportError::Connect). With a
//! client reading the sandbox's clock, a test can log in, let tokens expire and refresh without
//! opening a connection or waiting.
//!
//! **Standards** ([`Sandbox::specs_issuer`], `{base}/specs`): an authorization server with
//! discovery, private_key_jwt, PAR, the device grant and DPoP, and the failures a provider answers
//! with (a wrong `aud`, a missing DPoP nonce, `slow_down`, an expired `request_uri`); its module
//! documentation lists the clients and endpoints.
//!
//! Control endpoints (for a sandbox in another process): `POST /_sandbox/register` (JSON
//! [`App`]), `GET /_sandbox/counters`, `POST /_sandbox/fault` (`{"provider":..,"fault":..}`),
//! `POST /_sandbox/consent` (`{"mode":"approve"}`), `POST /_sandbox/strict` (`{"on":true}`;
//! `GET` reads it), `POST /_sandbox/webhook` (`{"url":..}`) and
//! `POST /_sandbox/yotpo/uninstall?app_key=..`.
//!
//! How the crate is laid out: the sandbox's handle ([`Sandbox`], `sandbox.rs`) runs the socket
//! loop and hands every request, as the in-process [`SandboxTransport`] does, to the router
//! (`server.rs`), the one place that knows which handler answers which path. The handlers
//! (`authorize`, `consent`, `token`, `control`, `uaa`, `yotpo`, `yuvo`, and the `/specs` server)
//! receive the request and the state they work on, and import only modules below them:
//! requests and answers (`http.rs`), the shared state (`state.rs`), and plain values (apps,
//! counters, knobs, errors, the clock). No module imports one above it.

mod apps;
mod authorize;
mod browser;
mod clock;
mod consent;
mod control;
mod counters;
pub mod demo;
mod error;
mod http;
mod knobs;
mod loopback;
mod profile;
mod random;
mod register;
mod sandbox;
mod server;
mod socket;
mod specs;
mod state;
mod token;
mod transport;
mod uaa;
mod yotpo;
mod yuvo;

pub use apps::{App, PROVIDERS, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_COMPANY, SANDBOX_STORE};
pub use browser::{authorize_at, follow_as_browser};
pub use clock::SandboxClock;
pub use counters::Counters;
pub use error::SandboxError;
pub use knobs::{Consent, Fault};
pub use profile::{builtin_id, profile_at, profile_at_with, profile_overrides, profile_overrides_with};
pub use register::{login_app, register_remote};
pub use sandbox::{Sandbox, SandboxOptions};
pub use specs::state::{
    DEVICE_CODE_LIFETIME_SECS, DEVICE_INTERVAL_SECS, REQUEST_URI_LIFETIME_SECS, SPECS_SECRET, SpecsCounters,
};
pub use transport::SandboxTransport;
