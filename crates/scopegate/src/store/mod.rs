//! Token stores: where token sets live between calls and across restarts.
//!
//! A [`TokenStore`] keeps one row per [`StoreKey`] (provider id, client id, account): the token
//! set, if any, and a **version** that grows with every write of the key. It never holds a
//! database lock across the network. A refresh goes in three short steps:
//!
//! 1. [`try_claim`](TokenStore::try_claim): a **lease** on the key (an owner and an expiry,
//!    written in one short transaction) and the row as it is now. Another owner's live lease is
//!    [`Claim::Held`]: wait for the row to change or the lease to end ([`claim`](TokenStore::claim)
//!    does), then look again, since the other owner's refresh has usually made yours needless.
//! 2. The refresh itself, over the network, with no store lock held.
//! 3. [`write`](TokenStore::write) (or [`release`](TokenStore::release)): the new token set,
//!    written only if the row still has the version read in step 1 and nobody else holds a live
//!    lease; the write ends the lease.
//!
//! So one refresh happens however many threads, processes and hosts ask at once, the refreshes
//! of different keys run side by side, a rotated refresh token is written before anybody gets
//! the new access token, and a write never replaces a newer token set. A lease whose owner died
//! (SIGKILL) expires after its time to live, and the next process goes on.
//! [`update`](TokenStore::update) packs the three steps around a closure.
//!
//! A store failure is an error ([`StoreError`]), never a silent drop. [`delete`](TokenStore::delete)
//! removes a row without reading it, so a row that cannot be decoded (corrupt, or sealed with a
//! lost key) can still be forgotten.
//!
//! A file store is the user's alone: before [`SqliteStore`] opens an existing file it checks that
//! the file (and SQLite's `-wal` and `-shm` beside it) is not a symbolic link, is owned by the
//! user running scopegate and has no permission bit for group or others, and that its directory
//! is not a symbolic link, is owned by that user or root, and cannot be written by group or
//! others unless it is sticky (like /tmp). A refusal says what to fix. New files are created
//! with mode 0600. Token sets may be sealed at rest ([`seal`]).

mod file_mode;
mod lease;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
pub mod seal;
mod sqlite;

use std::time::Duration;

use scopegate_core::{Error, TokenSet};

pub use lease::LeaseOwner;
pub(crate) use lease::abandon as abandon_lease;
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::{POSTGRES_SCHEMA_VERSION, PostgresOptions, PostgresStore};
pub use seal::{KeyRing, SealError};
pub use sqlite::{LONGEST_REFRESH, SCHEMA_VERSION, SqliteStore};

/// How long a lease lives unless renewed by a write: longer than the longest refresh the
/// default transport can make ([`LONGEST_REFRESH`]), so a live owner never loses its lease
/// mid-refresh.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(LONGEST_REFRESH.as_secs() + 30);

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

impl std::fmt::Display for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.provider_id, self.client_id, self.account)
    }
}

pub use scopegate_core::StoreError;

/// A key's row: its token set (`None`: none, or forgotten) and its version (0: never written).
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The token set.
    pub tokens: Option<TokenSet>,
    /// Grows with every write of the key, deletions included; never goes back.
    pub version: u64,
}

/// The answer to [`TokenStore::try_claim`].
// A row is returned once per claim and moved once: boxing it would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Claim {
    /// The lease is the caller's until it writes, releases, or the lease's time passes; the row
    /// as it is now.
    Granted(Row),
    /// Another owner holds a live lease (a refresh in progress elsewhere).
    Held {
        /// The row's version now: when it changes, the other owner has written.
        version: u64,
        /// How long the other owner's lease lives at most.
        expires_in: Duration,
    },
}

/// The answer to [`TokenStore::write`].
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Written {
    /// Written; the row's new version.
    Done(u64),
    /// Not written: the row has another version than the one named, or another owner holds a
    /// live lease. The row as it is now.
    Conflict(Row),
}

