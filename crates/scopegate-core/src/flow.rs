//! The sans-IO token-request driver.
//!
//! A [`TokenFlow`] is one token request (authorization code exchange, refresh or client
//! credentials). It never performs I/O:
//!
//! 1. [`TokenFlow::poll_transmit`] yields the [`HttpRequest`] to send (once);
//! 2. the caller sends it with its own transport, without following redirects;
//! 3. the caller hands the answer to [`TokenFlow::handle_response`], or a failure to
//!    [`TokenFlow::handle_transport_error`];
//! 4. [`TokenFlow::poll_outcome`] yields the [`TokenSet`] or the [`FlowError`].
//!
//! Every call that depends on time takes `now`. Token lifetimes are counted from the `now` of
//! `poll_transmit` (the moment the request left), so expiry is never later than the server's.

use crate::authorize::{AuthorizationGrant, ClientConfig};
use crate::client_assertion::AssertionPlan;
use crate::client_auth::{authenticated_post, check_provider};
use crate::http::{HttpRequest, HttpResponse};
use crate::profile::{ClientAuth, GrantType, ParamValue, Provider};
use crate::time::Timestamp;
use crate::token::{Identity, ParseRules, TokenContext, TokenResponseError, TokenSet, parse_token_response};
use crate::usage::UsageError;

/// The bytes form-urlencoding leaves alone (RFC 6749 App. B / WHATWG): `*-._` and alphanumerics.
/// A token request failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// The caller misused the flow ([`Blame::Local`](crate::Blame::Local)).
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// The token endpoint refused or sent something unusable ([`Blame::Environment`](crate::Blame::Environment) for a transport failure, [`Blame::Remote`](crate::Blame::Remote) for an answer).
    #[error(transparent)]
    Response(#[from] TokenResponseError),
    /// The transport could not complete the exchange ([`Blame::Environment`](crate::Blame::Environment)).
    #[error("token request failed in transport: {reason}")]
    Transport {
        /// The transport's reason (must not contain secrets).
        reason: String,
    },
}

impl FlowError {
    /// Whether the endpoint said `invalid_grant`: the refresh token or code is dead and the user
    /// must authorize again.
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, FlowError::Response(e) if e.is_invalid_grant())
    }
}

#[derive(Debug)]
enum Stage {
    Ready(Box<HttpRequest>),
    Sent { at: Timestamp },
    Done,
}

/// One token request, driven by the caller (see the module documentation).
pub struct TokenFlow {
    grant: GrantType,
    stage: Stage,
    rules: ParseRules,
    context: Option<TokenContext>,
    secrets: Vec<zeroize::Zeroizing<String>>,
    /// `private_key_jwt`: the assertion is signed by `poll_transmit`, with its `now`.
    assertion: Option<AssertionPlan>,
    /// The request as built, before `poll_transmit` signed it: what [`resend`](Self::resend)
    /// signs again.
    unsigned: Option<Box<HttpRequest>>,
    outcome: Option<Result<TokenSet, FlowError>>,
}

impl std::fmt::Debug for TokenFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `secrets` holds raw values for snippet redaction: never printed.
        f.debug_struct("TokenFlow")
            .field("grant", &self.grant)
            .field("stage", &self.stage)
            .field("context", &self.context)
            .field("outcome", &self.outcome)
            .finish_non_exhaustive()
    }
}

impl TokenFlow {
    /// Exchanges an authorization code (RFC 6749 §4.1.3).
    pub fn authorization_code(
        provider: &Provider,
        client: &ClientConfig,
        grant: AuthorizationGrant,
    ) -> Result<Self, UsageError> {
        check_provider(provider, &grant.provider_id)?;
        let mut b = Builder::new(provider, client, GrantType::AuthorizationCode)?;
        b.req.form_param("grant_type", "authorization_code");
        b.req.form_param("code", grant.code.expose_secret());
        b.secret(grant.code.expose_secret());
        match grant.redirect_uri.as_deref().or(client.redirect_uri()) {
            Some(uri) => b.req.form_param("redirect_uri", uri),
            None => return Err(UsageError::MissingRedirectUri { provider: provider.id().to_owned() }),
        }
        if let Some(v) = &grant.pkce_verifier {
            b.req.form_param("code_verifier", v.expose_secret());
            b.secret(v.expose_secret());
        }
        b.extras(provider, client, grant.redirect_uri.as_deref(), None)?;
        let keep_code = provider.refresh_needs_authorization_code();
        let context = TokenContext {
            redirect_uri: grant.redirect_uri.clone().or_else(|| client.redirect_uri().map(str::to_owned)),
            authorization_code: keep_code.then(|| grant.code.clone()),
            params: grant.params.clone(),
            ..TokenContext::new(provider, grant.scopes.clone(), Identity::User)
        };
        Ok(b.finish(provider, context))
    }

