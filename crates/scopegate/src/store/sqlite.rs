//! The SQLite store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use scopegate_core::low_level::MAX_RETRY_WAIT_SECS;
use scopegate_core::low_level::MAX_TRIES;
use scopegate_core::{AccessToken, AuthorizationCode, Identity, RefreshToken, Timestamp, TokenSet};

use super::seal::{self, KeyRing};
use super::{Claim, LeaseOwner, Row, StoreError, StoreKey, TokenStore, Update, Written, file_mode};
use crate::transport::TransportConfig;

/// Highest schema version this code reads and writes.
///
/// - 1: one column per token set field;
/// - 2: the token set as the core's versioned JSON ([`TokenSet::to_json`]), the same bytes every
///   store and binding keeps; version-1 rows are converted on open (they predate identities:
///   they are read as a user's tokens, the safe reading, which is never replaced by the app's);
/// - 3: a `key_id` column: the id of the key a sealed row was sealed with (NULL: in clear);
/// - 4: a row `version` and a lease (`lease_owner`, `lease_until` in Unix milliseconds), so a
///   refresh holds no database lock across the network; `data` may be NULL (no token set: a
///   forgotten one keeps its row, so versions never go back).
pub const SCHEMA_VERSION: i64 = 4;
/// The longest a refresh can hold a store's lock: every try of the default transport to its
/// total timeout, plus every `Retry-After` wait.
pub const LONGEST_REFRESH: Duration =
    Duration::from_secs(TransportConfig::DEFAULT_TOTAL_TIMEOUT.as_secs() * MAX_TRIES as u64 + MAX_RETRY_WAIT_SECS);

/// A SQLite file (bundled SQLite): the embedded default, shared safely between processes.
///
/// - WAL mode; the file is created with mode 0600, and an existing one (or its directory) that
///   somebody else could read or replace is refused (see the store module); `secure_delete` is on, so
///   rotated, revoked and forgotten tokens do not linger in free pages.
/// - Claims, writes and releases are each one short `BEGIN IMMEDIATE` transaction; a refresh
///   holds a lease on its key, never the database's write lock, so the refreshes of different
///   keys (and processes) run side by side. A lock still held after
///   [`SqliteStore::BUSY_TIMEOUT`] is [`StoreError::Busy`], never a bare "database is locked".
/// - Reads use their own connection (WAL readers never wait for the writer).
/// - A token set that cannot be written or committed comes back in
///   [`Error::NotSaved`](scopegate_core::Error::NotSaved) from `update`.
/// - The schema carries a version (`PRAGMA user_version`) and is migrated forward on open.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<rusqlite::Connection>,
    reader: Mutex<rusqlite::Connection>,
    busy: Mutex<Duration>,
    ring: Option<KeyRing>,
}

fn connect(path: &Path, busy: Duration) -> Result<rusqlite::Connection, String> {
    let conn = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
    conn.busy_timeout(busy).map_err(|e| e.to_string())?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).map_err(|e| e.to_string())?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!("cannot switch to WAL mode (got {mode})"));
    }
    conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;")
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

impl SqliteStore {
    /// How long `update` waits for another process's lock: longer than the longest refresh
    /// another process can make under it ([`LONGEST_REFRESH`]), so a refresh in progress
    /// elsewhere is waited for, not failed.
    pub const BUSY_TIMEOUT: Duration = Duration::from_secs(LONGEST_REFRESH.as_secs() + 30);

