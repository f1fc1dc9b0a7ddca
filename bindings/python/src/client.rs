//! `Client`: the blocking client (`scopegate::Client`) with Authlib's method names.
//!
//! Every call that may touch the network, wait for the token store or for the loopback callback
//! runs detached from the interpreter ([`detached`]): other Python threads run meanwhile, and no
//! Rust lock is ever waited for while attached.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyString};
use scopegate::Transport;
use scopegate::embed::PolicedTransport;
use scopegate::{Browser, Client, LoginOptions, UreqTransport};
use scopegate_core::{ClientConfig, DEFAULT_ACCOUNT, Method, Revoked};

use crate::device::show_code;
use crate::failure::{Failure, detached, keep_aside};
use crate::keys::client_key_arg;
use crate::provider::PyProvider;
use crate::store::{PyTokenStore, memory_store};
use crate::text::q;
use crate::tokens::{PyAuthorizationRequest, PyResponse, PyTokenSet, lock, system_now, timestamp};
use crate::transport::CallableTransport;

/// `provider` as given: a `Provider`, or the id of a built-in one.
pub(crate) fn provider_arg(py: Python<'_>, provider: &Bound<'_, PyAny>) -> PyResult<Py<PyProvider>> {
    if let Ok(p) = provider.cast::<PyProvider>() {
        return Ok(p.clone().unbind());
    }
    if let Ok(id) = provider.cast::<PyString>() {
        let p = scopegate_core::Provider::builtin(&id.to_cow()?).map_err(Failure::from)?;
        return Py::new(py, PyProvider::new(p));
    }
    Err(PyTypeError::new_err(format!(
        "provider must be a Provider or the id of a built-in one, not {}",
        provider.get_type().name()?
    )))
}

/// A callable argument, checked.
pub(crate) fn callable_arg(name: &str, value: Option<Bound<'_, PyAny>>) -> PyResult<Option<Py<PyAny>>> {
    match value {
        Some(v) if v.is_none() => Ok(None),
        Some(v) if !v.is_callable() => {
            Err(PyTypeError::new_err(format!("{name} must be callable, not {}", v.get_type().name()?)))
        }
        v => Ok(v.map(Bound::unbind)),
    }
}

/// An OAuth 2.0 client for one provider, one app registration and one account.
#[pyclass(frozen, module = "scopegate._native", name = "Client")]
pub(crate) struct PyClient {
    inner: Arc<Client>,
    provider: Py<PyProvider>,
    store: Py<PyTokenStore>,
}

impl PyClient {
    fn client(&self) -> Arc<Client> {
        Arc::clone(&self.inner)
    }
}

