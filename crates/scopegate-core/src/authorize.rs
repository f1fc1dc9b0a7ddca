//! The authorization request (RFC 6749 §4.1.1, RFC 7636) and the callback (§4.1.2).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use url::Url;

use crate::pkce::{self, RANDOM_BYTES};
use crate::profile::{AuthorizationEndpoint, PkceMode, Provider, check_endpoint_url};
use crate::secret::{AuthorizationCode, ClientSecret, PkceVerifier, State, ct_eq};
use crate::text::sanitize_text;
use crate::time::Timestamp;
use crate::usage::UsageError;

/// Largest callback URL accepted, in bytes.
pub const MAX_CALLBACK_BYTES: usize = 16 * 1024;

/// Characters left as they are when a value is put into an install-link template
/// (RFC 3986 unreserved characters).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The app's registration with a provider.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    client_id: String,
    client_secret: Option<ClientSecret>,
    client_key: Option<crate::jose::SigningKey>,
    redirect_uri: Option<String>,
}

impl ClientConfig {
    /// A client with this id. The id must be 1-512 visible ASCII characters (RFC 6749 App. A.1).
    pub fn new(client_id: impl Into<String>) -> Result<Self, UsageError> {
        let client_id = client_id.into();
        if client_id.is_empty() || client_id.len() > 512 || !client_id.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(UsageError::InvalidClientId);
        }
        Ok(Self { client_id, client_secret: None, client_key: None, redirect_uri: None })
    }

    /// Sets the client secret.
    pub fn with_secret(mut self, secret: impl Into<ClientSecret>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// Sets the private key the client signs its `private_key_jwt` assertions with (RFC 7523;
    /// for a profile with `[token] client_auth = "private_key_jwt"`). Read it with
    /// [`SigningKey::from_pem`](crate::jose::SigningKey::from_pem); give it the `kid` the provider
    /// registered, if it asks for one.
    pub fn with_client_key(mut self, key: crate::jose::SigningKey) -> Self {
        self.client_key = Some(key);
        self
    }

    /// The private key, when set.
    pub fn client_key(&self) -> Option<&crate::jose::SigningKey> {
        self.client_key.as_ref()
    }

    /// Sets the redirect URI, exactly as registered with the provider (it is sent verbatim).
    /// It must be an absolute https URL (http only on a loopback host, RFC 8252 §7.3) without a
    /// fragment (RFC 6749 §3.1.2).
    pub fn with_redirect_uri(mut self, uri: impl Into<String>) -> Result<Self, UsageError> {
        let uri = uri.into();
        let parsed = Url::parse(&uri).map_err(|e| UsageError::InvalidRedirectUri { reason: e.to_string() })?;
        check_endpoint_url(&parsed).map_err(|reason| UsageError::InvalidRedirectUri { reason })?;
        if parsed.fragment().is_some() {
            return Err(UsageError::InvalidRedirectUri {
                reason: "must not contain a fragment (RFC 6749 §3.1.2)".into(),
            });
        }
        self.redirect_uri = Some(uri);
        Ok(self)
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The client secret, when set.
    pub fn client_secret(&self) -> Option<&ClientSecret> {
        self.client_secret.as_ref()
    }

    /// The redirect URI, when set.
    pub fn redirect_uri(&self) -> Option<&str> {
        self.redirect_uri.as_deref()
    }
}

/// Builds an authorization request: the URL to send the user to and the pending authorization
/// to keep until the callback arrives.
#[derive(Debug)]
pub struct AuthorizationRequest<'a> {
    provider: &'a Provider,
    client: &'a ClientConfig,
    scopes: Option<Vec<String>>,
}

/// What [`AuthorizationRequest::build`] returns.
pub struct AuthorizationStart {
    /// The URL to open in the user's browser. It carries `state`, so show it only to that user.
    pub url: String,
    /// Keep this (in the user's session) until the callback arrives.
    pub pending: PendingAuthorization,
}

impl fmt::Debug for AuthorizationStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.pending.state.expose_secret();
        let url = if state.is_empty() { self.url.clone() } else { self.url.replace(state, crate::secret::REDACTED) };
        f.debug_struct("AuthorizationStart").field("url", &url).field("pending", &self.pending).finish()
    }
}

