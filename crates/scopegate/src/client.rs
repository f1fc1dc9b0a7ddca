//! The blocking client: a driver of [`Session`] over a [`Transport`], with tokens kept in a
//! [`TokenStore`].
//!
//! Every rule (when to refresh, retries and `Retry-After`, identities, where the token may go,
//! the 401 rules) is the session's; the client adds the store: each operation that may change
//! the tokens runs inside [`TokenStore::update`], so that many threads, or processes sharing a
//! store, make one refresh and never lose a rotated refresh token.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use scopegate_core::HttpResponse;
use scopegate_core::Method;
use scopegate_core::Provider;
use scopegate_core::ReauthorizationReason;
use scopegate_core::RefreshToken;
use scopegate_core::Revoked;
use scopegate_core::Rights;
use scopegate_core::Timestamp;
use scopegate_core::TokenSet;
use scopegate_core::Transport;
use scopegate_core::{AuthorizationStart, ClientConfig, PendingAuthorization};
use scopegate_core::{DEFAULT_ACCOUNT, Error, Event, NextStep, Session};

use crate::store::{StoreKey, TokenStore, Update, UpdateAbort, UpdateError};

/// What went wrong in a client call: the core's one error surface ([`Error::kind`],
/// [`Error::blame`]).
pub type ClientError = Error;

type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// A blocking OAuth 2.0 client for one provider, one app registration and one account.
/// `Send + Sync`: share it through an `Arc`.
pub struct Client {
    provider: Arc<Provider>,
    config: ClientConfig,
    transport: Arc<dyn Transport>,
    store: Arc<dyn TokenStore>,
    key: Arc<Mutex<StoreKey>>,
    bound: bool,
    rights: Option<Rights>,
    refresh_margin_secs: Option<u64>,
    clock: Clock,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("provider", &self.provider.id())
            .field("config", &self.config)
            .field("key", &self.key())
            .field("rights", &self.rights)
            .finish_non_exhaustive()
    }
}

fn system_now() -> Timestamp {
    Timestamp::from_system_time(SystemTime::now())
}

/// An abort of a store update; the real error is kept beside it.
fn abort() -> UpdateAbort {
    UpdateAbort::from(std::io::Error::other("aborted"))
}

