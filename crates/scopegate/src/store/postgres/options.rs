//! The settings of a [`PostgresStore`](super::PostgresStore).

use std::time::Duration;

/// Settings of a [`PostgresStore`](super::PostgresStore).
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    /// Most connections open at once, each served by a thread of the store's (default 4).
    pub pool_size: usize,
    /// How long connecting may take (default 5 s).
    pub connect_timeout: Duration,
    /// How long a statement may run (default 10 s).
    pub statement_timeout: Duration,
    /// How long a statement waits for a row lock held by another instance's statement (default
    /// 10 s; statements are short: no lock is held across a refresh).
    pub lock_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            pool_size: 4,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
            lock_timeout: Duration::from_secs(10),
        }
    }
}
