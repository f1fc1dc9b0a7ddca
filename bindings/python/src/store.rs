//! Token stores (`MemoryStore`, `SqliteStore`, `PostgresStore`) and the wrapper that calls a
//! client's `update_token` after every change, before anybody uses the new token.
//!
//! Each Python store object has a *gate* per key: a lock, re-entrant per thread, that every
//! `load` and `update` of that key through it takes (other keys are not held up). An update writes the token set, calls `update_token`, and only
//! then opens the gate, so no thread of this process reads the new token before the callback
//! has seen it. The gate is waited for while detached from the interpreter (every store call
//! runs inside `Python::detach`); the callback attaches while holding it, which is safe because
//! nobody waits for the gate while attached. Re-entrant: an `update_token` callback may read
//! the client's token again.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;

use pyo3::prelude::*;
use scopegate::{
    KeyRing, MemoryStore, PostgresOptions, PostgresStore, SqliteStore, StoreKey, TokenStore, Update, UpdateAbort,
    UpdateError,
};
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

/// One gate per key.
#[derive(Debug, Default)]
pub(crate) struct Gates(Mutex<HashMap<StoreKey, Arc<Gate>>>);

impl Gates {
    pub(crate) fn of(&self, key: &StoreKey) -> Arc<Gate> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(map.entry(key.clone()).or_default())
    }
}

/// Base class of the token stores.
#[pyclass(subclass, frozen, module = "scopegate._native", name = "TokenStore")]
pub(crate) struct PyTokenStore {
    pub(crate) inner: Arc<dyn TokenStore>,
    pub(crate) gate: Arc<Gates>,
    what: String,
}

impl PyTokenStore {
    fn new(inner: Arc<dyn TokenStore>, what: String) -> PyTokenStore {
        PyTokenStore { inner, gate: Arc::new(Gates::default()), what }
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
            let gate = gate.of(&key);
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
            let gate = gate.of(&key);
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
            let gate = gate.of(&key);
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

/// The key ring of `seal_key` and `old_keys` (32 bytes each), if a seal key is given.
fn key_ring(seal_key: Option<Vec<u8>>, old_keys: Vec<Vec<u8>>) -> PyResult<Option<KeyRing>> {
    let as_key = |k: Vec<u8>, what: &str| -> PyResult<[u8; 32]> {
        <[u8; 32]>::try_from(k.as_slice())
            .map_err(|_| pyo3::exceptions::PyValueError::new_err(format!("{what} must be 32 bytes, not {}", k.len())))
    };
    let Some(current) = seal_key else {
        if !old_keys.is_empty() {
            return Err(pyo3::exceptions::PyValueError::new_err("old_keys need a seal_key"));
        }
        return Ok(None);
    };
    let current = zeroize::Zeroizing::new(as_key(current, "seal_key")?);
    let old = zeroize::Zeroizing::new(
        old_keys.into_iter().map(|k| as_key(k, "every old key")).collect::<PyResult<Vec<[u8; 32]>>>()?,
    );
    Ok(Some(KeyRing::new(&current, &old)))
}

/// A SQLite file (mode 0600, WAL), safe to share between processes: one refresh for all.
/// With `seal_key` (32 bytes), token sets are sealed at rest; `old_keys` still open rows sealed
/// with earlier keys (rotation).
#[pyclass(extends = PyTokenStore, frozen, module = "scopegate._native", name = "SqliteStore")]
pub(crate) struct PySqliteStore {
    path: PathBuf,
}

#[pymethods]
impl PySqliteStore {
    #[new]
    #[pyo3(signature = (path, *, seal_key = None, old_keys = Vec::new()))]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        seal_key: Option<Vec<u8>>,
        old_keys: Vec<Vec<u8>>,
    ) -> PyResult<PyClassInitializer<PySqliteStore>> {
        let ring = key_ring(seal_key, old_keys)?;
        let sealed = ring.is_some();
        let p = path.clone();
        let store = detached(py, move || {
            let s = SqliteStore::open(&p).map_err(Failure::from)?;
            Ok(match ring {
                Some(r) => s.with_keys(r),
                None => s,
            })
        })?;
        let what = format!("SqliteStore({}{})", q(&path.display().to_string()), if sealed { ", sealed" } else { "" });
        Ok(PyClassInitializer::from(PyTokenStore::new(Arc::new(store), what)).add_subclass(PySqliteStore { path }))
    }

    /// The file.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }
}

/// A PostgreSQL database shared by every instance of a service on every machine: one refresh
/// per token across all of them (row locks), errors that name host and database (never the
/// password). `url` is `postgres://user:password@host/db?sslmode=require` or `host=... dbname=...`.
/// `seal_key` and `old_keys` as for `SqliteStore`.
#[pyclass(extends = PyTokenStore, frozen, module = "scopegate._native", name = "PostgresStore")]
pub(crate) struct PyPostgresStore {
    described: String,
}

#[pymethods]
impl PyPostgresStore {
    #[new]
    #[pyo3(signature = (url, *, seal_key = None, old_keys = Vec::new(), pool_size = 4, connect_timeout = 5.0))]
    fn new(
        py: Python<'_>,
        url: String,
        seal_key: Option<Vec<u8>>,
        old_keys: Vec<Vec<u8>>,
        pool_size: usize,
        connect_timeout: f64,
    ) -> PyResult<PyClassInitializer<PyPostgresStore>> {
        let url = zeroize::Zeroizing::new(url);
        let ring = key_ring(seal_key, old_keys)?;
        let sealed = ring.is_some();
        if pool_size == 0 {
            return Err(pyo3::exceptions::PyValueError::new_err("pool_size must be at least 1"));
        }
        let connect_timeout = std::time::Duration::try_from_secs_f64(connect_timeout).map_err(|_| {
            pyo3::exceptions::PyValueError::new_err("connect_timeout must be a positive number of seconds")
        })?;
        let options = PostgresOptions { pool_size, connect_timeout, ..PostgresOptions::default() };
        let store = detached(py, move || {
            let s = PostgresStore::connect_with(&url, options).map_err(Failure::from)?;
            Ok(match ring {
                Some(r) => s.with_keys(r),
                None => s,
            })
        })?;
        let described = store.describe().to_owned();
        let what = format!("PostgresStore({}{})", q(&described), if sealed { ", sealed" } else { "" });
        Ok(PyClassInitializer::from(PyTokenStore::new(Arc::new(store), what))
            .add_subclass(PyPostgresStore { described }))
    }

    /// `postgres://user@host:port/db`: the store without its password.
    #[getter]
    fn url(&self) -> String {
        self.described.clone()
    }
}

/// A client's view of a store: every write is followed by its `update_token` callback, inside
/// the gate.
struct Notifying {
    inner: Arc<dyn TokenStore>,
    gate: Arc<Gates>,
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
        let gate = self.gate.of(key);
        let _g = gate.enter();
        self.inner.load(key)
    }

    fn update(
        &self,
        key: &StoreKey,
        f: &mut dyn FnMut(Option<&TokenSet>) -> Result<Update, UpdateAbort>,
    ) -> Result<Option<TokenSet>, UpdateError> {
        let gate = self.gate.of(key);
        let _g = gate.enter();
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
