//! The one conversion point from scopegate's errors to Python exceptions ([`Failure`] into
//! [`PyErr`]), and the side slot where a Python exception raised inside Rust code (by a
//! transport callable, an `update_token` callback or a clock) waits to be re-raised unchanged.
//!
//! The exception classes live in `scopegate/errors.py` (so that they can inherit from
//! `ValueError` where that helps, and carry typed attributes); this module picks the class from
//! the core's [`ErrorKind`] and fills in `.kind`, `.blame` and the class's own attributes.

use std::cell::RefCell;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule};
use scopegate::embed::ErrorReport;
use scopegate_core::{Blame, CallbackError, Error, ErrorKind, ReauthorizationReason, RejectReason};

/// Anything that can go wrong in a call from Python.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The core's one error surface.
    Core(Error),
    /// Input the bindings reject themselves (an unknown right id): a `ConfigError`.
    Config(String),
    /// A Python exception: raised as it is.
    Py(PyErr),
}

pub(crate) type Result<T, E = Failure> = std::result::Result<T, E>;

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Core(e)
    }
}

impl From<PyErr> for Failure {
    fn from(e: PyErr) -> Self {
        Failure::Py(e)
    }
}

impl From<scopegate_core::ProfileError> for Failure {
    fn from(e: scopegate_core::ProfileError) -> Self {
        Failure::Core(e.into())
    }
}

impl From<scopegate_core::StoreError> for Failure {
    fn from(e: scopegate_core::StoreError) -> Self {
        Failure::Core(e.into())
    }
}

impl From<scopegate_core::SerialError> for Failure {
    fn from(e: scopegate_core::SerialError) -> Self {
        Failure::Core(e.into())
    }
}

impl From<scopegate_core::UsageError> for Failure {
    fn from(e: scopegate_core::UsageError) -> Self {
        Failure::Core(e.into())
    }
}

impl From<scopegate_core::matrix::UnknownRight> for Failure {
    fn from(e: scopegate_core::matrix::UnknownRight) -> Self {
        Failure::Config(e.to_string())
    }
}

/// What an exception is made of: its class (in `scopegate.errors`) and its arguments.
struct Exception {
    class: &'static str,
    message: String,
    kind: ErrorKind,
    blame: Blame,
    extra: Vec<(&'static str, Extra)>,
}

enum Extra {
    Str(String),
    OptStr(Option<String>),
    OptInt(Option<u16>),
    List(Vec<String>),
    /// A token set (secrets inside: only `NotSavedError.tokens`, the renewed set, carries one).
    /// Its versioned JSON, read back by `TokenSet.loads` (wiped on drop).
    Tokens(zeroize::Zeroizing<String>),
}

impl Exception {
    fn new(class: &'static str, message: String, kind: ErrorKind, blame: Blame) -> Exception {
        Exception { class, message, kind, blame, extra: Vec::new() }
    }

