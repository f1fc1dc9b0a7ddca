//! `Provider`, `Policy` and `Decision`: profiles and the permission matrix.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyList;
use scopegate_core::matrix::EndpointInfo;
use scopegate_core::matrix::UncoveredReason;
use scopegate_core::{Decision, Error, Method, PermissionMatrix, Provider, Rights};

use crate::failure::{Failure, Result, reject_name};
use crate::text::{FastStr, q, ql, qo};

/// A provider profile: endpoints, quirks, rights and the permission matrix.
#[pyclass(frozen, module = "scopegate._native", name = "Provider")]
pub(crate) struct PyProvider {
    pub(crate) inner: Arc<Provider>,
}

impl PyProvider {
    pub(crate) fn new(p: Provider) -> PyProvider {
        PyProvider { inner: Arc::new(p) }
    }

    fn rights_of(&self, ids: &[String]) -> Result<Rights> {
        Ok(self.inner.rights_from_ids(ids)?)
    }
}

/// The ids of a rights set.
fn ids(matrix: &PermissionMatrix, rights: Rights) -> Vec<String> {
    matrix.right_ids(rights).into_iter().map(str::to_owned).collect()
}

#[pymethods]
impl PyProvider {
    /// A built-in profile: `yespo`, `reteno`, `yotpo` or `yuvo`.
    #[staticmethod]
    fn builtin(id: Cow<'_, str>) -> PyResult<PyProvider> {
        Ok(PyProvider::new(Provider::builtin(&id).map_err(Failure::from)?))
    }

    /// The ids of the built-in profiles.
    #[staticmethod]
    fn builtin_ids() -> Vec<&'static str> {
        Provider::builtin_ids().collect()
    }

    /// A profile from a TOML file (`extends = "yotpo"` starts from a built-in one).
    #[staticmethod]
    fn from_file(path: PathBuf) -> PyResult<PyProvider> {
        Ok(PyProvider::new(Provider::from_file(path).map_err(Failure::from)?))
    }

    /// A profile from TOML text; `origin` names it in error messages.
    #[staticmethod]
    #[pyo3(signature = (text, origin = None))]
    fn from_toml(text: Cow<'_, str>, origin: Option<String>) -> PyResult<PyProvider> {
        let origin = origin.as_deref().unwrap_or("python");
        Ok(PyProvider::new(Provider::from_toml_str(&text, origin).map_err(Failure::from)?))
    }

    /// A profile from an authorization server's metadata (RFC 8414 / OpenID Connect Discovery:
    /// the JSON of its well-known document), after checking that the document's `issuer` is
    /// `issuer` (RFC 8414 §3.3): the profile `scopegate provider discover` writes (endpoints,
    /// client authentication, PKCE, grants, PAR, DPoP, the device endpoint), without `[api]`
    /// (add it with `with_overrides`). A mismatch or unusable metadata is a `ConfigError`.
    #[staticmethod]
    fn from_discovery(issuer: Cow<'_, str>, metadata: Cow<'_, str>) -> PyResult<PyProvider> {
        let p = Provider::from_discovery(&issuer, &metadata).map_err(|e| Failure::Config(e.to_string()))?;
        Ok(PyProvider::new(p))
    }

    /// This profile with some keys replaced (tables merge key by key).
    #[pyo3(signature = (toml_text, origin = None))]
    fn with_overrides(&self, toml_text: Cow<'_, str>, origin: Option<String>) -> PyResult<PyProvider> {
        let origin = origin.as_deref().unwrap_or("overrides");
        Ok(PyProvider::new(self.inner.with_overrides(&toml_text, origin).map_err(Failure::from)?))
    }

    /// Profile id (`yespo`).
    #[getter]
    fn id(&self) -> &str {
        self.inner.id()
    }

    /// Display name (`Yespo`).
    #[getter]
    fn name(&self) -> &str {
        self.inner.name()
    }

    /// Where the profile came from (`builtin:yespo`, a file, `python`...).
    #[getter]
    fn origin(&self) -> &str {
        self.inner.origin()
    }

    /// The ids of the profile's access rights, in profile order.
    #[getter]
    fn rights(&self) -> Vec<String> {
        self.inner.rights().iter().map(|r| r.id.clone()).collect()
    }

    /// Every endpoint of the permission matrix as `(method, template, group id)`.
    #[getter]
    fn endpoints(&self) -> Vec<(&'static str, String, String)> {
        let m = self.inner.matrix();
        m.endpoints().iter().map(|e| (e.method.as_str(), e.template.clone(), m.groups()[e.group].id.clone())).collect()
    }

    /// May a token with `rights` (right ids) call `method path`?
    #[pyo3(signature = (method, path, rights = None))]
    fn check(&self, method: Cow<'_, str>, path: Cow<'_, str>, rights: Option<Vec<String>>) -> PyResult<PyDecision> {
        let rights = self.rights_of(&rights.unwrap_or_default())?;
        let m = self.inner.matrix();
        Ok(PyDecision::new(m, m.check(rights, &method, &path)))
    }

    /// The smallest set of rights that allows every call of `calls` (`(method, path)` pairs).
    fn rights_for(&self, calls: Vec<(String, String)>) -> PyResult<Vec<String>> {
        let m = self.inner.matrix();
        match m.least_rights(&calls) {
            Ok(rights) => Ok(ids(m, rights)),
            Err(uncovered) => {
                let first = uncovered.first().map(|u| (u.index, u.reason));
                Err(Failure::Core(uncovered_error(m, &calls, first)).into())
            }
        }
    }

    /// A policy for these rights: the fastest `allows(method, path)`.
    fn policy(&self, rights: Vec<String>) -> PyResult<PyPolicy> {
        let rights = self.rights_of(&rights)?;
        Ok(PyPolicy { inner: self.inner.policy(rights) })
    }

    fn __repr__(&self) -> String {
        format!("Provider({}, origin={})", q(self.inner.id()), q(self.inner.origin()))
    }
}

