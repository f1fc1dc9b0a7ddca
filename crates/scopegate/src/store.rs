//! Token stores: where token sets live between calls and across restarts.
//!
//! A [`TokenStore`] keeps one [`TokenSet`] per [`StoreKey`] (provider id, client id, account).
//! Its [`update`](TokenStore::update) runs a closure with the entry locked, so that "read the
//! token, refresh it if needed, write the new one" happens once even when several threads (or,
//! for [`SqliteStore`], several processes) ask at the same moment: the others wait and then see
//! the committed result. A rotated refresh token is therefore written before anybody receives
//! the new access token.
//!
//! A store failure is an error ([`StoreError`]), never a silent drop.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopegate_core::Timestamp;
use scopegate_core::{AccessToken, AuthorizationCode, RefreshToken};
use scopegate_core::{Identity, TokenSet};

/// Which token set: one per provider, client and account.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StoreKey {
    /// Provider id (`yespo`).
    pub provider_id: String,
    /// The app's client id.
    pub client_id: String,
    /// Yotpo `app_key`, Yuvo company, or a name the user picks (`default`).
    pub account: String,
}

impl StoreKey {
    /// A key.
    pub fn new(provider_id: impl Into<String>, client_id: impl Into<String>, account: impl Into<String>) -> Self {
        Self { provider_id: provider_id.into(), client_id: client_id.into(), account: account.into() }
    }
}

pub use scopegate_core::StoreError;

/// What an [`update`](TokenStore::update) closure decided.
#[derive(Debug)]
pub enum Update {
    /// Leave the entry as it is.
    Keep,
    /// Write this token set.
    Put(Box<TokenSet>),
    /// Remove the entry.
    Delete,
}

/// Storage of token sets.
pub trait TokenStore: Send + Sync {
    /// The token set for `key`, if any.
    fn load(&self, key: &StoreKey) -> Result<Option<TokenSet>, StoreError>;

    /// With the entry locked against every other `update` (threads, and processes for stores
    /// shared between them), calls `f` with the current token set and applies its decision,
    /// atomically. Returns the entry as it is afterwards. `f` may do network I/O (a refresh);
    /// other callers wait meanwhile. If `f` fails, nothing is written.
    fn update(
        &self,
        key: &StoreKey,
        f: &mut dyn FnMut(Option<&TokenSet>) -> Result<Update, UpdateAbort>,
    ) -> Result<Option<TokenSet>, UpdateError>;

    /// Every key in the store.
    fn keys(&self) -> Result<Vec<StoreKey>, StoreError>;

    /// Writes a token set (an `update` that always puts).
    fn save(&self, key: &StoreKey, tokens: &TokenSet) -> Result<(), StoreError> {
        let mut put = Some(tokens.clone());
        match self.update(key, &mut |_| Ok(put.take().map_or(Update::Keep, |t| Update::Put(Box::new(t))))) {
            Ok(_) => Ok(()),
            Err(UpdateError::Store(e)) => Err(e),
            Err(UpdateError::Aborted(_)) => unreachable_abort(),
        }
    }

    /// Removes a token set; whether there was one.
    fn delete(&self, key: &StoreKey) -> Result<bool, StoreError> {
        let mut existed = false;
        match self.update(key, &mut |cur| {
            existed = cur.is_some();
            Ok(Update::Delete)
        }) {
            Ok(_) => Ok(existed),
            Err(UpdateError::Store(e)) => Err(e),
            Err(UpdateError::Aborted(_)) => unreachable_abort(),
        }
    }
}

fn unreachable_abort<T>() -> Result<T, StoreError> {
    // The closures of `save` and `delete` never abort.
    Err(StoreError::Backend { path: String::new(), reason: "internal: update aborted".into() })
}

/// An `update` closure gave up; carries the caller's error.
#[derive(Debug)]
pub struct UpdateAbort(pub Box<dyn std::error::Error + Send + Sync>);

impl<E: std::error::Error + Send + Sync + 'static> From<E> for UpdateAbort {
    fn from(e: E) -> Self {
        UpdateAbort(Box::new(e))
    }
}

/// An `update` failed: in the store, or in the closure.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The closure gave up (nothing was written).
    #[error("{}", .0.0)]
    Aborted(UpdateAbort),
}

// ---------------------------------------------------------------------------------------------

/// An in-memory store (lost on exit). Thread-safe; `update` locks one key at a time.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<BTreeMap<StoreKey, Arc<Mutex<Option<TokenSet>>>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn slot(&self, key: &StoreKey) -> Arc<Mutex<Option<TokenSet>>> {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(map.entry(key.clone()).or_default())
    }
}

impl TokenStore for MemoryStore {
    fn load(&self, key: &StoreKey) -> Result<Option<TokenSet>, StoreError> {
        let slot = self.slot(key);
        let guard = slot.lock().unwrap_or_else(|p| p.into_inner());
        Ok(guard.clone())
    }

    fn update(
        &self,
        key: &StoreKey,
        f: &mut dyn FnMut(Option<&TokenSet>) -> Result<Update, UpdateAbort>,
    ) -> Result<Option<TokenSet>, UpdateError> {
        let slot = self.slot(key);
        let mut guard = slot.lock().unwrap_or_else(|p| p.into_inner());
        match f(guard.as_ref()).map_err(UpdateError::Aborted)? {
            Update::Keep => {}
            Update::Put(t) => *guard = Some(*t),
            Update::Delete => *guard = None,
        }
        Ok(guard.clone())
    }