    fn with(mut self, name: &'static str, value: Extra) -> Exception {
        self.extra.push((name, value));
        self
    }
}

/// `DotSegment` → `dot_segment`: the stable name of a [`RejectReason`] in Python.
pub(crate) fn reject_name(r: RejectReason) -> String {
    let mut out = String::new();
    for (i, c) in format!("{r:?}").chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The class of a core error, by its kind (the table the Python docs describe).
fn core_exception(e: &Error) -> Exception {
    // The one error report every surface is made of; the class and its attributes are Python's.
    let r = ErrorReport::from(e);
    let kind = r.kind;
    let ex = |class| Exception::new(class, r.message.clone(), kind, r.blame);
    let oauth = |x: Exception| match e.oauth() {
        Some(_) => x
            .with("error", Extra::OptStr(r.oauth_error.clone()))
            .with("description", Extra::OptStr(r.oauth_description.clone()))
            .with("status", Extra::OptInt(r.http_status)),
        None => x.with("status", Extra::OptInt(r.http_status)),
    };
    match kind {
        ErrorKind::Usage | ErrorKind::Busy => ex("UsageError"),
        ErrorKind::Config | ErrorKind::Profile => ex("ConfigError"),
        ErrorKind::Serialization => ex("SerializationError"),
        ErrorKind::Callback => match e {
            Error::Callback(CallbackError::StateMismatch | CallbackError::MissingState) => ex("StateMismatch"),
            _ => ex("CallbackError"),
        },
        ErrorKind::AuthorizationDenied => {
            let (code, description) = e
                .authorization_error()
                .map_or(("access_denied".to_owned(), None), |a| (a.code.as_str().to_owned(), a.description.clone()));
            ex("AuthorizationDenied").with("error", Extra::Str(code)).with("description", Extra::OptStr(description))
        }
        ErrorKind::NotAuthorized => ex("NotAuthorized"),
        ErrorKind::ReauthorizationRequired => {
            let reason = e.reauthorization_reason();
            let class = match reason {
                Some(ReauthorizationReason::RepeatedUnauthorized { .. }) => "ReinstallRequired",
                _ => "ReauthorizationRequired",
            };
            let name = reason.map_or("invalid_grant", |r| r.name());
            ex(class).with("reason", Extra::Str(name.to_owned()))
        }
        ErrorKind::TokenRefused => oauth(ex("TokenEndpointError")),
        ErrorKind::Protocol => oauth(ex("ProtocolError")),
        ErrorKind::RevocationRefused => oauth(ex("RevocationError")),
        ErrorKind::Transport => ex("TransportError"),
        ErrorKind::PermissionDenied => match e {
            Error::PermissionDenied { path, would_allow, .. } => {
                let needs = would_allow.split(", ").filter(|s| !s.is_empty() && *s != "none").map(str::to_owned);
                ex("PermissionDenied")
                    .with("needs", Extra::List(needs.collect()))
                    .with("endpoint", Extra::OptStr(Some(path.clone())))
            }
            _ => ex("PermissionDenied"),
        },
        ErrorKind::PathRejected => match e {
            Error::PathRejected(r) => ex("PathRejected").with("reason", Extra::Str(reject_name(*r))),
            _ => ex("PathRejected"),
        },
        ErrorKind::UnknownEndpoint => ex("UnknownEndpoint"),
        ErrorKind::OriginRefused => ex("OriginRefused"),
        ErrorKind::IdentityMismatch => ex("IdentityMismatch"),
        ErrorKind::Store => ex("StoreError"),
        ErrorKind::NotSaved => match r.tokens_json.clone() {
            Some(t) => ex("NotSavedError").with("tokens", Extra::Tokens(t)),
            None => ex("StoreError"),
        },
        ErrorKind::TokenExpired => ex("TokenExpired"),
        ErrorKind::Listen | ErrorKind::LoginTimeout => ex("LoginError"),
        ErrorKind::AuthorizationExpired => ex("AuthorizationExpired"),
        _ => ex("Error"),
    }
}

fn exception(f: &Failure) -> Exception {
    match f {
        Failure::Core(e) => core_exception(e),
        Failure::Config(message) => Exception::new("ConfigError", message.clone(), ErrorKind::Config, Blame::Local),
        Failure::Py(_) => unreachable_py(),
    }
}

fn unreachable_py() -> Exception {
    // `Failure::Py` is raised as it is, before `exception` is asked.
    Exception::new("Error", "internal: no exception".into(), ErrorKind::Usage, Blame::Local)
}

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn build(py: Python<'_>, x: Exception) -> PyResult<PyErr> {
    let module = ERRORS.get_or_try_init(py, || py.import("scopegate.errors").map(Bound::unbind))?.bind(py);
    let class = module.getattr(x.class)?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("kind", x.kind.code())?;
    kwargs.set_item("blame", x.blame.as_str())?;
    for (name, value) in x.extra {
        match value {
            Extra::Str(s) => kwargs.set_item(name, s)?,
            Extra::OptStr(s) => kwargs.set_item(name, s)?,
            Extra::OptInt(n) => kwargs.set_item(name, n)?,
            Extra::List(v) => kwargs.set_item(name, v)?,
            Extra::Tokens(json) => {
                // The TokenSet class of the extension, without this module depending on it.
                let token_set = py.import("scopegate._native")?.getattr("TokenSet")?;
                kwargs.set_item(name, token_set.call_method1("loads", (json.as_str(),))?)?
            }
        }
    }
    Ok(PyErr::from_value(class.call((x.message,), Some(&kwargs))?))
}

impl From<Failure> for PyErr {
    /// The conversion point.
    fn from(f: Failure) -> PyErr {
        if let Failure::Py(e) = f {
            return e;
        }
        let x = exception(&f);
        Python::attach(|py| {
            build(py, x)
                .unwrap_or_else(|e| PyRuntimeError::new_err(format!("scopegate: cannot raise its exception: {e}")))
        })
    }
}

thread_local! {
    /// A Python exception raised by a user callable while this thread ran Rust code.
    static PENDING: RefCell<Option<PyErr>> = const { RefCell::new(None) };
}

/// Keeps `e` to be raised when the Rust call returns (the first one wins).
pub(crate) fn keep_aside(e: PyErr) {
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        if p.is_none() {
            *p = Some(e);
        }
    });
}

/// Runs `f` detached from the interpreter (network I/O, store waits, the loopback wait), then
/// raises what a Python callable raised meanwhile, unchanged, or converts `f`'s error.
pub(crate) fn detached<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    F: Send + FnOnce() -> Result<T>,
    T: Send,
{
    // A call made from inside a callback (an `update_token` that reads the client's token) keeps
    // the outer call's exception for the outer call.
    let outer = PENDING.with(|p| p.borrow_mut().take());
    let result = py.detach(f);
    let raised = PENDING.with(|p| std::mem::replace(&mut *p.borrow_mut(), outer));
    if let Some(e) = raised {
        return Err(e);
    }
    result.map_err(PyErr::from)
}

/// The error table (`scopegate_core::ErrorKind`): every kind as `(code, name, default blame)`.
/// `scopegate.errors` builds its `ErrorKind` and blame sets from it at import.
#[pyfunction]
pub(crate) fn error_kinds() -> Vec<(u32, &'static str, &'static str)> {
    ErrorKind::ALL.iter().map(|k| (k.code(), k.name(), k.default_blame().as_str())).collect()
}
