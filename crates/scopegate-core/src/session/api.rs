//! API requests: where the bearer token may go, the permission pre-check, and the 401 rules.

use url::Url;

use super::rules::{ApiVerdict, TokenState};
use super::{Event, Session};
use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse};
use crate::matrix::Decision;
use crate::method::Method;
use crate::time::Timestamp;
use crate::token::ReauthorizationReason;
use crate::usage::UsageError;

/// Identifies an API request made by [`Session::api_request`], to hand its status back with
/// [`Session::handle_api_response`]. It remembers which access token the request carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ApiRequestId {
    generation: u64,
    /// For a request with a DPoP proof: a digest of the nonce the proof carried (0: none).
    dpop_nonce: Option<u64>,
}

/// A digest of a DPoP nonce, to tell whether a challenge brings another nonce than the one a
/// request carried (the nonce itself is not kept in the id, which is `Copy`).
fn nonce_digest(nonce: Option<&str>) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let Some(n) = nonce else { return 0 };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    n.hash(&mut h);
    h.finish() | 1
}

/// What to do after an API answer ([`Session::handle_api_response`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NextStep {
    /// Hand the answer to the caller.
    Done,
    /// A 401 below the profile's limit: refresh ([`Session::refresh`]), then send the request
    /// again, once.
    RefreshAndRetry,
    /// A 401 for an access token that has been replaced meanwhile: send the request again with
    /// the current one.
    Retry,
    /// Only a new authorization helps (Yotpo: the third 401 in a row means re-install).
    Reauthorize(ReauthorizationReason),
    /// The resource asked for a DPoP nonce (RFC 9449 §9: a 401 with `WWW-Authenticate: DPoP
    /// error="use_dpop_nonce"` and a `DPoP-Nonce` header; [`Session::handle_api_answer`] only):
    /// build the request again with [`Session::api_request`] (its proof now carries the nonce)
    /// and send it, once. Not counted as a 401.
    RetryWithNonce,
}

/// Longest URL quoted in an error.
const SHOWN_URL_CHARS: usize = 120;

/// A URL as an error may quote it: no user info, no query, no fragment, truncated.
fn shown(url: &Url) -> String {
    let mut s = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(p) = url.port() {
        s.push_str(&format!(":{p}"));
    }
    s.push_str(url.path());
    s.chars().take(SHOWN_URL_CHARS).collect()
}

/// A path or URL the caller gave, as an error may quote it (it may not parse): no user info, no
/// query, no fragment, no control characters, truncated.
fn shown_text(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or("");
    without_user_info(path).chars().filter(|c| !c.is_control()).take(SHOWN_URL_CHARS).collect()
}

/// `text` without the user info of its authority, if it has one. Read as a URL parser reads
/// it (WHATWG): the authority follows `scheme:` (or the start) and a run of `/` or `\`, and ends
/// at the next `/`, `\`, `?` or `#`; its user info is everything up to its last `@`.
fn without_user_info(text: &str) -> std::borrow::Cow<'_, str> {
    let scheme_end = text
        .find(':')
        .filter(|&i| i > 0 && text[..i].bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)))
        .map_or(0, |i| i + 1);
    let rest = &text[scheme_end..];
    let slashes = rest.len() - rest.trim_start_matches(['/', '\\']).len();
    if scheme_end == 0 && slashes < 2 {
        return text.into(); // a path (`contacts`, `/api/v2`): no authority
    }
    let start = scheme_end + slashes;
    let end = text[start..].find(['/', '\\', '?', '#']).map_or(text.len(), |i| start + i);
    match text[start..end].rfind('@') {
        Some(at) => format!("{}{}", &text[..start], &text[start + at + 1..]).into(),
        None => text.into(),
    }
}