/// What an [`update`](TokenStore::update) closure decided, and what [`TokenStore::write`] writes.
#[derive(Debug)]
pub enum Update {
    /// Leave the entry as it is.
    Keep,
    /// Write this token set.
    Put(Box<TokenSet>),
    /// Remove the entry.
    Delete,
}

/// Storage of token sets (see the module documentation for the protocol).
pub trait TokenStore: Send + Sync {
    /// The row of `key` (version 0 and no token set when it was never written).
    fn read(&self, key: &StoreKey) -> Result<Row, StoreError>;

    /// Takes a lease on `key` for `owner`, living `ttl`, unless another owner holds a live one.
    /// An owner may claim again a lease it holds (the expiry moves).
    fn try_claim(&self, key: &StoreKey, owner: &LeaseOwner, ttl: Duration) -> Result<Claim, StoreError>;

    /// Writes `change` (a token set, or a deletion; [`Update::Keep`] writes nothing and only
    /// ends `owner`'s lease) if the row's version is `expected` and no other owner holds a live
    /// lease. A write ends the lease.
    fn write(&self, key: &StoreKey, owner: &LeaseOwner, expected: u64, change: &Update) -> Result<Written, StoreError>;

    /// Ends `owner`'s lease on `key` without writing (the refresh failed). Another owner's
    /// lease is left alone.
    fn release(&self, key: &StoreKey, owner: &LeaseOwner) -> Result<(), StoreError>;

    /// Removes the token set of `key` without reading it (a corrupt row, or one sealed with a
    /// lost key, can be forgotten); whether there was one. Whoever holds a lease on it can no
    /// longer write its refresh: the version moved on.
    fn delete(&self, key: &StoreKey) -> Result<bool, StoreError>;

    /// Every key that holds a token set.
    fn keys(&self) -> Result<Vec<StoreKey>, StoreError>;

    /// The token set of `key`, if any.
    fn load(&self, key: &StoreKey) -> Result<Option<TokenSet>, StoreError> {
        Ok(self.read(key)?.tokens)
    }

    /// [`try_claim`](Self::try_claim), waiting while another owner holds a live lease: until the
    /// row changes or that lease ends, at most `max_wait` in all (then the last
    /// [`Claim::Held`] is returned).
    fn claim(
        &self,
        key: &StoreKey,
        owner: &LeaseOwner,
        ttl: Duration,
        max_wait: Duration,
    ) -> Result<Claim, StoreError> {
        lease::claim_waiting(self, key, owner, ttl, max_wait)
    }

    /// Claims `key` (waiting for another owner's lease), calls `f` with the token set, and
    /// writes what it decides under the version read. `f` may do network I/O (a refresh): no
    /// database lock is held meanwhile, only the lease. Returns the token set afterwards. If `f`
    /// fails, nothing is written, the lease ends and its error is returned as it is; a store
    /// failure is [`Error::Store`], and a token set `f` produced that the store could not write
    /// is handed back in [`Error::NotSaved`].
    fn update(
        &self,
        key: &StoreKey,
        f: &mut dyn FnMut(Option<&TokenSet>) -> Result<Update, Error>,
    ) -> Result<Option<TokenSet>, Error> {
        lease::update(self, key, &LeaseOwner::new(), DEFAULT_LEASE_TTL, f)
    }

    /// Writes a token set (an `update` that always puts).
    fn save(&self, key: &StoreKey, tokens: &TokenSet) -> Result<(), StoreError> {
        let mut put = Some(tokens.clone());
        match self.update(key, &mut |_| Ok(put.take().map_or(Update::Keep, |t| Update::Put(Box::new(t))))) {
            Ok(_) => Ok(()),
            Err(Error::Store(e) | Error::NotSaved { error: e, .. }) => Err(e),
            Err(e) => Err(StoreError::Backend { path: String::new(), reason: e.to_string() }),
        }
    }
}
