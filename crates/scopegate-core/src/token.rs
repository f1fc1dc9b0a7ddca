//! Token responses (RFC 6749 §5.1, §5.2) and the token set they produce.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use crate::http::{HttpResponse, MAX_RESPONSE_BYTES, redacted_snippet};
use crate::profile::Lifetime;
use crate::secret::{AccessToken, AuthorizationCode, RefreshToken};
use crate::text::{cut_secrets, sanitize_text};
use crate::time::Timestamp;

/// Whose token a token set is: decided by how it was obtained, and kept by every refresh.
///
/// A session never replaces one identity's token with another's: a user's expired token without
/// a refresh token needs the user again, never the app's own client-credentials token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Identity {
    /// A user (resource owner, or a merchant's store) delegated access through the authorization
    /// code flow.
    User,
    /// The app itself, by the client credentials grant.
    App,
}

impl Identity {
    /// `user` or `app`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Identity::User => "user",
            Identity::App => "app",
        }
    }
}

/// A usable set of tokens for one provider connection, with the lifecycle state that must
/// survive a restart (the count of consecutive 401 answers, and whether the grant is dead).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenSet {
    /// Provider id.
    pub provider_id: String,
    /// Whose token this is (how it was obtained).
    pub identity: Identity,
    /// The access token.
    pub access_token: AccessToken,
    /// The refresh token, when the provider issued one.
    pub refresh_token: Option<RefreshToken>,
    /// `Bearer`, or `DPoP` for a DPoP-bound token (RFC 9449), which is never sent as a Bearer
    /// token (other token types are rejected).
    pub token_type: String,
    /// Granted scopes (the response's `scope`, else the requested ones, RFC 6749 §5.1).
    pub scopes: Vec<String>,
    /// When the token request was sent (validity is counted from then, conservatively).
    pub issued_at: Timestamp,
    /// When the access token expires; `None`: never by time (Yotpo).
    pub expires_at: Option<Timestamp>,
    /// When the refresh token expires; `None`: not known to expire.
    pub refresh_expires_at: Option<Timestamp>,
    /// The redirect URI the authorization was granted for (sent again by some refreshes).
    pub redirect_uri: Option<String>,
    /// The original authorization code, kept only when the profile's refresh sends it (Yespo).
    pub authorization_code: Option<AuthorizationCode>,
    /// Callback parameters kept by the profile (Yotpo: `app_key`, the store).
    pub params: BTreeMap<String, String>,
    /// Consecutive 401 answers to API calls made with this token set (Yotpo's "3 repetitive 401
    /// errors" rule counts across processes, so the count is stored with the tokens).
    pub consecutive_401: u32,
    /// Set when the grant is known to be dead: only a new authorization helps. A store keeps the
    /// mark, so later calls fail locally without a request.
    pub invalidated: Option<ReauthorizationReason>,
    /// The account's DPoP key pair (RFC 9449), when its tokens are DPoP-bound: kept with the
    /// tokens so that every process and host of a service proves possession of the same key.
    /// **A secret** (it holds the private key): `Debug` shows only its algorithm and thumbprint,
    /// and it is stored with the rest of the token set (sealed when the store has a key).
    pub dpop_key: Option<crate::dpop::DpopKey>,
}

impl TokenSet {
    /// Whether the access token has expired at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }

    /// Whether the access token expires within `margin_secs` of `now` (or has expired).
    pub fn expires_within(&self, now: Timestamp, margin_secs: u64) -> bool {
        self.expires_at.is_some_and(|at| now.plus_secs(margin_secs) >= at)
    }

    /// Whether the refresh token is known to have expired at `now`.
    pub fn refresh_token_expired(&self, now: Timestamp) -> bool {
        self.refresh_expires_at.is_some_and(|at| now >= at)
    }

    /// Whether the access token is DPoP-bound (`token_type` `DPoP`, RFC 9449): it goes out only
    /// as `Authorization: DPoP` with a proof of [`dpop_key`](Self::dpop_key), never as a Bearer
    /// token.
    pub fn is_dpop_bound(&self) -> bool {
        self.token_type.eq_ignore_ascii_case("dpop")
    }
}

