//! The authorization server's metadata document: where it lives, reading it, checking its
//! `issuer`.

use std::collections::VecDeque;

use serde_json::{Map, Value};
use url::Url;

use crate::http::{HttpRequest, HttpResponse, MAX_RESPONSE_BYTES, redacted_snippet};
use crate::method::Method;
use crate::profile::{ProfileError, check_endpoint_url};
use crate::text::sanitize_text;

/// Discovery failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The issuer identifier is not an https URL without query and fragment (RFC 8414 §2).
    #[error("invalid issuer `{issuer}`: {reason}")]
    InvalidIssuer {
        /// The issuer (truncated).
        issuer: String,
        /// Why.
        reason: String,
    },
    /// Every well-known location answered "not here".
    #[error("no authorization server metadata for {issuer}: tried {tried}")]
    NotFound {
        /// The issuer.
        issuer: String,
        /// The URLs tried, with their status.
        tried: String,
    },
    /// A well-known location answered with another status (or a redirect, never followed).
    #[error("{url} answered http {status}: {snippet}")]
    HttpStatus {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
        /// The start of the body.
        snippet: String,
    },
    /// The document is not a JSON object.
    #[error("the metadata at {url} is not a json object")]
    NotJson {
        /// Where it came from.
        url: String,
    },
    /// A required member is missing, or a member has the wrong type.
    #[error("the metadata member `{field}` {problem}")]
    Field {
        /// The member.
        field: &'static str,
        /// `is missing`, `must be a string`, ...
        problem: &'static str,
    },
    /// The document names another issuer (RFC 8414 §3.3): refused.
    #[error("the metadata names issuer `{got}`, not `{expected}` as asked (RFC 8414 §3.3): refused")]
    IssuerMismatch {
        /// The issuer asked for.
        expected: String,
        /// The one in the document (sanitized, truncated).
        got: String,
    },
    /// The server lacks what a profile needs.
    #[error("the authorization server at {issuer} cannot be used: {reason}")]
    Unusable {
        /// The issuer.
        issuer: String,
        /// What is missing.
        reason: String,
    },
    /// The profile made from the metadata does not validate.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The transport failed.
    #[error("fetching {url} failed: {reason}")]
    Transport {
        /// The URL.
        url: String,
        /// The transport's reason.
        reason: String,
    },
}

/// Checks an issuer identifier (RFC 8414 §2): https (http only on loopback), no query or fragment.
pub fn parse_issuer(issuer: &str) -> Result<Url, DiscoveryError> {
    let bad = |reason: String| DiscoveryError::InvalidIssuer {
        issuer: sanitize_text(issuer).chars().take(200).collect(),
        reason,
    };
    let url = Url::parse(issuer).map_err(|e| bad(format!("not an absolute url: {e}")))?;
    check_endpoint_url(&url).map_err(bad)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment (RFC 8414 §2)".into()));
    }
    Ok(url)
}

/// The well-known URLs to try for `issuer`, in order (see the module documentation).
pub fn well_known_urls(issuer: &str) -> Result<Vec<Url>, DiscoveryError> {
    let url = parse_issuer(issuer)?;
    let path = url.path().trim_end_matches('/');
    let at = |p: &str| {
        let mut u = url.clone();
        u.set_path(p);
        u
    };
    let mut out = vec![at(&format!("/.well-known/oauth-authorization-server{path}"))];
    out.push(at(&format!("{path}/.well-known/openid-configuration")));
    if !path.is_empty() {
        out.push(at(&format!("/.well-known/openid-configuration{path}")));
    }
    Ok(out)
}

/// An authorization server's metadata, its `issuer` checked.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerMetadata {
    issuer: String,
    source: Option<Url>,
    raw: Map<String, Value>,
}

