//! The sandbox's failures as scopegate's own exceptions (`scopegate.errors`, from the scopegate
//! package this one always comes with), with the core's error kinds: the same classes the
//! sandbox raised when it lived in `scopegate._native`.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use scopegate_core::{Blame, ErrorKind};
use scopegate_sandbox::SandboxError;

/// Anything that can go wrong in a call from Python.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The sandbox's own API.
    Sandbox(SandboxError),
    /// Input the module rejects itself (an unknown consent mode or fault): a `ConfigError`.
    Config(String),
    /// A Python exception: raised as it is.
    Py(PyErr),
}

impl From<SandboxError> for Failure {
    fn from(e: SandboxError) -> Self {
        Failure::Sandbox(e)
    }
}

impl From<PyErr> for Failure {
    fn from(e: PyErr) -> Self {
        Failure::Py(e)
    }
}

fn build(py: Python<'_>, class: &str, message: String, kind: ErrorKind, blame: Blame) -> PyResult<PyErr> {
    let class = py.import("scopegate.errors")?.getattr(class)?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("kind", kind.code())?;
    kwargs.set_item("blame", blame.as_str())?;
    Ok(PyErr::from_value(class.call((message,), Some(&kwargs))?))
}

impl From<Failure> for PyErr {
    /// The conversion point: the class from what failed, `.kind` and `.blame` from the core.
    fn from(f: Failure) -> PyErr {
        let (class, message, kind, blame) = match f {
            Failure::Py(e) => return e,
            Failure::Config(m) => ("ConfigError", m, ErrorKind::Config, Blame::Local),
            Failure::Sandbox(e) => {
                let (class, kind) = match e {
                    SandboxError::UnknownProvider(_) | SandboxError::Profile(_) => ("ConfigError", ErrorKind::Config),
                    SandboxError::Start { .. } => ("LoginError", ErrorKind::Listen),
                    _ => ("TransportError", ErrorKind::Transport),
                };
                (class, e.to_string(), kind, kind.default_blame())
            }
        };
        Python::attach(|py| {
            build(py, class, message, kind, blame)
                .unwrap_or_else(|e| PyRuntimeError::new_err(format!("scopegate: cannot raise its exception: {e}")))
        })
    }
}

/// Runs `f` detached from the interpreter (the sandbox's lock, its start and stop, HTTP).
pub(crate) fn detached<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    F: Send + FnOnce() -> Result<T, Failure>,
    T: Send,
{
    py.detach(f).map_err(PyErr::from)
}
