//! The device authorization grant (RFC 8628), for a CLI or a headless service: the user
//! approves on another device while this one polls.
//!
//! 1. [`device_authorization_request`] is the POST to the profile's `[device] url` (with the
//!    client's authentication, and `scope`); [`DeviceAuthorization::from_response`] reads the
//!    answer: `device_code` (a secret), `user_code`, `verification_uri`, the optional
//!    `verification_uri_complete`, `expires_in` and `interval` (5 s when absent, §3.2).
//! 2. Show the user the URI and the code ([`DeviceAuthorization::verification_uri_complete`]
//!    carries the code already, when the server gives it).
//! 3. [`DevicePoll`] polls the token endpoint every `interval` seconds: `authorization_pending`
//!    waits, `slow_down` adds 5 s to the interval for good (§3.5), `expired_token` and
//!    `access_denied` end it with a typed [`DeviceError`]; so does the code's own expiry,
//!    locally, without a request.

use url::Url;

use crate::authorize::ClientConfig;
use crate::client_auth::authenticated_post_at;
use crate::dpop::DpopKey;
use crate::flow::{FlowError, TokenFlow};
use crate::http::{HttpRequest, HttpResponse, redacted_snippet};
use crate::profile::Provider;
use crate::secret::DeviceCode;
use crate::text::sanitize_text;
use crate::time::Timestamp;
use crate::token::{OAuthError, TokenResponseError, TokenSet, oauth_error_in};
use crate::usage::UsageError;

/// The polling interval when the server gives none (RFC 8628 §3.2).
pub const DEFAULT_INTERVAL_SECS: u64 = 5;
/// What `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_SECS: u64 = 5;

/// The device authorization request (RFC 8628 §3.1): `scope` (none when empty) and the client's
/// authentication as at the token endpoint (`client_id` in the body for a public or
/// `body`-style client; a `private_key_jwt` assertion signed at `now`).
pub fn device_authorization_request(
    provider: &Provider,
    client: &ClientConfig,
    scopes: &[String],
    now: Timestamp,
) -> Result<HttpRequest, UsageError> {
    let url = provider.device_authorization_url().ok_or_else(|| UsageError::EndpointNotConfigured {
        provider: provider.id().to_owned(),
        endpoint: "device.url",
        hint: "the device authorization endpoint (RFC 8628 §3.1); `scopegate provider discover` finds it",
    })?;
    let (mut req, _secrets) = authenticated_post_at(provider, client, url, now)?;
    if !scopes.is_empty() {
        req.form_param("scope", scopes.join(" "));
    }
    Ok(req)
}

/// The answer to a device authorization request (RFC 8628 §3.2).
#[derive(Clone, Debug)]
pub struct DeviceAuthorization {
    device_code: DeviceCode,
    user_code: String,
    verification_uri: Url,
    verification_uri_complete: Option<Url>,
    interval_secs: u64,
    issued_at: Timestamp,
    expires_at: Timestamp,
    scopes: Vec<String>,
}

/// The device grant failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// The device authorization endpoint refused (`invalid_client`, `invalid_scope`, ...).
    #[error("the device authorization endpoint refused: {0}")]
    Refused(OAuthError),
    /// It answered something unusable.
    #[error("the device authorization response is unusable: {0}")]
    Malformed(String),
    /// `expired_token` (§3.5), or the code's `expires_in` passed without an answer: start again.
    #[error("the device code expired before the user approved: start again")]
    Expired,
    /// `access_denied` (§3.5): the user refused.
    #[error("the user refused the device authorization (access_denied)")]
    AccessDenied,
    /// The token endpoint refused otherwise, or answered something unusable.
    #[error(transparent)]
    Token(FlowError),
}

