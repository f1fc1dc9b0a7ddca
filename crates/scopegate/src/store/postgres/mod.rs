//! The PostgreSQL store: one refresh across every instance of a service on every machine.
//!
//! Every operation is one short statement or transaction ([`TokenStore`]'s lease protocol): a
//! claim sets the key's lease (owner, and an expiry computed by the server's clock, so hosts
//! need not agree on the time) unless another owner's lease is live; a write names the version
//! it read and succeeds only if the row still has it and no other owner holds a live lease. No
//! row lock is held across a refresh, and only that key's row is touched: other keys go on. A
//! process that dies holding a lease leaves it to expire ([`DEFAULT_LEASE_TTL`](super::DEFAULT_LEASE_TTL),
//! or the client's setting); a hung transaction is cut off by `idle_in_transaction_session_timeout`.
//!
//! The blocking `postgres` client runs a runtime of its own, which panics on a thread that
//! already drives a tokio runtime. So the store talks to the database only from threads of its
//! own (one per pooled connection): a call hands its statement to one of them and waits for the
//! answer. A [`Client`](crate::Client) using a `PostgresStore` is therefore safe on any thread,
//! a tokio worker included (though an async service should not block its workers: see the
//! crate documentation).
//!
//! A connection that broke (the server restarted, say) is dropped and a new one made on the
//! next call, so a client recovers without a restart. A server that is down or slow is a
//! [`StoreError`] naming the store (host and database, never the password), within the
//! configured timeouts. Token sets may be sealed at rest ([`PostgresStore::with_keys`]).

use std::sync::Arc;
use std::time::Duration;

mod options;
mod pool;

pub use options::PostgresOptions;
use pool::{Shared, Workers, describe, tls};

use super::seal::{self, KeyRing};
use super::{Claim, LeaseOwner, Row, StoreError, StoreKey, TokenStore, Update, Written};

/// The schema version this code reads and writes (2: the lease columns).
pub const POSTGRES_SCHEMA_VERSION: i32 = 2;

/// Token sets in a PostgreSQL database, shared by every instance of a service (see the module
/// documentation for the guarantees). `Send + Sync`: share it through an `Arc`.
pub struct PostgresStore {
    shared: Arc<Shared>,
    workers: Workers,
    ring: Option<Arc<KeyRing>>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("store", &self.shared.shown)
            .field("keys", &self.ring)
            .finish_non_exhaustive()
    }
}

/// A row as stored: data (sealed or not), key id, version.
type RawRow = (Option<String>, Option<String>, i64);

