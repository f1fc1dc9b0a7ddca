//! Token stores (`MemoryStore`, `SqliteStore`) and the wrapper that calls a client's
//! `update_token` after every change, before anybody uses the new token.
//!
//! Each Python store object has a *gate*: a lock, re-entrant per thread, that every `load` and
//! `update` through it takes. An update writes the token set, calls `update_token`, and only
//! then opens the gate, so no thread of this process reads the new token before the callback
//! has seen it. The gate is waited for while detached from the interpreter (every store call
//! runs inside `Python::detach`); the callback attaches while holding it, which is safe because
//! nobody waits for the gate while attached. Re-entrant: an `update_token` callback may read
//! the client's token again.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;

use pyo3::prelude::*;
use scopegate::{MemoryStore, SqliteStore, StoreKey, TokenStore, Update, UpdateAbort, UpdateError};
use scopegate_core::{DEFAULT_ACCOUNT, StoreError, TokenSet};

use crate::errors::{Failure, detached, keep_aside};
use crate::text::q;
use crate::tokens::PyTokenSet;

/// A lock one thread may take several times.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    owner: Mutex<(Option<ThreadId>, usize)>,
    free: Condvar,
}

struct GateGuard<'a>(&'a Gate);

impl Gate {
    fn state(&self) -> MutexGuard<'_, (Option<ThreadId>, usize)> {
        self.owner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for the gate. Call only while detached from the interpreter.
    fn enter(&self) -> GateGuard<'_> {
        let me = std::thread::current().id();
        let mut s = self.state();
        while s.0.is_some_and(|owner| owner != me) {
            s = self.free.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        s.0 = Some(me);
        s.1 += 1;
        GateGuard(self)
    }
}

impl Drop for GateGuard<'_> {
    fn drop(&mut self) {
        let mut s = self.0.state();
        s.1 -= 1;
        if s.1 == 0 {
            s.0 = None;
            self.0.free.notify_one();
        }
    }
}

/// Base class of the token stores.
#[pyclass(subclass, frozen, module = "scopegate._native", name = "TokenStore")]
pub(crate) struct PyTokenStore {
    pub(crate) inner: Arc<dyn TokenStore>,
    pub(crate) gate: Arc<Gate>,
    what: String,
}

impl PyTokenStore {
    fn new(inner: Arc<dyn TokenStore>, what: String) -> PyTokenStore {
        PyTokenStore { inner, gate: Arc::new(Gate::default()), what }
    }

    /// This store seen through a client that calls `update_token` after every change.
    pub(crate) fn notifying(&self, callback: Option<Py<PyAny>>) -> Arc<dyn TokenStore> {
        Arc::new(Notifying { inner: Arc::clone(&self.inner), gate: Arc::clone(&self.gate), callback })
    }
}

#[pymethods]
impl PyTokenStore {
    /// The token set stored for `(provider_id, client_id, account)`, if any.
    #[pyo3(signature = (provider_id, client_id, account = None))]
    fn load(
        &self,
        py: Python<'_>,
        provider_id: String,
        client_id: String,
        account: Option<String>,
    ) -> PyResult<Option<PyTokenSet>> {
        let key = StoreKey::new(provider_id, client_id, account.unwrap_or_else(|| DEFAULT_ACCOUNT.into()));
        let (inner, gate) = (Arc::clone(&self.inner), Arc::clone(&self.gate));
        let found = detached(py, move || {
            let _g = gate.enter();
            inner.load(&key).map_err(Failure::from)
        })?;
        Ok(found.map(PyTokenSet::new))
    }

    /// Stores a token set (e.g. one read back with `TokenSet.loads`).
    #[pyo3(signature = (client_id, token, account = None))]
    fn save(
        &self,
        py: Python<'_>,
        client_id: String,
        token: PyRef<'_, PyTokenSet>,
        account: Option<String>,
    ) -> PyResult<()> {
        let tokens = token.inner.clone();
        let key =
            StoreKey::new(tokens.provider_id.clone(), client_id, account.unwrap_or_else(|| DEFAULT_ACCOUNT.into()));
        let (inner, gate) = (Arc::clone(&self.inner), Arc::clone(&self.gate));
        detached(py, move || {
            let _g = gate.enter();
            inner.save(&key, &tokens).map_err(Failure::from)
        })
    }