/// An error code of a token error response (RFC 6749 §5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenErrorCode {
    /// `invalid_request`
    InvalidRequest,
    /// `invalid_client`: client authentication failed.
    InvalidClient,
    /// `invalid_grant`: the code or refresh token is invalid, expired, revoked or used.
    InvalidGrant,
    /// `unauthorized_client`
    UnauthorizedClient,
    /// `unsupported_grant_type`
    UnsupportedGrantType,
    /// `invalid_scope`
    InvalidScope,
    /// Any other code (sanitized).
    Other(String),
}

impl TokenErrorCode {
    fn parse(s: &str) -> Self {
        match s {
            "invalid_request" => Self::InvalidRequest,
            "invalid_client" => Self::InvalidClient,
            "invalid_grant" => Self::InvalidGrant,
            "unauthorized_client" => Self::UnauthorizedClient,
            "unsupported_grant_type" => Self::UnsupportedGrantType,
            "invalid_scope" => Self::InvalidScope,
            other => Self::Other(sanitize_text(other)),
        }
    }

    /// The code as sent.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::Other(s) => s,
        }
    }
}

/// A token error response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthError {
    /// HTTP status it came with (a 200 carrying `error` is reported too).
    pub status: u16,
    /// `error`
    pub code: TokenErrorCode,
    /// `error_description` (sanitized).
    pub description: Option<String>,
    /// `error_uri` (sanitized).
    pub uri: Option<String>,
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (http {})", self.code.as_str(), self.status)?;
        if let Some(d) = &self.description {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

/// A token endpoint response could not be turned into tokens.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenResponseError {
    /// The endpoint answered with an OAuth error (any status, a 200 carrying `error` included).
    #[error("token endpoint refused the request: {0}")]
    Refused(OAuthError),
    /// The body is larger than the 1 MiB limit.
    #[error("token response body is {len} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// Body length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A 3xx answer: token requests never follow redirects.
    #[error(
        "token endpoint answered with a redirect (http {status}) to {location}; redirects are not followed for token requests, check the token url"
    )]
    Redirect {
        /// Status.
        status: u16,
        /// The `Location` header (query removed), or `(none)`.
        location: String,
    },
    /// A non-2xx status without a readable OAuth error.
    #[error("token endpoint answered http {status}: {snippet}")]
    HttpStatus {
        /// Status.
        status: u16,
        /// Start of the body, secrets redacted.
        snippet: String,
    },
    /// The body is not JSON.
    #[error("token response is not json: {snippet}")]
    NotJson {
        /// Start of the body, secrets redacted.
        snippet: String,
    },
    /// The body is JSON but not an object.
    #[error("token response is json but not an object")]
    NotObject,
    /// A required field is missing.
    #[error("token response has no `{field}`")]
    MissingField {
        /// The field.
        field: &'static str,
    },
    /// A field has an unusable value.
    #[error("token response field `{field}` is invalid: {reason}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// Why (never quotes a secret).
        reason: String,
    },
    /// The token type is not `bearer`.
    #[error("token type `{token_type}` is not supported (only bearer)")]
    UnsupportedTokenType {
        /// The type sent (sanitized).
        token_type: String,
    },
}

impl TokenResponseError {
    /// Whether the endpoint said `invalid_grant` (the code or refresh token is dead).
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, TokenResponseError::Refused(OAuthError { code: TokenErrorCode::InvalidGrant, .. }))
    }
}

/// A parsed successful token response.
#[derive(Clone, Debug)]
pub struct TokenResponse {
    /// `access_token`
    pub access_token: AccessToken,
    /// `token_type`, normalized to `Bearer`.
    pub token_type: String,
    /// `expires_in`, seconds.
    pub expires_in: Option<u64>,
    /// `refresh_token`
    pub refresh_token: Option<RefreshToken>,
    /// `refresh_expires_in`, seconds (not in RFC 6749; sent by some servers).
    pub refresh_expires_in: Option<u64>,
    /// `scope`, split on spaces.
    pub scope: Option<Vec<String>>,
}

