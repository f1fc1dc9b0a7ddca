//! Values handed to Python: `TokenSet`, `AuthorizationRequest` and `Response`. Their reprs
//! never show a secret; `dumps()` is the explicit way out, for storage.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict};
use scopegate_core::secret::REDACTED;
use scopegate_core::{HttpResponse, PendingAuthorization, Timestamp, TokenSet};

use crate::failure::Failure;
use crate::text::{q, ql, qo};

/// Seconds since the epoch as Python gives them (`time.time()`).
pub(crate) fn timestamp(secs: f64) -> Timestamp {
    Timestamp::from_unix_secs(if secs.is_finite() && secs > 0.0 { secs as u64 } else { 0 })
}

/// A timestamp as Python's seconds since the epoch.
pub(crate) fn seconds(t: Timestamp) -> f64 {
    t.as_unix_secs() as f64
}

pub(crate) fn system_now() -> Timestamp {
    Timestamp::from_system_time(SystemTime::now())
}

/// The tokens of one connection, with the state that outlives a process.
#[pyclass(frozen, module = "scopegate._native", name = "TokenSet")]
pub(crate) struct PyTokenSet {
    pub(crate) inner: TokenSet,
}

impl PyTokenSet {
    pub(crate) fn new(inner: TokenSet) -> PyTokenSet {
        PyTokenSet { inner }
    }
}

#[pymethods]
impl PyTokenSet {
    /// The access token (a secret: send it only where it belongs).
    #[getter]
    fn access_token(&self) -> &str {
        self.inner.access_token.expose_secret()
    }

    /// The refresh token, when the provider issued one (a secret).
    #[getter]
    fn refresh_token(&self) -> Option<&str> {
        self.inner.refresh_token.as_ref().map(|t| t.expose_secret())
    }

    /// `Bearer`, or `DPoP` for a DPoP-bound token (RFC 9449: sent only with a proof of the
    /// account's key, never as a Bearer token).
    #[getter]
    fn token_type(&self) -> &str {
        &self.inner.token_type
    }

    /// The RFC 7638 thumbprint of the account's DPoP key (the `jkt` the tokens are bound to),
    /// when they are DPoP-bound. The key itself is a secret: only `dumps()` holds it.
    #[getter]
    fn dpop_thumbprint(&self) -> Option<&str> {
        self.inner.dpop_key.as_ref().map(|k| k.thumbprint())
    }

    /// The provider's id.
    #[getter]
    fn provider_id(&self) -> &str {
        &self.inner.provider_id
    }

    /// `user` (authorization code) or `app` (client credentials).
    #[getter]
    fn identity(&self) -> &'static str {
        self.inner.identity.as_str()
    }

    /// The granted scopes.
    #[getter]
    fn scopes(&self) -> Vec<String> {
        self.inner.scopes.clone()
    }

    /// When the token request was sent (seconds since the epoch).
    #[getter]
    fn issued_at(&self) -> f64 {
        seconds(self.inner.issued_at)
    }

    /// When the access token expires (seconds since the epoch); `None`: never by time.
    #[getter]
    fn expires_at(&self) -> Option<f64> {
        self.inner.expires_at.map(seconds)
    }

    /// When the refresh token expires, when known.
    #[getter]
    fn refresh_expires_at(&self) -> Option<f64> {
        self.inner.refresh_expires_at.map(seconds)
    }

    /// Callback parameters the profile keeps (Yotpo: `app_key`).
    #[getter]
    fn params(&self) -> BTreeMap<String, String> {
        self.inner.params.clone()
    }

    /// Why the grant is dead (`invalid_grant`...), when it is: only a new authorization helps.
    #[getter]
    fn invalidated(&self) -> Option<&'static str> {
        self.inner.invalidated.map(|r| r.name())
    }

    /// Whether the access token has expired at `now` (default: the system clock).
    #[pyo3(signature = (now = None))]
    fn is_expired(&self, now: Option<f64>) -> bool {
        self.inner.is_expired(now.map_or_else(system_now, timestamp))
    }

    /// The versioned JSON every store and binding keeps. **It contains the tokens.**
    fn dumps(&self) -> String {
        self.inner.to_json()
    }

    /// Reads what `dumps` wrote.
    #[staticmethod]
    fn loads(text: Cow<'_, str>) -> PyResult<PyTokenSet> {
        Ok(PyTokenSet::new(TokenSet::from_json(&text).map_err(Failure::from)?))
    }

    fn __eq__(&self, other: PyRef<'_, PyTokenSet>) -> bool {
        self.inner == other.inner
    }

    fn __repr__(&self) -> String {
        let t = &self.inner;
        format!(
            "TokenSet(provider_id={}, identity={}, access_token={}, refresh_token={}, scopes={}, expires_at={})",
            q(&t.provider_id),
            q(t.identity.as_str()),
            q(REDACTED),
            qo(t.refresh_token.as_ref().map(|_| REDACTED)),
            ql(&t.scopes),
            t.expires_at.map_or("None".into(), |e| e.as_unix_secs().to_string()),
        )
    }
}

