//! The in-memory store.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Claim, LeaseOwner, Row, StoreError, StoreKey, TokenStore, Update, Written};

#[derive(Debug, Default)]
struct Entry {
    tokens: Option<scopegate_core::TokenSet>,
    version: u64,
    lease: Option<(LeaseOwner, Instant)>,
}

impl Entry {
    fn row(&self) -> Row {
        Row { tokens: self.tokens.clone(), version: self.version }
    }

    /// Another owner's live lease, if any: how long it lives.
    fn held_by_other(&self, owner: &LeaseOwner) -> Option<Duration> {
        match &self.lease {
            Some((o, until)) if o != owner => {
                let left = until.saturating_duration_since(Instant::now());
                (!left.is_zero()).then_some(left)
            }
            _ => None,
        }
    }
}

/// An in-memory store (lost on exit). Thread-safe; every operation is short (a lease, not a
/// lock, covers a refresh).
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<BTreeMap<StoreKey, Entry>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, key: &StoreKey, f: impl FnOnce(&mut Entry) -> T) -> T {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        f(map.entry(key.clone()).or_default())
    }
}

impl TokenStore for MemoryStore {
    fn read(&self, key: &StoreKey) -> Result<Row, StoreError> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        Ok(map.get(key).map_or(Row { tokens: None, version: 0 }, Entry::row))
    }

    fn try_claim(&self, key: &StoreKey, owner: &LeaseOwner, ttl: Duration) -> Result<Claim, StoreError> {
        Ok(self.with(key, |e| match e.held_by_other(owner) {
            Some(expires_in) => Claim::Held { version: e.version, expires_in },
            None => {
                e.lease = Some((owner.clone(), Instant::now() + ttl));
                Claim::Granted(e.row())
            }
        }))
    }

    fn write(&self, key: &StoreKey, owner: &LeaseOwner, expected: u64, change: &Update) -> Result<Written, StoreError> {
        Ok(self.with(key, |e| {
            if e.version != expected || e.held_by_other(owner).is_some() {
                return Written::Conflict(e.row());
            }
            match change {
                Update::Keep => {
                    e.lease = None;
                    return Written::Done(e.version);
                }
                Update::Put(t) => e.tokens = Some((**t).clone()),
                Update::Delete => e.tokens = None,
            }
            e.version += 1;
            e.lease = None;
            Written::Done(e.version)
        }))
    }

    fn release(&self, key: &StoreKey, owner: &LeaseOwner) -> Result<(), StoreError> {
        self.with(key, |e| {
            if e.lease.as_ref().is_some_and(|(o, _)| o == owner) {
                e.lease = None;
            }
        });
        Ok(())
    }

    fn delete(&self, key: &StoreKey) -> Result<bool, StoreError> {
        Ok(self.with(key, |e| {
            let existed = e.tokens.take().is_some();
            if existed {
                e.version += 1;
            }
            existed
        }))
    }

    fn keys(&self) -> Result<Vec<StoreKey>, StoreError> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        Ok(map.iter().filter(|(_, e)| e.tokens.is_some()).map(|(k, _)| k.clone()).collect())
    }
}