impl DeviceAuthorization {
    /// Reads the device authorization endpoint's answer, received at `now`.
    pub fn from_response(
        response: &HttpResponse,
        now: Timestamp,
        scopes: &[String],
    ) -> Result<DeviceAuthorization, DeviceError> {
        let status = response.status();
        if let Some(e) = oauth_error_in(status, response.body(), &[]) {
            return Err(DeviceError::Refused(e));
        }
        if !(200..300).contains(&status) {
            return Err(DeviceError::Malformed(format!("http {status}: {}", redacted_snippet(response.body(), &[]))));
        }
        let v: serde_json::Value =
            serde_json::from_slice(response.body()).map_err(|_| DeviceError::Malformed("not json".into()))?;
        let bad = |m: &str| DeviceError::Malformed(m.to_owned());
        let s = |k: &str| v.get(k).and_then(serde_json::Value::as_str);
        let device_code = s("device_code").filter(|c| !c.is_empty()).ok_or_else(|| bad("no device_code"))?;
        let user_code = s("user_code").filter(|c| !c.is_empty()).ok_or_else(|| bad("no user_code"))?;
        if user_code.len() > 64 || user_code.chars().any(char::is_control) {
            return Err(bad("user_code is not a short printable code"));
        }
        // `verification_url` is the name some servers (Google) used before the RFC.
        let uri = s("verification_uri").or(s("verification_url")).ok_or_else(|| bad("no verification_uri"))?;
        let checked = |u: &str, what: &str| -> Result<Url, DeviceError> {
            let url = Url::parse(u).map_err(|_| bad(&format!("{what} is not an absolute url")))?;
            crate::profile::check_endpoint_url(&url).map_err(|p| bad(&format!("{what}: {p}")))?;
            Ok(url)
        };
        let verification_uri = checked(uri, "verification_uri")?;
        let verification_uri_complete =
            s("verification_uri_complete").map(|u| checked(u, "verification_uri_complete")).transpose()?;
        let secs = |k: &str| -> Result<Option<u64>, DeviceError> {
            match v.get(k) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(n) => n.as_u64().map(Some).ok_or_else(|| bad(&format!("{k} is not a whole number of seconds"))),
            }
        };
        let expires_in = secs("expires_in")?.ok_or_else(|| bad("no expires_in"))?;
        let interval_secs = secs("interval")?.unwrap_or(DEFAULT_INTERVAL_SECS).max(1);
        Ok(DeviceAuthorization {
            device_code: DeviceCode::new(device_code),
            user_code: sanitize_text(user_code),
            verification_uri,
            verification_uri_complete,
            interval_secs,
            issued_at: now,
            expires_at: now.plus_secs(expires_in),
            scopes: scopes.to_vec(),
        })
    }

    /// The device code (a secret: it collects the user's tokens).
    pub fn device_code(&self) -> &DeviceCode {
        &self.device_code
    }
    /// The code the user types.
    pub fn user_code(&self) -> &str {
        &self.user_code
    }
    /// Where the user goes.
    pub fn verification_uri(&self) -> &Url {
        &self.verification_uri
    }
    /// The same with the code in it, when the server gives one (for a QR code or a link).
    pub fn verification_uri_complete(&self) -> Option<&Url> {
        self.verification_uri_complete.as_ref()
    }
    /// The polling interval the server asked for.
    pub fn interval_secs(&self) -> u64 {
        self.interval_secs
    }
    /// When the answer arrived.
    pub fn issued_at(&self) -> Timestamp {
        self.issued_at
    }
    /// When the codes stop working.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }
    /// The scopes asked for.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }
}

/// What the user is shown to approve a device authorization (RFC 8628 §3.3): the code and
/// where to type it. It holds no secret (the device code stays with the poller).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserCode {
    /// The code the user types.
    pub user_code: String,
    /// Where the user goes.
    pub verification_uri: Url,
    /// The same with the code in it, when the server gives one (a link or a QR code that needs
    /// no typing).
    pub verification_uri_complete: Option<Url>,
    /// When the codes stop working.
    pub expires_at: Timestamp,
    /// How often the token endpoint is polled meanwhile, in seconds.
    pub interval_secs: u64,
}

impl UserCode {
    /// The URI to show: the complete one (with the code) when the server gave it, else the
    /// verification URI (then show [`user_code`](Self::user_code) with it).
    pub fn uri(&self) -> &Url {
        self.verification_uri_complete.as_ref().unwrap_or(&self.verification_uri)
    }
}

impl From<&DeviceAuthorization> for UserCode {
    fn from(a: &DeviceAuthorization) -> UserCode {
        UserCode {
            user_code: a.user_code.clone(),
            verification_uri: a.verification_uri.clone(),
            verification_uri_complete: a.verification_uri_complete.clone(),
            expires_at: a.expires_at,
            interval_secs: a.interval_secs,
        }
    }
}

/// What one poll said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DevicePollStatus {
    /// `authorization_pending`: poll again at [`DevicePoll::poll_timeout`].
    Pending,
    /// `slow_down`: the interval grew by 5 s, to this.
    SlowDown {
        /// The new interval.
        interval_secs: u64,
    },
    /// The user approved: the tokens.
    Tokens(Box<TokenSet>),
}

/// The polling of the token endpoint for one device authorization (sans-IO).
#[derive(Debug)]
pub struct DevicePoll {
    authorization: DeviceAuthorization,
    interval_secs: u64,
    next_at: Timestamp,
    flow: Option<TokenFlow>,
    done: bool,
}

impl DevicePoll {
    /// Polling that starts one interval after the authorization was issued.
    pub fn new(authorization: DeviceAuthorization) -> DevicePoll {
        let interval_secs = authorization.interval_secs;
        let next_at = authorization.issued_at.plus_secs(interval_secs);
        DevicePoll { authorization, interval_secs, next_at, flow: None, done: false }
    }

    /// The current interval.
    pub fn interval_secs(&self) -> u64 {
        self.interval_secs
    }

