//! Token stores (`MemoryStore`, `SqliteStore`, `PostgresStore`): thin handles on the I/O
//! crate's stores. A client calls its `update_token` through the Client's token-change hook
//! (the same one C uses); nothing about tokens is decided here.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use scopegate::{Client, KeyRing, MemoryStore, PostgresOptions, PostgresStore, SqliteStore, StoreKey, TokenStore};
use scopegate_core::DEFAULT_ACCOUNT;

use crate::failure::{Failure, detached};
use crate::text::q;
use crate::tokens::PyTokenSet;

/// Base class of the token stores.
#[pyclass(subclass, frozen, module = "scopegate._native", name = "TokenStore")]
pub(crate) struct PyTokenStore {
    pub(crate) inner: Arc<dyn TokenStore>,
    what: String,
}

impl PyTokenStore {
    fn new(inner: Arc<dyn TokenStore>, what: String) -> PyTokenStore {
        PyTokenStore { inner, what }
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
        let inner = Arc::clone(&self.inner);
        let found = detached(py, move || inner.load(&key).map_err(Failure::from))?;
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
        let inner = Arc::clone(&self.inner);
        detached(py, move || {
            inner.save(&key, &tokens).map_err(Failure::from)?;
            // Clients of this store in this process read it again at their next call.
            Client::store_written(&inner, &key);
            Ok(())
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
        let inner = Arc::clone(&self.inner);
        detached(py, move || {
            let existed = inner.delete(&key).map_err(Failure::from)?;
            Client::store_written(&inner, &key);
            Ok(existed)
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

/// The default token store file of the command lines (`scopegate/tokens.db` in the user's data
/// directory): the same for `scopegate` and `python -m scopegate`.
#[pyfunction]
pub(crate) fn default_store_path() -> PyResult<PathBuf> {
    Ok(scopegate::embed::default_store_path().map_err(Failure::from)?)
}

/// The token store a spec names, as the command line opens it: a `postgres://` connection
/// string, else the path of a SQLite file (created 0600); sealed with `$SCOPEGATE_STORE_KEY`
/// when it is set.
#[pyfunction]
pub(crate) fn open_store(py: Python<'_>, spec: String) -> PyResult<Py<PyTokenStore>> {
    let shown = if scopegate::embed::is_postgres(&spec) { "a PostgreSQL store".to_owned() } else { q(&spec) };
    let store = detached(py, move || {
        scopegate::embed::open_store(Some(&spec), scopegate::embed::StoreKeys::FromEnv).map_err(Failure::from)
    })?;
    Py::new(py, PyTokenStore::new(store, format!("TokenStore({shown})")))
}