impl<'a> AuthorizationRequest<'a> {
    /// A request for `provider`'s default scopes.
    pub fn new(provider: &'a Provider, client: &'a ClientConfig) -> Self {
        Self { provider, client, scopes: None }
    }

    /// Requests these scopes instead of the profile's default ones (an empty list sends no
    /// `scope` parameter).
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Builds the request with `state` and PKCE verifier from the operating system's CSPRNG.
    pub fn build(self, now: Timestamp) -> Result<AuthorizationStart, UsageError> {
        let state = pkce::os_random().map_err(|e| UsageError::Random(e.to_string()))?;
        let verifier = pkce::os_random().map_err(|e| UsageError::Random(e.to_string()))?;
        self.build_with_entropy(now, &state, &verifier)
    }

    /// Builds the request with caller-supplied random bytes (for tests and deterministic replay;
    /// production code uses [`build`](Self::build)).
    pub fn build_with_entropy(
        self,
        now: Timestamp,
        state_bytes: &[u8; RANDOM_BYTES],
        verifier_bytes: &[u8; RANDOM_BYTES],
    ) -> Result<AuthorizationStart, UsageError> {
        let p = self.provider;
        let scopes = self.scopes.unwrap_or_else(|| p.scopes().to_vec());
        for s in &scopes {
            if s.is_empty() || s.contains(' ') || s.chars().any(|c| c.is_control() || !c.is_ascii()) {
                return Err(UsageError::InvalidScope { scope: s.chars().take(64).collect() });
            }
        }
        let state = pkce::state_from_bytes(state_bytes);
        let verifier = match p.pkce() {
            PkceMode::Off => None,
            PkceMode::S256 => Some(pkce::verifier_from_bytes(verifier_bytes)),
        };
        let url = match p.authorization() {
            AuthorizationEndpoint::Url(endpoint) => {
                let redirect_uri =
                    self.client.redirect_uri().ok_or(UsageError::MissingRedirectUri { provider: p.id().to_owned() })?;
                let mut url = endpoint.clone();
                {
                    let mut q = url.query_pairs_mut();
                    q.append_pair("response_type", "code");
                    q.append_pair("client_id", self.client.client_id());
                    q.append_pair("redirect_uri", redirect_uri);
                    if !scopes.is_empty() {
                        q.append_pair("scope", &scopes.join(" "));
                    }
                    q.append_pair("state", state.expose_secret());
                    if let Some(v) = &verifier {
                        q.append_pair("code_challenge", &pkce::s256_challenge(v));
                        q.append_pair("code_challenge_method", "S256");
                    }
                    for (name, value) in p.authorization_params() {
                        q.append_pair(name, value);
                    }
                }
                url.to_string()
            }
            AuthorizationEndpoint::InstallLink(template) => {
                // Filled in as text: the route and its `?state=` live in the fragment, which a
                // URL parser would not let us append query parameters to.
                template
                    .replace("{client_id}", &utf8_percent_encode(self.client.client_id(), COMPONENT).to_string())
                    .replace("{state}", &utf8_percent_encode(state.expose_secret(), COMPONENT).to_string())
            }
        };
        let pending = PendingAuthorization {
            provider_id: p.id().to_owned(),
            state,
            verifier,
            redirect_uri: self.client.redirect_uri().map(str::to_owned),
            scopes,
            created_at: now,
            max_age_secs: p.pending_max_age_secs(),
            keep_params: p.keep_callback_params().to_vec(),
            require_params: p.require_callback_params().to_vec(),
            issuer: p.issuer().map(str::to_owned),
            issuer_required: p.issuer_in_callback(),
            used: Arc::new(AtomicBool::new(false)),
            dpop_key: None,
        };
        Ok(AuthorizationStart { url, pending })
    }
}

