//! [`Client::builder`]: a client from a profile and a client id, with defaults for the rest.

use std::sync::Arc;
use std::time::Duration;

use scopegate_core::jose::SigningKey;
use scopegate_core::{ClientConfig, ClientSecret, DEFAULT_ACCOUNT, Error, Provider, Rights};

use super::Client;
use crate::store::{MemoryStore, TokenStore};
use crate::transport::{Transport, UreqTransport};

/// Builds a [`Client`]: made by [`Client::builder`]. Unless given, the transport is a
/// [`UreqTransport`] with its defaults (rustls, the web PKI roots, timeouts), the store an
/// in-memory [`MemoryStore`] (tokens last as long as the process: give a
/// [`SqliteStore`](crate::SqliteStore) or a PostgreSQL store to keep them), the account
/// [`DEFAULT_ACCOUNT`], and no rights pre-check.
#[must_use = "a builder does nothing until build()"]
pub struct ClientBuilder {
    provider: Arc<Provider>,
    client_id: String,
    secret: Option<ClientSecret>,
    client_key: Option<SigningKey>,
    redirect_uri: Option<String>,
    transport: Option<Arc<dyn Transport>>,
    store: Option<Arc<dyn TokenStore>>,
    account: String,
    rights: Option<Rights>,
    refresh_margin_secs: Option<u64>,
    staleness: Option<Duration>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("provider", &self.provider.id())
            .field("client_id", &self.client_id)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("client_key", &self.client_key.as_ref().map(|_| "<redacted>"))
            .field("redirect_uri", &self.redirect_uri)
            .field("account", &self.account)
            .field("rights", &self.rights.map(|r| self.provider.matrix().named(r)))
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder for a client of `provider` (a built-in profile's [`Provider::builtin`], or a
    /// profile of your own) registered as `client_id`:
    ///
    /// ```no_run
    /// # fn main() -> Result<(), scopegate::Error> {
    /// use scopegate::{Client, SqliteStore, core::Provider};
    /// use std::sync::Arc;
    ///
    /// let client = Client::builder(Provider::builtin("yespo")?, "my-client-id")
    ///     .secret(std::env::var("YESPO_CLIENT_SECRET").unwrap_or_default())
    ///     .redirect_uri("http://127.0.0.1:8081/callback")
    ///     .store(Arc::new(SqliteStore::open("tokens.sqlite")?))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn builder(provider: impl Into<Arc<Provider>>, client_id: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            provider: provider.into(),
            client_id: client_id.into(),
            secret: None,
            client_key: None,
            redirect_uri: None,
            transport: None,
            store: None,
            account: DEFAULT_ACCOUNT.to_owned(),
            rights: None,
            refresh_margin_secs: None,
            staleness: None,
        }
    }
}

impl ClientBuilder {
    /// The client secret (`client_secret_basic` or `_post`, as the profile says).
    pub fn secret(mut self, secret: impl Into<ClientSecret>) -> Self {
        self.secret = Some(secret.into());
        self
    }
    /// The client's private key, for a profile with `client_auth = "private_key_jwt"`.
    pub fn client_key(mut self, key: SigningKey) -> Self {
        self.client_key = Some(key);
        self
    }
    /// The redirect URI registered for the app (needed for a login; a loopback one with port 0
    /// takes a free port for a profile with `loopback_any_port`).
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(uri.into());
        self
    }
    /// The HTTP transport (default: [`UreqTransport::default`]).
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }
    /// The token store (default: a new [`MemoryStore`]).
    pub fn store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }
    /// The account: a name you pick per user or shop (default [`DEFAULT_ACCOUNT`]); see
    /// [`Client::new`].
    pub fn account(mut self, account: impl Into<String>) -> Self {
        self.account = account.into();
        self
    }
    /// The rights granted at app registration: every [`Client::request`] is checked against
    /// them before it is sent ([`Client::with_rights`]).
    pub fn rights(mut self, rights: Rights) -> Self {
        self.rights = Some(rights);
        self
    }
    /// Refresh this many seconds before expiry ([`Client::with_refresh_margin`]).
    pub fn refresh_margin(mut self, secs: u64) -> Self {
        self.refresh_margin_secs = Some(secs);
        self
    }
    /// How long a token set read from the store is answered from memory
    /// ([`Client::with_staleness`]).
    pub fn staleness(mut self, staleness: Duration) -> Self {
        self.staleness = Some(staleness);
        self
    }

    /// The client; an invalid client id or redirect URI is a [`UsageError`](scopegate_core::UsageError).
    pub fn build(self) -> Result<Client, Error> {
        let mut config = ClientConfig::new(self.client_id)?;
        if let Some(secret) = self.secret {
            config = config.with_secret(secret);
        }
        if let Some(key) = self.client_key {
            config = config.with_client_key(key);
        }
        if let Some(uri) = self.redirect_uri {
            config = config.with_redirect_uri(uri)?;
        }
        let transport = self.transport.unwrap_or_else(|| Arc::new(UreqTransport::default()));
        let store = self.store.unwrap_or_else(|| Arc::new(MemoryStore::new()));
        let mut client = Client::new(self.provider, config, transport, store, self.account);
        if let Some(rights) = self.rights {
            client = client.with_rights(rights);
        }
        if let Some(secs) = self.refresh_margin_secs {
            client = client.with_refresh_margin(secs);
        }
        if let Some(staleness) = self.staleness {
            client = client.with_staleness(staleness);
        }
        Ok(client)
    }
}
