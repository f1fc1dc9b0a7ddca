//! Pushed authorization requests (RFC 9126): the authorization request goes to the server
//! directly, with the client's authentication, and the browser gets only `client_id` and the
//! `request_uri` the server answered with. Nothing of the request (scope, `state`, the PKCE
//! challenge) travels through the browser, and the server knows the client before the user
//! sees anything.
//!
//! [`ParFlow::new`] pushes the parameters of an [`AuthorizationStart`] (built as usual, so the
//! [`PendingAuthorization`] with its `state` and PKCE verifier checks the callback as usual);
//! [`ParFlow::handle_response`] reads the `201` answer (`request_uri`, `expires_in`) into a
//! [`PushedAuthorization`], whose [`browser_url`](PushedAuthorization::browser_url) refuses to
//! hand out a `request_uri` that has expired.

use url::Url;
use zeroize::Zeroizing;

use crate::authorize::{AuthorizationStart, ClientConfig, PendingAuthorization};
use crate::client_auth::authenticated_post_at;
use crate::http::{HttpRequest, HttpResponse, redacted_snippet};
use crate::profile::{AuthorizationEndpoint, Provider};
use crate::time::Timestamp;
use crate::token::{OAuthError, oauth_error_in};
use crate::usage::UsageError;

/// The push failed, or its `request_uri` can no longer be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParError {
    /// The PAR endpoint refused (`invalid_client`, `invalid_request`, ...).
    #[error("the pushed authorization request was refused: {0}")]
    Refused(OAuthError),
    /// It answered something unusable (a status other than 201/200, no `request_uri`...).
    #[error("the pushed authorization response is unusable: {0}")]
    Malformed(String),
    /// The `request_uri`'s `expires_in` has passed: push again.
    #[error(
        "the request_uri expired {ago_secs} s ago (it lived {lifetime_secs} s): push the authorization request again"
    )]
    Expired {
        /// Seconds since it expired.
        ago_secs: u64,
        /// Its lifetime.
        lifetime_secs: u64,
    },
}

/// One push, driven by the caller.
pub struct ParFlow {
    request: HttpRequest,
    pending: PendingAuthorization,
    authorization_endpoint: Url,
    client_id: String,
    secrets: Vec<Zeroizing<String>>,
}

impl std::fmt::Debug for ParFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `secrets` (the client secret or assertion, for snippet redaction) is never printed.
        f.debug_struct("ParFlow")
            .field("request", &self.request)
            .field("pending", &self.pending)
            .field("authorization_endpoint", &self.authorization_endpoint)
            .finish_non_exhaustive()
    }
}

/// A pushed authorization request the server accepted.
#[derive(Debug)]
pub struct PushedAuthorization {
    /// Keep it until the callback, as without PAR.
    pub pending: PendingAuthorization,
    request_uri: String,
    authorization_endpoint: Url,
    client_id: String,
    pushed_at: Timestamp,
    expires_at: Timestamp,
}

impl ParFlow {
    /// Pushes `start`'s parameters to the profile's `authorization.par_url`, authenticated as at
    /// the token endpoint (a `private_key_jwt` assertion is signed at `now`).
    pub fn new(
        provider: &Provider,
        client: &ClientConfig,
        start: AuthorizationStart,
        now: Timestamp,
    ) -> Result<ParFlow, UsageError> {
        let par_url = provider.par_url().ok_or_else(|| UsageError::EndpointNotConfigured {
            provider: provider.id().to_owned(),
            endpoint: "authorization.par_url",
            hint: "the pushed authorization request endpoint (RFC 9126); `scopegate provider discover` finds it",
        })?;
        let AuthorizationEndpoint::Url(endpoint) = provider.authorization() else {
            return Err(UsageError::EndpointNotConfigured {
                provider: provider.id().to_owned(),
                endpoint: "authorization.url",
                hint: "an install link cannot be pushed",
            });
        };
        let (mut request, secrets) = authenticated_post_at(provider, client, par_url, now)?;
        let start_url = Url::parse(&start.url).map_err(|e| UsageError::InvalidRedirectUri { reason: e.to_string() })?;
        let already: Vec<String> = request.form_params().map(|(n, _)| n.to_owned()).collect();
        for (name, value) in start_url.query_pairs() {
            // `client_id` may already be in the body (body or private_key_jwt authentication).
            if !already.iter().any(|a| *a == name) {
                request.form_param(&name, value.into_owned());
            }
        }
        let mut endpoint = endpoint.clone();
        endpoint.set_query(None);
        Ok(ParFlow {
            request,
            pending: start.pending,
            authorization_endpoint: endpoint,
            client_id: client.client_id().to_owned(),
            secrets,
        })
    }

    /// The request to send (a form POST; redirects are not followed).
    pub fn request(&self) -> &HttpRequest {
        &self.request
    }

    /// The request, to add a DPoP proof to (RFC 9449 §10.1) before it is sent.
    pub fn request_mut(&mut self) -> &mut HttpRequest {
        &mut self.request
    }

    /// Reads the answer (RFC 9126 §2.2: `201` with `request_uri` and `expires_in`), received at
    /// `now`.
    pub fn handle_response(self, now: Timestamp, response: &HttpResponse) -> Result<PushedAuthorization, ParError> {
        let status = response.status();
        let secrets: Vec<&str> = self.secrets.iter().map(|s| s.as_str()).collect();
        if let Some(e) = oauth_error_in(status, response.body(), &secrets) {
            return Err(ParError::Refused(e));
        }
        if !matches!(status, 200 | 201) {
            return Err(ParError::Malformed(format!("http {status}: {}", redacted_snippet(response.body(), &secrets))));
        }
        let v: serde_json::Value =
            serde_json::from_slice(response.body()).map_err(|_| ParError::Malformed("not json".into()))?;
        let request_uri = v
            .get("request_uri")
            .and_then(serde_json::Value::as_str)
            .filter(|u| !u.is_empty() && u.len() <= 2048 && !u.chars().any(char::is_control))
            .ok_or_else(|| ParError::Malformed("no usable request_uri".into()))?;
        let expires_in = v
            .get("expires_in")
            .and_then(serde_json::Value::as_u64)
            .filter(|s| *s > 0)
            .ok_or_else(|| ParError::Malformed("no positive expires_in".into()))?;
        Ok(PushedAuthorization {
            pending: self.pending,
            request_uri: request_uri.to_owned(),
            authorization_endpoint: self.authorization_endpoint,
            client_id: self.client_id,
            pushed_at: now,
            expires_at: now.plus_secs(expires_in),
        })
    }
}

impl PushedAuthorization {
    /// The `request_uri` (a reference to the pushed request; the server accepts it once).
    pub fn request_uri(&self) -> &str {
        &self.request_uri
    }

    /// When the `request_uri` stops working.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }

    /// The URL for the user's browser: the authorization endpoint with only `client_id` and
    /// `request_uri` (RFC 9126 §4). Refused once the `request_uri` has expired.
    pub fn browser_url(&self, now: Timestamp) -> Result<String, ParError> {
        if now >= self.expires_at {
            return Err(ParError::Expired {
                ago_secs: now.secs_since(self.expires_at),
                lifetime_secs: self.expires_at.secs_since(self.pushed_at),
            });
        }
        let mut url = self.authorization_endpoint.clone();
        url.query_pairs_mut().append_pair("client_id", &self.client_id).append_pair("request_uri", &self.request_uri);
        Ok(url.to_string())
    }
}