/// The error for a call no set of rights allows.
fn uncovered_error(m: &PermissionMatrix, calls: &[(String, String)], first: Option<(usize, UncoveredReason)>) -> Error {
    let Some((index, reason)) = first else { return Error::Busy };
    let (method, path) = &calls[index];
    let parsed = Method::from_bytes(method.as_bytes());
    match (reason, parsed) {
        (UncoveredReason::Rejected(r), _) => Error::PathRejected(r),
        (UncoveredReason::NoRightOpensIt, Some(method)) => {
            let template = match m.check(Rights::EMPTY, method.as_str(), path) {
                Decision::Denied { endpoint, .. } => endpoint.template.clone(),
                _ => path.clone(),
            };
            Error::PermissionDenied { method, path: template, would_allow: "none".into() }
        }
        (_, Some(method)) => Error::UnknownEndpoint { method, path: path.chars().take(120).collect() },
        (_, None) => Error::PathRejected(scopegate_core::RejectReason::UnknownMethod),
    }
}

/// One rights set bound to a provider's matrix.
#[pyclass(frozen, module = "scopegate._native", name = "Policy")]
pub(crate) struct PyPolicy {
    inner: scopegate_core::Policy,
}

impl PyPolicy {
    /// The check behind `Policy.allows` (see `fastcall.rs` for the fast entry).
    pub(crate) fn allows_str(&self, method: &str, path: &str) -> bool {
        self.inner.allows(method, path)
    }
}

#[pymethods]
impl PyPolicy {
    /// Whether the call is allowed (a rejected or unknown path is not).
    fn allows(&self, method: FastStr<'_>, path: FastStr<'_>) -> bool {
        self.inner.allows(method.as_str(), path.as_str())
    }

    /// Whether each `(method, path)` call is allowed, in one call: the same answers as `allows`
    /// one by one, in order.
    fn allows_many<'py>(&self, calls: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        crate::many::allows_many(&self.inner, calls)
    }

    /// The detailed decision.
    fn check(&self, method: Cow<'_, str>, path: Cow<'_, str>) -> PyDecision {
        PyDecision::new(self.inner.matrix(), self.inner.check(&method, &path))
    }

    /// The right ids of this policy.
    #[getter]
    fn rights(&self) -> Vec<String> {
        ids(self.inner.matrix(), self.inner.rights())
    }

    fn __repr__(&self) -> String {
        format!("Policy(rights={})", ql(&self.rights()))
    }
}

/// The answer to a permission check.
#[pyclass(frozen, module = "scopegate._native", name = "Decision")]
pub(crate) struct PyDecision {
    /// Whether the call is allowed.
    #[pyo3(get)]
    allowed: bool,
    /// The matched endpoint's template (`contact/{id}`), when one matched.
    #[pyo3(get)]
    endpoint: Option<String>,
    /// The id of the matched endpoint's group.
    #[pyo3(get)]
    group: Option<String>,
    /// The rights that open the matched endpoint (empty for an open group or no match).
    #[pyo3(get)]
    needs: Vec<String>,
    /// Whether the provider marks the endpoint deprecated.
    #[pyo3(get)]
    deprecated: bool,
    /// Why not: `not_granted`, `unknown_endpoint`, or the path rule broken (`dot_segment`...).
    #[pyo3(get)]
    reason: Option<String>,
}

impl PyDecision {
    fn new(m: &PermissionMatrix, d: Decision<'_>) -> PyDecision {
        let of = |e: &EndpointInfo, allowed: bool, reason: Option<String>| PyDecision {
            allowed,
            endpoint: Some(e.template.clone()),
            group: m.groups().get(e.group).map(|g| g.id.clone()),
            needs: ids(m, e.allowed_by),
            deprecated: e.deprecated,
            reason,
        };
        let none = |reason: String| PyDecision {
            allowed: false,
            endpoint: None,
            group: None,
            needs: Vec::new(),
            deprecated: false,
            reason: Some(reason),
        };
        match d {
            Decision::Allowed(e) => of(e, true, None),
            Decision::Denied { endpoint, .. } => of(endpoint, false, Some("not_granted".into())),
            Decision::UnknownEndpoint => none("unknown_endpoint".into()),
            Decision::Rejected(r) => none(reject_name(r)),
        }
    }
}

#[pymethods]
impl PyDecision {
    fn __bool__(&self) -> bool {
        self.allowed
    }

    fn __repr__(&self) -> String {
        match (&self.endpoint, &self.reason) {
            (Some(e), None) => format!("Decision(allowed=True, endpoint={})", q(e)),
            (Some(e), Some(r)) => {
                format!("Decision(allowed=False, endpoint={}, reason={}, needs={})", q(e), q(r), ql(&self.needs))
            }
            (None, r) => format!("Decision(allowed=False, reason={})", qo(r.as_deref())),
        }
    }
}
