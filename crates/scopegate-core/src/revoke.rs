//! Ending an authorization from the app's side: RFC 7009 token revocation, or a provider's
//! "remove application" (uninstall) endpoint. Sans-IO like [`TokenFlow`](crate::flow::TokenFlow):
//! [`RevocationFlow::request`] is the request to send (never following redirects), and
//! [`RevocationFlow::handle_response`] reads the answer.
//!
//! Forgetting the stored tokens is the caller's job, after a successful answer (or at once, when
//! the user asks only for a local forget).

use crate::authorize::ClientConfig;
use crate::client_auth::{authenticated_post, check_provider};
use crate::http::{HttpRequest, HttpResponse, redacted_snippet};
use crate::profile::{Provider, RevocationKind};
use crate::token::{OAuthError, TokenSet, oauth_error_in};
use crate::usage::UsageError;

/// What the provider answered to a revocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revoked {
    /// The endpoint accepted it (RFC 7009 answers 200 for unknown tokens too, §2.2).
    Done,
    /// A remove-application endpoint answered 401 or 404: the app was already uninstalled.
    AlreadyGone,
}

/// The revocation was refused or failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RevocationError {
    /// The endpoint answered with an OAuth error (`unsupported_token_type`, `invalid_client`, ...).
    #[error("the revocation endpoint refused: {0}")]
    Refused(OAuthError),
    /// The endpoint answered with a redirect (never followed).
    #[error("the revocation endpoint answered with a redirect (http {status}); redirects are not followed")]
    Redirect {
        /// HTTP status.
        status: u16,
    },
    /// Any other non-success status.
    #[error("the revocation endpoint answered http {status}: {snippet}")]
    HttpStatus {
        /// HTTP status.
        status: u16,
        /// The start of the body, secrets cut out.
        snippet: String,
    },
}

/// One revocation request.
pub struct RevocationFlow {
    request: HttpRequest,
    remove_application: bool,
    secrets: Vec<zeroize::Zeroizing<String>>,
}

impl std::fmt::Debug for RevocationFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationFlow")
            .field("request", &self.request)
            .field("remove_application", &self.remove_application)
            .finish_non_exhaustive()
    }
}

impl RevocationFlow {
    /// The revocation of `tokens` for `account` (the store key's account; Yotpo: the app_key,
    /// filled into `{account}` of a remove-application URL).
    ///
    /// RFC 7009: the refresh token is revoked when there is one (which, §2.1, also ends the access
    /// tokens issued with it), else the access token; the client authenticates as at the token
    /// endpoint. Remove application: the profile's method on its URL, access token as bearer.
    ///
    /// A profile with `client_auth = "private_key_jwt"` signs its assertion when the request is
    /// built: use [`new_at`](Self::new_at), which knows the time (`new` refuses it with
    /// [`UsageError::NeedsTime`]).
    pub fn new(
        provider: &Provider,
        client: &ClientConfig,
        tokens: &TokenSet,
        account: &str,
    ) -> Result<Self, UsageError> {
        Self::build(provider, client, tokens, account, None)
    }

    /// [`new`](Self::new) at `now`: a `private_key_jwt` client assertion is signed with it.
    pub fn new_at(
        provider: &Provider,
        client: &ClientConfig,
        tokens: &TokenSet,
        account: &str,
        now: crate::time::Timestamp,
    ) -> Result<Self, UsageError> {
        Self::build(provider, client, tokens, account, Some(now))
    }

    fn build(
        provider: &Provider,
        client: &ClientConfig,
        tokens: &TokenSet,
        account: &str,
        now: Option<crate::time::Timestamp>,
    ) -> Result<Self, UsageError> {
        check_provider(provider, &tokens.provider_id)?;
        let r = provider
            .revocation()
            .ok_or_else(|| UsageError::NoRevocationEndpoint { provider: provider.id().to_owned() })?;
        let template = r.url.as_deref().ok_or_else(|| UsageError::RevocationEndpointNotConfigured {
            provider: provider.id().to_owned(),
            hint: r.url_hint.clone().unwrap_or_else(|| "set revocation.url in a profile override".into()),
        })?;
        let bad_url = |reason: String| UsageError::RevocationEndpointNotConfigured {
            provider: provider.id().to_owned(),
            hint: format!("revocation.url is not usable: {reason}"),
        };
        match &r.kind {
            RevocationKind::Rfc7009 => {
                let url = url::Url::parse(template).map_err(|e| bad_url(e.to_string()))?;
                let (mut request, secret) = authenticated_post(provider, client, &url)?;
                let mut secrets = vec![secret];
                if provider.client_auth() == crate::profile::ClientAuth::PrivateKeyJwt {
                    let now = now.ok_or(UsageError::NeedsTime { what: "a private_key_jwt revocation request" })?;
                    let assertion =
                        crate::client_assertion::AssertionPlan::new(provider, client)?.apply(&mut request, now)?;
                    secrets.push(zeroize::Zeroizing::new(assertion.expose_secret().to_owned()));
                }
                match &tokens.refresh_token {
                    Some(rt) => {
                        request.form_param("token", rt.expose_secret());
                        request.form_param("token_type_hint", "refresh_token");
                        secrets.push(zeroize::Zeroizing::new(rt.expose_secret().to_owned()));
                    }
                    None => {
                        request.form_param("token", tokens.access_token.expose_secret());
                        request.form_param("token_type_hint", "access_token");
                    }
                }
                secrets.push(zeroize::Zeroizing::new(tokens.access_token.expose_secret().to_owned()));
                Ok(RevocationFlow { request, remove_application: false, secrets })
            }
            RevocationKind::RemoveApplication { method } => {
                // One path segment: everything but RFC 3986's unreserved characters is escaped.
                const SEGMENT: &percent_encoding::AsciiSet =
                    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
                let segment: String = percent_encoding::utf8_percent_encode(account, SEGMENT).collect();
                let url =
                    url::Url::parse(&template.replace("{account}", &segment)).map_err(|e| bad_url(e.to_string()))?;
                let request = HttpRequest::new(*method, url)
                    .with_bearer(&tokens.access_token)
                    .with_header("Accept", "application/json");
                let secrets = vec![zeroize::Zeroizing::new(tokens.access_token.expose_secret().to_owned())];
                Ok(RevocationFlow { request, remove_application: true, secrets })
            }
        }
    }

    /// The request to send (redirects must not be followed).
    pub fn request(&self) -> &HttpRequest {
        &self.request
    }

    /// Reads the endpoint's answer.
    pub fn handle_response(self, response: &HttpResponse) -> Result<Revoked, RevocationError> {
        let status = response.status();
        match status {
            200..=299 => Ok(Revoked::Done),
            300..=399 => Err(RevocationError::Redirect { status }),
            401 | 404 if self.remove_application => Ok(Revoked::AlreadyGone),
            _ => {
                let secrets: Vec<&str> = self.secrets.iter().map(|s| s.as_str()).collect();
                if let Some(e) = oauth_error_in(status, response.body(), &secrets) {
                    return Err(RevocationError::Refused(e));
                }
                Err(RevocationError::HttpStatus { status, snippet: redacted_snippet(response.body(), &secrets) })
            }
        }
    }
}