/// The lease condition of a write or claim: no lease, ours, or one that has expired.
const LEASE_FREE: &str = "(lease_owner IS NULL OR lease_owner = $4 OR lease_until <= now())";
const KEY_WHERE: &str = "provider_id = $1 AND client_id = $2 AND account = $3";

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
        let count = options.pool_size;
        let shared = Arc::new(Shared { config, tls, options, shown });
        let workers = Workers::start(&shared, count)?;
        let store = PostgresStore { shared, workers, ring: None };
        store.migrate()?;
        Ok(store)
    }

    /// Seals every token set written from now on with `ring`'s current key, and opens rows
    /// sealed with any of its keys (see [`seal`](super::seal)). Rows in clear are refused
    /// ([`StoreError::Sealed`]): seal them once with [`seal_plain_rows`](Self::seal_plain_rows).
    pub fn with_keys(mut self, ring: KeyRing) -> Self {
        self.ring = Some(Arc::new(ring));
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
        let Some(ring) = self.ring.clone() else {
            return Err(StoreError::Sealed {
                path: self.shared.shown.clone(),
                key: "*".into(),
                problem: format!(
                    "no key is configured to seal with (with_keys; the command line reads {})",
                    seal::KEY_ENV
                ),
            });
        };
        let shown = self.shared.shown.clone();
        self.run(move |conn| {
            let mut tx = conn.transaction()?;
            let rows = tx.query(
                "SELECT provider_id, client_id, account, data, version FROM scopegate_token_sets
                 WHERE key_id IS NULL AND data IS NOT NULL ORDER BY 1, 2, 3 FOR UPDATE",
                &[],
            )?;
            for row in &rows {
                let key = StoreKey::new(row.get::<_, String>(0), row.get::<_, String>(1), row.get::<_, String>(2));
                let data = zeroize::Zeroizing::new(row.get::<_, String>(3));
                let version: i64 = row.get(4);
                let corrupt = |reason: String| StoreError::Corrupt { path: shown.clone(), key: key.to_string(), reason };
                let tokens = match seal::decode(None, &key, &data, None) {
                    Ok(t) if t.provider_id == key.provider_id => t,
                    Ok(_) => return Ok(Err(corrupt("the token set belongs to another provider".into()))),
                    Err(e) => return Ok(Err(corrupt(e.to_string()))),
                };
                let (sealed, id) = match ring.seal(&key, &tokens) {
                    Ok(x) => x,
                    Err(e) => {
                        return Ok(Err(StoreError::Sealed {
                            path: shown.clone(),
                            key: key.to_string(),
                            problem: e.to_string(),
                        }));
                    }
                };
                tx.execute(
                    &format!(
                        "UPDATE scopegate_token_sets SET data = $4, key_id = $5, version = version + 1, updated_at = now()
                         WHERE {KEY_WHERE} AND version = $6"
                    ),
                    &[&key.provider_id, &key.client_id, &key.account, &sealed, &id, &version],
                )?;
            }
            tx.commit()?;
            Ok(Ok(rows.len()))
        })?
    }

    /// What errors name the store by (`postgres://user@host:port/db`, never the password).
    pub fn describe(&self) -> &str {
        &self.shared.shown
    }

    /// Runs `f` with a connection, on one of the store's threads, and waits for its answer.
    fn run<T: Send + 'static>(
        &self,
        f: impl Fn(&mut postgres::Client) -> Result<T, postgres::Error> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.workers.run(&self.shared, f)
    }

    fn sealed(&self, key: &StoreKey, problem: String) -> StoreError {
        StoreError::Sealed { path: self.shared.shown.clone(), key: key.to_string(), problem }
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let found = self.run(|conn| {
            let mut tx = conn.transaction()?;
            // One migrator at a time, whichever instance starts first.
            tx.batch_execute(
                "SELECT pg_advisory_xact_lock(7469263501);
                 CREATE TABLE IF NOT EXISTS scopegate_schema (version INTEGER NOT NULL);",
            )?;
            let found: Option<i32> = tx.query_opt("SELECT version FROM scopegate_schema", &[])?.map(|r| r.get(0));
            let version = found.unwrap_or(0);
            if version > POSTGRES_SCHEMA_VERSION {
                return Ok(Some(version));
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
                )?;
            }
            if version < 2 {
                tx.batch_execute(
                    "ALTER TABLE scopegate_token_sets
                        ADD COLUMN IF NOT EXISTS lease_owner TEXT,
                        ADD COLUMN IF NOT EXISTS lease_until TIMESTAMPTZ;",
                )?;
            }
            if found.is_none() {
                tx.execute("INSERT INTO scopegate_schema (version) VALUES ($1)", &[&POSTGRES_SCHEMA_VERSION])?;
            } else if version < POSTGRES_SCHEMA_VERSION {
                tx.execute("UPDATE scopegate_schema SET version = $1", &[&POSTGRES_SCHEMA_VERSION])?;
            }
            tx.commit()?;
            Ok(None)
        })?;
        match found {
            Some(version) => Err(StoreError::NewerSchema {
                path: self.shared.shown.clone(),
                found: i64::from(version),
                supported: i64::from(POSTGRES_SCHEMA_VERSION),
            }),
            None => Ok(()),
        }
    }

    fn decode(&self, key: &StoreKey, raw: RawRow) -> Result<Row, StoreError> {
        let (data, key_id, version) = raw;
        let version = u64::try_from(version).unwrap_or(0);
        let Some(data) = data.map(zeroize::Zeroizing::new) else { return Ok(Row { tokens: None, version }) };
        // With a key, a row in clear is refused as not sealed, not read.
        let sealed_or_keyed = key_id.is_some() || self.ring.is_some();
        let tokens = seal::decode(self.ring.as_deref(), key, &data, key_id.as_deref()).map_err(|e| {
            if sealed_or_keyed {
                self.sealed(key, e.to_string())
            } else {
                StoreError::Corrupt { path: self.shared.shown.clone(), key: key.to_string(), reason: e.to_string() }
            }
        })?;
        Ok(Row { tokens: Some(tokens), version })
    }
}