impl ServerMetadata {
    /// Reads a metadata document and checks that its `issuer` is `expected_issuer`, exactly.
    pub fn parse(expected_issuer: &str, json: &[u8]) -> Result<ServerMetadata, DiscoveryError> {
        let raw = match serde_json::from_slice::<Value>(json) {
            Ok(Value::Object(m)) => m,
            _ => return Err(DiscoveryError::NotJson { url: "(given text)".into() }),
        };
        let issuer = match raw.get("issuer") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(DiscoveryError::Field { field: "issuer", problem: "must be a string" }),
            None => return Err(DiscoveryError::Field { field: "issuer", problem: "is missing" }),
        };
        if issuer != expected_issuer {
            return Err(DiscoveryError::IssuerMismatch {
                expected: expected_issuer.to_owned(),
                got: sanitize_text(&issuer).chars().take(200).collect(),
            });
        }
        let m = ServerMetadata { issuer, source: None, raw };
        // Type checks of the members a profile uses: a wrong type is an error, not a guess.
        for f in STRING_MEMBERS {
            m.string(f)?;
        }
        for f in LIST_MEMBERS {
            m.strings(f)?;
        }
        for f in FLAG_MEMBERS {
            if m.raw.get(f).is_some_and(|v| !v.is_boolean() && !v.is_null()) {
                return Err(DiscoveryError::Field { field: f, problem: "must be true or false" });
            }
        }
        Ok(m)
    }

    /// The issuer identifier (equal to the one asked for).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Where the document was fetched from, when a [`DiscoveryFlow`] fetched it.
    pub fn source(&self) -> Option<&Url> {
        self.source.as_ref()
    }

    /// Every member, as sent.
    pub fn raw(&self) -> &Map<String, Value> {
        &self.raw
    }

    /// A string member (`token_endpoint`, ...); `Ok(None)` when absent or null.
    pub fn string(&self, field: &'static str) -> Result<Option<&str>, DiscoveryError> {
        match self.raw.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(DiscoveryError::Field { field, problem: "must be a string" }),
        }
    }

    /// A list-of-strings member (`grant_types_supported`, ...); empty when absent.
    pub fn strings(&self, field: &'static str) -> Result<Vec<&str>, DiscoveryError> {
        match self.raw.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().ok_or(DiscoveryError::Field { field, problem: "must be a list of strings" }))
                .collect(),
            Some(_) => Err(DiscoveryError::Field { field, problem: "must be a list of strings" }),
        }
    }

    /// A boolean member; `false` when absent.
    pub fn flag(&self, field: &str) -> bool {
        self.raw.get(field).and_then(Value::as_bool).unwrap_or(false)
    }

    /// `grant_types_supported`, with RFC 8414 §2's default (`authorization_code`, `implicit`).
    pub fn grant_types(&self) -> Vec<&str> {
        let g = self.strings("grant_types_supported").unwrap_or_default();
        if g.is_empty() { vec!["authorization_code", "implicit"] } else { g }
    }

    /// `token_endpoint_auth_methods_supported`, with RFC 8414 §2's default
    /// (`client_secret_basic`).
    pub fn token_auth_methods(&self) -> Vec<&str> {
        let m = self.strings("token_endpoint_auth_methods_supported").unwrap_or_default();
        if m.is_empty() { vec!["client_secret_basic"] } else { m }
    }
}

const STRING_MEMBERS: [&str; 9] = [
    "authorization_endpoint",
    "token_endpoint",
    "revocation_endpoint",
    "pushed_authorization_request_endpoint",
    "device_authorization_endpoint",
    "jwks_uri",
    "registration_endpoint",
    "userinfo_endpoint",
    "introspection_endpoint",
];
const LIST_MEMBERS: [&str; 8] = [
    "grant_types_supported",
    "token_endpoint_auth_methods_supported",
    "token_endpoint_auth_signing_alg_values_supported",
    "code_challenge_methods_supported",
    "dpop_signing_alg_values_supported",
    "scopes_supported",
    "response_types_supported",
    "revocation_endpoint_auth_methods_supported",
];

const FLAG_MEMBERS: [&str; 2] =
    ["require_pushed_authorization_requests", "authorization_response_iss_parameter_supported"];

/// Fetching an issuer's metadata, driven by the caller (see the module documentation).
#[derive(Debug)]
pub struct DiscoveryFlow {
    issuer: String,
    candidates: VecDeque<Url>,
    current: Option<Url>,
    tried: Vec<String>,
    outcome: Option<Result<ServerMetadata, DiscoveryError>>,
}

impl DiscoveryFlow {
    /// The discovery of `issuer` (checked: https, or http on loopback; no query or fragment).
    pub fn new(issuer: &str) -> Result<DiscoveryFlow, DiscoveryError> {
        Ok(DiscoveryFlow {
            issuer: issuer.to_owned(),
            candidates: well_known_urls(issuer)?.into(),
            current: None,
            tried: Vec::new(),
            outcome: None,
        })
    }

    /// The next request to send (a GET, redirects not followed); `None` once there is an outcome.
    pub fn poll_transmit(&mut self) -> Option<HttpRequest> {
        if self.outcome.is_some() || self.current.is_some() {
            return None;
        }
        let url = self.candidates.pop_front()?;
        self.current = Some(url.clone());
        Some(HttpRequest::new(Method::Get, url).with_header("Accept", "application/json"))
    }