impl Session {
    /// The request for an API call with the held access token as a bearer token, or a typed
    /// refusal before any I/O:
    ///
    /// - the URL must stay inside the profile's API ([`Error::OriginRefused`]): `path` is a path
    ///   under the API base (`contact/42`), an absolute path (`/api/v2/version`) or a full URL;
    ///   scheme-relative `//host`, backslashes and user info are refused, whatever the rights;
    /// - with rights set ([`with_rights`](Self::with_rights)), the profile's matrix must allow it;
    /// - a token must be held and usable: [`Error::NotAuthorized`],
    ///   [`Error::ReauthorizationRequired`], or [`Error::TokenExpired`] (refresh first).
    ///
    /// A DPoP-bound token (`token_type` `DPoP`, RFC 9449) goes as `Authorization: DPoP` with a
    /// proof of the token set's key for this method and URL (`htu` without query or fragment,
    /// `iat`, a fresh `jti`, `ath`, and the resource's nonce when it gave one), never as a Bearer
    /// token; one without its key is refused ([`UsageError::DpopKeyMissing`]).
    ///
    /// `json_body` is sent as `application/json`. Hand the answer to
    /// [`handle_api_answer`](Self::handle_api_answer) (or its status to
    /// [`handle_api_response`](Self::handle_api_response), when no DPoP is involved).
    pub fn api_request(
        &mut self,
        now: Timestamp,
        method: Method,
        path: &str,
        json_body: Option<&[u8]>,
    ) -> Result<(ApiRequestId, HttpRequest), Error> {
        let url = self.api_url(method, path)?;
        self.usable_tokens(now)?;
        let Some(c) = &self.conn else { return Err(self.not_authorized()) };
        let tokens = c.tokens();
        let (mut request, dpop_nonce) = match Session::api_dpop_key(tokens)? {
            // RFC 9449 §7: `Authorization: DPoP` and a proof for this method and URL, bound to
            // the token (`ath`), with the resource's nonce when it gave one. Never as Bearer.
            Some(key) => {
                let nonce = self.nonces.resources.get(&url);
                let digest = nonce_digest(nonce);
                let request = crate::dpop::authorize(
                    HttpRequest::new(method, url.clone()),
                    key,
                    &tokens.access_token,
                    now,
                    nonce,
                )?;
                (request, Some(digest))
            }
            None => (HttpRequest::new(method, url).with_bearer(&tokens.access_token), None),
        };
        request = request.with_header("Accept", "application/json");
        if let Some(body) = json_body {
            request = request.with_body("application/json", body.to_vec());
        }
        Ok((ApiRequestId { generation: self.generation, dpop_nonce }, request))
    }

    /// The answer to an API request, whole: what [`handle_api_response`](Self::handle_api_response)
    /// does with its status, and, for a request with a DPoP proof, the server's nonce (kept per
    /// origin, so the next proof carries it) and its nonce challenge
    /// ([`NextStep::RetryWithNonce`] when the challenge brings a nonce the request did not carry;
    /// a challenge is not a 401 of the token). `request` is the request sent.
    pub fn handle_api_answer(&mut self, id: ApiRequestId, request: &HttpRequest, response: &HttpResponse) -> NextStep {
        if let Some(carried) = id.dpop_nonce {
            let url = request.url();
            if self.nonces.resources.learn(url, response) {
                return if nonce_digest(self.nonces.resources.get(url)) != carried {
                    NextStep::RetryWithNonce
                } else {
                    NextStep::Done
                };
            }
        }
        self.handle_api_response(id, response.status())
    }

    /// The held token set, if an API call may use it at `now`; else why not: no token
    /// ([`Error::NotAuthorized`]), a dead grant or an expired token that cannot be renewed
    /// ([`Error::ReauthorizationRequired`], reported once by [`Event::ReauthorizationRequired`]
    /// and marked in the token set), or an expired token to refresh first
    /// ([`Error::TokenExpired`]). A token that is due for a refresh but not expired is usable.
    pub fn usable_tokens(&mut self, now: Timestamp) -> Result<&crate::token::TokenSet, Error> {
        let Some(c) = &self.conn else { return Err(self.not_authorized()) };
        match c.state(now) {
            TokenState::Active => {}
            TokenState::ReauthorizationRequired(reason) => {
                self.invalidate(reason);
                return Err(self.reauthorization(reason));
            }
            TokenState::Expired if c.renewable(&self.provider) => {
                return Err(Error::TokenExpired {
                    provider: self.provider.id().to_owned(),
                    account: self.account().to_owned(),
                });
            }
            TokenState::Expired => {
                self.invalidate(ReauthorizationReason::NoRefreshToken);
                return Err(self.reauthorization(ReauthorizationReason::NoRefreshToken));
            }
        }
        self.tokens().ok_or_else(|| self.not_authorized())
    }