/// Rules for reading a token response.
#[derive(Clone, Copy, Debug)]
pub struct ParseRules {
    /// Reject a response without `token_type` (RFC 6749 §5.1 requires it).
    pub token_type_required: bool,
    /// The request carried a DPoP proof (RFC 9449 §5): `token_type` must then be `DPoP` (kept as
    /// `DPoP`, so the token is never sent as a Bearer token). Without a proof a `DPoP` token type
    /// is refused like any other non-bearer type.
    pub dpop: bool,
}

impl Default for ParseRules {
    fn default() -> Self {
        Self { token_type_required: true, dpop: false }
    }
}

/// Parses a token endpoint response. `known_secrets` are cut out of any quoted snippet.
pub fn parse_token_response(
    response: &HttpResponse,
    rules: ParseRules,
    known_secrets: &[&str],
) -> Result<TokenResponse, TokenResponseError> {
    let body = response.body();
    let status = response.status();
    if body.len() > MAX_RESPONSE_BYTES {
        return Err(TokenResponseError::TooLarge { len: body.len(), limit: MAX_RESPONSE_BYTES });
    }
    if (300..400).contains(&status) {
        let location = response
            .header("location")
            .map(|l| sanitize_text(l.split(['?', '#']).next().unwrap_or("")))
            .unwrap_or_else(|| "(none)".into());
        return Err(TokenResponseError::Redirect { status, location });
    }
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let object = match parsed {
        Some(Value::Object(map)) => Some(map),
        _ => None,
    };
    // An OAuth error, whatever the status (RFC 6749 §5.2 says 400/401; some servers use 200).
    if let Some(e) = object.as_ref().and_then(|map| oauth_error(status, map, known_secrets)) {
        return Err(TokenResponseError::Refused(e));
    }
    if !(200..300).contains(&status) {
        return Err(TokenResponseError::HttpStatus { status, snippet: redacted_snippet(body, known_secrets) });
    }
    let map = match (object, serde_json::from_slice::<Value>(body)) {
        (Some(map), _) => map,
        (None, Ok(_)) => return Err(TokenResponseError::NotObject),
        (None, Err(_)) => return Err(TokenResponseError::NotJson { snippet: redacted_snippet(body, known_secrets) }),
    };
    read_fields(&map, rules)
}

/// The OAuth error (`error`, `error_description`, `error_uri`) a JSON object carries, if any.
/// `known_secrets` (the request's code, refresh token, client secret, verifier) are cut out of
/// the quoted texts: some servers echo the token they refuse.
fn oauth_error(status: u16, map: &Map<String, Value>, known_secrets: &[&str]) -> Option<OAuthError> {
    let err = map.get("error")?;
    let code = match err {
        Value::String(s) => TokenErrorCode::parse(&cut_secrets(s, known_secrets)),
        _ => TokenErrorCode::Other("(non-string error)".into()),
    };
    let text = |k: &str| map.get(k).and_then(Value::as_str).map(|s| sanitize_text(&cut_secrets(s, known_secrets)));
    Some(OAuthError { status, code, description: text("error_description"), uri: text("error_uri") })
}

/// The OAuth error in a response body, if it is a JSON object carrying `error`.
pub(crate) fn oauth_error_in(status: u16, body: &[u8], known_secrets: &[&str]) -> Option<OAuthError> {
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Object(map) => oauth_error(status, &map, known_secrets),
        _ => None,
    }
}

