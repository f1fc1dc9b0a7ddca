//! A store whose writes fail on demand (a full disk, a database gone between the claim and
//! the write of a refresh), over a MemoryStore.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use scopegate::{Claim, LeaseOwner, MemoryStore, Row, StoreError, StoreKey, TokenStore, Update, Written};

#[derive(Debug, Default)]
pub struct Faulty {
    pub inner: MemoryStore,
    /// Writes fail (reads and claims work).
    pub writes_fail: AtomicBool,
    /// Everything fails.
    pub down: AtomicBool,
    /// The error's reason.
    pub reason: std::sync::Mutex<String>,
}

impl Faulty {
    pub fn new(reason: &str) -> Faulty {
        Faulty { reason: std::sync::Mutex::new(reason.into()), ..Faulty::default() }
    }

    fn check(&self, writing: bool) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) || (writing && self.writes_fail.load(Ordering::SeqCst)) {
            return Err(StoreError::Backend { path: "faulty.db".into(), reason: self.reason.lock().unwrap().clone() });
        }
        Ok(())
    }
}

impl TokenStore for Faulty {
    fn read(&self, key: &StoreKey) -> Result<Row, StoreError> {
        self.check(false)?;
        self.inner.read(key)
    }
    fn try_claim(&self, key: &StoreKey, owner: &LeaseOwner, ttl: Duration) -> Result<Claim, StoreError> {
        self.check(false)?;
        self.inner.try_claim(key, owner, ttl)
    }
    fn write(&self, key: &StoreKey, owner: &LeaseOwner, expected: u64, change: &Update) -> Result<Written, StoreError> {
        self.check(true)?;
        self.inner.write(key, owner, expected, change)
    }
    fn release(&self, key: &StoreKey, owner: &LeaseOwner) -> Result<(), StoreError> {
        self.check(false)?;
        self.inner.release(key, owner)
    }
    fn delete(&self, key: &StoreKey) -> Result<bool, StoreError> {
        self.check(true)?;
        self.inner.delete(key)
    }
    fn keys(&self) -> Result<Vec<StoreKey>, StoreError> {
        self.check(false)?;
        self.inner.keys()
    }
}
