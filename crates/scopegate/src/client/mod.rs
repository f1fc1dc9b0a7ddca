//! The blocking client: a driver of [`Session`] over a [`Transport`], with tokens kept in a
//! [`TokenStore`].
//!
//! Every rule (when to refresh, retries and `Retry-After`, identities, where the token may go,
//! the 401 rules) is the session's. The client adds what needs I/O and memory:
//!
//! - **One refresh** per token however many threads, processes and hosts ask: in this process,
//!   the callers of one key take turns (the later ones find the new token set and send nothing);
//!   across processes, the store's lease ([`TokenStore::try_claim`]) does the same.
//! - **The token from memory**: a fresh token is answered without reading the store. The store
//!   is read again when the token becomes due, when the API answers 401, and at least every
//!   [`staleness`](Client::with_staleness) (default 5 s), so a `forget`, revoke or uninstall
//!   done by another process is seen within that time or at the next 401.
//! - **Nothing lost**: when the provider renewed the tokens and the store cannot write them, the
//!   renewed set comes back in [`Error::NotSaved`], the [token-change hook](Client::on_token_change)
//!   receives it, and the client keeps it in memory: it uses it for calls, and writes it at its
//!   next call on that key, before any refresh, never over a newer row.

mod api;
#[cfg(feature = "tokio")]
mod async_client;
mod authorize;
mod builder;
mod device;
mod dpop;
mod observe;
mod par;
mod refresh;
mod slot;

#[cfg(feature = "tokio")]
pub use async_client::AsyncClient;
pub use builder::ClientBuilder;
pub use observe::{ClientStats, Outcome};
use observe::{Counters, Op, OpSpan, Sent};

use std::sync::{Arc, RwLock};

use arc_swap::ArcSwap;
use std::time::{Duration, SystemTime};

use crate::transport::Transport;
use scopegate_core::{ClientConfig, DEFAULT_ACCOUNT, Error, Provider, Revoked, Rights, Session, Timestamp, TokenSet};

use crate::store::{Claim, DEFAULT_LEASE_TTL, StoreKey, TokenStore, Update, Written};
use slot::Slot;

type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// A change of a client's token set, as its [hook](Client::on_token_change) sees it.
#[derive(Debug)]
#[non_exhaustive]
pub struct TokenChange<'a> {
    /// Whose token set.
    pub key: &'a StoreKey,
    /// The token set now (secrets included: the hook is the way out for them).
    pub tokens: &'a TokenSet,
    /// Whether the store holds it. `false`: the store failed to write it (the client keeps it in
    /// memory and writes it at its next call); the hook is the caller's chance to keep it too.
    pub saved: bool,
}

/// The hook a client calls after every change of its token set.
pub type TokenHook = Arc<dyn Fn(&TokenChange<'_>) + Send + Sync>;

/// Gives the W3C `traceparent` of the caller's current trace, for
/// [`Client::with_trace_context`].
pub type TraceContext = Arc<dyn Fn() -> Option<String> + Send + Sync>;

/// How long the token set read from the store is answered from memory (default).
pub const DEFAULT_STALENESS: Duration = Duration::from_secs(5);

/// A blocking OAuth 2.0 client for one provider, one app registration and one account.
/// `Send + Sync`: share it through an `Arc`.
///
/// # Inside an async runtime
///
/// Its calls block the calling thread: a store read or write, a wait for another process's
/// refresh, the HTTP request, a `Retry-After` back-off (seconds). On a tokio worker that holds
/// up every other task of the worker. In a tokio service use
/// `AsyncClient` (feature `tokio`), or call this client from
/// `tokio::task::spawn_blocking` (or `block_in_place` on a multi-thread runtime):
///
/// ```no_run
/// # async fn handler(client: std::sync::Arc<scopegate::Client>) -> Result<(), Box<dyn std::error::Error>> {
/// let c = std::sync::Arc::clone(&client);
/// let token = tokio::task::spawn_blocking(move || c.access_token()).await??;
/// # let _ = token; Ok(()) }
/// ```
///
/// Every store works there, the PostgreSQL one included (its driver runs on threads of its
/// own, never on the caller's runtime).
pub struct Client {
    provider: Arc<Provider>,
    config: ClientConfig,
    transport: Arc<dyn Transport>,
    store: Arc<dyn TokenStore>,
    /// The key's slot; a login for a profile that names the account moves it (shared by the
    /// clients made with [`with_redirect_uri`](Self::with_redirect_uri)).
    slot: Arc<ArcSwap<Slot>>,
    bound: bool,
    rights: Option<Rights>,
    refresh_margin_secs: Option<u64>,
    clock: Clock,
    hook: Arc<RwLock<Option<TokenHook>>>,
    staleness: Duration,
    lease_ttl: Duration,
    counters: Arc<Counters>,
    trace_context: Option<TraceContext>,
    /// The servers' DPoP nonces, per origin, kept between this client's sessions.
    dpop_nonces: dpop::Nonces,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("provider", &self.provider.id())
            .field("config", &self.config)
            .field("key", &self.key())
            .field("rights", &self.rights.map(|r| self.provider.matrix().named(r)))
            .finish_non_exhaustive()
    }
}

