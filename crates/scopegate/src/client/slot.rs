//! A key's state in this process, shared by every [`Client`](super::Client) on the same store
//! object and key: the token set last read or written (so a fresh token is answered from
//! memory), a renewed token set the store could not write (kept until it can), the lease owner,
//! and the lock under which one thread at a time talks to the store about the key.
//!
//! The fresh token is read without a lock: every change of the state (made under its mutex)
//! publishes a snapshot of what [`Slot::fresh`] needs into an [`ArcSwapOption`], which readers
//! load without writing to memory that other threads read (no reference count, no lock word), so
//! `access_token()` on a fresh token scales with the threads that call it, on one key or many.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, Weak};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use scopegate_core::{Timestamp, TokenSet};

use crate::store::{LeaseOwner, Row, StoreKey, TokenStore};

/// The token set last seen in the store, and when.
#[derive(Clone, Debug)]
pub(super) struct Cached {
    pub(super) tokens: Option<Arc<TokenSet>>,
    pub(super) version: u64,
    pub(super) read_at: Instant,
}

/// A renewed token set that the store could not write: `base` is the version of the row it
/// replaces (it is written only over that version, never over a newer row).
#[derive(Clone, Debug)]
pub(super) struct Unsaved {
    pub(super) base: u64,
    pub(super) tokens: TokenSet,
}

#[derive(Debug, Default)]
struct State {
    cached: Option<Cached>,
    unsaved: Option<Unsaved>,
}

/// What [`Slot::fresh`] reads: the cached row while no unsaved set is pending (else nothing).
#[derive(Debug)]
struct Snapshot {
    tokens: Option<Arc<TokenSet>>,
    read_at: Instant,
}

/// A state behind its mutex; the guard publishes the snapshot when dropped, so every change is
/// published, in the order the changes were made.
struct StateGuard<'a> {
    state: MutexGuard<'a, State>,
    snapshot: &'a ArcSwapOption<Snapshot>,
}

impl std::ops::Deref for StateGuard<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        &self.state
    }
}

impl std::ops::DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.state
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        let snapshot = match (&self.state.cached, &self.state.unsaved) {
            (Some(c), None) => Some(Arc::new(Snapshot { tokens: c.tokens.clone(), read_at: c.read_at })),
            _ => None,
        };
        self.snapshot.store(snapshot);
    }
}

/// One key of one store, in this process.
pub(crate) struct Slot {
    pub(super) key: StoreKey,
    pub(super) owner: LeaseOwner,
    state: Mutex<State>,
    /// The state as [`fresh`](Slot::fresh) needs it, republished at every change.
    snapshot: ArcSwapOption<Snapshot>,
    /// Held while talking to the store about the key (reads included, so no thread reads a new
    /// token set before the token-change hook has seen it). Re-entrant: a hook may call the
    /// client again.
    pub(super) flight: ReentrantLock,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot").field("key", &self.key).field("owner", &self.owner).finish_non_exhaustive()
    }
}

type Registry = Mutex<HashMap<(usize, StoreKey), Weak<Slot>>>;
static SLOTS: LazyLock<Registry> = LazyLock::new(Registry::default);

/// The identity of a store object (its address; the object outlives every slot that names it,
/// since each client holding a slot holds the store too).
fn store_id(store: &Arc<dyn TokenStore>) -> usize {
    Arc::as_ptr(store).cast::<()>() as usize
}

impl Slot {
    /// The slot of `key` in `store`, made if needed.
    pub(super) fn of(store: &Arc<dyn TokenStore>, key: &StoreKey) -> Arc<Slot> {
        let mut map = SLOTS.lock().unwrap_or_else(|p| p.into_inner());
        let id = (store_id(store), key.clone());
        if let Some(slot) = map.get(&id).and_then(Weak::upgrade) {
            return slot;
        }
        map.retain(|_, w| w.strong_count() > 0);
        let slot = Arc::new(Slot {
            key: key.clone(),
            owner: LeaseOwner::new(),
            state: Mutex::new(State::default()),
            snapshot: ArcSwapOption::empty(),
            flight: ReentrantLock::default(),
        });
        map.insert(id, Arc::downgrade(&slot));
        slot
    }