/// An authorization in progress: the URL for the user's browser, and what the callback is
/// checked against (`state`, the PKCE verifier), single use.
#[pyclass(frozen, module = "scopegate._native", name = "AuthorizationRequest")]
pub(crate) struct PyAuthorizationRequest {
    url: Option<String>,
    pub(crate) pending: Arc<Mutex<PendingAuthorization>>,
}

/// The lock of a pending authorization (poisoning ignored: the value stays consistent).
pub(crate) fn lock(p: &Mutex<PendingAuthorization>) -> MutexGuard<'_, PendingAuthorization> {
    p.lock().unwrap_or_else(|e| e.into_inner())
}

impl PyAuthorizationRequest {
    pub(crate) fn new(url: Option<String>, pending: PendingAuthorization) -> PyAuthorizationRequest {
        PyAuthorizationRequest { url, pending: Arc::new(Mutex::new(pending)) }
    }

    /// Reads the pending authorization. Its lock is taken detached from the interpreter: a
    /// `fetch_token` in another thread may hold it across the code exchange.
    fn read<T: Send>(&self, py: Python<'_>, f: impl Send + FnOnce(&PendingAuthorization) -> T) -> T {
        let pending = &self.pending;
        py.detach(move || f(&lock(pending)))
    }
}

#[pymethods]
impl PyAuthorizationRequest {
    /// The URL to send the user's browser to (`None` once read back by `loads`: it was sent).
    #[getter]
    fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// The `state` sent with the request (a secret: keep it server-side).
    #[getter]
    fn state(&self, py: Python<'_>) -> String {
        self.read(py, |p| p.state().expose_secret().to_owned())
    }

    /// The redirect URI the callback must arrive at.
    #[getter]
    fn redirect_uri(&self, py: Python<'_>) -> Option<String> {
        self.read(py, |p| p.redirect_uri().map(str::to_owned))
    }

    /// The provider's id.
    #[getter]
    fn provider_id(&self, py: Python<'_>) -> String {
        self.read(py, |p| p.provider_id().to_owned())
    }

    /// Until when the callback is accepted (seconds since the epoch).
    #[getter]
    fn expires_at(&self, py: Python<'_>) -> f64 {
        self.read(py, |p| seconds(p.expires_at()))
    }

    /// Whether a callback was accepted already.
    #[getter]
    fn used(&self, py: Python<'_>) -> bool {
        self.read(py, |p| p.is_used())
    }

    /// The versioned JSON of the core (for a web app's server-side session). **It contains the
    /// `state` and the PKCE verifier**: never put it in a URL or a client-side cookie.
    fn dumps(&self, py: Python<'_>) -> String {
        self.read(py, |p| p.to_json())
    }

    /// Reads what `dumps` wrote.
    #[staticmethod]
    fn loads(text: Cow<'_, str>) -> PyResult<PyAuthorizationRequest> {
        let pending = PendingAuthorization::from_json(&text).map_err(Failure::from)?;
        Ok(PyAuthorizationRequest::new(None, pending))
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        self.read(py, |p| {
            format!(
                "AuthorizationRequest(provider_id={}, redirect_uri={}, state={}, used={})",
                q(p.provider_id()),
                qo(p.redirect_uri()),
                q(REDACTED),
                if p.is_used() { "True" } else { "False" }
            )
        })
    }
}

/// An API answer.
#[pyclass(frozen, module = "scopegate._native", name = "Response")]
pub(crate) struct PyResponse {
    inner: HttpResponse,
}

impl PyResponse {
    pub(crate) fn new(inner: HttpResponse) -> PyResponse {
        PyResponse { inner }
    }
}

static JSON_LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

#[pymethods]
impl PyResponse {
    /// The HTTP status.
    #[getter]
    fn status(&self) -> u16 {
        self.inner.status()
    }

    /// Whether the status is 2xx.
    #[getter]
    fn ok(&self) -> bool {
        (200..300).contains(&self.inner.status())
    }

    /// The headers, names in lower case (the last of repeated ones).
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (n, v) in self.inner.headers() {
            d.set_item(n.to_ascii_lowercase(), v)?;
        }
        Ok(d)
    }

    /// The body.
    #[getter]
    fn content<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.body())
    }

    /// The body as text (UTF-8, undecodable bytes replaced).
    #[getter]
    fn text(&self) -> String {
        String::from_utf8_lossy(self.inner.body()).into_owned()
    }

    /// The body parsed as JSON (`json.loads`).
    fn json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let loads = JSON_LOADS.get_or_try_init(py, || py.import("json")?.getattr("loads").map(Bound::unbind))?;
        loads.bind(py).call1((PyBytes::new(py, self.inner.body()),))
    }

    fn __repr__(&self) -> String {
        format!("<Response [{}]>", self.inner.status())
    }
}