    /// Reads the answer to the last request.
    pub fn handle_response(&mut self, response: &HttpResponse) {
        let Some(url) = self.current.take() else { return };
        let status = response.status();
        let outcome = match status {
            200 if response.body().len() <= MAX_RESPONSE_BYTES => ServerMetadata::parse(&self.issuer, response.body())
                .map(|mut m| {
                    m.source = Some(url.clone());
                    m
                }),
            400 | 404 | 405 | 410 => {
                self.tried.push(format!("{url} ({status})"));
                if self.candidates.is_empty() {
                    Err(DiscoveryError::NotFound { issuer: self.issuer.clone(), tried: self.tried.join(", ") })
                } else {
                    return;
                }
            }
            _ => Err(DiscoveryError::HttpStatus {
                url: url.to_string(),
                status,
                snippet: redacted_snippet(response.body(), &[]),
            }),
        };
        let outcome = match outcome {
            Err(DiscoveryError::NotJson { .. }) => Err(DiscoveryError::NotJson { url: url.to_string() }),
            other => other,
        };
        self.outcome = Some(outcome);
    }

    /// Records that the transport failed on the last request (`reason` must hold no secret).
    pub fn handle_transport_error(&mut self, reason: &str) {
        let url = self.current.take().map_or_else(String::new, |u| u.to_string());
        self.outcome = Some(Err(DiscoveryError::Transport { url, reason: reason.chars().take(256).collect() }));
    }

    /// The metadata or the error, once known. Yields it once.
    pub fn poll_outcome(&mut self) -> Option<Result<ServerMetadata, DiscoveryError>> {
        self.outcome.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_locations() {
        let u: Vec<String> = well_known_urls("https://as.example").unwrap().iter().map(|u| u.to_string()).collect();
        assert_eq!(
            u,
            [
                "https://as.example/.well-known/oauth-authorization-server",
                "https://as.example/.well-known/openid-configuration"
            ]
        );
        let u: Vec<String> =
            well_known_urls("https://as.example/tenant/1/").unwrap().iter().map(|u| u.to_string()).collect();
        assert_eq!(
            u,
            [
                "https://as.example/.well-known/oauth-authorization-server/tenant/1",
                "https://as.example/tenant/1/.well-known/openid-configuration",
                "https://as.example/.well-known/openid-configuration/tenant/1",
            ]
        );
        assert!(matches!(well_known_urls("http://as.example"), Err(DiscoveryError::InvalidIssuer { .. })));
        assert!(matches!(well_known_urls("https://as.example?x=1"), Err(DiscoveryError::InvalidIssuer { .. })));
        assert!(well_known_urls("http://127.0.0.1:4000").is_ok());
    }

    #[test]
    fn issuer_must_be_identical() {
        let doc = br#"{"issuer":"https://as.example/","token_endpoint":"https://as.example/token"}"#;
        assert!(ServerMetadata::parse("https://as.example/", doc).is_ok());
        let e = ServerMetadata::parse("https://as.example", doc).unwrap_err();
        assert!(matches!(e, DiscoveryError::IssuerMismatch { .. }), "{e}");
        let e = ServerMetadata::parse("https://as.example/", br#"{"token_endpoint":"x"}"#).unwrap_err();
        assert!(matches!(e, DiscoveryError::Field { field: "issuer", .. }), "{e}");
        let e = ServerMetadata::parse("https://a/", br#"{"issuer":"https://a/","grant_types_supported":"x"}"#);
        assert!(matches!(e, Err(DiscoveryError::Field { field: "grant_types_supported", .. })));
        assert!(matches!(ServerMetadata::parse("https://a/", b"[]"), Err(DiscoveryError::NotJson { .. })));
    }

    #[test]
    fn the_flow_tries_the_locations_in_order() {
        let mut flow = DiscoveryFlow::new("https://as.example/t").unwrap();
        let first = flow.poll_transmit().unwrap();
        assert_eq!(first.url().path(), "/.well-known/oauth-authorization-server/t");
        assert!(flow.poll_transmit().is_none(), "one request at a time");
        flow.handle_response(&HttpResponse::new(404, "nope"));
        let second = flow.poll_transmit().unwrap();
        assert_eq!(second.url().path(), "/t/.well-known/openid-configuration");
        flow.handle_response(&HttpResponse::new(200, r#"{"issuer":"https://as.example/t"}"#));
        let m = flow.poll_outcome().unwrap().unwrap();
        assert_eq!(m.source().unwrap().path(), "/t/.well-known/openid-configuration");

        let mut flow = DiscoveryFlow::new("https://as.example").unwrap();
        while let Some(_req) = flow.poll_transmit() {
            flow.handle_response(&HttpResponse::new(404, ""));
        }
        assert!(matches!(flow.poll_outcome(), Some(Err(DiscoveryError::NotFound { .. }))));

        let mut flow = DiscoveryFlow::new("https://as.example").unwrap();
        flow.poll_transmit().unwrap();
        flow.handle_response(&HttpResponse::new(200, r#"{"issuer":"https://evil.example"}"#));
        assert!(matches!(flow.poll_outcome(), Some(Err(DiscoveryError::IssuerMismatch { .. }))));
    }
}