    fn keys(&self) -> Result<Vec<StoreKey>, StoreError> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        Ok(map
            .iter()
            .filter(|(_, slot)| slot.lock().unwrap_or_else(|p| p.into_inner()).is_some())
            .map(|(k, _)| k.clone())
            .collect())
    }
}

// ---------------------------------------------------------------------------------------------

/// Highest schema version this code reads and writes.
///
/// - 1: one column per token set field;
/// - 2: the token set as the core's versioned JSON ([`TokenSet::to_json`]), the same bytes every
///   store and binding keeps; version-1 rows are converted on open (they predate identities:
///   they are read as a user's tokens, the safe reading, which is never replaced by the app's).
pub const SCHEMA_VERSION: i64 = 2;
/// A SQLite file (bundled SQLite): the embedded default, shared safely between processes.
///
/// WAL mode; the file is created with mode 0600; every write is one `BEGIN IMMEDIATE`
/// transaction, which is also the cross-process lock of [`update`](TokenStore::update); the
/// schema carries a version (`PRAGMA user_version`) and is migrated forward on open.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<rusqlite::Connection>,
}

impl SqliteStore {
    /// How long `update` waits for another process's lock (longer than a transport's total
    /// timeout, so a refresh in progress elsewhere is waited for, not failed).
    pub const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

    /// Opens (creating with mode 0600 if needed) the store at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let shown = path.display().to_string();
        let err = |reason: String| StoreError::Backend { path: shown.clone(), reason };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err(format!("cannot create directory: {e}")))?;
        }
        create_private_file(&path).map_err(|e| err(format!("cannot create file: {e}")))?;
        let conn = rusqlite::Connection::open(&path).map_err(|e| err(e.to_string()))?;
        conn.busy_timeout(Self::BUSY_TIMEOUT).map_err(|e| err(e.to_string()))?;
        let mode: String =
            conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).map_err(|e| err(e.to_string()))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(err(format!("cannot switch to WAL mode (got {mode})")));
        }
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;").map_err(|e| err(e.to_string()))?;
        let store = Self { path, conn: Mutex::new(conn) };
        store.migrate()?;
        Ok(store)
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
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx =
            conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(|e| self.backend(e))?;
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
        if version == 1 {
            for (key, tokens) in self.read_v1(&tx)? {
                self.write(&tx, &key, &tokens)?;
            }
            tx.execute_batch("DROP TABLE tokens;").map_err(|e| self.backend(e))?;
        }
        if version < 2 {
            tx.execute_batch("PRAGMA user_version = 2;").map_err(|e| self.backend(e))?;
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
            "SELECT data FROM token_sets WHERE provider_id = ?1 AND client_id = ?2 AND account = ?3",
            rusqlite::params![key.provider_id, key.client_id, key.account],
            |r| r.get::<_, String>(0),
        );
        let data = match row {
            Ok(d) => zeroize::Zeroizing::new(d),
            Err(rusqlite::Error::QueryReturnedNoRows) => return Ok(None),
            Err(e) => return Err(self.backend(e)),
        };
        let tokens = TokenSet::from_json(&data).map_err(|e| self.corrupt(key, &e.to_string()))?;
        if tokens.provider_id != key.provider_id {
            return Err(self.corrupt(key, "the token set belongs to another provider"));
        }
        Ok(Some(tokens))
    }

    fn write(&self, tx: &rusqlite::Connection, key: &StoreKey, t: &TokenSet) -> Result<(), StoreError> {
        let data = zeroize::Zeroizing::new(t.to_json());
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        tx.execute(
            "INSERT INTO token_sets (provider_id, client_id, account, data, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (provider_id, client_id, account) DO UPDATE SET
                data = excluded.data, updated_at = excluded.updated_at",
            rusqlite::params![
                key.provider_id,
                key.client_id,
                key.account,
                data.as_str(),
                i64::try_from(now).unwrap_or(i64::MAX)
            ],
        )
        .map_err(|e| self.backend(e))?;
        Ok(())
    }
}

/// Creates the file with mode 0600 (owner only) when it does not exist yet.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

impl TokenStore for SqliteStore {
    fn load(&self, key: &StoreKey) -> Result<Option<TokenSet>, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        self.read(&conn, key)
    }

    fn update(
        &self,
        key: &StoreKey,
        f: &mut dyn FnMut(Option<&TokenSet>) -> Result<Update, UpdateAbort>,
    ) -> Result<Option<TokenSet>, UpdateError> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        // BEGIN IMMEDIATE takes the database's write lock now: other processes' updates wait
        // (busy timeout) until this one commits or rolls back.
        let tx =
            conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(|e| self.backend(e))?;
        let current = self.read(&tx, key)?;
        let after = match f(current.as_ref()).map_err(UpdateError::Aborted)? {
            Update::Keep => current,
            Update::Put(t) => {
                self.write(&tx, key, &t)?;
                Some(*t)
            }
            Update::Delete => {
                tx.execute(
                    "DELETE FROM token_sets WHERE provider_id = ?1 AND client_id = ?2 AND account = ?3",
                    rusqlite::params![key.provider_id, key.client_id, key.account],
                )
                .map_err(|e| self.backend(e))?;
                None
            }
        };
        tx.commit().map_err(|e| self.backend(e))?;
        Ok(after)
    }

    fn keys(&self) -> Result<Vec<StoreKey>, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt = conn
            .prepare("SELECT provider_id, client_id, account FROM token_sets ORDER BY 1, 2, 3")
            .map_err(|e| self.backend(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(StoreKey::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })
            .map_err(|e| self.backend(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.backend(e))
    }
}
