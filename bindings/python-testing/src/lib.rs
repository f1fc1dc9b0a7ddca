//! `scopegate_testing._native`: the provider sandbox for Python tests, re-exported by
//! `scopegate.testing`. A module (and a wheel, `scopegate-testing`) of its own, so that the
//! `scopegate` wheel every user downloads carries no test server; profiles come back as
//! `scopegate.Provider` objects made by the scopegate package itself, and failures as its
//! exceptions.
//!
//! Threads: `Sandbox` is `frozen`; its state is the Rust sandbox behind a `Mutex`, only ever
//! waited for detached from the interpreter (`errors::detached`), and the sandbox runs no Python
//! code, so the module is safe without the GIL (`gil_used = false`), like `scopegate._native`.

mod errors;
mod sandbox;

use pyo3::prelude::*;

/// The extension module.
#[pymodule(gil_used = false)]
mod _native {
    use pyo3::prelude::*;

    #[pymodule_export]
    use crate::sandbox::{PySandbox, connect_sandbox};

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        m.add("SANDBOX_CLIENT_ID", scopegate_sandbox::SANDBOX_CLIENT_ID)?;
        m.add("SANDBOX_CLIENT_SECRET", scopegate_sandbox::SANDBOX_CLIENT_SECRET)?;
        Ok(())
    }
}
