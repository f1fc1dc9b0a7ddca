//! `Session`: the core's sans-IO state machine, for callers that bring their own I/O (asyncio
//! with httpx, say). No sockets, no clock: every call that depends on time takes `now`
//! (seconds since the epoch, `time.time()`), requests come out of `poll_transmit` as values,
//! answers go back through `handle_response`. See `examples/python/async_httpx.py`.

use std::borrow::Cow;
use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use scopegate::embed::{CallerFailure, caller_failure};
use scopegate_core::{
    ApiRequestId, ClientConfig, Event, HttpRequest, HttpResponse, Method, NextStep, RequestId, Revoked, Session,
};

use crate::client::{json_bytes, provider_arg};
use crate::device::PyUserCode;
use crate::failure::Failure;
use crate::keys::client_key_arg;
use crate::text::q;
use crate::tokens::{PyAuthorizationRequest, PyTokenSet, lock, seconds, timestamp};
use crate::transport::{HeaderError, with_headers};

/// A request to send, exactly as it is (never follow a redirect). Its repr hides the
/// credentials it may carry; `headers` and `body` expose them, for the transport.
#[pyclass(frozen, module = "scopegate._native", name = "Request")]
pub(crate) struct PyRequest {
    id: Id,
    request: HttpRequest,
}

#[derive(Clone, Copy)]
enum Id {
    Token(RequestId),
    Api(ApiRequestId),
}

#[pymethods]
impl PyRequest {
    /// `GET`, `POST`...
    #[getter]
    fn method(&self) -> &'static str {
        self.request.method().as_str()
    }

    /// The URL.
    #[getter]
    fn url(&self) -> &str {
        self.request.url().as_str()
    }

    /// The headers to send (values exposed: `Authorization` included).
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (n, v) in self.request.headers() {
            d.set_item(n, v)?;
        }
        Ok(d)
    }

    /// The body to send (may contain credentials).
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.request.body())
    }

    /// Stop reading the answer past this many bytes.
    #[getter]
    fn max_response_bytes(&self) -> usize {
        self.request.max_response_bytes()
    }

    /// Whether this is an API call (answer with `handle_api_response`) rather than a token or
    /// revocation request (answer with `handle_response`).
    #[getter]
    fn is_api(&self) -> bool {
        matches!(self.id, Id::Api(_))
    }

    fn __repr__(&self) -> String {
        format!("Request({}, {})", q(self.request.method().as_str()), q(&shown_url(&self.request)))
    }
}

/// The URL without its query (which holds credentials only for `query_unsafe` profiles).
fn shown_url(r: &HttpRequest) -> String {
    let mut u = r.url().clone();
    u.set_query(None);
    u.to_string()
}

/// What happened in a session (`poll_event`).
#[pyclass(frozen, module = "scopegate._native", name = "Event")]
pub(crate) struct PyEvent {
    /// `tokens_changed` (persist `session.tokens` before using them),
    /// `reauthorization_required`, `revoked`, `scopes_narrowed`, `user_code` (a device
    /// authorization: show `user_code`), `authorization_ready` (a pushed authorization: send the
    /// browser to `url`) or `failed`.
    #[pyo3(get)]
    kind: &'static str,
    /// Why re-authorization is required (`invalid_grant`...), or how a revocation ended
    /// (`revoked`, `already_gone`).
    #[pyo3(get)]
    reason: Option<&'static str>,
    /// The exception of a `failed` event (a `scopegate.Error`).
    #[pyo3(get)]
    error: Option<Py<PyAny>>,
    /// For `scopes_narrowed`: what was asked for.
    #[pyo3(get)]
    requested: Vec<String>,
    /// For `scopes_narrowed`: what was granted.
    #[pyo3(get)]
    granted: Vec<String>,
    /// For `authorization_ready`: the URL for the user's browser (a pushed request: only
    /// `client_id` and `request_uri`).
    #[pyo3(get)]
    url: Option<String>,
    /// For `user_code`: what to show the user of a device authorization.
    #[pyo3(get)]
    user_code: Option<Py<PyUserCode>>,
}

