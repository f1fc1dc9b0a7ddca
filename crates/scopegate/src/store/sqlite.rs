//! The SQLite store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use scopegate_core::{
    AccessToken, AuthorizationCode, Identity, MAX_RETRY_WAIT_SECS, MAX_TRIES, RefreshToken, Timestamp, TokenSet,
};

use super::seal::{self, KeyRing};
use super::{StoreError, StoreKey, TokenStore, Update, UpdateAbort, UpdateError, private};
use crate::transport::TransportConfig;

/// Highest schema version this code reads and writes.
///
/// - 1: one column per token set field;
/// - 2: the token set as the core's versioned JSON ([`TokenSet::to_json`]), the same bytes every
///   store and binding keeps; version-1 rows are converted on open (they predate identities:
///   they are read as a user's tokens, the safe reading, which is never replaced by the app's);
/// - 3: a `key_id` column: the id of the key a sealed row was sealed with (NULL: in clear).
pub const SCHEMA_VERSION: i64 = 3;
/// The longest a refresh can hold a store's lock: every try of the default transport to its
/// total timeout, plus every `Retry-After` wait.
pub const LONGEST_REFRESH: Duration =
    Duration::from_secs(TransportConfig::DEFAULT_TOTAL_TIMEOUT.as_secs() * MAX_TRIES as u64 + MAX_RETRY_WAIT_SECS);

/// A SQLite file (bundled SQLite): the embedded default, shared safely between processes.
///
/// - WAL mode; the file is created with mode 0600, and an existing one (or its directory) that
///   somebody else could read or replace is refused (see the store module); `secure_delete` is on, so
///   rotated, revoked and forgotten tokens do not linger in free pages.
/// - Every write is one `BEGIN IMMEDIATE` transaction, which is also the cross-process lock of
///   [`update`](TokenStore::update). A process waiting for it outlasts the longest possible
///   refresh of another ([`SqliteStore::BUSY_TIMEOUT`]); past that it reports
///   [`StoreError::Busy`], never a bare "database is locked".
/// - Loads use their own connection: one key's refresh in progress does not hold up loads of
///   other keys (WAL readers never wait for the writer).
/// - A token set that cannot be written or committed after the closure produced it comes back
///   in [`UpdateError::NotSaved`].
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
        private::check(&path)?;
        private::create(&path).map_err(|e| err(format!("cannot create file: {e}")))?;
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
                .prepare("SELECT provider_id, client_id, account, data FROM token_sets WHERE key_id IS NULL ORDER BY 1, 2, 3")
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
                "UPDATE token_sets SET data = ?4, key_id = ?5
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
        if version < 2 {
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS token_sets (
                    provider_id TEXT NOT NULL,
                    client_id TEXT NOT NULL,
                    account TEXT NOT NULL,
                    data TEXT NOT NULL,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (provider_id, client_id, account)
                );",
            )
            .map_err(|e| self.backend(e))?;
        }
        if version < 3 {
            tx.execute_batch("ALTER TABLE token_sets ADD COLUMN key_id TEXT;").map_err(|e| self.backend(e))?;
        }
        if version == 1 {
            for (key, tokens) in self.read_v1(&tx)? {
                self.write(&tx, &key, &tokens)?;
            }
            tx.execute_batch("DROP TABLE tokens;").map_err(|e| self.backend(e))?;
        }
        if version < SCHEMA_VERSION {
            tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION};")).map_err(|e| self.backend(e))?;
        }
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
            };
            out.push((key, tokens));
        }
        Ok(out)
    }

    fn read(&self, conn: &rusqlite::Connection, key: &StoreKey) -> Result<Option<TokenSet>, StoreError> {
        let row = conn.query_row(
            "SELECT data, key_id FROM token_sets WHERE provider_id = ?1 AND client_id = ?2 AND account = ?3",
            rusqlite::params![key.provider_id, key.client_id, key.account],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)),
        );
        let (data, key_id) = match row {
            Ok((d, k)) => (zeroize::Zeroizing::new(d), k),
            Err(rusqlite::Error::QueryReturnedNoRows) => return Ok(None),
            Err(e) => return Err(self.failed(e)),
        };
        let tokens = seal::decode(self.ring.as_ref(), key, &data, key_id.as_deref()).map_err(|e| {
            // With a key, a row in clear is refused as not sealed, not read.
            if key_id.is_some() || self.ring.is_some() {
                self.sealed(key, e.to_string())
            } else {
                self.corrupt(key, &e.to_string())
            }
        })?;
        if tokens.provider_id != key.provider_id {
            return Err(self.corrupt(key, "the token set belongs to another provider"));
        }
        Ok(Some(tokens))
    }

    fn sealed(&self, key: &StoreKey, problem: String) -> StoreError {
        StoreError::Sealed {
            path: self.shown(),
            key: format!("{}/{}/{}", key.provider_id, key.client_id, key.account),
            problem,
        }
    }

    fn write(&self, tx: &rusqlite::Connection, key: &StoreKey, t: &TokenSet) -> Result<(), StoreError> {
        let (data, key_id) = seal::encode(self.ring.as_ref(), key, t).map_err(|e| self.sealed(key, e.to_string()))?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        tx.execute(
            "INSERT INTO token_sets (provider_id, client_id, account, data, key_id, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (provider_id, client_id, account) DO UPDATE SET
                data = excluded.data, key_id = excluded.key_id, updated_at = excluded.updated_at",
            rusqlite::params![
                key.provider_id,
                key.client_id,
                key.account,
                data.as_str(),
                key_id,
                i64::try_from(now).unwrap_or(i64::MAX)
            ],
        )
        .map_err(|e| self.failed(e))?;
        Ok(())
    }
}

impl TokenStore for SqliteStore {
    fn load(&self, key: &StoreKey) -> Result<Option<TokenSet>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        self.read(&conn, key)
    }

    fn update(
        &self,
        key: &StoreKey,
        f: &mut dyn FnMut(Option<&TokenSet>) -> Result<Update, UpdateAbort>,
    ) -> Result<Option<TokenSet>, UpdateError> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        // BEGIN IMMEDIATE takes the database's write lock now: other processes' updates wait
        // (busy timeout) until this one commits or rolls back.
        let tx =
            conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(|e| self.failed(e))?;
        let current = self.read(&tx, key)?;
        let after = match f(current.as_ref()).map_err(UpdateError::Aborted)? {
            Update::Keep => current,
            Update::Put(t) => {
                // Past this point the closure's work (a refresh, say) is done: a failure to
                // store it hands the token set back.
                if let Err(error) = self.write(&tx, key, &t) {
                    return Err(UpdateError::NotSaved { error, tokens: t });
                }
                if let Err(e) = tx.commit() {
                    return Err(UpdateError::NotSaved { error: self.failed(e), tokens: t });
                }
                return Ok(Some(*t));
            }
            Update::Delete => {
                tx.execute(
                    "DELETE FROM token_sets WHERE provider_id = ?1 AND client_id = ?2 AND account = ?3",
                    rusqlite::params![key.provider_id, key.client_id, key.account],
                )
                .map_err(|e| self.failed(e))?;
                None
            }
        };
        tx.commit().map_err(|e| self.failed(e))?;
        Ok(after)
    }

    fn keys(&self) -> Result<Vec<StoreKey>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt = conn
            .prepare("SELECT provider_id, client_id, account FROM token_sets ORDER BY 1, 2, 3")
            .map_err(|e| self.failed(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(StoreKey::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })
            .map_err(|e| self.failed(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.failed(e))
    }
}
