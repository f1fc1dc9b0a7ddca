//! The blocking client: the core's flows driven over a [`Transport`], tokens kept in a
//! [`TokenStore`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use scopegate_core::authorize::{
    AuthorizationRequest, AuthorizationStart, CallbackError, ClientConfig, PendingAuthorization,
};
use scopegate_core::error::UsageError;
use scopegate_core::flow::{FlowError, TokenFlow};
use scopegate_core::http::{HttpRequest, HttpResponse};
use scopegate_core::lifecycle::{ApiVerdict, ReauthorizationReason};
use scopegate_core::matrix::{Decision, RejectReason, Rights};
use scopegate_core::method::Method;
use scopegate_core::profile::{GrantType, Provider};
use scopegate_core::revoke::{RevocationError, RevocationFlow, Revoked};
use scopegate_core::time::Timestamp;
use scopegate_core::token::{TokenResponseError, TokenSet};
use scopegate_core::transport::{Transport, TransportError};

use crate::store::{StoreError, StoreKey, TokenStore, Update, UpdateAbort, UpdateError};

/// At most this many attempts for one token request (first try included).
const MAX_TRIES: u32 = 3;
/// At most this long waiting between attempts, in all.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);

/// What went wrong in a client call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The calling code misused the client or the profile is incomplete.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// The callback was rejected.
    #[error(transparent)]
    Callback(#[from] CallbackError),
    /// The token endpoint refused or misbehaved, or the transport failed.
    #[error(transparent)]
    Flow(#[from] FlowError),
    /// The transport failed on an API call.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The token store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The revocation or remove-application endpoint refused (the token is still stored).
    #[error(transparent)]
    Revocation(#[from] RevocationError),
    /// No token is stored for this provider, client and account.
    #[error("no token stored for {provider}/{account}: log in first")]
    NotAuthorized {
        /// Provider id.
        provider: String,
        /// Account.
        account: String,
    },
    /// The user must authorize (for Yotpo: install) the app again.
    #[error("{provider}/{account} must be authorized again ({reason:?})")]
    ReauthorizationRequired {
        /// Provider id.
        provider: String,
        /// Account.
        account: String,
        /// Why.
        reason: ReauthorizationReason,
    },
    /// The configured rights do not allow the call (checked locally, nothing was sent).
    #[error("{method} {path} is not allowed with the configured rights; rights that allow it: {would_allow}")]
    PermissionDenied {
        /// Method.
        method: Method,
        /// Endpoint template.
        path: String,
        /// Comma-separated right ids (or `none`).
        would_allow: String,
    },
    /// The path was rejected by the permission check (nothing was sent).
    #[error("path rejected: {0}")]
    PathRejected(RejectReason),
    /// No endpoint of the provider's matrix matches (nothing was sent).
    #[error("{method} {path} is not an endpoint of the provider's api (per its profile)")]
    UnknownEndpoint {
        /// Method.
        method: Method,
        /// The path as given (query removed).
        path: String,
    },
    /// The path cannot be turned into a URL.
    #[error("cannot build a url from this path: {reason}")]
    InvalidPath {
        /// Why.
        reason: String,
    },
    /// The provider has no API base URL in its profile, and the path is not a full URL.
    #[error("provider `{0}` has no api base url: pass a full url or set [api] base_url in the profile")]
    NoApiBase(String),
}

/// A blocking OAuth 2.0 client for one provider, one app registration and one account.
/// `Send + Sync`: share it through an `Arc`.
pub struct Client {
    provider: Provider,
    config: ClientConfig,
    transport: Arc<dyn Transport>,
    store: Arc<dyn TokenStore>,
    key: StoreKey,
    rights: Option<Rights>,
    refresh_margin_secs: u64,
    consecutive_401: Mutex<u32>,
    clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("provider", &self.provider.id())
            .field("config", &self.config)
            .field("key", &self.key)
            .field("rights", &self.rights)
            .finish_non_exhaustive()
    }
}

fn system_now() -> Timestamp {
    Timestamp::from_system_time(SystemTime::now())
}

impl Client {
    /// A client for `account` (Yotpo: the store's app_key; else any name, e.g. `default`).
    pub fn new(
        provider: Provider,
        config: ClientConfig,
        transport: Arc<dyn Transport>,
        store: Arc<dyn TokenStore>,
        account: impl Into<String>,
    ) -> Self {
        let key = StoreKey::new(provider.id(), config.client_id(), account);
        let refresh_margin_secs = provider.lifecycle().refresh_margin_secs;
        Self {
            provider,
            config,
            transport,
            store,
            key,
            rights: None,
            refresh_margin_secs,
            consecutive_401: Mutex::new(0),
            clock: Arc::new(system_now),
        }
    }

    /// Checks every [`request`](Self::request) against the provider's matrix with these
    /// rights (the ones granted at app registration) before sending it.
    pub fn with_rights(mut self, rights: Rights) -> Self {
        self.rights = Some(rights);
        self
    }

    /// Refreshes this many seconds before expiry (default: the profile's, 60 s).
    pub fn with_refresh_margin(mut self, secs: u64) -> Self {
        self.refresh_margin_secs = secs;
        self
    }

    /// Replaces the wall clock (tests).
    pub fn with_clock(mut self, clock: impl Fn() -> Timestamp + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The provider.
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    /// The app registration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// A client like this one (same transport, store, account, rights and clock) with another
    /// redirect URI (the loopback login's actual port).
    pub fn with_redirect_uri(&self, uri: &str) -> Result<Client, ClientError> {
        Ok(Client {
            provider: self.provider.clone(),
            config: self.config.clone().with_redirect_uri(uri)?,
            transport: Arc::clone(&self.transport),
            store: Arc::clone(&self.store),
            key: self.key.clone(),
            rights: self.rights,
            refresh_margin_secs: self.refresh_margin_secs,
            consecutive_401: Mutex::new(0),
            clock: Arc::clone(&self.clock),
        })
    }

    /// The store key of this client's tokens.
    pub fn key(&self) -> &StoreKey {
        &self.key
    }

    fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// Starts an authorization: the URL for the user's browser and the pending authorization to
    /// keep until the callback.
    pub fn authorization_request(&self) -> Result<AuthorizationStart, ClientError> {
        Ok(AuthorizationRequest::new(&self.provider, &self.config).build(self.now())?)
    }

    /// Completes an authorization: checks the callback, exchanges the code, stores the tokens
    /// (before returning them).
    pub fn exchange(&self, pending: &mut PendingAuthorization, callback: &str) -> Result<TokenSet, ClientError> {
        let grant = pending.handle_callback(callback, self.now())?;
        let flow = TokenFlow::authorization_code(&self.provider, &self.config, grant)?;
        let tokens = self.run(flow)?;
        self.store.save(&self.key, &tokens)?;
        *self.unauthorized_count() = 0;
        Ok(tokens)
    }

    /// Gets a token with the client credentials grant and stores it.
    pub fn client_credentials(&self, scopes: &[String]) -> Result<TokenSet, ClientError> {
        let flow = TokenFlow::client_credentials(&self.provider, &self.config, scopes)?;
        let tokens = self.run(flow)?;
        self.store.save(&self.key, &tokens)?;
        Ok(tokens)
    }

    /// The stored token set, if any.
    pub fn stored(&self) -> Result<Option<TokenSet>, ClientError> {
        Ok(self.store.load(&self.key)?)
    }

    /// Refreshes now, whatever the expiry (single flight with every other caller).
    pub fn refresh(&self) -> Result<TokenSet, ClientError> {
        self.refresh_if(|_| true)
    }

    /// A valid token set: the stored one, refreshed first when it expires within the margin.
    /// When many threads (or processes sharing a [`SqliteStore`](crate::SqliteStore)) call at
    /// once, one refresh request is sent and the others get its result.
    pub fn access_token(&self) -> Result<TokenSet, ClientError> {
        let now = self.now();
        let margin = self.refresh_margin_secs;
        let current = self.store.load(&self.key)?.ok_or_else(|| self.not_authorized())?;
        if !current.expires_within(now, margin) {
            return Ok(current);
        }
        self.refresh_if(move |t| t.expires_within(now, margin))
    }

    fn not_authorized(&self) -> ClientError {
        ClientError::NotAuthorized { provider: self.key.provider_id.clone(), account: self.key.account.clone() }
    }

    /// Under the store's lock: if `due(current)`, refresh (or, for client credentials without a
    /// refresh token, fetch a new token) and write it; else keep what another caller wrote.
    fn refresh_if(&self, due: impl Fn(&TokenSet) -> bool) -> Result<TokenSet, ClientError> {
        let mut failure: Option<ClientError> = None;
        let result = self.store.update(&self.key, &mut |current| {
            let Some(current) = current else {
                failure = Some(self.not_authorized());
                return Err(UpdateAbort::from(std::io::Error::other("no token stored")));
            };
            if !due(current) {
                return Ok(Update::Keep);
            }
            let flow = if current.refresh_token.is_none() && self.provider.supports(GrantType::ClientCredentials) {
                TokenFlow::client_credentials(&self.provider, &self.config, &current.scopes)
            } else {
                TokenFlow::refresh(&self.provider, &self.config, current)
            };
            match flow.map_err(ClientError::from).and_then(|f| self.run(f)) {
                Ok(tokens) => Ok(Update::Put(Box::new(tokens))),
                Err(ClientError::Flow(e)) if e.is_invalid_grant() => {
                    failure = Some(ClientError::ReauthorizationRequired {
                        provider: self.key.provider_id.clone(),
                        account: self.key.account.clone(),
                        reason: ReauthorizationReason::InvalidGrant,
                    });
                    Err(UpdateAbort::from(std::io::Error::other("invalid_grant")))
                }
                Err(e) => {
                    let shown = std::io::Error::other(e.to_string());
                    failure = Some(e);
                    Err(UpdateAbort::from(shown))
                }
            }
        });
        match result {
            Ok(Some(tokens)) => Ok(tokens),
            Ok(None) => Err(self.not_authorized()),
            Err(UpdateError::Store(e)) => Err(e.into()),
            Err(UpdateError::Aborted(_)) => Err(failure.unwrap_or_else(|| self.not_authorized())),
        }
    }

    /// Sends a token request, retrying only what is safe: a failure before anything was sent,
    /// and 429/503 answers with `Retry-After`; at most 3 tries and 30 s of waiting in all.
    fn run(&self, mut flow: TokenFlow) -> Result<TokenSet, ClientError> {
        let request = flow.poll_transmit(self.now()).ok_or(UsageError::NotWaitingForResponse)?;
        match self.send_with_retries(&request) {
            Ok(response) => flow.handle_response(self.now(), response)?,
            Err(e) => flow.handle_transport_error(self.now(), &e.to_string())?,
        }
        Ok(flow.poll_outcome().ok_or(UsageError::NotWaitingForResponse)??)
    }

    /// Sends `request`, again only when that is safe (see [`run`](Self::run)).
    fn send_with_retries(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut waited = Duration::ZERO;
        let mut tries = 0;
        loop {
            tries += 1;
            match self.transport.send(request) {
                Ok(response) => {
                    if let Some(wait) = retry_after(&response) {
                        if tries < MAX_TRIES && waited + wait <= MAX_RETRY_WAIT {
                            std::thread::sleep(wait);
                            waited += wait;
                            continue;
                        }
                    }
                    return Ok(response);
                }
                Err(e) if !e.may_have_been_sent() && tries < MAX_TRIES => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Forgets the stored token locally, without telling the provider (after Yotpo's uninstall
    /// webhook, say). Returns whether there was one.
    pub fn forget(&self) -> Result<bool, ClientError> {
        *self.unauthorized_count() = 0;
        Ok(self.store.delete(&self.key)?)
    }

    /// Revokes (RFC 7009) or uninstalls (remove-application endpoint) the stored authorization,
    /// then forgets it. Runs under the store's lock, so no refresh can rotate the token meanwhile.
    /// When the provider refuses or cannot be reached, the token stays stored and the error says
    /// why; a profile without such an endpoint gives [`UsageError::NoRevocationEndpoint`] (use
    /// [`forget`](Self::forget)).
    pub fn revoke(&self) -> Result<Revoked, ClientError> {
        let mut outcome: Option<Result<Revoked, ClientError>> = None;
        let result = self.store.update(&self.key, &mut |current| {
            let Some(current) = current else {
                outcome = Some(Err(self.not_authorized()));
                return Ok(Update::Keep);
            };
            let attempt = RevocationFlow::new(&self.provider, &self.config, current, &self.key.account)
                .map_err(ClientError::from)
                .and_then(|flow| {
                    let response = self.send_with_retries(flow.request())?;
                    Ok(flow.handle_response(&response)?)
                });
            match attempt {
                Ok(done) => {
                    outcome = Some(Ok(done));
                    Ok(Update::Delete)
                }
                Err(e) => {
                    outcome = Some(Err(e));
                    Ok(Update::Keep)
                }
            }
        });
        match result {
            Err(UpdateError::Store(e)) => Err(e.into()),
            Err(UpdateError::Aborted(_)) | Ok(_) => {
                let out = outcome.unwrap_or_else(|| Err(self.not_authorized()));
                if out.is_ok() {
                    *self.unauthorized_count() = 0;
                }
                out
            }
        }
    }

    /// An API call: permission pre-check (when rights are configured), bearer token (refreshed
    /// when due), one refresh and one retry on 401, and the profile's repeated-401 rule (Yotpo:
    /// 3 in a row ⇒ [`ClientError::ReauthorizationRequired`]).
    pub fn request(&self, method: Method, path: &str, json_body: Option<&[u8]>) -> Result<HttpResponse, ClientError> {
        let url = self.api_url(method, path)?;
        let mut tokens = self.access_token()?;
        let mut retried = false;
        loop {
            let mut req = HttpRequest::new(method, url.clone()).with_bearer(&tokens.access_token);
            req = req.with_header("Accept", "application/json");
            if let Some(body) = json_body {
                req = req.with_body("application/json", body.to_vec());
            }
            let response = self.transport.send(&req)?;
            match self.record_status(response.status()) {
                ApiVerdict::ReauthorizationRequired => {
                    return Err(ClientError::ReauthorizationRequired {
                        provider: self.key.provider_id.clone(),
                        account: self.key.account.clone(),
                        reason: ReauthorizationReason::RepeatedUnauthorized { count: *self.unauthorized_count() },
                    });
                }
                ApiVerdict::Unauthorized { .. } if !retried && self.can_refresh(&tokens) => {
                    retried = true;
                    let used = tokens.access_token.clone();
                    // Refresh unless another caller already replaced the token we used.
                    tokens = self.refresh_if(move |t| t.access_token == used)?;
                    continue;
                }
                _ => return Ok(response),
            }
        }
    }

    /// The count of consecutive 401 answers (a poisoned lock still holds a valid count).
    fn unauthorized_count(&self) -> std::sync::MutexGuard<'_, u32> {
        self.consecutive_401.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn can_refresh(&self, tokens: &TokenSet) -> bool {
        (tokens.refresh_token.is_some() && self.provider.supports(GrantType::RefreshToken))
            || self.provider.supports(GrantType::ClientCredentials)
    }

    fn record_status(&self, status: u16) -> ApiVerdict {
        let mut count = self.unauthorized_count();
        match status {
            200..=399 => {
                *count = 0;
                ApiVerdict::Ok
            }
            401 => {
                *count += 1;
                match self.provider.lifecycle().reinstall_after_consecutive_401 {
                    Some(limit) if *count >= limit => ApiVerdict::ReauthorizationRequired,
                    _ => ApiVerdict::Unauthorized { consecutive: *count },
                }
            }
            _ => ApiVerdict::Ok,
        }
    }

    fn api_url(&self, method: Method, path: &str) -> Result<url::Url, ClientError> {
        if let Some(rights) = self.rights.filter(|_| self.provider.has_matrix()) {
            match self.provider.matrix().check_method(rights, method, path) {
                Decision::Allowed(_) => {}
                Decision::Denied { endpoint, would_allow } => {
                    let ids = self.provider.matrix().right_ids(would_allow);
                    return Err(ClientError::PermissionDenied {
                        method,
                        path: endpoint.template.clone(),
                        would_allow: if ids.is_empty() { "none".into() } else { ids.join(", ") },
                    });
                }
                Decision::UnknownEndpoint => {
                    return Err(ClientError::UnknownEndpoint {
                        method,
                        path: path.split(['?', '#']).next().unwrap_or("").chars().take(200).collect(),
                    });
                }
                Decision::Rejected(r) => return Err(ClientError::PathRejected(r)),
            }
        }
        let invalid = |e: url::ParseError| ClientError::InvalidPath { reason: e.to_string() };
        if path.starts_with("https://") || path.starts_with("http://") {
            return url::Url::parse(path).map_err(invalid);
        }
        let api = self.provider.api().ok_or_else(|| ClientError::NoApiBase(self.provider.id().to_owned()))?;
        // `/api/v2/version` is resolved against the host, `contact/1` against the base URL.
        api.base_url.join(path).map_err(invalid)
    }
}

/// `Retry-After` of a 429/503 answer, in seconds (the HTTP-date form is not honoured).
fn retry_after(response: &HttpResponse) -> Option<Duration> {
    if !matches!(response.status(), 429 | 503) {
        return None;
    }
    let secs: u64 = response.header("retry-after")?.trim().parse().ok()?;
    Some(Duration::from_secs(secs))
}

impl From<TokenResponseError> for ClientError {
    fn from(e: TokenResponseError) -> Self {
        ClientError::Flow(FlowError::Response(e))
    }
}