impl Client {
    /// A client for `account`: a name the caller picks (`default`,
    /// [`DEFAULT_ACCOUNT`], when there is only one). For a profile whose callback names the
    /// account (Yotpo's `app_key`), a login binds the client to that account, and a client made
    /// for another account than `default` refuses a login for any other one.
    pub fn new(
        provider: impl Into<Arc<Provider>>,
        config: ClientConfig,
        transport: Arc<dyn Transport>,
        store: Arc<dyn TokenStore>,
        account: impl Into<String>,
    ) -> Self {
        let provider = provider.into();
        let account = account.into();
        let bound = account != DEFAULT_ACCOUNT;
        let key = StoreKey::new(provider.id(), config.client_id(), account);
        Self {
            provider,
            config,
            transport,
            store,
            key: Arc::new(Mutex::new(key)),
            bound,
            rights: None,
            refresh_margin_secs: None,
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
        self.refresh_margin_secs = Some(secs);
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

    /// A client like this one (same transport, store, account binding, rights and clock) with
    /// another redirect URI (the loopback login's actual port).
    pub fn with_redirect_uri(&self, uri: &str) -> Result<Client, ClientError> {
        Ok(Client {
            provider: Arc::clone(&self.provider),
            config: self.config.clone().with_redirect_uri(uri)?,
            transport: Arc::clone(&self.transport),
            store: Arc::clone(&self.store),
            key: Arc::clone(&self.key),
            bound: self.bound,
            rights: self.rights,
            refresh_margin_secs: self.refresh_margin_secs,
            clock: Arc::clone(&self.clock),
        })
    }

    /// The store key of this client's tokens (after a login for a profile that names the
    /// account, the key of that account).
    pub fn key(&self) -> StoreKey {
        self.key_guard().clone()
    }

    /// The account this client's tokens are stored under.
    pub fn account(&self) -> String {
        self.key_guard().account.clone()
    }

    fn key_guard(&self) -> MutexGuard<'_, StoreKey> {
        self.key.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// A fresh session with this client's provider, registration, rights, margin and account
    /// (holding no token): for callers that drive one themselves.
    pub fn session(&self) -> Session {
        let mut s = Session::new(Arc::clone(&self.provider), self.config.clone());
        if let Some(r) = self.rights {
            s = s.with_rights(r);
        }
        if let Some(m) = self.refresh_margin_secs {
            s = s.with_refresh_margin(m);
        }
        if self.bound {
            s = s.with_account(self.account());
        }
        s
    }

    /// Sends the session's requests and waits out its back-offs until its operation ends;
    /// returns the events.
    fn drive(&self, s: &mut Session) -> Result<Vec<Event>, ClientError> {
        loop {
            while let Some((id, request)) = s.poll_transmit(self.now()) {
                match self.transport.send(&request) {
                    Ok(response) => s.handle_response(self.now(), id, response)?,
                    Err(e) => s.handle_transport_error(self.now(), id, e)?,
                }
            }
            if !s.is_busy() {
                break;
            }
            let Some(at) = s.poll_timeout() else { break };
            let now = self.now();
            if at > now {
                std::thread::sleep(Duration::from_secs(at.secs_since(now)));
            }
            // The wait is over whatever an injected clock says.
            s.handle_timeout(at.max(self.now()));
        }
        Ok(std::iter::from_fn(|| s.poll_event()).collect())
    }

    /// Starts an authorization: the URL for the user's browser and the pending authorization to
    /// keep until the callback.
    pub fn authorization_request(&self) -> Result<AuthorizationStart, ClientError> {
        let mut s = self.session();
        s.set_tokens(self.store.load(&self.key())?)?;
        s.start_authorization(self.now())
    }

    /// Completes an authorization: checks the callback, exchanges the code, stores the tokens
    /// (before returning them) under the account they belong to.
    pub fn exchange(&self, pending: &mut PendingAuthorization, callback: &str) -> Result<TokenSet, ClientError> {
        let mut s = self.session();
        if self.bound {
            s.set_tokens(self.store.load(&self.key())?)?;
        }
        s.handle_callback(self.now(), pending, callback)?;
        let events = self.drive(&mut s)?;
        let tokens = outcome(&s, events)?;
        let key = StoreKey::new(self.provider.id(), self.config.client_id(), s.account());
        self.put_same_identity(&key, &tokens)?;
        *self.key_guard() = key;
        Ok(tokens)
    }

    /// Writes `tokens` unless the entry holds another identity's token (defence in depth: the
    /// session checked already).
    fn put_same_identity(&self, key: &StoreKey, tokens: &TokenSet) -> Result<(), ClientError> {
        let mut failure = None;
        let result = self.store.update(key, &mut |current| {
            if let Some(cur) = current.filter(|c| c.identity != tokens.identity) {
                failure = Some(Error::IdentityMismatch(format!(
                    "{}/{} holds a {} token; a {} token would replace it: forget it first",
                    key.provider_id,
                    key.account,
                    cur.identity.as_str(),
                    tokens.identity.as_str()
                )));
                return Err(abort());
            }
            Ok(Update::Put(Box::new(tokens.clone())))
        });
        finish_update(result, failure).map(|_| ())
    }

    /// Gets a token for the app itself with the client credentials grant and stores it. An
    /// account that holds a user's token is left alone ([`Error::IdentityMismatch`]).
    pub fn client_credentials(&self, scopes: &[String]) -> Result<TokenSet, ClientError> {
        let key = self.key();
        let mut failure = None;
        let result = self.store.update(&key, &mut |current| {
            let attempt = (|| {
                let mut s = self.session();
                s.set_tokens(current.cloned())?;
                s.client_credentials(self.now(), scopes)?;
                let events = self.drive(&mut s)?;
                outcome(&s, events)
            })();
            match attempt {
                Ok(tokens) => Ok(Update::Put(Box::new(tokens))),
                Err(e) => {
                    failure = Some(e);
                    Err(abort())
                }
            }
        });
        finish_update(result, failure)?.ok_or_else(|| self.not_authorized())
    }

    /// The stored token set, if any.
    pub fn stored(&self) -> Result<Option<TokenSet>, ClientError> {
        Ok(self.store.load(&self.key())?)
    }

    fn not_authorized(&self) -> ClientError {
        let key = self.key();
        Error::NotAuthorized { provider: key.provider_id, account: key.account }
    }

    /// Refreshes now, whatever the expiry (single flight with every other caller).
    pub fn refresh(&self) -> Result<TokenSet, ClientError> {
        self.refresh_if(|_, _| true)
    }

    /// A valid token set: the stored one, refreshed first when it expires within the margin.
    /// When many threads (or processes sharing a [`SqliteStore`](crate::SqliteStore)) call at
    /// once, one refresh request is sent and the others get its result. A grant known to be dead
    /// fails at once, without a request.
    pub fn access_token(&self) -> Result<TokenSet, ClientError> {
        let now = self.now();
        let current = self.store.load(&self.key())?.ok_or_else(|| self.not_authorized())?;
        let mut s = self.session();
        s.set_tokens(Some(current.clone()))?;
        if let Some(reason) = current.invalidated {
            return Err(self.reauthorization(reason, None));
        }
        if !s.needs_refresh(now) {
            return Ok(current);
        }
        self.refresh_if(move |s, _| s.needs_refresh(now))
    }

    fn reauthorization(&self, reason: ReauthorizationReason, oauth: Option<Box<scopegate_core::OAuthError>>) -> Error {
        let key = self.key();
        Error::ReauthorizationRequired { provider: key.provider_id, account: key.account, reason, oauth }
    }

    /// Under the store's lock: if `due(session, current)`, refresh and write the result; else
    /// keep what another caller wrote. After `invalid_grant`, the store is read again before the
    /// grant is declared dead: another process may have rotated the refresh token meanwhile.
    fn refresh_if(&self, due: impl Fn(&Session, &TokenSet) -> bool) -> Result<TokenSet, ClientError> {
        let key = self.key();
        let mut failure: Option<Error> = None;
        let mut refused: Option<Option<RefreshToken>> = None;
        let result = self.store.update(&key, &mut |current| {
            let Some(current) = current else {
                failure = Some(self.not_authorized());
                return Err(abort());
            };
            let mut s = self.session();
            if let Err(e) = s.set_tokens(Some(current.clone())) {
                failure = Some(e);
                return Err(abort());
            }
            if !due(&s, current) {
                return Ok(Update::Keep);
            }
            if let Err(e) = s.refresh(self.now()) {
                // Refused without a request; a dead grant found that way is stored as such.
                let marked = s.tokens().filter(|t| t.invalidated.is_some() && current.invalidated.is_none()).cloned();
                failure = Some(e);
                return match marked {
                    Some(t) => Ok(Update::Put(Box::new(t))),
                    None => Err(abort()),
                };
            }
            let events = match self.drive(&mut s) {
                Ok(ev) => ev,
                Err(e) => {
                    failure = Some(e);
                    return Err(abort());
                }
            };
            if events.iter().any(|e| matches!(e, Event::ReauthorizationRequired(ReauthorizationReason::InvalidGrant))) {
                refused = Some(current.refresh_token.clone());
            }
            match outcome(&s, events) {
                Ok(tokens) => Ok(Update::Put(Box::new(tokens))),
                Err(e) => {
                    failure = Some(e);
                    Err(abort())
                }
            }
        });
        match (result, refused) {
            (Err(UpdateError::Aborted(_)), Some(used)) => self.after_invalid_grant(&key, used, failure),
            (result, _) => finish_update(result, failure)?.ok_or_else(|| self.not_authorized()),
        }
    }

    /// The refresh token `used` was refused with `invalid_grant`. If the store now holds another
    /// one (rotated by another process), that token set is the answer; else the grant is marked
    /// dead in the store, so later calls fail without a request.
    fn after_invalid_grant(
        &self,
        key: &StoreKey,
        used: Option<RefreshToken>,
        failure: Option<Error>,
    ) -> Result<TokenSet, ClientError> {
        let failure = failure.unwrap_or_else(|| self.reauthorization(ReauthorizationReason::InvalidGrant, None));
        if let Some(now) = self.store.load(key)? {
            if now.refresh_token != used && now.invalidated.is_none() {
                return Ok(now);
            }
        }
        let marked = self.store.update(key, &mut |current| match current {
            Some(cur) if cur.refresh_token == used && cur.invalidated.is_none() => {
                let mut marked = cur.clone();
                marked.invalidated = Some(ReauthorizationReason::InvalidGrant);
                Ok(Update::Put(Box::new(marked)))
            }
            _ => Ok(Update::Keep),
        });
        finish_update(marked, None)?;
        Err(failure)
    }

    /// Forgets the stored token locally, without telling the provider (after Yotpo's uninstall
    /// webhook, say). Returns whether there was one.
    pub fn forget(&self) -> Result<bool, ClientError> {
        Ok(self.store.delete(&self.key())?)
    }

    /// Revokes (RFC 7009) or uninstalls (remove-application endpoint) the stored authorization,
    /// then forgets it. Runs under the store's lock, so no refresh can rotate the token meanwhile.
    /// When the provider refuses or cannot be reached, the token stays stored and the error says
    /// why; a profile without such an endpoint gives
    /// [`UsageError::NoRevocationEndpoint`](scopegate_core::UsageError::NoRevocationEndpoint)
    /// (use [`forget`](Self::forget)).
    pub fn revoke(&self) -> Result<Revoked, ClientError> {
        let key = self.key();
        let mut outcome: Option<Result<Revoked, ClientError>> = None;
        let result = self.store.update(&key, &mut |current| {
            let attempt = (|| {
                let mut s = self.session();
                s.set_tokens(current.cloned())?;
                s.revoke(self.now())?;
                let mut done = None;
                for e in self.drive(&mut s)? {
                    match e {
                        Event::Revoked(r) => done = Some(r),
                        Event::Failed(e) => return Err(e),
                        _ => {}
                    }
                }
                done.ok_or_else(|| self.not_authorized())
            })();
            let delete = attempt.is_ok();
            outcome = Some(attempt);
            Ok(if delete { Update::Delete } else { Update::Keep })
        });
        match result {
            Err(UpdateError::Store(e) | UpdateError::NotSaved { error: e, .. }) => Err(e.into()),
            _ => outcome.unwrap_or_else(|| Err(self.not_authorized())),
        }
    }

    /// An API call: the URL must stay inside the profile's API, the permission pre-check (when
    /// rights are configured), bearer token (refreshed when due), one refresh and one retry on
    /// 401, and the profile's repeated-401 rule (Yotpo: 3 in a row ⇒
    /// [`Error::ReauthorizationRequired`]). Everything refused is refused before any I/O.
    pub fn request(&self, method: Method, path: &str, json_body: Option<&[u8]>) -> Result<HttpResponse, ClientError> {
        let mut s = self.session();
        s.api_url(method, path)?;
        let mut tokens = self.access_token()?;
        s.set_tokens(Some(tokens.clone()))?;
        let mut retried = false;
        loop {
            let (id, request) = s.api_request(self.now(), method, path, json_body)?;
            let response = self.transport.send(&request)?;
            let status = response.status();
            let counted = s.tokens().is_some_and(|t| t.consecutive_401 > 0);
            if status != 401 && !(counted && (200..400).contains(&status)) {
                return Ok(response);
            }
            match self.record_status(&mut s, id, status)? {
                NextStep::Reauthorize(reason) => return Err(self.reauthorization(reason, None)),
                NextStep::RefreshAndRetry if !retried => {
                    retried = true;
                    let used = tokens.access_token.clone();
                    // Refresh unless another caller already replaced the token we used.
                    tokens = self.refresh_if(move |_, t| t.access_token == used)?;
                    s.set_tokens(Some(tokens.clone()))?;
                }
                NextStep::Retry if !retried => {
                    retried = true;
                    tokens = self.access_token()?;
                    s.set_tokens(Some(tokens.clone()))?;
                }
                _ => return Ok(response),
            }
        }
    }

    /// Applies an API status to the stored 401 count, under the store's lock.
    fn record_status(
        &self,
        s: &mut Session,
        id: scopegate_core::ApiRequestId,
        status: u16,
    ) -> Result<NextStep, ClientError> {
        let mut step = NextStep::Done;
        let mut failure = None;
        let result = self.store.update(&self.key(), &mut |current| {
            if let Err(e) = s.set_tokens(current.cloned()) {
                failure = Some(e);
                return Err(abort());
            }
            step = s.handle_api_response(self.now(), id, status);
            let changed = std::iter::from_fn(|| s.poll_event()).any(|e| matches!(e, Event::TokensChanged));
            Ok(match (changed, s.tokens()) {
                (true, Some(t)) => Update::Put(Box::new(t.clone())),
                _ => Update::Keep,
            })
        });
        finish_update(result, failure)?;
        Ok(step)
    }
}

/// The token set an operation produced, or the error it ended with.
fn outcome(s: &Session, events: Vec<Event>) -> Result<TokenSet, ClientError> {
    let mut changed = false;
    for e in events {
        match e {
            Event::Failed(e) => return Err(e),
            Event::TokensChanged => changed = true,
            _ => {}
        }
    }
    match (changed, s.tokens()) {
        (true, Some(t)) => Ok(t.clone()),
        _ => Err(scopegate_core::UsageError::NotWaitingForResponse.into()),
    }
}

/// The result of a store update whose closure may have kept its own error in `failure`.
fn finish_update(
    result: Result<Option<TokenSet>, UpdateError>,
    failure: Option<Error>,
) -> Result<Option<TokenSet>, ClientError> {
    match (result, failure) {
        (Err(UpdateError::Store(e)), _) => Err(e.into()),
        (Err(UpdateError::NotSaved { error, tokens }), _) => Err(Error::NotSaved { error, tokens }),
        (_, Some(e)) => Err(e),
        (Ok(t), None) => Ok(t),
        (Err(UpdateError::Aborted(a)), None) => Err(Error::Store(scopegate_core::StoreError::Backend {
            path: String::new(),
            reason: format!("update aborted: {}", a.0),
        })),
    }
}