/// An authorization request waiting for its callback. Single use, valid for the profile's
/// `authorization.max_age_secs` (10 minutes by default). Its clones share the use: once one of
/// them accepted a callback, every clone refuses the next ([`CallbackError::AlreadyUsed`]). A
/// copy made through [`to_json`](Self::to_json) cannot share it: whoever keeps the JSON (a web
/// session) deletes it when the callback arrives.
#[derive(Clone, Debug)]
pub struct PendingAuthorization {
    pub(crate) provider_id: String,
    pub(crate) state: State,
    pub(crate) verifier: Option<PkceVerifier>,
    pub(crate) redirect_uri: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) created_at: Timestamp,
    pub(crate) max_age_secs: u64,
    pub(crate) keep_params: Vec<String>,
    pub(crate) require_params: Vec<String>,
    /// RFC 9207: the issuer the callback's `iss` must equal, and whether it must be present.
    pub(crate) issuer: Option<String>,
    pub(crate) issuer_required: bool,
    pub(crate) used: Arc<AtomicBool>,
    /// The DPoP key the code is to be exchanged with (a DPoP profile: the key a pushed request
    /// was proven with, RFC 9449 §10), chosen when the authorization started.
    pub(crate) dpop_key: Option<crate::dpop::DpopKey>,
}

/// What a successful callback yields: the code and what the token request needs with it.
#[derive(Clone, Debug)]
pub struct AuthorizationGrant {
    /// The provider the authorization was made with.
    pub provider_id: String,
    /// The authorization code.
    pub code: AuthorizationCode,
    /// The redirect URI of the authorization request (sent again with the code).
    pub redirect_uri: Option<String>,
    /// The PKCE verifier, when PKCE was used.
    pub pkce_verifier: Option<PkceVerifier>,
    /// Scopes that were requested.
    pub scopes: Vec<String>,
    /// Callback parameters the profile keeps (Yotpo: `app_key`, the store).
    pub params: BTreeMap<String, String>,
}