#[pymethods]
impl PyEvent {
    fn __repr__(&self) -> String {
        match self.reason {
            Some(r) => format!("Event({}, reason={})", q(self.kind), q(r)),
            None => format!("Event({})", q(self.kind)),
        }
    }
}

fn event(py: Python<'_>, e: Event) -> PyResult<PyEvent> {
    let mut out = PyEvent {
        kind: "failed",
        reason: None,
        error: None,
        requested: Vec::new(),
        granted: Vec::new(),
        url: None,
        user_code: None,
    };
    match e {
        Event::TokensChanged => out.kind = "tokens_changed",
        Event::ReauthorizationRequired(r) => {
            out.kind = "reauthorization_required";
            out.reason = Some(r.name());
        }
        Event::Revoked(r) => {
            out.kind = "revoked";
            out.reason = Some(if r == Revoked::AlreadyGone { "already_gone" } else { "revoked" });
        }
        Event::ScopesNarrowed { requested, granted } => {
            out.kind = "scopes_narrowed";
            out.requested = requested;
            out.granted = granted;
        }
        Event::Failed(e) => {
            out.error = Some(PyErr::from(Failure::Core(e)).into_value(py).into_any());
        }
        Event::AuthorizationReady { url, .. } => {
            out.kind = "authorization_ready";
            out.url = Some(url);
        }
        Event::UserCode(code) => {
            out.kind = "user_code";
            out.user_code = Some(Py::new(py, PyUserCode::new(code))?);
        }
        _ => out.kind = "unknown",
    }
    Ok(out)
}

/// The state machine of one connection (provider, app registration, account, tokens).
#[pyclass(module = "scopegate._native", name = "Session")]
pub(crate) struct PySession {
    inner: Session,
}

fn map<T>(r: Result<T, scopegate_core::Error>) -> PyResult<T> {
    r.map_err(|e| Failure::Core(e).into())
}