#[pymethods]
impl PyClient {
    #[new]
    #[pyo3(signature = (
        provider, client_id, client_secret = None, redirect_uri = None, store = None, account = None,
        transport = None, update_token = None, leeway = 60, *, rights = None, clock = None, client_key = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        provider: Bound<'_, PyAny>,
        client_id: String,
        client_secret: Option<String>,
        redirect_uri: Option<String>,
        store: Option<Bound<'_, PyTokenStore>>,
        account: Option<String>,
        transport: Option<Bound<'_, PyAny>>,
        update_token: Option<Bound<'_, PyAny>>,
        leeway: u64,
        rights: Option<Vec<String>>,
        clock: Option<Bound<'_, PyAny>>,
        client_key: Option<Bound<'_, PyAny>>,
    ) -> PyResult<PyClient> {
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
        let store = match store {
            Some(s) => s.unbind(),
            None => memory_store(py)?,
        };
        let update_token = callable_arg("update_token", update_token)?;
        let clock = callable_arg("clock", clock)?;
        let transport: Arc<dyn Transport> = match transport {
            Some(t) if !t.is_none() => Arc::new(PolicedTransport(CallableTransport::new(t)?)),
            _ => Arc::new(UreqTransport::default()),
        };
        let account = account.unwrap_or_else(|| DEFAULT_ACCOUNT.to_owned());
        let inner = Arc::clone(&store.get().inner);
        let mut client = Client::new(Arc::clone(&p), config, transport, inner, account).with_refresh_margin(leeway);
        if let Some(callback) = update_token {
            // Authlib's update_token: the client's token-change hook, called with the new token
            // set before any thread can read it from the client, and before a NotSavedError is
            // raised. What it raises is raised when the call returns.
            client = client.on_token_change(move |change| {
                let tokens = PyTokenSet::new(change.tokens.clone());
                Python::attach(|py| {
                    if let Err(e) = callback.call1(py, (tokens,)) {
                        keep_aside(e);
                    }
                });
            });
        }
        if let Some(ids) = rights {
            client = client.with_rights(p.rights_from_ids(&ids).map_err(Failure::from)?);
        }
        if let Some(clock) = clock {
            client = client.with_clock(move || {
                Python::attach(|py| match clock.call0(py).and_then(|v| v.extract::<f64>(py)) {
                    Ok(secs) => timestamp(secs),
                    Err(e) => {
                        keep_aside(e);
                        system_now()
                    }
                })
            });
        }
        Ok(PyClient { inner: Arc::new(client), provider, store })
    }

    /// The provider.
    #[getter]
    fn provider(&self, py: Python<'_>) -> Py<PyProvider> {
        self.provider.clone_ref(py)
    }

    /// The token store.
    #[getter]
    fn store(&self, py: Python<'_>) -> Py<PyTokenStore> {
        self.store.clone_ref(py)
    }

    /// The app's client id.
    #[getter]
    fn client_id(&self) -> &str {
        self.inner.config().client_id()
    }

    /// The redirect URI, when set.
    #[getter]
    fn redirect_uri(&self) -> Option<&str> {
        self.inner.config().redirect_uri()
    }

    /// The account the tokens are stored under (after a Yotpo login: the store's `app_key`).
    #[getter]
    fn account(&self) -> String {
        self.inner.account()
    }

    /// Starts an authorization: the URL for the user's browser, with `state` (and PKCE when the
    /// profile says so). Keep the request (or its `dumps()`) until the callback.
    fn create_authorization_url(&self, py: Python<'_>) -> PyResult<PyAuthorizationRequest> {
        let c = self.client();
        let start = detached(py, move || c.authorization_request().map_err(Failure::from))?;
        Ok(PyAuthorizationRequest::new(Some(start.url), start.pending))
    }

    /// Completes an authorization: checks the callback URL (`state`, errors), exchanges the
    /// code, stores the tokens (and calls `update_token`) before returning them.
    #[pyo3(signature = (authorization_response, request))]
    fn fetch_token(
        &self,
        py: Python<'_>,
        authorization_response: String,
        request: PyRef<'_, PyAuthorizationRequest>,
    ) -> PyResult<PyTokenSet> {
        let (c, pending) = (self.client(), Arc::clone(&request.pending));
        drop(request);
        let tokens =
            detached(py, move || c.exchange(&mut lock(&pending), &authorization_response).map_err(Failure::from))?;
        Ok(PyTokenSet::new(tokens))
    }

    /// A token for the app itself (client credentials grant), stored.
    #[pyo3(signature = (scopes = None))]
    fn client_credentials(&self, py: Python<'_>, scopes: Option<Vec<String>>) -> PyResult<PyTokenSet> {
        let c = self.client();
        let scopes = scopes.unwrap_or_default();
        let tokens = detached(py, move || c.client_credentials(&scopes).map_err(Failure::from))?;
        Ok(PyTokenSet::new(tokens))
    }

    /// Refreshes now, whatever the expiry (one refresh however many threads ask at once).
    fn refresh_token(&self, py: Python<'_>) -> PyResult<PyTokenSet> {
        let c = self.client();
        Ok(PyTokenSet::new(detached(py, move || c.refresh().map_err(Failure::from))?))
    }

    /// The stored token set, or `None`.
    #[getter]
    fn token(&self, py: Python<'_>) -> PyResult<Option<PyTokenSet>> {
        let c = self.client();
        Ok(detached(py, move || c.stored().map_err(Failure::from))?.map(PyTokenSet::new))
    }

    /// A valid access token: the stored one, refreshed first when it expires within `leeway`.
    fn access_token(&self, py: Python<'_>) -> PyResult<String> {
        let c = self.client();
        let tokens = detached(py, move || c.access_token().map_err(Failure::from))?;
        Ok(tokens.access_token.expose_secret().to_owned())
    }

    /// An API call (`path` under the profile's API base, or a full URL inside the API), with
    /// the bearer token, refreshed when due and once more on a 401. `json` is sent as JSON.
    #[pyo3(signature = (method, path, json = None))]
    fn request(
        &self,
        py: Python<'_>,
        method: Cow<'_, str>,
        path: String,
        json: Option<Bound<'_, PyAny>>,
    ) -> PyResult<PyResponse> {
        let upper = method.to_ascii_uppercase();
        let m = Method::from_bytes(upper.as_bytes()).ok_or_else(|| {
            Failure::Config(format!("unknown http method `{}`", upper.chars().take(16).collect::<String>()))
        })?;
        let body = match json {
            Some(v) if !v.is_none() => Some(json_bytes(py, &v)?),
            _ => None,
        };
        let c = self.client();
        let response = detached(py, move || c.request(m, &path, body.as_deref()).map_err(Failure::from))?;
        Ok(PyResponse::new(response))
    }

    /// Revokes (RFC 7009) or uninstalls the authorization, then forgets the token: `revoked`, or
    /// `already_gone` when the provider says the app was uninstalled already.
    fn revoke_token(&self, py: Python<'_>) -> PyResult<&'static str> {
        let c = self.client();
        let done = detached(py, move || c.revoke().map_err(Failure::from))?;
        Ok(match done {
            Revoked::AlreadyGone => "already_gone",
            _ => "revoked",
        })
    }

    /// The device login (RFC 8628), for a machine without a browser: `on_code` gets a
    /// `UserCode` (the verification URI, complete with the code when the server gives one, and
    /// the code) to show the user; without it they are written to stderr. Then the token
    /// endpoint is polled at the server's interval (`slow_down` adds 5 s) until the user approved
    /// on another device; the tokens are stored (and `update_token` called) before they are
    /// returned. Waits detached from the interpreter, until the approval, a refusal
    /// (`AuthorizationDenied`) or the code's expiry (`AuthorizationExpired`); an exception
    /// `on_code` raises is raised when the wait ends.
    #[pyo3(signature = (on_code = None))]
    fn device_login(&self, py: Python<'_>, on_code: Option<Bound<'_, PyAny>>) -> PyResult<PyTokenSet> {
        let on_code = callable_arg("on_code", on_code)?;
        let c = self.client();
        let tokens =
            detached(py, move || c.device_login(|code| show_code(on_code.as_ref(), code)).map_err(Failure::from))?;
        Ok(PyTokenSet::new(tokens))
    }

    /// Forgets the stored token locally, without telling the provider; whether there was one.
    fn forget(&self, py: Python<'_>) -> PyResult<bool> {
        let c = self.client();
        detached(py, move || c.forget().map_err(Failure::from))
    }

    /// The loopback login (RFC 8252): listens on the redirect URI's loopback port, sends the
    /// browser to the authorization URL, accepts the one callback with the right `state`,
    /// exchanges the code and stores the tokens. `open_browser`: `True` (the system browser),
    /// `False` (print the URL on stderr), or a callable that gets the URL. Waits at most
    /// `timeout` seconds, detached from the interpreter (Ctrl-C is seen when the wait ends); an
    /// exception the callable raises is raised then too.
    #[pyo3(signature = (open_browser = None, timeout = 300.0))]
    #[pyo3(text_signature = "(self, open_browser=True, timeout=300)")]
    fn login(&self, py: Python<'_>, open_browser: Option<Bound<'_, PyAny>>, timeout: f64) -> PyResult<PyTokenSet> {
        let timeout = Duration::try_from_secs_f64(timeout)
            .map_err(|_| PyValueError::new_err("timeout must be a positive number of seconds"))?;
        let (browser, opener) = match open_browser {
            None => (Browser::Open, None),
            Some(v) if v.is_instance_of::<PyBool>() => {
                (if v.is_truthy()? { Browser::Open } else { Browser::PrintOnly }, None)
            }
            Some(v) if v.is_callable() => (Browser::PrintOnly, Some(v.unbind())),
            Some(v) => {
                return Err(PyTypeError::new_err(format!(
                    "open_browser must be a bool or a callable taking the url, not {}",
                    v.get_type().name()?
                )));
            }
        };
        let c = self.client();
        let options = LoginOptions { timeout, browser, ..LoginOptions::default() };
        let tokens = detached(py, move || {
            let any_port;
            let client = match c.config().redirect_uri() {
                Some(_) => &*c,
                None if c.provider().loopback_any_port() => {
                    any_port = c.with_redirect_uri("http://127.0.0.1:0/callback")?;
                    &any_port
                }
                None => {
                    return Err(Failure::Config(format!(
                        "login needs the loopback redirect_uri registered with your {} app (e.g. http://127.0.0.1:8081/callback)",
                        c.provider().name()
                    )));
                }
            };
            scopegate::loopback_login(client, &options, |url, opened| show(opener.as_ref(), url, opened))
                .map_err(Failure::from)
        })?;
        Ok(PyTokenSet::new(tokens))
    }

    /// The client's counters since it was made, as a dict of ints: refreshes by outcome
    /// (`refreshes_ok`, `refreshes_invalid_grant`, `refreshes_transport`,
    /// `refreshes_provider_5xx`, `refreshes_rate_limited`, `refreshes_not_saved`,
    /// `refreshes_error`), `exchanges`, `unauthorized_401`, `reauthorizations`, `store_waits`
    /// and `longest_store_wait_ms`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let d = pyo3::types::PyDict::new(py);
        for (name, value) in self.inner.stats().pairs() {
            d.set_item(name, value)?;
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "Client(provider={}, client_id={}, account={})",
            q(self.inner.provider().id()),
            q(self.inner.config().client_id()),
            q(&self.inner.account())
        )
    }
}

static JSON_DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `json.dumps(value)` as UTF-8.
pub(crate) fn json_bytes(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let dumps = JSON_DUMPS.get_or_try_init(py, || py.import("json")?.getattr("dumps").map(Bound::unbind))?;
    let text: String = dumps.bind(py).call1((value,))?.extract()?;
    Ok(text.into_bytes())
}

/// How a login shows its URL: the caller's callable, or a line on Python's stderr.
fn show(opener: Option<&Py<PyAny>>, url: &str, opened: bool) {
    Python::attach(|py| {
        let result = match opener {
            Some(f) => f.call1(py, (url,)).map(drop),
            None => py.import("sys").and_then(|sys| {
                let text = if opened {
                    format!("opened your browser at:\n  {url}\n")
                } else {
                    format!("open this URL in your browser:\n  {url}\n")
                };
                sys.getattr("stderr")?.call_method1("write", (text,)).map(drop)
            }),
        };
        if let Err(e) = result {
            keep_aside(e);
        }
    });
}