fn system_now() -> Timestamp {
    Timestamp::from_system_time(SystemTime::now())
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
        let slot = Slot::of(&store, &key);
        Self {
            provider,
            config,
            transport,
            store,
            slot: Arc::new(ArcSwap::new(slot)),
            bound,
            rights: None,
            refresh_margin_secs: None,
            clock: Arc::new(system_now),
            hook: Arc::new(RwLock::new(None)),
            staleness: DEFAULT_STALENESS,
            lease_ttl: DEFAULT_LEASE_TTL,
            counters: Arc::default(),
            trace_context: None,
            dpop_nonces: dpop::Nonces::default(),
        }
    }

    /// The counters since this client was made (shared with the clients made from it by
    /// [`with_redirect_uri`](Self::with_redirect_uri)): refreshes by outcome, exchanges, 401s,
    /// reauthorizations, waits for another process's refresh and the longest one. Export them
    /// to Prometheus or OpenTelemetry with [`ClientStats::pairs`].
    pub fn stats(&self) -> ClientStats {
        self.counters.snapshot()
    }

    /// Checks every [`request`](Self::request) against the provider's matrix with these
    /// rights (the ones granted at app registration) before sending it.
    pub fn with_rights(mut self, rights: Rights) -> Self {
        self.rights = Some(rights);
        self
    }

    /// Refreshes this many seconds before expiry (default: the profile's, 60 s; never before
    /// half the token's lifetime).
    pub fn with_refresh_margin(mut self, secs: u64) -> Self {
        self.refresh_margin_secs = Some(secs);
        self
    }

    /// Replaces the wall clock (tests).
    pub fn with_clock(mut self, clock: impl Fn() -> Timestamp + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How long a token set read from the store is answered from memory (default
    /// [`DEFAULT_STALENESS`]): the longest a `forget`, revoke or uninstall done by another
    /// process goes unseen, unless a 401 shows it first. `Duration::ZERO` reads the store on
    /// every call.
    pub fn with_staleness(mut self, staleness: Duration) -> Self {
        self.staleness = staleness;
        self
    }

    /// How long this client's lease on its key lives while it refreshes (default
    /// [`DEFAULT_LEASE_TTL`]): if this process dies mid-refresh, other processes wait this long
    /// before they refresh themselves. Keep it above the longest refresh your transport can make.
    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// Calls `hook` after every change of this client's token set (a login, a refresh, client
    /// credentials, a dead-grant mark, the 401 count), once the store holds it, before any
    /// thread of this process can read it from the client; and with
    /// [`saved`](TokenChange::saved) `false` when the store failed to write a renewed set.
    /// Python's `update_token` and C's `scopegate_client_on_token_change` are this hook. The hook
    /// may call the client again.
    pub fn on_token_change(self, hook: impl Fn(&TokenChange<'_>) + Send + Sync + 'static) -> Self {
        self.set_token_hook(Some(Arc::new(hook)));
        self
    }

    /// Puts the caller's trace on every token request (code exchange, refresh, client
    /// credentials, revocation): opt-in. `context` is called, on the thread that sends the
    /// request and inside the caller's span, just before each request; the W3C `traceparent` it
    /// gives (`00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`) is sent as the
    /// `traceparent` header. A value that is not one (all-zero ids included) is not sent.
    /// With `tracing-opentelemetry`, `context` reads the current span's OpenTelemetry context
    /// and formats it; scopegate depends on neither.
    pub fn with_trace_context(mut self, context: impl Fn() -> Option<String> + Send + Sync + 'static) -> Self {
        self.trace_context = Some(Arc::new(context));
        self
    }

    /// Sets (or, with `None`, removes) the [token-change hook](Self::on_token_change).
    pub fn set_token_hook(&self, hook: Option<TokenHook>) {
        *self.hook.write().unwrap_or_else(|p| p.into_inner()) = hook;
    }

    /// Tells every client of this process on `store` that the token set of `key` was written
    /// by other means than a client (the store's own `save` or `delete`): their next call
    /// reads the store instead of answering from memory.
    pub fn store_written(store: &Arc<dyn TokenStore>, key: &StoreKey) {
        Slot::written_elsewhere(store, key);
    }

    /// The provider.
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    /// The app registration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// A client like this one (same transport, store, account binding, rights, clock and hook)
    /// with another redirect URI (the loopback login's actual port).
    pub fn with_redirect_uri(&self, uri: &str) -> Result<Client, Error> {
        Ok(Client {
            provider: Arc::clone(&self.provider),
            config: self.config.clone().with_redirect_uri(uri)?,
            transport: Arc::clone(&self.transport),
            store: Arc::clone(&self.store),
            slot: Arc::clone(&self.slot),
            bound: self.bound,
            rights: self.rights,
            refresh_margin_secs: self.refresh_margin_secs,
            clock: Arc::clone(&self.clock),
            hook: Arc::clone(&self.hook),
            staleness: self.staleness,
            lease_ttl: self.lease_ttl,
            counters: Arc::clone(&self.counters),
            trace_context: self.trace_context.clone(),
            dpop_nonces: self.dpop_nonces.clone(),
        })
    }

    /// The store key of this client's tokens (after a login for a profile that names the
    /// account, the key of that account).
    pub fn key(&self) -> StoreKey {
        self.slot().key.clone()
    }

    /// The account this client's tokens are stored under.
    pub fn account(&self) -> String {
        self.slot().key.account.clone()
    }

    pub(crate) fn slot(&self) -> Arc<Slot> {
        self.slot.load_full()
    }

    pub(crate) fn now(&self) -> Timestamp {
        (self.clock)()
    }

    fn margin(&self) -> u64 {
        self.refresh_margin_secs.unwrap_or(self.provider.lifecycle().refresh_margin_secs)
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
        s.with_dpop_nonces(self.dpop_nonces.get())
    }

    fn notify(&self, key: &StoreKey, tokens: &TokenSet, saved: bool) {
        let hook = self.hook.read().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(hook) = hook {
            hook(&TokenChange { key, tokens, saved });
        }
    }

    fn not_authorized(&self) -> Error {
        let key = self.key();
        Error::NotAuthorized { provider: key.provider_id, account: key.account }
    }

    /// Gets a token for the app itself with the client credentials grant and stores it. An
    /// account that holds a user's token is left alone ([`Error::IdentityMismatch`]).
    pub fn client_credentials(&self, scopes: &[String]) -> Result<TokenSet, Error> {
        let span = OpSpan::new(Op::ClientCredentials, &self.key());
        let mut sent = Sent::default();
        let result = span.run(|| self.client_credentials_in_span(scopes, &mut sent));
        span.finish(observe::Outcome::of(&result), sent);
        self.noted(result)
    }

    fn client_credentials_in_span(&self, scopes: &[String], sent: &mut Sent) -> Result<TokenSet, Error> {
        let slot = self.slot();
        let _flight = slot.flight.lock();
        let view = self.current(&slot)?;
        if view.unsaved {
            // The store is unreachable: a new token could not be stored either.
            let mut s = self.session();
            s.set_tokens(view.tokens)?;
            s.client_credentials(scopes)?;
            let tokens = self.run(&mut s, sent)?;
            return self.store_result(&slot, view.version, tokens);
        }
        let row = self.claim(&slot)?;
        let attempt = (|| {
            let mut s = self.session();
            s.set_tokens(row.tokens.clone())?;
            s.client_credentials(scopes)?;
            self.run(&mut s, sent)
        })();
        match attempt {
            Ok(tokens) => self.store_result(&slot, row.version, tokens),
            Err(e) => {
                let _ = self.store.release(&slot.key, &slot.owner);
                Err(e)
            }
        }
    }

    /// The stored token set, if any (read from the store; a renewed set that the store could
    /// not write yet is written first).
    pub fn stored(&self) -> Result<Option<TokenSet>, Error> {
        let slot = self.slot();
        let _flight = slot.flight.lock();
        let view = self.current(&slot)?;
        if view.unsaved || view.unreachable.is_some() {
            // Not in the store: say so rather than answer from memory.
            return Ok(self.store.load(&slot.key)?);
        }
        Ok(view.tokens)
    }

    /// Refreshes now, whatever the expiry. Coalesced: if the token set changed since this
    /// client last saw it (another thread or process refreshed meanwhile), that newer set is
    /// the answer and no request is sent.
    pub fn refresh(&self) -> Result<TokenSet, Error> {
        let seen = self.seen()?;
        self.refresh_unless_changed(seen)
    }

    /// The access token this caller has seen (in memory, else in the store): a refresh is
    /// coalesced with any that replaced it meanwhile.
    pub(crate) fn seen(&self) -> Result<Option<scopegate_core::AccessToken>, Error> {
        let slot = self.slot();
        Ok(match slot.unsaved() {
            Some(u) => Some(u.tokens.access_token),
            None => match slot.cached() {
                Some(c) => c.tokens.map(|t| t.access_token.clone()),
                None => self.store.load(&slot.key)?.map(|t| t.access_token),
            },
        })
    }

    /// Refreshes unless the token set no longer holds `seen` (then it is the answer).
    pub(crate) fn refresh_unless_changed(&self, seen: Option<scopegate_core::AccessToken>) -> Result<TokenSet, Error> {
        let slot = self.slot();
        let _flight = slot.flight.lock();
        let view = self.current(&slot)?;
        self.noted(self.refresh_locked(&slot, view, &|_, t| Some(&t.access_token) == seen.as_ref()))
    }

    /// A valid token set: the one in memory or in the store, refreshed first when it is due.
    /// When many threads (or processes sharing a store) call at once, one refresh request is
    /// sent and the others get its result. A grant known to be dead fails at once, without a
    /// request.
    pub fn access_token(&self) -> Result<TokenSet, Error> {
        if let Some(t) = self.fresh_from_memory() {
            return Ok(t);
        }
        self.noted(self.access_token_slow())
    }

    /// The token set from memory, when it is fresh: read without a lock or a shared counter
    /// (see slot.rs).
    pub(crate) fn fresh_from_memory(&self) -> Option<TokenSet> {
        self.slot.load().fresh(self.now(), self.margin(), self.staleness)
    }

    fn access_token_slow(&self) -> Result<TokenSet, Error> {
        let slot = self.slot();
        let _flight = slot.flight.lock();
        let view = self.current(&slot)?;
        let mut s = self.session();
        s.set_tokens(view.tokens.clone())?;
        let now = self.now();
        if s.needs_refresh(now) {
            return self.refresh_locked(&slot, view, &|s, _| s.needs_refresh(now));
        }
        s.usable_tokens(now).cloned()
    }

    /// Counts and reports what an operation's error means for the operator (only a new
    /// authorization helps).
    pub(crate) fn noted<T>(&self, result: Result<T, Error>) -> Result<T, Error> {
        if let Err(Error::ReauthorizationRequired { reason, .. }) = &result {
            self.counters.reauthorization();
            observe::reauthorization(&self.key(), *reason);
        }
        result
    }

    /// Forgets the stored token locally, without telling the provider (after Yotpo's uninstall
    /// webhook, say): the row is removed without being read, so a corrupt one (or one sealed
    /// with a lost key) goes too. Returns whether there was one.
    pub fn forget(&self) -> Result<bool, Error> {
        let slot = self.slot();
        let _flight = slot.flight.lock();
        let had_unsaved = slot.clear();
        Ok(self.store.delete(&slot.key)? || had_unsaved)
    }

    /// Revokes (RFC 7009) or uninstalls (remove-application endpoint) the stored authorization,
    /// then forgets it. Holds the key's lease meanwhile, so no refresh can rotate the token.
    /// When the provider refuses or cannot be reached, the token stays stored and the error says
    /// why; a profile without such an endpoint gives
    /// [`UsageError::NoRevocationEndpoint`](scopegate_core::UsageError::NoRevocationEndpoint)
    /// (use [`forget`](Self::forget)).
    pub fn revoke(&self) -> Result<Revoked, Error> {
        let span = OpSpan::new(Op::Revoke, &self.key());
        let mut sent = Sent::default();
        let result = span.run(|| self.revoke_in_span(&mut sent));
        span.finish(observe::Outcome::of(&result), sent);
        result
    }

    fn revoke_in_span(&self, sent: &mut Sent) -> Result<Revoked, Error> {
        let slot = self.slot();
        let _flight = slot.flight.lock();
        self.current(&slot)?;
        let row = self.claim(&slot)?;
        let attempt = (|| {
            let mut s = self.session();
            s.set_tokens(row.tokens.clone())?;
            s.revoke(self.now())?;
            let mut done = None;
            for e in self.drive(&mut s, sent)? {
                match e {
                    scopegate_core::Event::Revoked(r) => done = Some(r),
                    scopegate_core::Event::Failed(e) => return Err(e),
                    _ => {}
                }
            }
            done.ok_or_else(|| self.not_authorized())
        })();
        let revoked = match attempt {
            Ok(r) => r,
            Err(e) => {
                let _ = self.store.release(&slot.key, &slot.owner);
                return Err(e);
            }
        };
        match self.store.write(&slot.key, &slot.owner, row.version, &Update::Delete)? {
            Written::Done(v) => slot.set(None, v),
            // A newer token set (a new login) was written meanwhile: it stays.
            Written::Conflict(now) => slot.set_row(&now),
        }
        slot.set_unsaved(None);
        Ok(revoked)
    }

    /// The key's lease and row (waiting for another owner's lease to end: the
    /// `scopegate.store.wait` span, counted).
    fn claim(&self, slot: &Slot) -> Result<crate::store::Row, scopegate_core::StoreError> {
        let claim = match self.store.try_claim(&slot.key, &slot.owner, self.lease_ttl)? {
            Claim::Held { .. } => {
                let max = self.lease_ttl + Duration::from_secs(30);
                let (claim, waited) =
                    observe::store_wait(&slot.key, || self.store.claim(&slot.key, &slot.owner, self.lease_ttl, max));
                self.counters.store_wait(waited);
                claim?
            }
            granted => granted,
        };
        match claim {
            Claim::Granted(row) => {
                slot.set_row(&row);
                Ok(row)
            }
            Claim::Held { .. } => Err(scopegate_core::StoreError::Busy {
                path: slot.key.to_string(),
                waited_secs: (self.lease_ttl + Duration::from_secs(30)).as_secs(),
            }),
        }
    }
}