    /// Removes a token set; whether there was one.
    #[pyo3(signature = (provider_id, client_id, account = None))]
    fn delete(
        &self,
        py: Python<'_>,
        provider_id: String,
        client_id: String,
        account: Option<String>,
    ) -> PyResult<bool> {
        let key = StoreKey::new(provider_id, client_id, account.unwrap_or_else(|| DEFAULT_ACCOUNT.into()));
        let (inner, gate) = (Arc::clone(&self.inner), Arc::clone(&self.gate));
        detached(py, move || {
            let _g = gate.enter();
            inner.delete(&key).map_err(Failure::from)
        })
    }

    /// Every `(provider_id, client_id, account)` that holds a token set.
    fn keys(&self, py: Python<'_>) -> PyResult<Vec<(String, String, String)>> {
        let inner = Arc::clone(&self.inner);
        let keys = detached(py, move || inner.keys().map_err(Failure::from))?;
        Ok(keys.into_iter().map(|k| (k.provider_id, k.client_id, k.account)).collect())
    }

    fn __repr__(&self) -> String {
        self.what.clone()
    }
}

/// A new `MemoryStore` (a client's default store).
pub(crate) fn memory_store(py: Python<'_>) -> PyResult<Py<PyTokenStore>> {
    let store = Bound::new(py, PyMemoryStore::new())?;
    Ok(store.into_any().cast_into::<PyTokenStore>()?.unbind())
}

/// Token sets in memory, lost on exit.
#[pyclass(extends = PyTokenStore, frozen, module = "scopegate._native", name = "MemoryStore")]
pub(crate) struct PyMemoryStore;

#[pymethods]
impl PyMemoryStore {
    #[new]
    fn new() -> PyClassInitializer<PyMemoryStore> {
        PyClassInitializer::from(PyTokenStore::new(Arc::new(MemoryStore::new()), "MemoryStore()".into()))
            .add_subclass(PyMemoryStore)
    }
}

/// A SQLite file (mode 0600, WAL), safe to share between processes: one refresh for all.
#[pyclass(extends = PyTokenStore, frozen, module = "scopegate._native", name = "SqliteStore")]
pub(crate) struct PySqliteStore {
    path: PathBuf,
}

#[pymethods]
impl PySqliteStore {
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<PyClassInitializer<PySqliteStore>> {
        let p = path.clone();
        let store = detached(py, move || SqliteStore::open(&p).map_err(Failure::from))?;
        let what = format!("SqliteStore({})", q(&path.display().to_string()));
        Ok(PyClassInitializer::from(PyTokenStore::new(Arc::new(store), what)).add_subclass(PySqliteStore { path }))
    }

    /// The file.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }
}

/// A client's view of a store: every write is followed by its `update_token` callback, inside
/// the gate.
struct Notifying {
    inner: Arc<dyn TokenStore>,
    gate: Arc<Gate>,
    callback: Option<Py<PyAny>>,
}

impl Notifying {
    fn notify(&self, tokens: TokenSet) {
        let Some(callback) = &self.callback else { return };
        Python::attach(|py| {
            if let Err(e) = callback.call1(py, (PyTokenSet::new(tokens),)) {
                keep_aside(e);
            }
        });
    }
}

impl TokenStore for Notifying {
    fn load(&self, key: &StoreKey) -> Result<Option<TokenSet>, StoreError> {
        let _g = self.gate.enter();
        self.inner.load(key)
    }

    fn update(
        &self,
        key: &StoreKey,
        f: &mut dyn FnMut(Option<&TokenSet>) -> Result<Update, UpdateAbort>,
    ) -> Result<Option<TokenSet>, UpdateError> {
        let _g = self.gate.enter();
        let mut written = false;
        let after = self.inner.update(key, &mut |current| {
            let decision = f(current)?;
            written = matches!(decision, Update::Put(_));
            Ok(decision)
        })?;
        if let (true, Some(tokens)) = (written, &after) {
            self.notify(tokens.clone());
        }
        Ok(after)
    }

    fn keys(&self) -> Result<Vec<StoreKey>, StoreError> {
        self.inner.keys()
    }
}
