//! `scopegate._native`: the extension module behind the `scopegate` Python package
//! (`python/scopegate/__init__.py` re-exports it; `_native.pyi` types it).
//!
//! One concern per file: `provider` (profiles, permission checks), `tokens` (values handed
//! to Python), `store` (token stores and the `update_token` hook), `transport` (a Python
//! callable as the transport), `client` (the blocking client), `session` (the sans-IO
//! state machine), `device` (what a device login shows the user), `keys` (the client's
//! private key), `log` (the library's log records into `logging`), `many` (batched permission
//! checks), and `failure`, the one conversion point from
//! scopegate's errors to Python exceptions.
//!
//! ## Threads, the GIL and free-threaded Python (`gil_used = false`)
//!
//! Audit, for the free-threaded build (no GIL) and the default one alike:
//!
//! - Every class is `frozen` (no pyo3 borrow flag, `&self` only) except `Session`, whose
//!   `&mut self` methods pyo3 guards with its borrow checker (a second thread gets
//!   `RuntimeError: Already borrowed`, never a data race). Shared state behind `&self` is Rust's
//!   own: `Arc<Client>` (which is `Sync`), `Mutex`es.
//! - No Rust lock is ever waited for while attached to the interpreter: network I/O, token
//!   store waits (the stores' locks and the `update_token` gate), the pending authorization's
//!   lock and the loopback wait all run inside `Python::detach`
//!   (`failure::detached`). Code that holds such a lock and calls back into Python (the
//!   transport callable, `update_token`, the clock) attaches; that cannot deadlock, since no
//!   thread holds the interpreter while waiting for the lock.
//! - The one `unsafe` block (`text`) reads a `str`'s cached UTF-8 buffer; CPython fills that
//!   cache under its own per-object lock on the free-threaded build, and the bytes are
//!   immutable once made.
//! - Python exceptions raised by user callables wait in a thread-local slot until the call
//!   that ran them returns, on the same thread.

mod client;
mod device;
mod failure;
mod fastcall;
mod keys;
mod log;
mod many;
mod provider;
mod session;
mod store;
mod text;
mod tokens;
mod transport;

use pyo3::prelude::*;

/// The extension module.
#[pymodule(gil_used = false)]
mod _native {
    use pyo3::prelude::*;

    #[pymodule_export]
    use crate::client::PyClient;
    #[pymodule_export]
    use crate::device::PyUserCode;
    #[pymodule_export]
    use crate::failure::error_kinds;
    #[pymodule_export]
    use crate::log::set_log_handler;
    #[pymodule_export]
    use crate::provider::{PyDecision, PyPolicy, PyProvider};
    #[pymodule_export]
    use crate::session::{PyEvent, PyRequest, PySession};
    #[pymodule_export]
    use crate::store::{PyMemoryStore, PyPostgresStore, PySqliteStore, PyTokenStore, default_store_path, open_store};
    #[pymodule_export]
    use crate::tokens::{PyAuthorizationRequest, PyResponse, PyTokenSet};

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        m.add("DEFAULT_ACCOUNT", scopegate_core::DEFAULT_ACCOUNT)?;
        crate::fastcall::install(&m.py().get_type::<crate::provider::PyPolicy>());
        Ok(())
    }
}
