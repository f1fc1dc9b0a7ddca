//! A Python callable as the transport: `(method, url, headers, body) -> (status, headers, body)`,
//! so that requests or httpx (proxies, mocks) can carry scopegate's requests.
//!
//! What the core asks of every transport still holds: plain `http` only to loopback hosts
//! (checked here, before the callable sees the request), redirects are the callable's to refuse
//! (pass `allow_redirects=False` / `follow_redirects=False`), and an answer larger than the
//! request's limit is refused. An exception the callable raises is kept aside and raised,
//! unchanged, when the scopegate call returns.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyString};
use scopegate::Transport;
use scopegate_core::{HttpRequest, HttpResponse, TransportError};

use crate::failure::keep_aside;

/// The callable, checked to be one.
#[derive(Debug)]
pub(crate) struct CallableTransport {
    callable: Py<PyAny>,
}

impl CallableTransport {
    pub(crate) fn new(callable: Bound<'_, PyAny>) -> PyResult<CallableTransport> {
        if !callable.is_callable() {
            return Err(PyTypeError::new_err(format!(
                "transport must be a callable (method, url, headers, body) -> (status, headers, body), not {}",
                callable.get_type().name()?
            )));
        }
        Ok(CallableTransport { callable: callable.unbind() })
    }
}

/// The failure reported to the core when the callable raised (the exception itself is raised
/// to the caller instead).
fn raised(host: &str) -> TransportError {
    TransportError::Io { host: host.to_owned(), reason: "the transport callable raised an exception".into() }
}

/// Reads `(status, headers, body)`; headers may be a mapping or `(name, value)` pairs.
fn response(answer: &Bound<'_, PyAny>) -> PyResult<HttpResponse> {
    let wrong = || {
        PyTypeError::new_err(
            "the transport callable must return (status: int, headers: Mapping[str, str] | Iterable[tuple[str, str]], body: bytes)",
        )
    };
    let (status, headers, body): (Bound<'_, PyAny>, Bound<'_, PyAny>, Bound<'_, PyAny>) =
        answer.extract().map_err(|_| wrong())?;
    let status: u16 = status.extract().map_err(|_| wrong())?;
    let body: Vec<u8> = if let Ok(s) = body.cast::<PyString>() {
        s.to_cow()?.as_bytes().to_vec()
    } else if let Ok(b) = body.cast::<PyBytes>() {
        b.as_bytes().to_vec()
    } else {
        body.extract::<Vec<u8>>().map_err(|_| wrong())?
    };
    with_headers(HttpResponse::new(status, body), headers).map_err(|e| match e {
        HeaderError::Shape => wrong(),
        HeaderError::Py(e) => e,
    })
}

/// Why [`with_headers`] failed.
pub(crate) enum HeaderError {
    /// An item is not a `(name, value)` pair.
    Shape,
    /// A name or value is not `str` or `bytes`, or iterating raised.
    Py(PyErr),
}

impl From<PyErr> for HeaderError {
    fn from(e: PyErr) -> Self {
        HeaderError::Py(e)
    }
}

/// Adds `headers` (a mapping, or `(name, value)` pairs) to `response`. Names and values are
/// `str` or `bytes` (httpx's `headers.raw`, a Latin-1 cookie): bytes that are not UTF-8 are read
/// as ISO-8859-1, a `str` holding `surrogateescape`d bytes gives those bytes back, and a header
/// whose name is not text is dropped ([`scopegate_core::http::header_text`]): never the answer.
pub(crate) fn with_headers(mut response: HttpResponse, headers: Bound<'_, PyAny>) -> Result<HttpResponse, HeaderError> {
    let pairs = if headers.hasattr("items")? { headers.call_method0("items")? } else { headers };
    for pair in pairs.try_iter()? {
        let (name, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = pair?.extract().map_err(|_| HeaderError::Shape)?;
        response = response.with_header_bytes(&header_bytes(&name)?, &header_bytes(&value)?);
    }
    Ok(response)
}

/// A header name or value as the bytes it stands for.
fn header_bytes(v: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = v.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(b) = v.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    if let Ok(s) = v.cast::<PyString>() {
        if let Ok(text) = s.to_cow() {
            return Ok(text.as_bytes().to_vec());
        }
        // Lone surrogates: `surrogateescape` (U+DC80..U+DCFF) stands for undecodable bytes.
        if let Ok(b) = s.call_method1("encode", ("utf-8", "surrogateescape")) {
            if let Ok(b) = b.cast::<PyBytes>() {
                return Ok(b.as_bytes().to_vec());
            }
        }
        return Ok(s.to_string_lossy().into_owned().into_bytes());
    }
    Err(PyTypeError::new_err(format!("header names and values must be str or bytes, not {}", v.get_type().name()?)))
}

impl Transport for CallableTransport {
    /// The callable's answer; the rules every transport keeps (plain http only to loopback
    /// hosts, the body limit) are the glue layer's ([`PolicedTransport`], which wraps this).
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let url = request.url();
        let host = url.host_str().unwrap_or("").to_owned();
        let answer = Python::attach(|py| -> PyResult<HttpResponse> {
            let headers = PyDict::new(py);
            for (name, value) in request.headers() {
                headers.set_item(name, value)?;
            }
            let body = PyBytes::new(py, &request.body());
            let answer = self.callable.call1(py, (request.method().as_str(), url.as_str(), headers, body))?;
            response(answer.bind(py))
        });
        answer.map_err(|e| {
            keep_aside(e);
            raised(&host)
        })
    }
}