fn read_fields(map: &Map<String, Value>, rules: ParseRules) -> Result<TokenResponse, TokenResponseError> {
    let access_token = match non_null(map, "access_token") {
        None => return Err(TokenResponseError::MissingField { field: "access_token" }),
        Some(Value::String(s)) => token_string("access_token", s)?,
        Some(_) => return Err(invalid("access_token", "not a string")),
    };
    let token_type = match non_null(map, "token_type") {
        None if rules.token_type_required || rules.dpop => {
            return Err(TokenResponseError::MissingField { field: "token_type" });
        }
        None => "Bearer".to_owned(),
        // RFC 9449 §5: a client that sent a proof and got a bearer token back must not use it
        // as if it were bound; it is refused.
        Some(Value::String(s)) if rules.dpop && s.eq_ignore_ascii_case("dpop") => "DPoP".to_owned(),
        Some(Value::String(s)) if rules.dpop => {
            return Err(TokenResponseError::UnsupportedTokenType {
                token_type: format!(
                    "{} (a DPoP-bound token was asked for)",
                    sanitize_text(s).chars().take(32).collect::<String>()
                ),
            });
        }
        Some(Value::String(s)) if s.eq_ignore_ascii_case("bearer") => "Bearer".to_owned(),
        Some(Value::String(s)) => {
            return Err(TokenResponseError::UnsupportedTokenType {
                token_type: sanitize_text(s).chars().take(32).collect(),
            });
        }
        Some(_) => return Err(invalid("token_type", "not a string")),
    };
    let refresh_token = match non_null(map, "refresh_token") {
        None => None,
        Some(Value::String(s)) => Some(RefreshToken::new(token_string("refresh_token", s)?)),
        Some(_) => return Err(invalid("refresh_token", "not a string")),
    };
    let scope = match non_null(map, "scope") {
        None => None,
        Some(Value::String(s)) => Some(s.split(' ').filter(|x| !x.is_empty()).map(sanitize_text).collect()),
        Some(_) => return Err(invalid("scope", "not a string")),
    };
    Ok(TokenResponse {
        access_token: AccessToken::new(access_token),
        token_type,
        expires_in: seconds(map, "expires_in")?,
        refresh_token,
        refresh_expires_in: seconds(map, "refresh_expires_in")?,
        scope,
    })
}

fn non_null<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}

fn invalid(field: &'static str, reason: &str) -> TokenResponseError {
    TokenResponseError::InvalidField { field, reason: reason.to_owned() }
}

/// A token must be non-empty visible ASCII (RFC 6749 App. A.12, A.17: 1*VSCHAR).
fn token_string(field: &'static str, s: &str) -> Result<String, TokenResponseError> {
    if s.is_empty() {
        return Err(invalid(field, "empty"));
    }
    if !s.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(invalid(field, "contains characters outside visible ascii"));
    }
    Ok(s.to_owned())
}

/// Seconds as a JSON number or a numeric string (`3600`, `"3600"`, `3600.0`).
fn seconds(map: &Map<String, Value>, field: &'static str) -> Result<Option<u64>, TokenResponseError> {
    match non_null(map, field) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(u) = n.as_u64() {
                Ok(Some(u))
            } else if n.as_i64().is_some() {
                Err(invalid(field, "negative"))
            } else {
                match n.as_f64() {
                    Some(f) if f.is_finite() && f >= 0.0 && f.fract() == 0.0 => Ok(Some(f.min(u64::MAX as f64) as u64)),
                    _ => Err(invalid(field, "not a whole non-negative number of seconds")),
                }
            }
        }
        Some(Value::String(s)) => {
            let t = s.trim();
            if !t.is_empty() && t.len() <= 20 && t.bytes().all(|b| b.is_ascii_digit()) {
                t.parse::<u64>().map(Some).map_err(|_| invalid(field, "too large"))
            } else {
                Err(invalid(field, "not a whole non-negative number of seconds"))
            }
        }
        Some(_) => Err(invalid(field, "not a number")),
    }
}

/// What a token response is combined with to make a [`TokenSet`].
#[derive(Clone, Debug)]
pub(crate) struct TokenContext {
    pub(crate) provider_id: String,
    pub(crate) access_lifetime: Lifetime,
    pub(crate) refresh_lifetime: Lifetime,
    pub(crate) requested_scopes: Vec<String>,
    pub(crate) redirect_uri: Option<String>,
    pub(crate) authorization_code: Option<AuthorizationCode>,
    pub(crate) params: BTreeMap<String, String>,
    /// Whose token the response is.
    pub(crate) identity: Identity,
    /// The token set being refreshed: its refresh token is kept when the response has none.
    pub(crate) previous: Option<TokenSet>,
}

fn expiry(issued_at: Timestamp, secs: Option<u64>, default: Lifetime) -> Option<Timestamp> {
    match (secs, default) {
        (Some(s), _) => Some(issued_at.plus_secs(s)),
        (None, Lifetime::Secs(s)) => Some(issued_at.plus_secs(s)),
        (None, Lifetime::Never) => None,
    }
}