    /// When to poll next (`None` while a poll is in flight, or once it ended).
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        (!self.done && self.flow.is_none()).then_some(self.next_at)
    }

    /// The poll to send, when it is time (`Ok(None)` before, or while one is in flight). After
    /// the codes' expiry it fails with [`DeviceError::Expired`] without a request.
    pub fn poll_transmit(
        &mut self,
        provider: &Provider,
        client: &ClientConfig,
        now: Timestamp,
    ) -> Result<Option<HttpRequest>, DeviceError> {
        self.transmit(provider, client, now, None)
    }

    /// [`poll_transmit`](Self::poll_transmit) with a DPoP proof (RFC 9449 §5) signed by the
    /// account's `key`, with the server's `nonce` when it gave one: the tokens are then bound
    /// to the key (`token_type` `DPoP`). A `use_dpop_nonce` answer is not a poll: hand it to
    /// [`retry_now`](Self::retry_now) (with the nonce learned) rather than to
    /// [`handle_response`](Self::handle_response).
    pub fn poll_transmit_with_dpop(
        &mut self,
        provider: &Provider,
        client: &ClientConfig,
        now: Timestamp,
        key: &DpopKey,
        nonce: Option<&str>,
    ) -> Result<Option<HttpRequest>, DeviceError> {
        self.transmit(provider, client, now, Some((key, nonce)))
    }

    /// Forgets the poll in flight, which the server did not process (it asked for a DPoP
    /// nonce first), and makes the next one due at `now`.
    pub fn retry_now(&mut self, now: Timestamp) {
        if self.flow.take().is_some() {
            self.next_at = now;
        }
    }

    fn transmit(
        &mut self,
        provider: &Provider,
        client: &ClientConfig,
        now: Timestamp,
        dpop: Option<(&DpopKey, Option<&str>)>,
    ) -> Result<Option<HttpRequest>, DeviceError> {
        if self.done || self.flow.is_some() || now < self.next_at {
            return Ok(None);
        }
        if now >= self.authorization.expires_at {
            self.done = true;
            return Err(DeviceError::Expired);
        }
        let mut flow =
            TokenFlow::device_code(provider, client, self.authorization.device_code(), self.authorization.scopes())
                .map_err(|e| DeviceError::Token(FlowError::Usage(e)))?;
        let sent = match dpop {
            Some((key, nonce)) => flow.poll_transmit_with_dpop(now, key, nonce),
            None => flow.poll_transmit(now),
        };
        match sent {
            Some(req) => {
                self.flow = Some(flow);
                Ok(Some(req))
            }
            None => {
                self.done = true;
                Err(flow.poll_outcome().and_then(Result::err).map_or(DeviceError::Expired, DeviceError::Token))
            }
        }
    }

    /// Reads the token endpoint's answer to the poll in flight.
    pub fn handle_response(&mut self, now: Timestamp, response: HttpResponse) -> Result<DevicePollStatus, DeviceError> {
        let Some(mut flow) = self.flow.take() else {
            return Err(DeviceError::Token(FlowError::Usage(UsageError::NotWaitingForResponse)));
        };
        flow.handle_response(now, response).map_err(|e| DeviceError::Token(FlowError::Usage(e)))?;
        let outcome = flow.poll_outcome().unwrap_or(Err(FlowError::Usage(UsageError::NotWaitingForResponse)));
        match outcome {
            Ok(tokens) => {
                self.done = true;
                Ok(DevicePollStatus::Tokens(Box::new(tokens)))
            }
            Err(FlowError::Response(TokenResponseError::Refused(e))) => match e.code.as_str() {
                "authorization_pending" => {
                    self.next_at = now.plus_secs(self.interval_secs);
                    Ok(DevicePollStatus::Pending)
                }
                "slow_down" => {
                    self.interval_secs = self.interval_secs.saturating_add(SLOW_DOWN_SECS);
                    self.next_at = now.plus_secs(self.interval_secs);
                    Ok(DevicePollStatus::SlowDown { interval_secs: self.interval_secs })
                }
                "expired_token" => {
                    self.done = true;
                    Err(DeviceError::Expired)
                }
                "access_denied" => {
                    self.done = true;
                    Err(DeviceError::AccessDenied)
                }
                _ => {
                    self.done = true;
                    Err(DeviceError::Token(FlowError::Response(TokenResponseError::Refused(e))))
                }
            },
            Err(other) => {
                self.done = true;
                Err(DeviceError::Token(other))
            }
        }
    }

    /// Records a transport failure of the poll in flight: polling may go on at the next interval
    /// (a lost poll changes nothing on the server).
    pub fn handle_transport_error(&mut self, now: Timestamp) {
        if self.flow.take().is_some() {
            self.next_at = now.plus_secs(self.interval_secs);
        }
    }
}
