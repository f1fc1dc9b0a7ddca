//! `UserCode`: what the user is shown to approve a device login (RFC 8628 §3.3), handed to
//! `Client.device_login(on_code=...)` and carried by a `Session`'s `user_code` event.

use pyo3::prelude::*;
use scopegate_core::device::UserCode;

use crate::failure::keep_aside;
use crate::text::{q, qo};
use crate::tokens::seconds;

/// The code and where the user types it (no secret: the device code stays with the client).
#[pyclass(frozen, module = "scopegate._native", name = "UserCode")]
pub(crate) struct PyUserCode {
    inner: UserCode,
}

impl PyUserCode {
    pub(crate) fn new(inner: UserCode) -> PyUserCode {
        PyUserCode { inner }
    }
}

#[pymethods]
impl PyUserCode {
    /// The code the user types (or checks, with the complete URI).
    #[getter]
    fn user_code(&self) -> &str {
        &self.inner.user_code
    }

    /// Where the user goes.
    #[getter]
    fn verification_uri(&self) -> &str {
        self.inner.verification_uri.as_str()
    }

    /// The same with the code in it, when the server gives one (a link or QR code).
    #[getter]
    fn verification_uri_complete(&self) -> Option<&str> {
        self.inner.verification_uri_complete.as_ref().map(url::Url::as_str)
    }

    /// The URI to show: the complete one when there is one, else `verification_uri`.
    #[getter]
    fn uri(&self) -> &str {
        self.inner.uri().as_str()
    }

    /// When the codes stop working (seconds since the epoch).
    #[getter]
    fn expires_at(&self) -> f64 {
        seconds(self.inner.expires_at)
    }

    /// How often the token endpoint is polled meanwhile, in seconds.
    #[getter]
    fn interval(&self) -> u64 {
        self.inner.interval_secs
    }

    fn __repr__(&self) -> String {
        format!(
            "UserCode(user_code={}, verification_uri={}, verification_uri_complete={})",
            q(&self.inner.user_code),
            q(self.inner.verification_uri.as_str()),
            qo(self.inner.verification_uri_complete.as_ref().map(url::Url::as_str)),
        )
    }
}

/// Shows the code: to the caller's callable, or as lines on Python's stderr.
pub(crate) fn show_code(on_code: Option<&Py<PyAny>>, code: &UserCode) {
    Python::attach(|py| {
        let result = match on_code {
            Some(f) => f.call1(py, (PyUserCode::new(code.clone()),)).map(drop),
            None => py.import("sys").and_then(|sys| {
                let how = match &code.verification_uri_complete {
                    Some(_) => format!("and check that it shows the code {}", code.user_code),
                    None => format!("and enter the code {}", code.user_code),
                };
                let text = format!("to authorize this device, open:\n  {}\n{how}\n", code.uri());
                sys.getattr("stderr")?.call_method1("write", (text,)).map(drop)
            }),
        };
        if let Err(e) = result {
            keep_aside(e);
        }
    });
}