impl TokenContext {
    /// The context of a token request to `provider` for `requested_scopes`, whose answer is
    /// `identity`'s token: the profile's default lifetimes, and nothing carried over from an
    /// earlier grant (no redirect URI, code, parameters or previous set).
    pub(crate) fn new(
        provider: &crate::profile::Provider,
        requested_scopes: Vec<String>,
        identity: Identity,
    ) -> TokenContext {
        TokenContext {
            provider_id: provider.id().to_owned(),
            access_lifetime: provider.access_lifetime(),
            refresh_lifetime: provider.refresh_lifetime(),
            requested_scopes,
            redirect_uri: None,
            authorization_code: None,
            params: BTreeMap::new(),
            identity,
            previous: None,
        }
    }

    /// Combines a response with the context. Refresh rule (RFC 6749 §6): a response with a
    /// refresh token replaces the old one (which is then discarded); one without keeps it.
    pub(crate) fn into_token_set(self, response: TokenResponse, issued_at: Timestamp) -> TokenSet {
        let TokenResponse { access_token, token_type, expires_in, refresh_token, refresh_expires_in, scope } = response;
        let (refresh_token, refresh_expires_at) = match (refresh_token, &self.previous) {
            (Some(rt), _) => (Some(rt), expiry(issued_at, refresh_expires_in, self.refresh_lifetime)),
            (None, Some(prev)) => (prev.refresh_token.clone(), prev.refresh_expires_at),
            (None, None) => (None, None),
        };
        let scopes = scope.unwrap_or_else(|| match &self.previous {
            Some(prev) => prev.scopes.clone(),
            None => self.requested_scopes.clone(),
        });
        TokenSet {
            provider_id: self.provider_id,
            identity: self.previous.as_ref().map_or(self.identity, |p| p.identity),
            access_token,
            refresh_token,
            token_type,
            scopes,
            issued_at,
            expires_at: expiry(issued_at, expires_in, self.access_lifetime),
            refresh_expires_at,
            redirect_uri: self.redirect_uri,
            authorization_code: self.authorization_code,
            params: self.params,
            consecutive_401: 0,
            invalidated: None,
            dpop_key: None,
        }
    }
}

/// Why the user must authorize the app again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReauthorizationReason {
    /// A refresh was answered `invalid_grant`: the refresh token is dead.
    InvalidGrant,
    /// The refresh token's own lifetime has passed.
    RefreshTokenExpired,
    /// The profile's limit of consecutive 401 answers was reached (Yotpo: 3 ⇒ re-install).
    RepeatedUnauthorized {
        /// How many in a row.
        count: u32,
    },
    /// A user's access token expired and there is no refresh token to renew it with.
    NoRefreshToken,
}

impl ReauthorizationReason {
    /// What happened, in words a user understands.
    pub fn describe(&self) -> String {
        match self {
            ReauthorizationReason::InvalidGrant => {
                "the provider refused the refresh token (invalid_grant): it was revoked, expired or already used".into()
            }
            ReauthorizationReason::RefreshTokenExpired => {
                "the refresh token has passed its lifetime, so the access token cannot be renewed".into()
            }
            ReauthorizationReason::RepeatedUnauthorized { count } => format!(
                "the provider answered {count} API calls in a row with 401 Unauthorized: the app was probably uninstalled or its token revoked"
            ),
            ReauthorizationReason::NoRefreshToken => {
                "the access token has expired and the provider issued no refresh token to renew it".into()
            }
        }
    }

    /// A stable snake_case name (`invalid_grant`, `refresh_token_expired`,
    /// `repeated_unauthorized`, `no_refresh_token`).
    pub const fn name(&self) -> &'static str {
        match self {
            ReauthorizationReason::InvalidGrant => "invalid_grant",
            ReauthorizationReason::RefreshTokenExpired => "refresh_token_expired",
            ReauthorizationReason::RepeatedUnauthorized { .. } => "repeated_unauthorized",
            ReauthorizationReason::NoRefreshToken => "no_refresh_token",
        }
    }
}

impl std::fmt::Display for ReauthorizationReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}
