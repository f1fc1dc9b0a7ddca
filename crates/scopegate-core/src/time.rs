//! Time as a value. The core never reads a clock: every call that depends on time takes `now`.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A wall-clock instant in whole seconds since the Unix epoch.
///
/// Wall-clock (not monotonic) time is used because token expiry must survive a restart and be
/// shared between processes. Build one from the caller's clock with [`Timestamp::from_system_time`]
/// or [`Timestamp::from_unix_secs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The instant `secs` seconds after 1970-01-01T00:00:00Z.
    pub const fn from_unix_secs(secs: u64) -> Self {
        Self(secs)
    }

    /// Seconds since the Unix epoch.
    pub const fn as_unix_secs(self) -> u64 {
        self.0
    }

    /// Converts a `SystemTime` (instants before the epoch become the epoch).
    pub fn from_system_time(t: SystemTime) -> Self {
        Self(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
    }

    /// This instant plus `secs` seconds, saturating at the far future.
    pub const fn plus_secs(self, secs: u64) -> Self {
        Self(self.0.saturating_add(secs))
    }

    /// This instant plus a duration (whole seconds), saturating.
    pub const fn plus(self, d: Duration) -> Self {
        self.plus_secs(d.as_secs())
    }

    /// This instant minus `secs` seconds, saturating at the epoch.
    pub const fn minus_secs(self, secs: u64) -> Self {
        Self(self.0.saturating_sub(secs))
    }

    /// Seconds from `earlier` to `self`, or 0 if `earlier` is later.
    pub const fn secs_since(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Timestamp::from_unix_secs(10);
        assert_eq!(t.plus_secs(5).as_unix_secs(), 15);
        assert_eq!(t.minus_secs(20).as_unix_secs(), 0);
        assert_eq!(Timestamp::from_unix_secs(u64::MAX).plus_secs(1).as_unix_secs(), u64::MAX);
        assert_eq!(t.secs_since(Timestamp::from_unix_secs(20)), 0);
        assert_eq!(Timestamp::from_system_time(UNIX_EPOCH + Duration::from_secs(7)).as_unix_secs(), 7);
    }
}