#[pymethods]
impl PySession {
    #[new]
    #[pyo3(signature = (provider, client_id, client_secret = None, redirect_uri = None, account = None, *, rights = None, leeway = None, client_key = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        provider: Bound<'_, PyAny>,
        client_id: String,
        client_secret: Option<String>,
        redirect_uri: Option<String>,
        account: Option<String>,
        rights: Option<Vec<String>>,
        leeway: Option<u64>,
        client_key: Option<Bound<'_, PyAny>>,
    ) -> PyResult<PySession> {
        let provider = provider_arg(py, &provider)?;
        let p = Arc::clone(&provider.get().inner);
        let mut config = ClientConfig::new(client_id).map_err(Failure::from)?;
        if let Some(secret) = client_secret {
            config = config.with_secret(secret);
        }
        if let Some(key) = client_key_arg(client_key)? {
            config = config.with_client_key(key);
        }
        if let Some(uri) = redirect_uri {
            config = config.with_redirect_uri(uri).map_err(Failure::from)?;
        }
        let mut s = Session::new(Arc::clone(&p), config);
        if let Some(a) = account {
            s = s.with_account(a);
        }
        if let Some(ids) = rights {
            s = s.with_rights(p.rights_from_ids(&ids).map_err(Failure::from)?);
        }
        if let Some(l) = leeway {
            s = s.with_refresh_margin(l);
        }
        Ok(PySession { inner: s })
    }

    /// The account the held tokens belong to.
    #[getter]
    fn account(&self) -> &str {
        self.inner.account()
    }

    /// The token set held (persist it on every `tokens_changed`), or `None`.
    #[getter]
    fn tokens(&self) -> Option<PyTokenSet> {
        self.inner.tokens().cloned().map(PyTokenSet::new)
    }

    /// Replaces the held token set (one read from storage; `None` forgets it).
    fn set_tokens(&mut self, tokens: Option<PyRef<'_, PyTokenSet>>) -> PyResult<()> {
        map(self.inner.set_tokens(tokens.map(|t| t.inner.clone())))
    }

    /// Whether an operation is in flight.
    #[getter]
    fn is_busy(&self) -> bool {
        self.inner.is_busy()
    }

    /// Whether `refresh` should be called before the next API request.
    fn needs_refresh(&self, now: f64) -> bool {
        self.inner.needs_refresh(timestamp(now))
    }

    /// Starts an authorization: the URL for the browser and what the callback is checked against.
    /// For a profile that pushes its requests (PAR) the request's `url` is `None`: the push is
    /// the operation in flight, and the `authorization_ready` event carries the URL.
    fn start_authorization(&mut self, now: f64) -> PyResult<PyAuthorizationRequest> {
        let start = map(self.inner.start_authorization(timestamp(now)))?;
        let url = Some(start.url).filter(|u| !u.is_empty());
        Ok(PyAuthorizationRequest::new(url, start.pending))
    }

    /// The browser URL of the authorization pushed last, while its `request_uri` lives
    /// (`AuthorizationExpired` after).
    fn authorization_url(&self, now: f64) -> PyResult<String> {
        map(self.inner.authorization_url(timestamp(now)))
    }

    /// Starts the device authorization grant (RFC 8628): send what `poll_transmit` gives; the
    /// `user_code` event says what to show the user, and the session polls through its timer
    /// until `tokens_changed` (or `failed`). `scopes`: `None` asks for the profile's.
    #[pyo3(signature = (now, scopes = None))]
    fn start_device_authorization(&mut self, now: f64, scopes: Option<Vec<String>>) -> PyResult<()> {
        map(self.inner.start_device_authorization(timestamp(now), scopes.as_deref()))
    }

    /// Checks the callback URL against `request` and starts the code exchange.
    fn handle_callback(
        &mut self,
        py: Python<'_>,
        now: f64,
        request: PyRef<'_, PyAuthorizationRequest>,
        callback_url: Cow<'_, str>,
    ) -> PyResult<()> {
        let (pending, session) = (Arc::clone(&request.pending), &mut self.inner);
        drop(request);
        let callback = callback_url.into_owned();
        // The lock is waited for detached: a `fetch_token` elsewhere may hold it.
        map(py.detach(move || session.handle_callback(timestamp(now), &mut lock(&pending), &callback)))
    }

    /// Starts the client credentials grant (a token for the app itself). `now` is taken like
    /// every session call's; this one needs none.
    #[pyo3(signature = (now, scopes = None))]
    fn client_credentials(&mut self, now: f64, scopes: Option<Vec<String>>) -> PyResult<()> {
        let _ = now;
        map(self.inner.client_credentials(&scopes.unwrap_or_default()))
    }

    /// Starts a refresh now.
    fn refresh(&mut self, now: f64) -> PyResult<()> {
        map(self.inner.refresh(timestamp(now)))
    }

    /// Starts the revocation (or uninstall) of the held token.
    fn revoke(&mut self, now: f64) -> PyResult<()> {
        map(self.inner.revoke(timestamp(now)))
    }

    /// The next token-endpoint or revocation request to send, or `None`.
    fn poll_transmit(&mut self, now: f64) -> Option<PyRequest> {
        self.inner.poll_transmit(timestamp(now)).map(|(id, request)| PyRequest { id: Id::Token(id), request })
    }

    /// The answer to `request` (whatever its status). `headers`: a mapping or `(name, value)`
    /// pairs of `str` or `bytes` (bytes that are not UTF-8 are read as Latin-1, never refused).
    #[pyo3(signature = (now, request, status, headers = None, body = None))]
    fn handle_response(
        &mut self,
        now: f64,
        request: PyRef<'_, PyRequest>,
        status: u16,
        headers: Option<Bound<'_, PyAny>>,
        body: Option<Vec<u8>>,
    ) -> PyResult<()> {
        let Id::Token(id) = request.id else {
            return Err(PyTypeError::new_err("an API request's answer goes to handle_api_response"));
        };
        let response = answer(status, headers, body)?;
        map(self.inner.handle_response(timestamp(now), id, response))
    }

    /// `request` could not be completed; `may_have_been_sent=False` only when nothing of it was
    /// written (DNS, connection refused, a failed TLS handshake): then it is tried again. A TLS
    /// or network error after it was written may have let it arrive: leave the default.
    #[pyo3(signature = (now, request, message, may_have_been_sent = true))]
    fn handle_transport_error(
        &mut self,
        now: f64,
        request: PyRef<'_, PyRequest>,
        message: String,
        may_have_been_sent: bool,
    ) -> PyResult<()> {
        let Id::Token(id) = request.id else {
            return Err(PyTypeError::new_err("an API request's failure is yours to report"));
        };
        let host = request.request.url().host_str().unwrap_or("");
        let kind = if may_have_been_sent { CallerFailure::Io } else { CallerFailure::Connect };
        // The caller's text, cleaned as every surface cleans it.
        let error = caller_failure(kind, host, &message, request.request.max_response_bytes());
        map(self.inner.handle_transport_error(timestamp(now), id, error))
    }

    /// When `handle_timeout` must be called next (seconds since the epoch), or `None`.
    fn poll_timeout(&self) -> Option<f64> {
        self.inner.poll_timeout().map(seconds)
    }

    /// Runs what is due at `now` (a back-off ends, a refresh is due).
    fn handle_timeout(&mut self, now: f64) {
        self.inner.handle_timeout(timestamp(now));
    }

    /// The next event, or `None`.
    fn poll_event(&mut self, py: Python<'_>) -> PyResult<Option<PyEvent>> {
        self.inner.poll_event().map(|e| event(py, e)).transpose()
    }

    /// An API call with the held token as a bearer token, or an exception before any I/O (URL
    /// outside the API, rights, no usable token: `TokenExpired` means refresh first).
    #[pyo3(signature = (now, method, path, json = None))]
    fn api_request(
        &mut self,
        py: Python<'_>,
        now: f64,
        method: Cow<'_, str>,
        path: Cow<'_, str>,
        json: Option<Bound<'_, PyAny>>,
    ) -> PyResult<PyRequest> {
        let m = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .ok_or_else(|| Failure::Config("unknown http method".into()))?;
        let body = match json {
            Some(v) if !v.is_none() => Some(json_bytes(py, &v)?),
            _ => None,
        };
        let (id, request) = map(self.inner.api_request(timestamp(now), m, &path, body.as_deref()))?;
        Ok(PyRequest { id: Id::Api(id), request })
    }

    /// An API answer: `done`, `refresh_and_retry`, `retry`, `reauthorize`, or
    /// `retry_with_nonce` (a DPoP-bound token's resource asked for its nonce: build the request
    /// again with `api_request` and send it, once). Pass the answer's `headers` (and `body`) so
    /// that DPoP nonces are learned; with the status alone, a nonce challenge counts as a 401.
    #[pyo3(signature = (now, request, status, headers = None, body = None))]
    fn handle_api_response(
        &mut self,
        now: f64,
        request: PyRef<'_, PyRequest>,
        status: u16,
        headers: Option<Bound<'_, PyAny>>,
        body: Option<Vec<u8>>,
    ) -> PyResult<&'static str> {
        let Id::Api(id) = request.id else {
            return Err(PyTypeError::new_err("a token request's answer goes to handle_response"));
        };
        let _ = now; // taken like every session call's; the answer needs no time
        let step = if headers.as_ref().is_some_and(|h| !h.is_none()) {
            let response = answer(status, headers, body)?;
            self.inner.handle_api_answer(id, &request.request, &response)
        } else {
            self.inner.handle_api_response(id, status)
        };
        Ok(match step {
            NextStep::Done => "done",
            NextStep::RefreshAndRetry => "refresh_and_retry",
            NextStep::Retry => "retry",
            NextStep::Reauthorize(_) => "reauthorize",
            NextStep::RetryWithNonce => "retry_with_nonce",
            _ => "done",
        })
    }

    fn __repr__(&self) -> String {
        format!("Session(provider={}, account={})", q(self.inner.provider().id()), q(self.inner.account()))
    }
}

/// An answer as Python hands it in: status, optional headers (a mapping or `(name, value)`
/// pairs of `str` or `bytes`), optional body.
fn answer(status: u16, headers: Option<Bound<'_, PyAny>>, body: Option<Vec<u8>>) -> PyResult<HttpResponse> {
    let response = HttpResponse::new(status, body.unwrap_or_default());
    match headers.filter(|h| !h.is_none()) {
        Some(h) => with_headers(response, h).map_err(|e| match e {
            HeaderError::Shape => PyTypeError::new_err("headers must be a mapping or (name, value) pairs"),
            HeaderError::Py(e) => e,
        }),
        None => Ok(response),
    }
}