impl PendingAuthorization {
    /// The provider id.
    pub fn provider_id(&self) -> &str {
        &self.provider_id
    }
    /// The `state` value.
    pub fn state(&self) -> &State {
        &self.state
    }
    /// The PKCE verifier, when PKCE is on.
    pub fn verifier(&self) -> Option<&PkceVerifier> {
        self.verifier.as_ref()
    }
    /// The redirect URI.
    pub fn redirect_uri(&self) -> Option<&str> {
        self.redirect_uri.as_deref()
    }
    /// When the request was built.
    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }
    /// When it stops being usable.
    pub fn expires_at(&self) -> Timestamp {
        self.created_at.plus_secs(self.max_age_secs)
    }
    /// The DPoP key the code will be exchanged with, when the profile uses DPoP (a secret:
    /// `Debug` shows its thumbprint only).
    pub fn dpop_key(&self) -> Option<&crate::dpop::DpopKey> {
        self.dpop_key.as_ref()
    }

    /// Whether a callback has already been accepted.
    pub fn is_used(&self) -> bool {
        self.used.load(Ordering::SeqCst)
    }

    /// Whether `callback` (a full callback URL, or its query) is well formed and carries this
    /// authorization's `state` (compared in constant time), without using the pending
    /// authorization up. A loopback listener asks this before it lets a request end the login:
    /// anything else (a wrong path, a missing or wrong state, duplicated or malformed
    /// parameters) is somebody else's request and is ignored.
    pub fn is_own_callback(&self, callback: &str) -> bool {
        if callback.len() > MAX_CALLBACK_BYTES || callback.bytes().any(|b| b.is_ascii_control()) {
            return false;
        }
        let Ok(query) = self.query_of(callback) else { return false };
        let Ok(params) = parse_query(&query) else { return false };
        params.get("state").is_some_and(|s| ct_eq(s.as_bytes(), self.state.expose_secret().as_bytes()))
    }

    /// Checks a callback and returns the authorization code with the kept parameters.
    ///
    /// `callback` is the full callback URL (then its scheme, host, port and path must be those
    /// of the redirect URI) or only its query (with or without the leading `?`). Checks, in
    /// order: single use, age, size and syntax, redirect URI, `state` (constant time), the
    /// provider's `error`, the `code`, the required extra parameters. A callback whose `state`
    /// matches uses the pending authorization up, whatever its outcome; one whose `state` does
    /// not match leaves it usable (it may come from an attacker, not from the user's login).
    pub fn handle_callback(&mut self, now: Timestamp, callback: &str) -> Result<AuthorizationGrant, CallbackError> {
        if self.is_used() {
            return Err(CallbackError::AlreadyUsed);
        }
        let age = now.secs_since(self.created_at);
        if age > self.max_age_secs {
            return Err(CallbackError::Expired { age_secs: age, max_age_secs: self.max_age_secs });
        }
        if callback.len() > MAX_CALLBACK_BYTES {
            return Err(CallbackError::Malformed { reason: format!("longer than {MAX_CALLBACK_BYTES} bytes") });
        }
        if callback.bytes().any(|b| b.is_ascii_control()) {
            return Err(CallbackError::Malformed { reason: "contains control characters".into() });
        }
        let query = self.query_of(callback)?;
        let params = parse_query(&query)?;
        let get = |name: &str| params.get(name).map(String::as_str);

        let state = get("state").ok_or(CallbackError::MissingState)?;
        if !ct_eq(state.as_bytes(), self.state.expose_secret().as_bytes()) {
            return Err(CallbackError::StateMismatch);
        }
        if self.used.swap(true, Ordering::SeqCst) {
            // A clone accepted a callback meanwhile.
            return Err(CallbackError::AlreadyUsed);
        }
        // RFC 9207: the authorization response names its issuer; a response from another
        // authorization server (a mix-up attack) is refused before its code is used.
        if let Some(expected) = &self.issuer {
            match get("iss") {
                Some(iss) if iss == expected => {}
                Some(iss) => {
                    return Err(CallbackError::IssuerMismatch {
                        expected: expected.clone(),
                        got: sanitize_text(iss).chars().take(200).collect(),
                    });
                }
                None if self.issuer_required => return Err(CallbackError::MissingIssuer),
                None => {}
            }
        }

        if let Some(error) = get("error") {
            // Known secrets are cut out of what the provider says (it may echo them).
            let known = [self.state.expose_secret(), self.verifier.as_ref().map_or("", |v| v.expose_secret())];
            let text = |s: &str| sanitize_text(&crate::text::cut_secrets(s, &known));
            return Err(CallbackError::Denied(AuthorizationError {
                code: AuthorizationErrorCode::parse(error),
                description: get("error_description").map(text),
                uri: get("error_uri").map(text),
            }));
        }
        let code = match get("code") {
            Some(c) if !c.is_empty() => AuthorizationCode::new(c),
            _ => return Err(CallbackError::MissingCode),
        };
        let mut kept = BTreeMap::new();
        for name in &self.keep_params {
            if let Some(v) = get(name) {
                if !v.is_empty() {
                    kept.insert(name.clone(), v.to_owned());
                }
            }
        }
        for name in &self.require_params {
            if !kept.contains_key(name) {
                return Err(CallbackError::MissingParameter { name: name.clone() });
            }
        }
        Ok(AuthorizationGrant {
            provider_id: self.provider_id.clone(),
            code,
            redirect_uri: self.redirect_uri.clone(),
            pkce_verifier: self.verifier.clone(),
            scopes: self.scopes.clone(),
            params: kept,
        })
    }

    /// The query of a callback given as a full URL (checked against the redirect URI) or as a
    /// bare query.
    fn query_of(&self, callback: &str) -> Result<String, CallbackError> {
        let trimmed = callback.trim();
        let looks_absolute = trimmed.split_once("://").is_some_and(|(scheme, _)| {
            !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        });
        if !looks_absolute {
            return Ok(trimmed.strip_prefix('?').unwrap_or(trimmed).to_owned());
        }
        let got = Url::parse(trimmed).map_err(|e| CallbackError::Malformed { reason: format!("not a url: {e}") })?;
        if let Some(expected) = &self.redirect_uri {
            let expected_url = Url::parse(expected).map_err(|e| CallbackError::Malformed { reason: e.to_string() })?;
            let same = got.scheme() == expected_url.scheme()
                && got.host() == expected_url.host()
                && got.port_or_known_default() == expected_url.port_or_known_default()
                && got.path() == expected_url.path();
            if !same {
                return Err(CallbackError::RedirectUriMismatch {
                    expected: origin_and_path(&expected_url),
                    got: origin_and_path(&got),
                });
            }
        }
        Ok(got.query().unwrap_or("").to_owned())
    }
}

fn origin_and_path(u: &Url) -> String {
    let mut s = format!("{}://{}", u.scheme(), u.host_str().unwrap_or(""));
    if let Some(p) = u.port() {
        s.push_str(&format!(":{p}"));
    }
    s.push_str(u.path());
    s
}