fn key_params(key: &StoreKey) -> [String; 3] {
    [key.provider_id.clone(), key.client_id.clone(), key.account.clone()]
}

impl TokenStore for PostgresStore {
    fn read(&self, key: &StoreKey) -> Result<Row, StoreError> {
        let [p, c, a] = key_params(key);
        let raw = self.run(move |conn| {
            let row = conn.query_opt(
                &format!("SELECT data, key_id, version FROM scopegate_token_sets WHERE {KEY_WHERE}"),
                &[&p, &c, &a],
            )?;
            Ok(row.map(|r| (r.get(0), r.get(1), r.get(2))))
        })?;
        match raw {
            Some(raw) => self.decode(key, raw),
            None => Ok(Row { tokens: None, version: 0 }),
        }
    }

    fn try_claim(&self, key: &StoreKey, owner: &LeaseOwner, ttl: Duration) -> Result<Claim, StoreError> {
        let [p, c, a] = key_params(key);
        let (o, ms) = (owner.as_str().to_owned(), i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        let answer = self.run(move |conn| {
            let mut tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO scopegate_token_sets (provider_id, client_id, account) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&p, &c, &a],
            )?;
            let granted = tx.query_opt(
                &format!(
                    "UPDATE scopegate_token_sets
                     SET lease_owner = $4, lease_until = now() + $5 * interval '1 millisecond'
                     WHERE {KEY_WHERE} AND {LEASE_FREE}
                     RETURNING data, key_id, version"
                ),
                &[&p, &c, &a, &o, &(ms as f64)],
            )?;
            let answer = match granted {
                Some(r) => Ok((r.get(0), r.get(1), r.get(2))),
                None => {
                    let r = tx.query_one(
                        &format!(
                            "SELECT version, GREATEST(0, EXTRACT(EPOCH FROM (lease_until - now())) * 1000)::BIGINT,
                                    lease_owner
                             FROM scopegate_token_sets WHERE {KEY_WHERE}"
                        ),
                        &[&p, &c, &a],
                    )?;
                    let holder: Option<String> = r.get(2);
                    // A holder that died on this host (SIGKILL mid-refresh): its lease is taken over.
                    let taken = match holder.filter(|h| LeaseOwner::is_dead_here(h)) {
                        Some(dead) => tx.query_opt(
                            &format!(
                                "UPDATE scopegate_token_sets
                                 SET lease_owner = $4, lease_until = now() + $5 * interval '1 millisecond'
                                 WHERE {KEY_WHERE} AND lease_owner = $6
                                 RETURNING data, key_id, version"
                            ),
                            &[&p, &c, &a, &o, &(ms as f64), &dead],
                        )?,
                        None => None,
                    };
                    match taken {
                        Some(r) => Ok((r.get(0), r.get(1), r.get(2))),
                        None => Err((r.get::<_, i64>(0), r.get::<_, i64>(1))),
                    }
                }
            };
            tx.commit()?;
            Ok(answer)
        })?;
        match answer {
            Ok(raw) => match self.decode(key, raw) {
                Ok(row) => Ok(Claim::Granted(row)),
                Err(e) => {
                    // Unreadable: give the lease back, report why.
                    let _ = self.release(key, owner);
                    Err(e)
                }
            },
            Err((version, left_ms)) => Ok(Claim::Held {
                version: u64::try_from(version).unwrap_or(0),
                expires_in: Duration::from_millis(u64::try_from(left_ms).unwrap_or(0)),
            }),
        }
    }

    fn write(&self, key: &StoreKey, owner: &LeaseOwner, expected: u64, change: &Update) -> Result<Written, StoreError> {
        let [p, c, a] = key_params(key);
        let o = owner.as_str().to_owned();
        let expected_i = i64::try_from(expected).unwrap_or(i64::MAX);
        let (set, data, key_id): (&str, Option<String>, Option<String>) = match change {
            Update::Put(t) => {
                let (data, key_id) =
                    seal::encode(self.ring.as_deref(), key, t).map_err(|e| self.sealed(key, e.to_string()))?;
                ("data = $6, key_id = $7, version = version + 1, updated_at = now(),", Some(data.to_string()), key_id)
            }
            Update::Delete => ("data = NULL, key_id = NULL, version = version + 1, updated_at = now(),", None, None),
            Update::Keep => ("", None, None),
        };
        let sql = format!(
            "UPDATE scopegate_token_sets SET {set} lease_owner = NULL, lease_until = NULL
             WHERE {KEY_WHERE} AND {LEASE_FREE} AND version = $5
             RETURNING version"
        );
        let has_data = matches!(change, Update::Put(_));
        let data = data.map(zeroize::Zeroizing::new);
        let answer = self.run(move |conn| {
            let mut tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO scopegate_token_sets (provider_id, client_id, account) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&p, &c, &a],
            )?;
            let done = if has_data {
                let d = data.as_ref().map(|d| d.as_str());
                tx.query_opt(&sql, &[&p, &c, &a, &o, &expected_i, &d, &key_id])?
            } else {
                tx.query_opt(&sql, &[&p, &c, &a, &o, &expected_i])?
            };
            let answer = match done {
                Some(r) => Ok(r.get::<_, i64>(0)),
                None => {
                    let r = tx.query_one(
                        &format!("SELECT data, key_id, version FROM scopegate_token_sets WHERE {KEY_WHERE}"),
                        &[&p, &c, &a],
                    )?;
                    Err((r.get(0), r.get(1), r.get(2)))
                }
            };
            tx.commit()?;
            Ok(answer)
        })?;
        match answer {
            Ok(version) => Ok(Written::Done(u64::try_from(version).unwrap_or(0))),
            Err(raw) => Ok(Written::Conflict(self.decode(key, raw)?)),
        }
    }

    fn release(&self, key: &StoreKey, owner: &LeaseOwner) -> Result<(), StoreError> {
        let [p, c, a] = key_params(key);
        let o = owner.as_str().to_owned();
        self.run(move |conn| {
            conn.execute(
                &format!(
                    "UPDATE scopegate_token_sets SET lease_owner = NULL, lease_until = NULL
                     WHERE {KEY_WHERE} AND lease_owner = $4"
                ),
                &[&p, &c, &a, &o],
            )?;
            Ok(())
        })
    }

    fn delete(&self, key: &StoreKey) -> Result<bool, StoreError> {
        let [p, c, a] = key_params(key);
        self.run(move |conn| {
            let n = conn.execute(
                &format!(
                    "UPDATE scopegate_token_sets SET data = NULL, key_id = NULL, version = version + 1, updated_at = now()
                     WHERE {KEY_WHERE} AND data IS NOT NULL"
                ),
                &[&p, &c, &a],
            )?;
            Ok(n > 0)
        })
    }

    fn keys(&self) -> Result<Vec<StoreKey>, StoreError> {
        self.run(|conn| {
            let rows = conn.query(
                "SELECT provider_id, client_id, account FROM scopegate_token_sets WHERE data IS NOT NULL ORDER BY 1, 2, 3",
                &[],
            )?;
            Ok(rows
                .iter()
                .map(|r| StoreKey::new(r.get::<_, String>(0), r.get::<_, String>(1), r.get::<_, String>(2)))
                .collect())
        })
    }
}
