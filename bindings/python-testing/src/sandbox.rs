//! `Sandbox()`: the loopback emulator of the four providers, as a context manager for users'
//! own tests; `connect_sandbox` for one running in another process (`scopegate sandbox`).

use std::borrow::Cow;
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use scopegate_sandbox::{App, Consent, Fault, Sandbox, SandboxError, SandboxOptions};

use crate::errors::{Failure, detached};

/// `scopegate.Provider.builtin(id).with_overrides(toml, origin)`, then each of `more`: the
/// profile as an object of the scopegate package, which this module always comes with.
fn provider_object(py: Python<'_>, id: &str, overrides: &[(String, String)]) -> PyResult<Py<PyAny>> {
    let mut p = py.import("scopegate")?.getattr("Provider")?.call_method1("builtin", (id,))?;
    for (toml, origin) in overrides {
        p = p.call_method1("with_overrides", (toml, origin))?;
    }
    Ok(p.unbind())
}

/// `s` as Python's `repr` shows a `str` (for `__repr__`).
fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if c.is_control() => out.push_str(&c.escape_default().to_string()),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A running sandbox on 127.0.0.1 (an ephemeral port unless `port` says otherwise). Stops when
/// the `with` block ends, on `stop()`, or when garbage-collected.
#[pyclass(frozen, module = "scopegate_testing._native", name = "Sandbox")]
pub(crate) struct PySandbox {
    inner: Mutex<Option<Sandbox>>,
    base_url: String,
    strict: bool,
}

fn stopped() -> Failure {
    Failure::Sandbox(SandboxError::Io("the sandbox has been stopped".into()))
}

impl PySandbox {
    /// Runs `f` on the running sandbox, detached (its lock is never waited for while attached).
    fn with<T: Send>(&self, py: Python<'_>, f: impl Send + FnOnce(&Sandbox) -> Result<T, Failure>) -> PyResult<T> {
        detached(py, move || {
            let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            f(guard.as_ref().ok_or_else(stopped)?)
        })
    }
}

#[pymethods]
impl PySandbox {
    #[new]
    #[pyo3(signature = (*, strict = false, consent = Cow::Borrowed("approve"), port = 0))]
    #[pyo3(text_signature = "(*, strict=False, consent='approve', port=0)")]
    fn new(py: Python<'_>, strict: bool, consent: Cow<'_, str>, port: u16) -> PyResult<PySandbox> {
        let consent = match &*consent {
            "approve" => Consent::AutoApprove,
            "deny" => Consent::AutoDeny,
            "page" => Consent::Page,
            other => {
                return Err(Failure::Config(format!(
                    "consent must be \"approve\", \"deny\" or \"page\", not {:?}",
                    other.chars().take(32).collect::<String>()
                ))
                .into());
            }
        };
        let sandbox = detached(py, move || Ok(Sandbox::start_with(SandboxOptions { port, consent, strict })?))?;
        let base_url = sandbox.base_url().to_owned();
        Ok(PySandbox { inner: Mutex::new(Some(sandbox)), base_url, strict })
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.stop(py)?;
        Ok(false)
    }