    /// Tells the slot of `key` in `store`, if there is one, that its row was written by other
    /// means than a client (the store's own methods): the next call reads the store.
    pub(super) fn written_elsewhere(store: &Arc<dyn TokenStore>, key: &StoreKey) {
        let map = SLOTS.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = map.get(&(store_id(store), key.clone())).and_then(Weak::upgrade) {
            slot.state().cached = None;
        }
    }

    /// The state, to change it (the change is published when the guard drops).
    fn state(&self) -> StateGuard<'_> {
        StateGuard { state: self.read(), snapshot: &self.snapshot }
    }

    /// The state, to read it.
    fn read(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The token set from memory, if it was read less than `staleness` ago, nothing unsaved is
    /// pending, its grant is not marked dead and its refresh is not due at `now` (the core's
    /// rule, [`TokenSet::refresh_due_at`]). Anything else goes the slow way, through a session.
    /// Takes no lock: it reads the last published snapshot of the state.
    pub(super) fn fresh(&self, now: Timestamp, margin_secs: u64, staleness: Duration) -> Option<TokenSet> {
        // A snapshot exists only while nothing unsaved is pending and a row was read.
        let snapshot = self.snapshot.load();
        let c = snapshot.as_ref()?;
        if c.read_at.elapsed() > staleness {
            return None;
        }
        let t = c.tokens.as_ref()?;
        if t.invalidated.is_some() || t.refresh_due_at(margin_secs).is_some_and(|due| now >= due) {
            return None;
        }
        Some(TokenSet::clone(t))
    }

    /// What this process last saw of the row, if anything.
    pub(super) fn cached(&self) -> Option<Cached> {
        self.read().cached.clone()
    }

    pub(super) fn set_row(&self, row: &Row) {
        self.set(row.tokens.clone(), row.version);
    }

    pub(super) fn set(&self, tokens: Option<TokenSet>, version: u64) {
        self.state().cached = Some(Cached { tokens: tokens.map(Arc::new), version, read_at: Instant::now() });
    }

    pub(super) fn unsaved(&self) -> Option<Unsaved> {
        self.read().unsaved.clone()
    }

    pub(super) fn set_unsaved(&self, unsaved: Option<Unsaved>) {
        self.state().unsaved = unsaved;
    }

    /// Forgets what this process knew of the key.
    pub(super) fn clear(&self) -> bool {
        let mut st = self.state();
        st.cached = None;
        st.unsaved.take().is_some()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // No client of this process uses the key any more: a lease it left behind (its last
        // write failed) may be taken over.
        crate::store::abandon_lease(&self.owner);
    }
}

/// A lock one thread may take several times.
#[derive(Debug, Default)]
pub(super) struct ReentrantLock {
    owner: Mutex<(Option<ThreadId>, usize)>,
    free: Condvar,
}

pub(super) struct ReentrantGuard<'a>(&'a ReentrantLock);

impl ReentrantLock {
    pub(super) fn lock(&self) -> ReentrantGuard<'_> {
        let me = std::thread::current().id();
        let mut s = self.owner.lock().unwrap_or_else(|p| p.into_inner());
        while s.0.is_some_and(|owner| owner != me) {
            s = self.free.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        s.0 = Some(me);
        s.1 += 1;
        ReentrantGuard(self)
    }
}

impl Drop for ReentrantGuard<'_> {
    fn drop(&mut self) {
        let mut s = self.0.owner.lock().unwrap_or_else(|p| p.into_inner());
        s.1 -= 1;
        if s.1 == 0 {
            s.0 = None;
            self.0.free.notify_one();
        }
    }
}
