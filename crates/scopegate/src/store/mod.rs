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
//!
//! A file store is the user's alone: before [`SqliteStore`] opens an existing file it checks that
//! the file (and SQLite's `-wal` and `-shm` beside it) is not a symbolic link, is owned by the
//! user running scopegate and has no permission bit for group or others, and that its directory
//! is not a symbolic link, is owned by that user or root, and cannot be written by group or
//! others unless it is sticky (like /tmp). A refusal says what to fix. New files are created
//! with mode 0600. Token sets may be sealed at rest ([`seal`]).

mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod private;
pub mod seal;
mod sqlite;

use scopegate_core::TokenSet;

pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::{POSTGRES_SCHEMA_VERSION, PostgresOptions, PostgresStore};
pub use seal::{KeyRing, SealError};
pub use sqlite::{LONGEST_REFRESH, SCHEMA_VERSION, SqliteStore};

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
            Err(UpdateError::NotSaved { error, .. }) => Err(error),
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
            Err(UpdateError::Store(e) | UpdateError::NotSaved { error: e, .. }) => Err(e),
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
    /// The closure produced a token set and the store could not write or commit it (disk full,
    /// say): the token set is carried here, so the caller can still use it, and knows it is not
    /// stored.
    #[error("{error}; the new token set was not stored")]
    NotSaved {
        /// The store's failure.
        error: StoreError,
        /// What was to be written.
        tokens: Box<TokenSet>,
    },
}
