//! [`AsyncClient`]: the same driver as [`Client`], for tokio services (cargo feature `tokio`).
//!
//! It is the blocking [`Client`] (the same [`Session`](scopegate_core::Session), the same
//! stores, the same key slots, so the same guarantees: one refresh per token across tasks,
//! threads, processes and hosts; nothing lost when a write fails; the origin and identity
//! rules), run where it may block:
//!
//! - a fresh token is answered from memory, on the caller's task, with no blocking call;
//! - everything that may wait (a store read or write, a lease, a refresh, a login) runs on
//!   tokio's blocking pool (`spawn_blocking`), never on a runtime worker; its HTTP goes over the
//!   caller's [`AsyncTransport`], driven from there. The blocking pool is the reason for this
//!   design rather than async store drivers: the PostgreSQL and SQLite drivers are blocking, and
//!   one code path for both clients keeps every rule in one place;
//! - an API call's request goes over the [`AsyncTransport`] on the caller's task; only a 401 (or
//!   a change of the 401 count) goes to the blocking pool;
//! - **cancellation-safe**: a caller's future dropped mid-refresh (`tokio::time::timeout`, say)
//!   does not stop the refresh: it runs to its end in a task of its own and its result is stored.
//!
//! Tasks of one `AsyncClient` that all find the token due wait for one another on an async lock
//! (not on blocking threads), and all but the first find the new token in memory.

use std::sync::Arc;

use scopegate_core::{
    ClientConfig, Error, HttpRequest, HttpResponse, Method, NextStep, PendingAuthorization, Provider, Revoked,
    TokenSet, TransportError,
};

use super::api::{ApiNext, Retries, usable};
use super::observe::{Op, OpSpan, Outcome, Sent};
use super::{Client, ClientStats};
use crate::store::{StoreKey, TokenStore};
use crate::transport::{AsyncTransport, SendFuture, Transport};

/// The async transport, seen by the blocking driver on tokio's blocking pool.
struct OnBlockingPool(Arc<dyn AsyncTransport>);

impl Transport for OnBlockingPool {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let host = || request.url().host_str().unwrap_or("").to_owned();
        // The driver runs on the blocking pool, inside the runtime: its handle drives the future.
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| TransportError::Io { host: host(), reason: "no tokio runtime to send with".into() })?;
        handle.block_on(self.0.send(request))
    }
}

/// A caller's async transport with the rules every transport keeps (plain http only to loopback
/// hosts, the body limit): [`PolicedTransport`](crate::embed::PolicedTransport)'s, async.
struct Policed(Arc<dyn AsyncTransport>);

impl AsyncTransport for Policed {
    fn send<'a>(&'a self, request: &'a HttpRequest) -> SendFuture<'a> {
        Box::pin(async move {
            if let Some(refused) = crate::embed::policy_refusal(request) {
                return Err(refused);
            }
            let limit = request.max_response_bytes();
            let response = self.0.send(request).await?;
            if response.body().len() > limit {
                let host = request.url().host_str().unwrap_or("").to_owned();
                return Err(TransportError::BodyTooLarge { host, limit });
            }
            Ok(response)
        })
    }
}

/// An OAuth 2.0 client for one provider, one app registration and one account, for tokio
/// services (see the module documentation). `Send + Sync`: share it through an `Arc` (an axum
/// state, say).
pub struct AsyncClient {
    inner: Arc<Client>,
    transport: Arc<dyn AsyncTransport>,
    /// Tasks that must go to the blocking pool for this key take turns here (asynchronously).
    gate: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for AsyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncClient").field("client", &self.inner).finish_non_exhaustive()
    }
}

impl AsyncClient {
    /// A client for `account`, as [`Client::new`], sending over `transport`
    /// ([`ReqwestTransport`](crate::ReqwestTransport), or a service's own async HTTP client).
    pub fn new(
        provider: impl Into<Arc<Provider>>,
        config: ClientConfig,
        transport: Arc<dyn AsyncTransport>,
        store: Arc<dyn TokenStore>,
        account: impl Into<String>,
    ) -> Self {
        let transport: Arc<dyn AsyncTransport> = Arc::new(Policed(transport));
        let blocking: Arc<dyn Transport> = Arc::new(OnBlockingPool(Arc::clone(&transport)));
        AsyncClient {
            inner: Arc::new(Client::new(provider, config, blocking, store, account)),
            transport,
            gate: tokio::sync::Mutex::new(()),
        }
    }

    /// Sets what [`Client`]'s builders set (rights, refresh margin, clock, staleness, lease time,
    /// token-change hook): `AsyncClient::new(...).configure(|c| c.with_rights(r))`. Call it before
    /// the client is used.
    pub fn configure(self, f: impl FnOnce(Client) -> Client) -> Self {
        let AsyncClient { inner, transport, gate } = self;
        let inner = match Arc::try_unwrap(inner) {
            Ok(client) => Arc::new(f(client)),
            // Not possible before the first call (nothing else holds it); keep it unchanged then.
            Err(shared) => shared,
        };
        AsyncClient { inner, transport, gate }
    }

    /// The blocking client underneath (the same slots, counters and hook), for what needs no
    /// waiting: [`Client::key`], [`Client::provider`], [`Client::session`].
    pub fn client(&self) -> &Client {
        &self.inner
    }