    /// Stops the server and closes its port.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        detached(py, move || {
            let running = self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(s) = running {
                s.stop();
            }
            Ok(())
        })
    }

    /// `http://127.0.0.1:PORT`.
    #[getter]
    fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Built-in profile `id` pointed at this sandbox. The sandbox accepts any loopback redirect
    /// URI, so these profiles allow a loopback login on any port.
    fn provider(&self, py: Python<'_>, id: Cow<'_, str>) -> PyResult<Py<PyAny>> {
        let toml =
            scopegate_sandbox::profile_overrides_with(&self.base_url, &id, self.strict).map_err(Failure::from)?;
        let mut overrides = vec![(toml, format!("sandbox at {}", self.base_url))];
        if id != "yotpo" {
            overrides.push(("[authorization]\nloopback_any_port = true\n".into(), "python sandbox".into()));
        }
        provider_object(py, &id, &overrides)
    }

    /// Registers an app with `provider` (or replaces it). `rights` open Yespo/Reteno API groups;
    /// Yotpo needs the `redirect_uri` (its install link carries none).
    #[pyo3(signature = (provider, client_id, client_secret, redirect_uri = None, rights = None))]
    fn register(
        &self,
        py: Python<'_>,
        provider: String,
        client_id: String,
        client_secret: String,
        redirect_uri: Option<String>,
        rights: Option<Vec<String>>,
    ) -> PyResult<()> {
        let app = App { provider, client_id, client_secret, redirect_uri, rights: rights.unwrap_or_default() };
        self.with(py, move |s| Ok(s.register(app)?))
    }

    /// Requests the provider has seen: `authorize`, `token_requests` (by grant), `api_calls`...
    fn counters<'py>(&self, py: Python<'py>, provider: String) -> PyResult<Bound<'py, PyDict>> {
        let c = self.with(py, move |s| Ok(s.counters(&provider)))?;
        let d = PyDict::new(py);
        d.set_item("authorize", c.authorize)?;
        d.set_item("approved", c.approved)?;
        d.set_item("denied", c.denied)?;
        d.set_item("token_requests", c.token_requests.clone())?;
        d.set_item("token_errors", c.token_errors)?;
        d.set_item("api_calls", c.api_calls)?;
        d.set_item("api_401", c.api_401)?;
        d.set_item("api_403", c.api_403)?;
        d.set_item("uninstalls", c.uninstalls)?;
        d.set_item("webhooks", c.webhooks)?;
        d.set_item("reuse_detected", c.reuse_detected)?;
        Ok(d)
    }

    /// Makes the provider's next token answer misbehave: `500`, `slow:MS`, `malformed-json`,
    /// `error-in-200`, `early-expiry:S`, `no-refresh-token`.
    fn inject(&self, py: Python<'_>, provider: String, fault: Cow<'_, str>) -> PyResult<()> {
        let fault = Fault::parse(&fault).ok_or_else(|| Failure::Config(format!("unknown sandbox fault {fault:?}")))?;
        self.with(py, move |s| {
            s.inject(&provider, fault);
            Ok(())
        })
    }

    /// Now by the sandbox's clock (seconds since the epoch); pass `clock=sandbox.now` to a
    /// `Client` so that it shares this clock.
    fn now(&self, py: Python<'_>) -> PyResult<f64> {
        self.with(py, |s| Ok(s.now().as_unix_secs() as f64))
    }

    /// Moves the sandbox's clock forward: codes and tokens expire as if the time had passed.
    fn advance(&self, py: Python<'_>, secs: u64) -> PyResult<()> {
        self.with(py, move |s| {
            s.advance(secs);
            Ok(())
        })
    }

    /// The merchant uninstalls the app in Yotpo: the store's token is deleted and the uninstall
    /// webhook POSTed; whether it was delivered. No install for that store is an error.
    fn merchant_uninstall(&self, py: Python<'_>, app_key: String) -> PyResult<bool> {
        self.with(py, move |s| Ok(s.merchant_uninstall(&app_key)?))
    }

    /// What the user's browser does with an authorization URL, up to the redirect back to the
    /// app: returns the callback URL (with `code` and `state`), without requesting it. For tests
    /// of `fetch_token` in a web app.
    fn authorize(&self, py: Python<'_>, url: String) -> PyResult<String> {
        detached(py, move || scopegate_sandbox::authorize_at(&self.base_url, &url).map_err(Failure::Sandbox))
    }

    /// Plays the user's browser, like `webbrowser.open`: follows `url` in a background thread
    /// (consent, then the redirect to the app's loopback callback). For `client.login(open_browser=sandbox.open)`.
    fn open(&self, url: String) -> bool {
        std::thread::spawn(move || scopegate_sandbox::follow_as_browser(&url));
        true
    }

    fn __repr__(&self) -> String {
        format!("Sandbox({}, strict={})", q(&self.base_url), if self.strict { "True" } else { "False" })
    }
}

/// For a sandbox running in another process (`scopegate sandbox`): registers the app a login for
/// `provider` uses (Yotpo's with its redirect URI) and returns the built-in profile pointed at it.
#[pyfunction]
pub(crate) fn connect_sandbox(
    py: Python<'_>,
    base_url: String,
    provider: String,
    client_id: String,
    client_secret: String,
    redirect_uri: String,
) -> PyResult<Py<PyAny>> {
    let (id, toml) = detached(py, move || {
        let toml = scopegate_sandbox::profile_overrides(&base_url, &provider)?;
        let app = scopegate_sandbox::login_app(&provider, &client_id, &client_secret, &redirect_uri);
        scopegate_sandbox::register_remote(&base_url, &app)?;
        Ok((provider, (toml, format!("sandbox at {base_url}"))))
    })?;
    provider_object(py, &id, &[toml])
}