/// Parses a query into a map, rejecting a parameter given twice (RFC 6749 §3.1).
fn parse_query(query: &str) -> Result<BTreeMap<String, String>, CallbackError> {
    let mut map = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if k.is_empty() {
            continue;
        }
        if map.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(CallbackError::Malformed {
                reason: format!("parameter `{}` appears more than once", sanitize_text(&k)),
            });
        }
    }
    Ok(map)
}

/// An error code of an authorization error response (RFC 6749 §4.1.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthorizationErrorCode {
    /// `invalid_request`
    InvalidRequest,
    /// `unauthorized_client`
    UnauthorizedClient,
    /// `access_denied`: the user (resource owner) refused.
    AccessDenied,
    /// `unsupported_response_type`
    UnsupportedResponseType,
    /// `invalid_scope`
    InvalidScope,
    /// `server_error`
    ServerError,
    /// `temporarily_unavailable`
    TemporarilyUnavailable,
    /// Any other code (sanitized).
    Other(String),
}

impl AuthorizationErrorCode {
    fn parse(s: &str) -> Self {
        match s {
            "invalid_request" => Self::InvalidRequest,
            "unauthorized_client" => Self::UnauthorizedClient,
            "access_denied" => Self::AccessDenied,
            "unsupported_response_type" => Self::UnsupportedResponseType,
            "invalid_scope" => Self::InvalidScope,
            "server_error" => Self::ServerError,
            "temporarily_unavailable" => Self::TemporarilyUnavailable,
            other => Self::Other(sanitize_text(other)),
        }
    }

    /// The code as the provider sent it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::Other(s) => s,
        }
    }
}

/// An error response on the callback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationError {
    /// `error`
    pub code: AuthorizationErrorCode,
    /// `error_description` (sanitized).
    pub description: Option<String>,
    /// `error_uri` (sanitized).
    pub uri: Option<String>,
}

impl fmt::Display for AuthorizationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code.as_str())?;
        if let Some(d) = &self.description {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

/// A callback was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// This pending authorization already accepted a callback (ours: it was used twice).
    #[error("this authorization request has already been completed; start a new one")]
    AlreadyUsed,
    /// The callback came too late.
    #[error("the authorization request is {age_secs} s old, older than the {max_age_secs} s allowed; start a new one")]
    Expired {
        /// Age of the pending authorization.
        age_secs: u64,
        /// Allowed age.
        max_age_secs: u64,
    },
    /// The callback is not a URL or query we can read.
    #[error("malformed callback: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// The callback arrived on another URL than the request's redirect URI.
    #[error("callback arrived at {got}, not at the redirect uri {expected}")]
    RedirectUriMismatch {
        /// The redirect URI (scheme, host, port, path).
        expected: String,
        /// Where the callback arrived.
        got: String,
    },
    /// No `state` parameter.
    #[error("callback has no state parameter")]
    MissingState,
    /// The `state` is not the one sent: possible cross-site request forgery.
    #[error("callback state does not match the authorization request (possible cross-site request forgery)")]
    StateMismatch,
    /// The provider answered with an error (`access_denied` when the user refused).
    #[error("the provider refused the authorization: {0}")]
    Denied(AuthorizationError),
    /// No `code` parameter.
    #[error("callback has no authorization code")]
    MissingCode,
    /// RFC 9207: the callback's `iss` is not the profile's issuer: the response comes from
    /// another authorization server (a mix-up attack, or a misconfigured profile).
    #[error("the callback comes from issuer `{got}`, not from the provider's `{expected}` (RFC 9207 mix-up defence)")]
    IssuerMismatch {
        /// The profile's issuer.
        expected: String,
        /// The callback's `iss` (sanitized).
        got: String,
    },
    /// RFC 9207: the profile says the provider names its issuer in the callback, and it did not.
    #[error("the callback has no `iss` parameter, which this provider always sends (RFC 9207)")]
    MissingIssuer,
    /// A parameter the profile requires is missing (Yotpo: `app_key`).
    #[error("callback lacks the `{name}` parameter the provider profile requires")]
    MissingParameter {
        /// The parameter.
        name: String,
    },
}
