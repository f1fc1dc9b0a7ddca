//! The sandbox's clock: the system clock, moved forward by [`SandboxClock::advance`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use scopegate_core::Timestamp;

/// The clock a sandbox reads: the system clock plus an offset that only grows. Every expiry
/// (codes, access and refresh tokens, `early-expiry`) follows it. Clones share the offset, so a
/// client can read the same time (`Client::with_clock(move || clock.now())`).
#[derive(Clone, Debug, Default)]
pub struct SandboxClock {
    offset: Arc<AtomicU64>,
}

impl SandboxClock {
    /// Now: the system time plus every [`advance`](SandboxClock::advance) so far.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_system_time(SystemTime::now()).plus_secs(self.offset())
    }

    /// Moves the clock `secs` seconds forward.
    pub fn advance(&self, secs: u64) {
        let _ = self.offset.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| Some(o.saturating_add(secs)));
    }

    /// How far the clock was moved forward, in seconds.
    pub fn offset(&self) -> u64 {
        self.offset.load(Ordering::SeqCst)
    }
}
