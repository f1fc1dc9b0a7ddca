//! The in-memory store.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use scopegate_core::TokenSet;

use super::{StoreError, StoreKey, TokenStore, Update, UpdateAbort, UpdateError};

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