    /// Refreshes a token set (RFC 6749 §6). The result keeps the old refresh token when the
    /// response carries none, and drops it when the response carries a new one.
    pub fn refresh(provider: &Provider, client: &ClientConfig, tokens: &TokenSet) -> Result<Self, UsageError> {
        check_provider(provider, &tokens.provider_id)?;
        let refresh_token = tokens.refresh_token.as_ref().ok_or(UsageError::NoRefreshToken)?;
        let mut b = Builder::new(provider, client, GrantType::RefreshToken)?;
        b.req.form_param("grant_type", "refresh_token");
        b.req.form_param("refresh_token", refresh_token.expose_secret());
        b.secret(refresh_token.expose_secret());
        let code = tokens.authorization_code.as_ref().map(|c| c.expose_secret());
        if let Some(c) = code {
            b.secret(c);
        }
        b.extras(provider, client, tokens.redirect_uri.as_deref(), code)?;
        let context = TokenContext {
            redirect_uri: tokens.redirect_uri.clone(),
            authorization_code: tokens.authorization_code.clone(),
            params: tokens.params.clone(),
            previous: Some(tokens.clone()),
            ..TokenContext::new(provider, tokens.scopes.clone(), tokens.identity)
        };
        Ok(b.finish(provider, context))
    }

    /// Client credentials (RFC 6749 §4.4). `scopes` empty: no `scope` parameter.
    pub fn client_credentials(
        provider: &Provider,
        client: &ClientConfig,
        scopes: &[String],
    ) -> Result<Self, UsageError> {
        let mut b = Builder::new(provider, client, GrantType::ClientCredentials)?;
        b.req.form_param("grant_type", "client_credentials");
        if !scopes.is_empty() {
            b.req.form_param("scope", scopes.join(" "));
        }
        b.extras(provider, client, client.redirect_uri(), None)?;
        let context = TokenContext::new(provider, scopes.to_vec(), Identity::App);
        Ok(b.finish(provider, context))
    }

    /// Polls the token endpoint for a device authorization (RFC 8628 §3.4): one poll. While the
    /// user has not finished, the outcome is a refusal whose code is `authorization_pending` or
    /// `slow_down`; [`DevicePoll`](crate::device::DevicePoll) drives the polling.
    pub fn device_code(
        provider: &Provider,
        client: &ClientConfig,
        device_code: &crate::secret::DeviceCode,
        scopes: &[String],
    ) -> Result<Self, UsageError> {
        let mut b = Builder::new(provider, client, GrantType::DeviceCode)?;
        b.req.form_param("grant_type", crate::profile::DEVICE_CODE_GRANT);
        b.req.form_param("device_code", device_code.expose_secret());
        b.secret(device_code.expose_secret());
        b.extras(provider, client, client.redirect_uri(), None)?;
        let context = TokenContext::new(provider, scopes.to_vec(), Identity::User);
        Ok(b.finish(provider, context))
    }

    /// The grant this flow runs.
    pub fn grant(&self) -> GrantType {
        self.grant
    }

    /// The scopes the request asks for (for a refresh: those of the token set), until the
    /// response is handled.
    pub fn requested_scopes(&self) -> &[String] {
        self.context.as_ref().map_or(&[], |c| c.requested_scopes.as_slice())
    }

