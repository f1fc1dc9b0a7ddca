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

mod authorize;
mod clock;
mod consent;
mod control;
pub mod demo;
mod loopback;
mod profile;
mod register;
mod server;
mod specs;
mod state;
mod token;
mod transport;
mod uaa;
mod yotpo;
mod yuvo;

use std::collections::HashMap;
use std::time::Duration;

use scopegate_core::ProfileError;
use serde_json::{Value, json};

pub use clock::SandboxClock;
pub use profile::{builtin_id, profile_at, profile_at_with, profile_overrides, profile_overrides_with};
pub use register::{login_app, register_remote};
pub use server::{Sandbox, SandboxOptions};
pub use specs::{
    DEVICE_CODE_LIFETIME_SECS, DEVICE_INTERVAL_SECS, REQUEST_URI_LIFETIME_SECS, SPECS_SECRET, SpecsCounters,
};
pub use transport::SandboxTransport;

/// The client id every provider of a new sandbox knows.
pub const SANDBOX_CLIENT_ID: &str = "sandbox-client";
/// Its secret.
pub const SANDBOX_CLIENT_SECRET: &str = "sandbox-secret";
/// The store a Yotpo install is for unless the consent page says otherwise.
pub const SANDBOX_STORE: &str = "sandbox-store-1";
/// The Yuvo company the authorization code flow grants access to.
pub const SANDBOX_COMPANY: &str = "sandbox-company-1";

/// The providers the sandbox emulates.
pub const PROVIDERS: [&str; 4] = ["yespo", "reteno", "yotpo", "yuvo"];

/// How the sandbox answers an authorization request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consent {
    /// Approve at once (tests, `scopegate demo`).
    AutoApprove,
    /// Refuse at once (`error=access_denied`).
    AutoDeny,
    /// Show a page with Approve and Deny buttons.
    Page,
}

/// A misbehaviour of the next token-endpoint answer of a provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (500, 502, 503, ...) and a short HTML body.
    Status(u16),
    /// Answer correctly after this delay.
    Slow(Duration),
    /// Answer 200 with a body that is not JSON.
    MalformedJson,
    /// Answer 200 with `{"error":"server_error"}`.
    ErrorIn200,
    /// Issue the token normally, but let it die after this many seconds (whatever `expires_in`
    /// says).
    EarlyExpiry(u64),
    /// Issue the tokens normally, but without a refresh token: none in the answer, none kept
    /// (the refresh token a refresh request used is not kept either). A login then ends with a
    /// user token that cannot be refreshed.
    NoRefreshToken,
}

impl Fault {
    /// Reads a fault from its text form: `500`, `slow:1500` (ms), `malformed-json`,
    /// `error-in-200`, `early-expiry:5` (s), `no-refresh-token`.
    pub fn parse(s: &str) -> Option<Fault> {
        if let Ok(status) = s.parse::<u16>() {
            return (400..600).contains(&status).then_some(Fault::Status(status));
        }
        match s.split_once(':') {
            Some(("slow", ms)) => ms.parse().ok().map(|ms| Fault::Slow(Duration::from_millis(ms))),
            Some(("early-expiry", secs)) => secs.parse().ok().map(Fault::EarlyExpiry),
            None if s == "malformed-json" => Some(Fault::MalformedJson),
            None if s == "error-in-200" => Some(Fault::ErrorIn200),
            None if s == "no-refresh-token" => Some(Fault::NoRefreshToken),
            _ => None,
        }
    }
}

/// An app registered with a provider of the sandbox. Its Debug form hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct App {
    /// `yespo`, `reteno`, `yotpo` or `yuvo`.
    pub provider: String,
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// The registered redirect URI (Yotpo needs one: its install link carries none). `None`:
    /// any loopback `http` redirect URI is accepted.
    pub redirect_uri: Option<String>,
    /// The access rights the app was registered with (Yespo/Reteno).
    pub rights: Vec<String>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("provider", &self.provider)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_uri", &self.redirect_uri)
            .field("rights", &self.rights)
            .finish()
    }
}

impl App {
    /// An app from the JSON form `POST /_sandbox/register` takes.
    pub(crate) fn from_json(v: &Value) -> Option<App> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        Some(App {
            provider: s("provider")?,
            client_id: s("client_id")?,
            client_secret: s("client_secret")?,
            redirect_uri: s("redirect_uri"),
            rights: v
                .get("rights")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default(),
        })
    }

    /// The JSON form `POST /_sandbox/register` takes (the secret included: it goes to loopback).
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "provider": self.provider, "client_id": self.client_id, "client_secret": self.client_secret,
            "redirect_uri": self.redirect_uri, "rights": self.rights,
        })
    }
}

/// What a provider of the sandbox has seen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Authorization (or install) requests.
    pub authorize: u64,
    /// Consents given / refused.
    pub approved: u64,
    /// Consents refused.
    pub denied: u64,
    /// Token requests, by `grant_type`.
    pub token_requests: HashMap<String, u64>,
    /// Token requests answered with an error (faults included).
    pub token_errors: u64,
    /// API calls.
    pub api_calls: u64,
    /// API calls answered 401.
    pub api_401: u64,
    /// API calls answered 403.
    pub api_403: u64,
    /// Remove-application calls.
    pub uninstalls: u64,
    /// Uninstall webhooks delivered.
    pub webhooks: u64,
    /// Rotated-out refresh tokens presented again in strict mode (each revoked a grant).
    pub reuse_detected: u64,
}

impl Counters {
    /// Token requests of one grant.
    pub fn grant(&self, grant: &str) -> u64 {
        self.token_requests.get(grant).copied().unwrap_or(0)
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({
            "authorize": self.authorize, "approved": self.approved, "denied": self.denied,
            "token_requests": self.token_requests, "token_errors": self.token_errors,
            "api_calls": self.api_calls, "api_401": self.api_401, "api_403": self.api_403,
            "uninstalls": self.uninstalls, "webhooks": self.webhooks, "reuse_detected": self.reuse_detected,
        })
    }
}

/// An error of the sandbox's own API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The provider id is not one the sandbox emulates.
    #[error("the sandbox does not emulate provider `{0}` (it has yespo, reteno, yotpo, yuvo)")]
    UnknownProvider(String),
    /// The server could not start.
    #[error("cannot start the sandbox on 127.0.0.1:{port}: {reason}")]
    Start {
        /// Port asked for.
        port: u16,
        /// Why.
        reason: String,
    },
    /// A built-in profile could not be pointed at the sandbox.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The sandbox URL cannot be used (not http or https, user info, a query...).
    #[error("not a sandbox url: {0}")]
    BadUrl(String),
    /// Nothing to uninstall.
    #[error("no yotpo install for store `{0}`")]
    NotInstalled(String),
    /// A file or directory of the demo could not be made.
    #[error("demo: {0}")]
    Io(String),
    /// A sandbox in another process could not be reached, or refused the request.
    #[error("the sandbox at {base}: {reason}")]
    Remote {
        /// Its base URL.
        base: String,
        /// Why (never a secret).
        reason: String,
    },
}
