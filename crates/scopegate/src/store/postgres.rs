//! The PostgreSQL store: one refresh across every instance of a service on every machine.
//!
//! [`PostgresStore::update`](TokenStore::update) runs in one transaction: the key's row is made
//! sure to exist (`INSERT ... ON CONFLICT DO NOTHING`), locked with `SELECT ... FOR UPDATE` (with
//! `lock_timeout` and `statement_timeout` set), the closure decides with the row as it is then
//! (another instance may have refreshed meanwhile), and the result is written and committed.
//! Only that key's row is locked: other keys go on. A process that dies while holding the lock
//! releases it when its connection drops; one that hangs is cut off by
//! `idle_in_transaction_session_timeout`. Each row carries a version, and a write names the
//! version it read, so it can never overwrite a newer token set.
//!
//! Connections come from a small pool; one that broke (the server restarted, say) is dropped and
//! a new one made on the next call, so a client recovers without a restart. A server that is down
//! or slow is a [`StoreError`] naming the store (host and database, never the password), within
//! the configured timeouts, and a token set renewed before the failure comes back in
//! [`UpdateError::NotSaved`]. Token sets may be sealed at rest ([`PostgresStore::with_keys`]).

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use postgres::config::Host;
use scopegate_core::TokenSet;

use super::seal::{self, KeyRing};
use super::sqlite::LONGEST_REFRESH;
use super::{StoreError, StoreKey, TokenStore, Update, UpdateAbort, UpdateError};

/// The schema version this code reads and writes.
pub const POSTGRES_SCHEMA_VERSION: i32 = 1;

/// Settings of a [`PostgresStore`].
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    /// Most connections open at once (default 4).
    pub pool_size: usize,
    /// How long connecting, or waiting for a free connection, may take (default 5 s).
    pub connect_timeout: Duration,
    /// How long a statement may run (default 10 s).
    pub statement_timeout: Duration,
    /// How long `update` waits for another instance's lock on the same key (default: longer
    /// than the longest refresh, [`LONGEST_REFRESH`] + 30 s).
    pub lock_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            pool_size: 4,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
            lock_timeout: LONGEST_REFRESH + Duration::from_secs(30),
        }
    }
}

/// A pool of blocking connections.
struct Pool {
    config: postgres::Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    idle: Mutex<(Vec<postgres::Client>, usize)>,
    freed: Condvar,
    options: PostgresOptions,
}

/// A connection borrowed from the pool; given back on drop unless it broke.
struct Conn<'p> {
    pool: &'p Pool,
    client: Option<postgres::Client>,
}

impl std::ops::Deref for Conn<'_> {
    type Target = postgres::Client;
    fn deref(&self) -> &postgres::Client {
        self.client.as_ref().expect("present until drop")
    }
}

impl std::ops::DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut postgres::Client {
        self.client.as_mut().expect("present until drop")
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        let mut idle = self.pool.idle.lock().unwrap_or_else(|p| p.into_inner());
        match self.client.take() {
            Some(c) if !c.is_closed() => idle.0.push(c),
            _ => idle.1 -= 1,
        }
        self.pool.freed.notify_one();
    }
}

impl Pool {
    fn get(&self, shown: &str) -> Result<Conn<'_>, StoreError> {
        let deadline = Instant::now() + self.options.connect_timeout;
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            while let Some(c) = idle.0.pop() {
                if !c.is_closed() {
                    return Ok(Conn { pool: self, client: Some(c) });
                }
                idle.1 -= 1;
            }
            if idle.1 < self.options.pool_size {
                idle.1 += 1;
                drop(idle);
                return match self.connect() {
                    Ok(c) => Ok(Conn { pool: self, client: Some(c) }),
                    Err(e) => {
                        self.idle.lock().unwrap_or_else(|p| p.into_inner()).1 -= 1;
                        self.freed.notify_one();
                        Err(StoreError::Backend {
                            path: shown.to_owned(),
                            reason: format!("cannot connect: {}", with_causes(&e)),
                        })
                    }
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StoreError::Backend {
                    path: shown.to_owned(),
                    reason: format!("every one of the {} connections stayed busy", self.options.pool_size),
                });
            }
            idle = self.freed.wait_timeout(idle, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    fn connect(&self) -> Result<postgres::Client, postgres::Error> {
        let mut client = self.config.connect(self.tls.clone())?;
        let ms = |d: Duration| d.as_millis().max(1);
        client.batch_execute(&format!(
            "SET statement_timeout = {}; SET idle_in_transaction_session_timeout = {};",
            ms(self.options.statement_timeout),
            ms(self.options.lock_timeout + Duration::from_secs(60)),
        ))?;
        Ok(client)
    }
}

/// Token sets in a PostgreSQL database, shared by every instance of a service (see the module
/// documentation for the guarantees). `Send + Sync`: share it through an `Arc`.
pub struct PostgresStore {
    pool: Pool,
    shown: String,
    ring: Option<KeyRing>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("store", &self.shown).field("keys", &self.ring).finish_non_exhaustive()
    }
}