    /// The request to send, once. `None` afterwards. With `private_key_jwt` the client assertion
    /// is signed here (`iat` = `now`); should that fail (the random number generator failed),
    /// this is `None` and [`poll_outcome`](Self::poll_outcome) has the error.
    pub fn poll_transmit(&mut self, now: Timestamp) -> Option<HttpRequest> {
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::Ready(mut req) => {
                self.unsigned = Some(req.clone());
                if let Some(plan) = &self.assertion {
                    match plan.apply(&mut req, now) {
                        Ok(a) => self.secrets.push(zeroize::Zeroizing::new(a.expose_secret().to_owned())),
                        Err(e) => {
                            self.outcome = Some(Err(FlowError::Usage(e)));
                            return None;
                        }
                    }
                }
                self.stage = Stage::Sent { at: now };
                Some(*req)
            }
            other => {
                self.stage = other;
                None
            }
        }
    }

    /// [`poll_transmit`](Self::poll_transmit) with a DPoP proof (RFC 9449 §5) for the request,
    /// signed by the account's `key`, with the server's `nonce` when it gave one. The answer must
    /// then be a `DPoP` token (a bearer token is refused): the token set's `token_type` is `DPoP`.
    /// A `use_dpop_nonce` refusal comes back as the outcome (its `DPoP-Nonce` header is read with
    /// [`dpop::nonce_challenge`](crate::dpop::nonce_challenge)); build the flow again and send it
    /// once more with that nonce.
    pub fn poll_transmit_with_dpop(
        &mut self,
        now: Timestamp,
        key: &crate::dpop::DpopKey,
        nonce: Option<&str>,
    ) -> Option<HttpRequest> {
        let mut req = self.poll_transmit(now)?;
        match key.sign_request(&mut req, now, nonce) {
            Ok(()) => {
                self.rules.dpop = true;
                Some(req)
            }
            Err(e) => {
                self.stage = Stage::Done;
                self.outcome = Some(Err(FlowError::Usage(e)));
                None
            }
        }
    }

    /// Makes the request sent by [`poll_transmit`](Self::poll_transmit) ready to be sent again,
    /// signed anew (a fresh client assertion, and a fresh DPoP proof when it is sent with one):
    /// for an answer that asked for it before the request was processed (a DPoP nonce
    /// challenge, RFC 9449 §8). Returns whether it did (only a sent request without an answer).
    pub(crate) fn resend(&mut self) -> bool {
        if !matches!(self.stage, Stage::Sent { .. }) || self.outcome.is_some() {
            return false;
        }
        match self.unsigned.take() {
            Some(req) => {
                self.stage = Stage::Ready(req);
                true
            }
            None => false,
        }
    }

    /// Whether the request carries something signed with the time (a `private_key_jwt`
    /// assertion): sending it again needs a new signature ([`resend`](Self::resend)).
    pub(crate) fn signs(&self) -> bool {
        self.assertion.is_some()
    }

    /// Consumes the token endpoint's answer. The outcome is then available from
    /// [`poll_outcome`](Self::poll_outcome).
    pub fn handle_response(&mut self, now: Timestamp, response: HttpResponse) -> Result<(), UsageError> {
        let _ = now;
        let Stage::Sent { at } = self.stage else {
            return Err(UsageError::NotWaitingForResponse);
        };
        self.stage = Stage::Done;
        let secrets: Vec<&str> = self.secrets.iter().map(|s| s.as_str()).collect();
        let outcome = match parse_token_response(&response, self.rules, &secrets) {
            Ok(parsed) => {
                let context = self.context.take().ok_or(UsageError::NotWaitingForResponse)?;
                Ok(context.into_token_set(parsed, at))
            }
            Err(e) => Err(FlowError::Response(e)),
        };
        self.secrets.clear();
        self.outcome = Some(outcome);
        Ok(())
    }

    /// Records that the transport failed after `poll_transmit`. `reason` must not contain
    /// secrets. Whether the request may be sent again is the caller's decision: a code exchange
    /// or refresh that may have reached the server must not be repeated.
    pub fn handle_transport_error(&mut self, now: Timestamp, reason: &str) -> Result<(), UsageError> {
        let _ = now;
        if !matches!(self.stage, Stage::Sent { .. }) {
            return Err(UsageError::NotWaitingForResponse);
        }
        self.stage = Stage::Done;
        self.secrets.clear();
        self.outcome = Some(Err(FlowError::Transport { reason: reason.chars().take(256).collect() }));
        Ok(())
    }

    /// The result, once a response or failure has been handled. Yields it once.
    pub fn poll_outcome(&mut self) -> Option<Result<TokenSet, FlowError>> {
        self.outcome.take()
    }
}

struct Builder {
    req: HttpRequest,
    grant: GrantType,
    secrets: Vec<zeroize::Zeroizing<String>>,
    assertion: Option<AssertionPlan>,
}

impl Builder {
    fn new(provider: &Provider, client: &ClientConfig, grant: GrantType) -> Result<Self, UsageError> {
        if !provider.supports(grant) {
            return Err(UsageError::GrantNotSupported { provider: provider.id().to_owned(), grant });
        }
        let url = provider.token_url().ok_or_else(|| UsageError::TokenEndpointNotConfigured {
            provider: provider.id().to_owned(),
            hint: provider.token_url_hint().unwrap_or("set token.url in a profile override").to_owned(),
        })?;
        let (req, secret) = authenticated_post(provider, client, url)?;
        let assertion = match provider.client_auth() {
            ClientAuth::PrivateKeyJwt => Some(AssertionPlan::new(provider, client)?),
            _ => None,
        };
        let mut b = Builder { req, grant, secrets: Vec::new(), assertion };
        b.secret(&secret);
        Ok(b)
    }

    fn secret(&mut self, s: &str) {
        self.secrets.push(zeroize::Zeroizing::new(s.to_owned()));
    }

    fn extras(
        &mut self,
        provider: &Provider,
        client: &ClientConfig,
        redirect_uri: Option<&str>,
        code: Option<&str>,
    ) -> Result<(), UsageError> {
        for (name, value) in provider.extra_params(self.grant) {
            let v = match value {
                ParamValue::Literal(s) => s.as_str(),
                ParamValue::ClientId => client.client_id(),
                ParamValue::RedirectUri => redirect_uri
                    .or(client.redirect_uri())
                    .ok_or_else(|| UsageError::MissingRedirectUri { provider: provider.id().to_owned() })?,
                ParamValue::AuthorizationCode => {
                    code.ok_or_else(|| UsageError::MissingAuthorizationCode { provider: provider.id().to_owned() })?
                }
            };
            self.req.form_param(name, v);
        }
        Ok(())
    }

    fn finish(self, provider: &Provider, context: TokenContext) -> TokenFlow {
        TokenFlow {
            grant: self.grant,
            stage: Stage::Ready(Box::new(self.req)),
            rules: ParseRules { token_type_required: provider.token_type_required(), ..ParseRules::default() },
            context: Some(context),
            secrets: self.secrets,
            assertion: self.assertion,
            unsigned: None,
            outcome: None,
        }
    }
}