    /// The status of the answer to an API request: counts 401s (Yotpo's repeated-401 rule) and
    /// says what to do next. A changed count is reported by [`Event::TokensChanged`] (it is
    /// stored with the tokens).
    pub fn handle_api_response(&mut self, id: ApiRequestId, status: u16) -> NextStep {
        let generation = self.generation;
        let renewable = self.conn.as_ref().is_some_and(|c| c.renewable(&self.provider));
        let Some(c) = &mut self.conn else { return NextStep::Done };
        if id.generation != generation {
            return if status == 401 { NextStep::Retry } else { NextStep::Done };
        }
        let before = (c.tokens().consecutive_401, c.tokens().invalidated);
        let verdict = c.record_api_status(status);
        let after = (c.tokens().consecutive_401, c.tokens().invalidated);
        if before != after {
            self.events.push_back(Event::TokensChanged);
        }
        match verdict {
            ApiVerdict::Ok => NextStep::Done,
            ApiVerdict::Unauthorized { .. } if renewable => NextStep::RefreshAndRetry,
            ApiVerdict::Unauthorized { .. } => NextStep::Done,
            ApiVerdict::ReauthorizationRequired => {
                let reason = after.1.unwrap_or(ReauthorizationReason::RepeatedUnauthorized { count: after.0 });
                if before.1.is_none() {
                    self.events.push_back(Event::ReauthorizationRequired(reason));
                }
                NextStep::Reauthorize(reason)
            }
        }
    }

    /// The URL of an API call, checked: inside the profile's API, and allowed by the rights.
    pub fn api_url(&self, method: Method, path: &str) -> Result<Url, Error> {
        let refuse = |reason: &str| Error::OriginRefused { url: shown_text(path), reason: reason.to_owned() };
        if path.contains('\\') {
            return Err(refuse("the path contains a backslash"));
        }
        if path.starts_with("//") {
            return Err(refuse("a scheme-relative url (`//host`) would leave the api"));
        }
        if path.chars().any(|c| c.is_control() || c == ' ') {
            return Err(refuse("the path contains spaces or control characters"));
        }
        if let Some(rights) = self.rights.filter(|_| self.provider.has_matrix()) {
            match self.provider.matrix().check_method(rights, method, path) {
                Decision::Allowed(_) => {}
                Decision::Denied { endpoint, would_allow } => {
                    let ids = self.provider.matrix().right_ids(would_allow);
                    return Err(Error::PermissionDenied {
                        method,
                        path: endpoint.template.clone(),
                        would_allow: if ids.is_empty() { "none".into() } else { ids.join(", ") },
                    });
                }
                Decision::UnknownEndpoint => {
                    return Err(Error::UnknownEndpoint { method, path: shown_text(path) });
                }
                Decision::Rejected(r) => return Err(Error::PathRejected(r)),
            }
        }
        let api =
            self.provider.api().ok_or_else(|| UsageError::NoApiBase { provider: self.provider.id().to_owned() })?;
        let has_scheme = path.split_once(':').is_some_and(|(scheme, _)| {
            !scheme.is_empty()
                && !scheme.contains('/')
                && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        });
        let mut url = if has_scheme {
            Url::parse(path).map_err(|e| refuse(&format!("not a url: {e}")))?
        } else {
            // `/api/v2/version` is resolved against the host, `contact/1` against the base URL.
            api.base_url.join(path).map_err(|e| refuse(&format!("not a path: {e}")))?
        };
        url.set_fragment(None);
        self.check_api_origin(&url)?;
        Ok(url)
    }

    /// Whether the bearer token may go to `url`: an origin and base path of the profile's API,
    /// or an origin the profile opted into with `[api] send_token_to`.
    fn check_api_origin(&self, url: &Url) -> Result<(), Error> {
        let refuse = |reason: String| Error::OriginRefused { url: shown(url), reason };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("the url carries user info".into()));
        }
        let Some(api) = self.provider.api() else {
            return Err(UsageError::NoApiBase { provider: self.provider.id().to_owned() }.into());
        };
        let same_origin = |base: &Url| {
            base.scheme() == url.scheme()
                && base.host() == url.host()
                && base.port_or_known_default() == url.port_or_known_default()
        };
        let bases = std::iter::once(&api.base_url).chain(&api.extra_base_urls);
        for base in bases.clone() {
            if same_origin(base) {
                let prefix = base.path();
                let path = url.path();
                if path.starts_with(prefix) || path == prefix.trim_end_matches('/') {
                    return Ok(());
                }
            }
        }
        if api.send_token_to.iter().any(same_origin) {
            return Ok(());
        }
        let allowed: Vec<String> = bases
            .map(Url::to_string)
            .chain(api.send_token_to.iter().map(|o| o.origin().ascii_serialization()))
            .collect();
        Err(refuse(format!("it is outside the profile's api ({})", allowed.join(", "))))
    }
}
