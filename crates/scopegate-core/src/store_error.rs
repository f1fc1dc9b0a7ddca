//! [`StoreError`]: a token store failed. Defined in the core so that every store, in any crate
//! or language binding, reports through the same [`Error`](crate::Error).

/// A token store failed (defined here so that every store, in any crate or language binding,
/// reports through the same [`Error`](crate::Error)).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database or file failed.
    #[error("token store {path}: {reason}")]
    Backend {
        /// The store's location (never a password).
        path: String,
        /// What failed (never a token value).
        reason: String,
    },
    /// The stored data cannot be read back (corrupt, or written by a newer version).
    #[error("token store {path}: stored data for {key} is unreadable: {reason}")]
    Corrupt {
        /// The store's location.
        path: String,
        /// `provider/client/account`.
        key: String,
        /// Why.
        reason: String,
    },
    /// Another process (or thread) held the store's lock longer than the store waits: its
    /// refresh is still running, or it hung.
    #[error(
        "token store {path}: waited {waited_secs} s for another process's refresh of this token to finish; it still holds the lock"
    )]
    Busy {
        /// The store's location.
        path: String,
        /// How long it waited.
        waited_secs: u64,
    },
    /// The store's file or directory could be read or replaced by somebody else: refused, with
    /// what to fix.
    #[error("token store {path}: {problem}")]
    Unsafe {
        /// The file or directory.
        path: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// A sealed token set cannot be opened or sealed: the key is missing or wrong, or the data
    /// was altered. Never read as garbage, never taken for "no token".
    #[error("token store {path}: the token set of {key}: {problem}")]
    Sealed {
        /// The store's location.
        path: String,
        /// `provider/client/account`.
        key: String,
        /// What is wrong and what to set.
        problem: String,
    },
    /// The database was written by a newer scopegate (schema version above ours).
    #[error("token store {path}: schema version {found} is newer than this scopegate understands ({supported})")]
    NewerSchema {
        /// The store's location.
        path: String,
        /// Version found.
        found: i64,
        /// Highest version supported.
        supported: i64,
    },
}