/// An error with its causes (`error connecting to server: No such file or directory`); the
/// client's errors quote no password.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let next = c.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = c.source();
    }
    text
}

/// `postgres://user@host:port/dbname` (or `.../dbname?host=/socket/dir`): what errors name, never
/// the password.
fn describe(config: &postgres::Config) -> String {
    let user = config.get_user().map(|u| format!("{u}@")).unwrap_or_default();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let port = config.get_ports().first().map(|p| format!(":{p}")).unwrap_or_default();
    let db = config.get_dbname().unwrap_or("");
    format!("postgres://{user}{}{port}/{db}", hosts.join(","))
}

fn tls() -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/db?sslmode=require`, or
    /// `host=... user=... dbname=...`) and creates or migrates the schema.
    pub fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        Self::connect_with(url, PostgresOptions::default())
    }

    /// [`connect`](Self::connect) with explicit settings.
    pub fn connect_with(url: &str, options: PostgresOptions) -> Result<PostgresStore, StoreError> {
        let mut config: postgres::Config = url.parse().map_err(|e: postgres::Error| StoreError::Backend {
            path: "postgres".into(),
            // The parser's message quotes no password.
            reason: format!("not a connection string: {e}"),
        })?;
        config.connect_timeout(options.connect_timeout);
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(30));
        config.application_name("scopegate");
        let shown = describe(&config);
        let tls = tls().map_err(|reason| StoreError::Backend { path: shown.clone(), reason })?;
        let pool = Pool { config, tls, idle: Mutex::new((Vec::new(), 0)), freed: Condvar::new(), options };
        let store = PostgresStore { pool, shown, ring: None };
        store.migrate()?;
        Ok(store)
    }

    /// Seals every token set written from now on with `ring`'s current key, and opens rows
    /// sealed with any of its keys (see [`seal`](super::seal)). Rows in clear are refused
    /// ([`StoreError::Sealed`]): seal them once with [`seal_plain_rows`](Self::seal_plain_rows).
    pub fn with_keys(mut self, ring: KeyRing) -> Self {
        self.ring = Some(ring);
        self
    }

    /// Seals every token set stored in clear (written before a key was configured) with the
    /// current key, in one transaction (each row locked, as by an update), and returns how many:
    /// the explicit step that takes a store written without a key into use with one
    /// (`scopegate store seal`). A store with a key refuses rows in clear, since whoever can
    /// write the table could have planted one: seal only a store whose rows you trust. Without
    /// a key ([`with_keys`](Self::with_keys)), or if a row in clear is unreadable, nothing is
    /// changed and the error says which.
    pub fn seal_plain_rows(&self) -> Result<usize, StoreError> {
        let Some(ring) = &self.ring else {
            return Err(StoreError::Sealed {
                path: self.shown.clone(),
                key: "*".into(),
                problem: format!(
                    "no key is configured to seal with (with_keys; the command line reads {})",
                    seal::KEY_ENV
                ),
            });
        };
        let mut conn = self.pool.get(&self.shown)?;
        let opts = &self.pool.options;
        let mut tx = conn.transaction().map_err(|e| self.failed(e))?;
        tx.batch_execute(&format!(
            "SET LOCAL lock_timeout = {}; SET LOCAL statement_timeout = {};",
            opts.lock_timeout.as_millis().max(1),
            (opts.lock_timeout + opts.statement_timeout).as_millis(),
        ))
        .map_err(|e| self.failed(e))?;
        let rows = tx
            .query(
                "SELECT provider_id, client_id, account, data, version FROM scopegate_token_sets
                 WHERE key_id IS NULL AND data IS NOT NULL ORDER BY 1, 2, 3 FOR UPDATE",
                &[],
            )
            .map_err(|e| self.failed(e))?;
        for row in &rows {
            let key = StoreKey::new(row.get::<_, String>(0), row.get::<_, String>(1), row.get::<_, String>(2));
            let data = zeroize::Zeroizing::new(row.get::<_, String>(3));
            let version: i64 = row.get(4);
            let corrupt = |reason: String| StoreError::Corrupt {
                path: self.shown.clone(),
                key: format!("{}/{}/{}", key.provider_id, key.client_id, key.account),
                reason,
            };
            let tokens = seal::decode(None, &key, &data, None).map_err(|e| corrupt(e.to_string()))?;
            if tokens.provider_id != key.provider_id {
                return Err(corrupt("the token set belongs to another provider".into()));
            }
            let (sealed, id) = ring.seal(&key, &tokens).map_err(|e| self.sealed(&key, e.to_string()))?;
            tx.execute(
                &format!(
                    "UPDATE scopegate_token_sets SET data = $4, key_id = $5, version = version + 1, updated_at = now()
                     WHERE {KEY_WHERE} AND version = $6"
                ),
                &[&key.provider_id, &key.client_id, &key.account, &sealed, &id, &version],
            )
            .map_err(|e| self.failed(e))?;
        }
        tx.commit().map_err(|e| self.failed(e))?;
        Ok(rows.len())
    }

    /// What errors name the store by (`postgres://user@host:port/db`, never the password).
    pub fn describe(&self) -> &str {
        &self.shown
    }

    fn failed(&self, e: postgres::Error) -> StoreError {
        // 55P03 lock_not_available: lock_timeout passed; 57014 query_canceled: statement_timeout.
        if let Some(code) = e.code() {
            if *code == postgres::error::SqlState::LOCK_NOT_AVAILABLE {
                return StoreError::Busy {
                    path: self.shown.clone(),
                    waited_secs: self.pool.options.lock_timeout.as_secs(),
                };
            }
        }
        let reason = match e.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => with_causes(&e),
        };
        StoreError::Backend { path: self.shown.clone(), reason }
    }

    fn sealed(&self, key: &StoreKey, problem: String) -> StoreError {
        StoreError::Sealed {
            path: self.shown.clone(),
            key: format!("{}/{}/{}", key.provider_id, key.client_id, key.account),
            problem,
        }
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.get(&self.shown)?;
        let mut tx = conn.transaction().map_err(|e| self.failed(e))?;
        // One migrator at a time, whichever instance starts first.
        tx.batch_execute("SELECT pg_advisory_xact_lock(7469263501); CREATE TABLE IF NOT EXISTS scopegate_schema (version INTEGER NOT NULL);")
            .map_err(|e| self.failed(e))?;
        let found: Option<i32> =
            tx.query_opt("SELECT version FROM scopegate_schema", &[]).map_err(|e| self.failed(e))?.map(|r| r.get(0));
        let version = found.unwrap_or(0);
        if version > POSTGRES_SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: self.shown.clone(),
                found: i64::from(version),
                supported: i64::from(POSTGRES_SCHEMA_VERSION),
            });
        }
        if version < 1 {
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS scopegate_token_sets (
                    provider_id TEXT NOT NULL,
                    client_id TEXT NOT NULL,
                    account TEXT NOT NULL,
                    data TEXT,
                    key_id TEXT,
                    version BIGINT NOT NULL DEFAULT 0,
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    PRIMARY KEY (provider_id, client_id, account)
                );",
            )
            .map_err(|e| self.failed(e))?;
        }
        if found.is_none() {
            tx.execute("INSERT INTO scopegate_schema (version) VALUES ($1)", &[&POSTGRES_SCHEMA_VERSION])
                .map_err(|e| self.failed(e))?;
        } else if version < POSTGRES_SCHEMA_VERSION {
            tx.execute("UPDATE scopegate_schema SET version = $1", &[&POSTGRES_SCHEMA_VERSION])
                .map_err(|e| self.failed(e))?;
        }
        tx.commit().map_err(|e| self.failed(e))
    }

    fn decode(
        &self,
        key: &StoreKey,
        data: Option<String>,
        key_id: Option<String>,
    ) -> Result<Option<TokenSet>, StoreError> {
        let Some(data) = data.map(zeroize::Zeroizing::new) else { return Ok(None) };
        // With a key, a row in clear is refused as not sealed, not read.
        let sealed_or_keyed = key_id.is_some() || self.ring.is_some();
        let tokens =
            seal::decode(self.ring.as_ref(), key, &data, key_id.as_deref()).map_err(|e| match sealed_or_keyed {
                true => self.sealed(key, e.to_string()),
                false => StoreError::Corrupt {
                    path: self.shown.clone(),
                    key: format!("{}/{}/{}", key.provider_id, key.client_id, key.account),
                    reason: e.to_string(),
                },
            })?;
        Ok(Some(tokens))
    }
}