    /// Opens (creating with mode 0600 if needed) the store at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let shown = path.display().to_string();
        let err = |reason: String| StoreError::Backend { path: shown.clone(), reason };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err(format!("cannot create directory: {e}")))?;
        }
        file_mode::check(&path)?;
        file_mode::create(&path).map_err(|e| err(format!("cannot create file: {e}")))?;
        let writer = connect(&path, Self::BUSY_TIMEOUT).map_err(err)?;
        let reader = connect(&path, Self::BUSY_TIMEOUT).map_err(err)?;
        let store = Self {
            path,
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            busy: Mutex::new(Self::BUSY_TIMEOUT),
            ring: None,
        };
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
    /// current key, in one transaction, and returns how many: the explicit step that takes a
    /// store written without a key into use with one (`scopegate store seal`). A store with a
    /// key refuses rows in clear, since whoever can write the file could have planted one: seal
    /// only a store whose rows you trust. Without a key ([`with_keys`](Self::with_keys)), or if a
    /// row in clear is unreadable, nothing is changed and the error says which.
    pub fn seal_plain_rows(&self) -> Result<usize, StoreError> {
        let Some(ring) = &self.ring else {
            return Err(StoreError::Sealed {
                path: self.shown(),
                key: "*".into(),
                problem: format!(
                    "no key is configured to seal with (with_keys; the command line reads {})",
                    seal::KEY_ENV
                ),
            });
        };
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx =
            conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(|e| self.failed(e))?;
        let rows: Vec<(StoreKey, zeroize::Zeroizing<String>)> = {
            let mut stmt = tx
                .prepare(
                    "SELECT provider_id, client_id, account, data FROM token_sets
                     WHERE key_id IS NULL AND data IS NOT NULL ORDER BY 1, 2, 3",
                )
                .map_err(|e| self.failed(e))?;
            let found = stmt
                .query_map([], |r| {
                    let key = StoreKey::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?);
                    Ok((key, zeroize::Zeroizing::new(r.get::<_, String>(3)?)))
                })
                .map_err(|e| self.failed(e))?;
            found.collect::<Result<_, _>>().map_err(|e| self.failed(e))?
        };
        for (key, data) in &rows {
            let tokens = seal::decode(None, key, data, None).map_err(|e| self.corrupt(key, &e.to_string()))?;
            if tokens.provider_id != key.provider_id {
                return Err(self.corrupt(key, "the token set belongs to another provider"));
            }
            let (sealed, id) = ring.seal(key, &tokens).map_err(|e| self.sealed(key, e.to_string()))?;
            tx.execute(
                "UPDATE token_sets SET data = ?4, key_id = ?5, version = version + 1
                 WHERE provider_id = ?1 AND client_id = ?2 AND account = ?3 AND key_id IS NULL",
                rusqlite::params![key.provider_id, key.client_id, key.account, sealed, id],
            )
            .map_err(|e| self.failed(e))?;
        }
        tx.commit().map_err(|e| self.failed(e))?;
        Ok(rows.len())
    }

    /// Waits this long for another process's lock instead of [`BUSY_TIMEOUT`](Self::BUSY_TIMEOUT)
    /// (tests; services whose transport has shorter timeouts).
    pub fn set_busy_timeout(&self, wait: Duration) -> Result<(), StoreError> {
        *self.busy.lock().unwrap_or_else(|p| p.into_inner()) = wait;
        for c in [&self.writer, &self.reader] {
            c.lock().unwrap_or_else(|p| p.into_inner()).busy_timeout(wait).map_err(|e| self.backend(e))?;
        }
        Ok(())
    }

    /// Caps the database at this many pages (tests of a full disk).
    #[doc(hidden)]
    pub fn limit_pages_for_tests(&self, pages: u64) -> Result<(), StoreError> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(())).map_err(|e| self.backend(e))
    }

    /// A SQLite error as a store error: a lock still held after the wait is [`StoreError::Busy`].
    fn failed(&self, e: rusqlite::Error) -> StoreError {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) {
            let waited = *self.busy.lock().unwrap_or_else(|p| p.into_inner());
            return StoreError::Busy { path: self.shown(), waited_secs: waited.as_secs() };
        }
        self.backend(e)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn shown(&self) -> String {
        self.path.display().to_string()
    }

    fn backend(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Backend { path: self.shown(), reason: e.to_string() }
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx =
            conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(|e| self.failed(e))?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| self.backend(e))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema { path: self.shown(), found: version, supported: SCHEMA_VERSION });
        }
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        let v1_rows = if version == 1 { self.read_v1(&tx)? } else { Vec::new() };
        tx.execute_batch(
            "CREATE TABLE token_sets_v4 (
                provider_id TEXT NOT NULL,
                client_id TEXT NOT NULL,
                account TEXT NOT NULL,
                data TEXT,
                key_id TEXT,
                version INTEGER NOT NULL DEFAULT 0,
                lease_owner TEXT,
                lease_until INTEGER,
                updated_at INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (provider_id, client_id, account)
            );",
        )
        .map_err(|e| self.backend(e))?;
        let copy = match version {
            2 => Some("SELECT provider_id, client_id, account, data, NULL, 1, updated_at FROM token_sets"),
            3 => Some("SELECT provider_id, client_id, account, data, key_id, 1, updated_at FROM token_sets"),
            _ => None,
        };
        if let Some(select) = copy {
            tx.execute_batch(&format!(
                "INSERT INTO token_sets_v4 (provider_id, client_id, account, data, key_id, version, updated_at) {select};
                 DROP TABLE token_sets;"
            ))
            .map_err(|e| self.backend(e))?;
        }
        tx.execute_batch("ALTER TABLE token_sets_v4 RENAME TO token_sets;").map_err(|e| self.backend(e))?;
        for (key, tokens) in v1_rows {
            self.put(&tx, &key, &tokens, 1)?;
        }
        if version == 1 {
            tx.execute_batch("DROP TABLE tokens;").map_err(|e| self.backend(e))?;
        }
        tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION};")).map_err(|e| self.backend(e))?;
        tx.commit().map_err(|e| self.backend(e))
    }

    fn corrupt(&self, key: &StoreKey, reason: &str) -> StoreError {
        StoreError::Corrupt {
            path: self.shown(),
            key: format!("{}/{}/{}", key.provider_id, key.client_id, key.account),
            reason: reason.to_owned(),
        }
    }

    /// Every row of a version-1 database, as token sets.
    fn read_v1(&self, conn: &rusqlite::Connection) -> Result<Vec<(StoreKey, TokenSet)>, StoreError> {
        type Row = (String, String, String, String, Option<String>, String, String, i64, Option<i64>, Option<i64>);
        type Row2 = (Option<String>, Option<String>, String);
        let mut stmt = conn
            .prepare(
                "SELECT provider_id, client_id, account, access_token, refresh_token, token_type, scopes, issued_at,
                        expires_at, refresh_expires_at, redirect_uri, authorization_code, params FROM tokens",
            )
            .map_err(|e| self.backend(e))?;
        let rows = stmt
            .query_map([], |r| {
                let a: Row = (
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                );
                let b: Row2 = (r.get(10)?, r.get(11)?, r.get(12)?);
                Ok((a, b))
            })
            .map_err(|e| self.backend(e))?;
        let mut out = Vec::new();
        for row in rows {
            let ((provider, client, account, at, rt, tt, scopes, issued, exp, rexp), (redirect, code, params)) =
                row.map_err(|e| self.backend(e))?;
            let key = StoreKey::new(provider, client, account);
            let ts = |v: i64| {
                u64::try_from(v).map(Timestamp::from_unix_secs).map_err(|_| self.corrupt(&key, "negative timestamp"))
            };
            let params: BTreeMap<String, String> = serde_json::from_str(&params)
                .map_err(|_| self.corrupt(&key, "params are not a json object of strings"))?;
            let tokens = TokenSet {
                provider_id: key.provider_id.clone(),
                identity: Identity::User,
                access_token: AccessToken::new(at),
                refresh_token: rt.map(RefreshToken::new),
                token_type: tt,
                scopes: scopes.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
                issued_at: ts(issued)?,
                expires_at: exp.map(ts).transpose()?,
                refresh_expires_at: rexp.map(ts).transpose()?,
                redirect_uri: redirect,
                authorization_code: code.map(AuthorizationCode::new),
                params,
                consecutive_401: 0,
                invalidated: None,
                dpop_key: None,
            };
            out.push((key, tokens));
        }
        Ok(out)
    }

    /// The row of `key`: decoded token set, version and lease, or `None` when there is no row.
    fn row(&self, conn: &rusqlite::Connection, key: &StoreKey) -> Result<Option<RawRow>, StoreError> {
        let row = conn.query_row(
            "SELECT data, key_id, version, lease_owner, lease_until FROM token_sets
             WHERE provider_id = ?1 AND client_id = ?2 AND account = ?3",
            rusqlite::params![key.provider_id, key.client_id, key.account],
            |r| {
                Ok(RawRow {
                    data: r.get::<_, Option<String>>(0)?.map(zeroize::Zeroizing::new),
                    key_id: r.get(1)?,
                    version: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                    lease_owner: r.get(3)?,
                    lease_until: r.get(4)?,
                })
            },
        );
        match row {
            Ok(r) => Ok(Some(r)),
            Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
            Err(e) => Err(self.failed(e)),
        }
    }

    fn decode(&self, key: &StoreKey, raw: &RawRow) -> Result<Row, StoreError> {
        let Some(data) = &raw.data else { return Ok(Row { tokens: None, version: raw.version }) };
        let tokens = seal::decode(self.ring.as_ref(), key, data, raw.key_id.as_deref()).map_err(|e| {
            // With a key, a row in clear is refused as not sealed, not read.
            if raw.key_id.is_some() || self.ring.is_some() {
                self.sealed(key, e.to_string())
            } else {
                self.corrupt(key, &e.to_string())
            }
        })?;
        if tokens.provider_id != key.provider_id {
            return Err(self.corrupt(key, "the token set belongs to another provider"));
        }
        Ok(Row { tokens: Some(tokens), version: raw.version })
    }

    fn sealed(&self, key: &StoreKey, problem: String) -> StoreError {
        StoreError::Sealed {
            path: self.shown(),
            key: format!("{}/{}/{}", key.provider_id, key.client_id, key.account),
            problem,
        }
    }

    /// Writes a token set as the row's data, with this version; ends any lease.
    fn put(&self, tx: &rusqlite::Connection, key: &StoreKey, t: &TokenSet, version: u64) -> Result<(), StoreError> {
        let (data, key_id) = seal::encode(self.ring.as_ref(), key, t).map_err(|e| self.sealed(key, e.to_string()))?;
        tx.execute(
            "INSERT INTO token_sets (provider_id, client_id, account, data, key_id, version, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (provider_id, client_id, account) DO UPDATE SET
                data = excluded.data, key_id = excluded.key_id, version = excluded.version,
                updated_at = excluded.updated_at, lease_owner = NULL, lease_until = NULL",
            rusqlite::params![
                key.provider_id,
                key.client_id,
                key.account,
                data.as_str(),
                key_id,
                i64::try_from(version).unwrap_or(i64::MAX),
                i64::try_from(unix_millis() / 1000).unwrap_or(i64::MAX)
            ],
        )
        .map_err(|e| self.failed(e))?;
        Ok(())
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction; commits when it returns `Ok`.
    fn immediate<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx =
            conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(|e| self.failed(e))?;
        let out = f(&tx)?;
        tx.commit().map_err(|e| self.failed(e))?;
        Ok(out)
    }
}

