//! A token store from a spec: the command line's `--store`, `$SCOPEGATE_STORE`, the C options'
//! `store`, Python's command line.

use std::path::PathBuf;
use std::sync::Arc;

use scopegate_core::{Error, StoreError, UsageError};

use crate::store::{KeyRing, MemoryStore, SqliteStore, TokenStore};

/// Where the seal keys of a store come from.
#[derive(Debug)]
pub enum StoreKeys {
    /// `$SCOPEGATE_STORE_KEY` (and `$SCOPEGATE_STORE_OLD_KEYS`), when set; else none.
    FromEnv,
    /// These keys.
    Given(KeyRing),
    /// No sealing.
    None,
}

/// Whether a store spec names a PostgreSQL store (`postgres://` or `postgresql://`).
pub fn is_postgres(spec: &str) -> bool {
    spec.starts_with("postgres://") || spec.starts_with("postgresql://")
}

/// The default token store file: `scopegate/tokens.db` in the user's data directory
/// (`$XDG_DATA_HOME`, else `~/.local/share`; `~/Library/Application Support` on macOS;
/// `%APPDATA%` on Windows).
pub fn default_store_path() -> Result<PathBuf, Error> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = if cfg!(windows) {
        env("APPDATA")
    } else if cfg!(target_os = "macos") {
        env("HOME").map(|h| h.join("Library/Application Support"))
    } else {
        env("XDG_DATA_HOME").or_else(|| env("HOME").map(|h| h.join(".local/share")))
    };
    let dir = dir.ok_or_else(|| {
        Error::from(UsageError::InvalidStore { reason: "no data directory (HOME is not set): name the store".into() })
    })?;
    Ok(dir.join("scopegate").join("tokens.db"))
}

/// Opens the store a spec names: `None` a store in memory; a `postgres://` or `postgresql://`
/// connection string a PostgreSQL store (the PostgreSQL build); anything else the path of a
/// SQLite file, created 0600 (its missing directories 0700). Sealed with `keys`.
pub fn open_store(spec: Option<&str>, keys: StoreKeys) -> Result<Arc<dyn TokenStore>, Error> {
    let ring = match keys {
        StoreKeys::FromEnv => KeyRing::from_env().map_err(|e| UsageError::InvalidStore { reason: e.to_string() })?,
        StoreKeys::Given(k) => Some(k),
        StoreKeys::None => None,
    };
    let Some(spec) = spec else {
        return Ok(Arc::new(MemoryStore::new()));
    };
    if is_postgres(spec) {
        return open_postgres(spec, ring);
    }
    let path = PathBuf::from(spec);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        // Directories we create for the token store are private to the user.
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(|e| StoreError::Backend {
            path: dir.display().to_string(),
            reason: format!("cannot create the directory: {e}"),
        })?;
    }
    let store = SqliteStore::open(&path)?;
    Ok(match ring {
        Some(k) => Arc::new(store.with_keys(k)),
        None => Arc::new(store),
    })
}

#[cfg(feature = "postgres")]
fn open_postgres(spec: &str, ring: Option<KeyRing>) -> Result<Arc<dyn TokenStore>, Error> {
    let store = crate::store::PostgresStore::connect(spec)?;
    Ok(match ring {
        Some(k) => Arc::new(store.with_keys(k)),
        None => Arc::new(store),
    })
}

#[cfg(not(feature = "postgres"))]
fn open_postgres(_spec: &str, _ring: Option<KeyRing>) -> Result<Arc<dyn TokenStore>, Error> {
    Err(UsageError::InvalidStore {
        reason: "this build has no PostgreSQL store (cargo feature `postgres` of the scopegate crate)".into(),
    }
    .into())
}