const KEY_WHERE: &str = "provider_id = $1 AND client_id = $2 AND account = $3";

impl TokenStore for PostgresStore {
    fn load(&self, key: &StoreKey) -> Result<Option<TokenSet>, StoreError> {
        let mut conn = self.pool.get(&self.shown)?;
        let row = conn
            .query_opt(
                &format!("SELECT data, key_id FROM scopegate_token_sets WHERE {KEY_WHERE}"),
                &[&key.provider_id, &key.client_id, &key.account],
            )
            .map_err(|e| self.failed(e))?;
        match row {
            None => Ok(None),
            Some(r) => self.decode(key, r.get(0), r.get(1)),
        }
    }

    fn update(
        &self,
        key: &StoreKey,
        f: &mut dyn FnMut(Option<&TokenSet>) -> Result<Update, UpdateAbort>,
    ) -> Result<Option<TokenSet>, UpdateError> {
        let mut conn = self.pool.get(&self.shown)?;
        let opts = &self.pool.options;
        let mut tx = conn.transaction().map_err(|e| self.failed(e))?;
        let params: [&(dyn postgres::types::ToSql + Sync); 3] = [&key.provider_id, &key.client_id, &key.account];
        tx.batch_execute(&format!(
            "SET LOCAL lock_timeout = {}; SET LOCAL statement_timeout = {};",
            opts.lock_timeout.as_millis().max(1),
            (opts.lock_timeout + opts.statement_timeout).as_millis(),
        ))
        .map_err(|e| self.failed(e))?;
        tx.execute(
            "INSERT INTO scopegate_token_sets (provider_id, client_id, account) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &params,
        )
        .map_err(|e| self.failed(e))?;
        let row = tx
            .query_one(
                &format!("SELECT data, key_id, version FROM scopegate_token_sets WHERE {KEY_WHERE} FOR UPDATE"),
                &params,
            )
            .map_err(|e| self.failed(e))?;
        let read_version: i64 = row.get(2);
        let current = self.decode(key, row.get(0), row.get(1))?;
        tx.batch_execute(&format!("SET LOCAL statement_timeout = {};", opts.statement_timeout.as_millis().max(1)))
            .map_err(|e| self.failed(e))?;
        let decision = f(current.as_ref()).map_err(UpdateError::Aborted)?;
        let written = match decision {
            Update::Keep => return Ok(current),
            Update::Put(t) => t,
            Update::Delete => {
                tx.execute(&format!("DELETE FROM scopegate_token_sets WHERE {KEY_WHERE}"), &params)
                    .map_err(|e| self.failed(e))?;
                tx.commit().map_err(|e| self.failed(e))?;
                return Ok(None);
            }
        };
        // Past this point the closure's work (a refresh) is done: a failure hands it back.
        let not_saved = |error: StoreError, tokens: Box<TokenSet>| UpdateError::NotSaved { error, tokens };
        let (data, key_id) = match seal::encode(self.ring.as_ref(), key, &written) {
            Ok(x) => x,
            Err(e) => return Err(not_saved(self.sealed(key, e.to_string()), written)),
        };
        let changed = tx.execute(
            &format!(
                "UPDATE scopegate_token_sets SET data = $4, key_id = $5, version = version + 1, updated_at = now()
                 WHERE {KEY_WHERE} AND version = $6"
            ),
            &[&key.provider_id, &key.client_id, &key.account, &data.as_str(), &key_id, &read_version],
        );
        match changed {
            Ok(1) => {}
            Ok(_) => {
                let error = StoreError::Backend {
                    path: self.shown.clone(),
                    reason: "a newer token set was written meanwhile; this one was not".into(),
                };
                return Err(not_saved(error, written));
            }
            Err(e) => return Err(not_saved(self.failed(e), written)),
        }
        if let Err(e) = tx.commit() {
            return Err(not_saved(self.failed(e), written));
        }
        Ok(Some(*written))
    }

    fn keys(&self) -> Result<Vec<StoreKey>, StoreError> {
        let mut conn = self.pool.get(&self.shown)?;
        let rows = conn
            .query(
                "SELECT provider_id, client_id, account FROM scopegate_token_sets WHERE data IS NOT NULL ORDER BY 1, 2, 3",
                &[],
            )
            .map_err(|e| self.failed(e))?;
        Ok(rows
            .iter()
            .map(|r| StoreKey::new(r.get::<_, String>(0), r.get::<_, String>(1), r.get::<_, String>(2)))
            .collect())
    }
}