    /// The store key of this client's tokens.
    pub fn key(&self) -> StoreKey {
        self.inner.key()
    }

    /// The counters since start ([`Client::stats`]).
    pub fn stats(&self) -> ClientStats {
        self.inner.stats()
    }

    /// Runs `f` with the blocking client on tokio's blocking pool. A dropped caller does not stop
    /// it: it runs to its end (a refresh is stored).
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Client) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let client = Arc::clone(&self.inner);
        // The caller's span goes along: scopegate's spans are its children there, and a trace
        // context hook reads the caller's trace.
        #[cfg(feature = "tracing")]
        let run = {
            let span = tracing::Span::current();
            move || span.in_scope(|| f(&client))
        };
        #[cfg(not(feature = "tracing"))]
        let run = move || f(&client);
        match tokio::task::spawn_blocking(run).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(Error::Transport(TransportError::Io {
                host: String::new(),
                reason: "the tokio runtime is shutting down".into(),
            })),
        }
    }

    /// A valid token set ([`Client::access_token`]): from memory when fresh, with no blocking
    /// call; else read, and refreshed when due, once for every task and process that asks.
    pub async fn access_token(&self) -> Result<TokenSet, Error> {
        if let Some(t) = self.inner.fresh_from_memory() {
            return Ok(t);
        }
        let _turn = self.gate.lock().await;
        if let Some(t) = self.inner.fresh_from_memory() {
            return Ok(t);
        }
        self.blocking(|c| c.access_token()).await
    }

    /// Refreshes now ([`Client::refresh`]): coalesced with any refresh that replaced the token
    /// this caller saw.
    pub async fn refresh(&self) -> Result<TokenSet, Error> {
        let seen = match self.inner.slot().cached() {
            Some(c) => c.tokens.map(|t| t.access_token.clone()),
            None => self.blocking(|c| c.seen()).await?,
        };
        let _turn = self.gate.lock().await;
        self.blocking(move |c| c.refresh_unless_changed(seen)).await
    }

    /// A token for the app itself ([`Client::client_credentials`]).
    pub async fn client_credentials(&self, scopes: &[String]) -> Result<TokenSet, Error> {
        let scopes = scopes.to_vec();
        self.blocking(move |c| c.client_credentials(&scopes)).await
    }

    /// Completes an authorization ([`Client::exchange`]). The pending authorization is marked
    /// used.
    pub async fn exchange(&self, pending: &mut PendingAuthorization, callback: &str) -> Result<TokenSet, Error> {
        // Clones share the single use: the one handed to the blocking pool marks this one.
        let mut used = pending.clone();
        let callback = callback.to_owned();
        self.blocking(move |c| c.exchange(&mut used, &callback)).await
    }

    /// Starts an authorization ([`Client::authorization_request`]).
    pub async fn authorization_request(&self) -> Result<scopegate_core::AuthorizationStart, Error> {
        self.blocking(|c| c.authorization_request()).await
    }

    /// Forgets the stored token locally ([`Client::forget`]).
    pub async fn forget(&self) -> Result<bool, Error> {
        self.blocking(|c| c.forget()).await
    }

    /// Revokes or uninstalls, then forgets ([`Client::revoke`]).
    pub async fn revoke(&self) -> Result<Revoked, Error> {
        self.blocking(|c| c.revoke()).await
    }

    /// An API call ([`Client::request`]: the same checks and 401 rules). The request goes over
    /// the async transport on the caller's task; a 401 (or a change of the stored 401 count)
    /// is settled on the blocking pool.
    pub async fn request(&self, method: Method, path: &str, json_body: Option<&[u8]>) -> Result<HttpResponse, Error> {
        let span = OpSpan::new(Op::Api, &self.inner.key());
        let mut sent = Sent::default();
        let result = span.instrument(self.request_in_span(method, path, json_body, &mut sent)).await;
        span.finish(Outcome::of(&result), sent);
        self.inner.noted(result)
    }

    async fn request_in_span(
        &self,
        method: Method,
        path: &str,
        json_body: Option<&[u8]>,
        sent: &mut Sent,
    ) -> Result<HttpResponse, Error> {
        let mut s = self.inner.api_session(method, path)?;
        let mut tokens = usable(self.access_token().await)?;
        s.set_tokens(Some(tokens.clone()))?;
        let mut retries = Retries::default();
        loop {
            let (id, request) = s.api_request(self.inner.now(), method, path, json_body)?;
            sent.tries += 1;
            let response = self.transport.send(&request).await?;
            let status = response.status();
            sent.last_status = Some(status);
            let probe = self.inner.api_probe(&mut s, id, &request, &response);
            if probe == (NextStep::Done, false) && status != 401 {
                // Nothing to store, nothing to refresh: the answer is the caller's.
                return Ok(response);
            }
            let used = tokens.clone();
            let (back, next, again) = self
                .blocking(move |c| {
                    let mut s = s;
                    let mut again = retries;
                    let next = c.api_settle(&mut s, id, status, probe, &mut again, &used);
                    Ok((s, next, again))
                })
                .await?;
            s = back;
            retries = again;
            match next? {
                ApiNext::Done => return Ok(response),
                ApiNext::Resend => {}
                ApiNext::Again(t) => {
                    tokens = *t;
                    s.set_tokens(Some(tokens.clone()))?;
                }
            }
        }
    }
}