/// A row as stored.
struct RawRow {
    data: Option<zeroize::Zeroizing<String>>,
    key_id: Option<String>,
    version: u64,
    lease_owner: Option<String>,
    lease_until: Option<i64>,
}

impl RawRow {
    /// Another owner's live lease: how long it lives.
    fn held_by_other(&self, owner: &LeaseOwner, now_ms: u128) -> Option<Duration> {
        let (Some(o), Some(until)) = (&self.lease_owner, self.lease_until) else { return None };
        let until = u128::try_from(until).unwrap_or(0);
        let live = o != owner.as_str() && until > now_ms && !LeaseOwner::is_dead_here(o);
        live.then(|| Duration::from_millis((until - now_ms) as u64))
    }
}

fn unix_millis() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis())
}

impl TokenStore for SqliteStore {
    fn read(&self, key: &StoreKey) -> Result<Row, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        match self.row(&conn, key)? {
            Some(raw) => self.decode(key, &raw),
            None => Ok(Row { tokens: None, version: 0 }),
        }
    }

    fn try_claim(&self, key: &StoreKey, owner: &LeaseOwner, ttl: Duration) -> Result<Claim, StoreError> {
        self.immediate(|tx| {
            let now = unix_millis();
            let until = i64::try_from(now + ttl.as_millis()).unwrap_or(i64::MAX);
            let Some(raw) = self.row(tx, key)? else {
                tx.execute(
                    "INSERT INTO token_sets (provider_id, client_id, account, version, lease_owner, lease_until)
                     VALUES (?1, ?2, ?3, 0, ?4, ?5)",
                    rusqlite::params![key.provider_id, key.client_id, key.account, owner.as_str(), until],
                )
                .map_err(|e| self.failed(e))?;
                return Ok(Claim::Granted(Row { tokens: None, version: 0 }));
            };
            if let Some(expires_in) = raw.held_by_other(owner, now) {
                return Ok(Claim::Held { version: raw.version, expires_in });
            }
            let row = self.decode(key, &raw)?;
            tx.execute(
                "UPDATE token_sets SET lease_owner = ?4, lease_until = ?5
                 WHERE provider_id = ?1 AND client_id = ?2 AND account = ?3",
                rusqlite::params![key.provider_id, key.client_id, key.account, owner.as_str(), until],
            )
            .map_err(|e| self.failed(e))?;
            Ok(Claim::Granted(row))
        })
    }

    fn write(&self, key: &StoreKey, owner: &LeaseOwner, expected: u64, change: &Update) -> Result<Written, StoreError> {
        self.immediate(|tx| {
            let raw = self.row(tx, key)?;
            let version = raw.as_ref().map_or(0, |r| r.version);
            let held = raw.as_ref().and_then(|r| r.held_by_other(owner, unix_millis()));
            if version != expected || held.is_some() {
                let now = match &raw {
                    Some(r) => self.decode(key, r)?,
                    None => Row { tokens: None, version: 0 },
                };
                return Ok(Written::Conflict(now));
            }
            let params = rusqlite::params![key.provider_id, key.client_id, key.account];
            let next = version + 1;
            match change {
                Update::Put(t) => self.put(tx, key, t, next)?,
                Update::Delete => {
                    tx.execute(
                        "UPDATE token_sets SET data = NULL, key_id = NULL, version = version + 1,
                                lease_owner = NULL, lease_until = NULL
                         WHERE provider_id = ?1 AND client_id = ?2 AND account = ?3",
                        params,
                    )
                    .map_err(|e| self.failed(e))?;
                }
                Update::Keep => {
                    tx.execute(
                        "UPDATE token_sets SET lease_owner = NULL, lease_until = NULL
                         WHERE provider_id = ?1 AND client_id = ?2 AND account = ?3",
                        params,
                    )
                    .map_err(|e| self.failed(e))?;
                    return Ok(Written::Done(version));
                }
            }
            Ok(Written::Done(next))
        })
    }

    fn release(&self, key: &StoreKey, owner: &LeaseOwner) -> Result<(), StoreError> {
        self.immediate(|tx| {
            tx.execute(
                "UPDATE token_sets SET lease_owner = NULL, lease_until = NULL
                 WHERE provider_id = ?1 AND client_id = ?2 AND account = ?3 AND lease_owner = ?4",
                rusqlite::params![key.provider_id, key.client_id, key.account, owner.as_str()],
            )
            .map_err(|e| self.failed(e))?;
            Ok(())
        })
    }

    fn delete(&self, key: &StoreKey) -> Result<bool, StoreError> {
        self.immediate(|tx| {
            let n = tx
                .execute(
                    "UPDATE token_sets SET data = NULL, key_id = NULL, version = version + 1
                     WHERE provider_id = ?1 AND client_id = ?2 AND account = ?3 AND data IS NOT NULL",
                    rusqlite::params![key.provider_id, key.client_id, key.account],
                )
                .map_err(|e| self.failed(e))?;
            Ok(n > 0)
        })
    }

    fn keys(&self) -> Result<Vec<StoreKey>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt = conn
            .prepare("SELECT provider_id, client_id, account FROM token_sets WHERE data IS NOT NULL ORDER BY 1, 2, 3")
            .map_err(|e| self.failed(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(StoreKey::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })
            .map_err(|e| self.failed(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.failed(e))
    }
}
