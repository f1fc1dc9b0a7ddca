//! HTTP as C sees it: a read-only view of a request to send (`scopegate_http_request`), and a
//! response (`scopegate_http_response`) that a transport callback fills in or an API call
//! returns.

use std::ffi::c_char;

use scopegate::embed::{CallerFailure, caller_failure};
use scopegate_core::{HttpRequest, HttpResponse, TransportError};
use zeroize::Zeroizing;

use crate::boundary::{
    FailureArg, Out, OutText, bytes, cbytes, cstr, free_handle, guard, guard_value, handle, handle_mut,
};
use crate::failure::Failure;
use crate::result::scopegate_result;

/// One header: name and value, NUL-terminated.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct scopegate_header {
    /// The name (`Content-Type`).
    pub name: *const c_char,
    /// The value.
    pub value: *const c_char,
}

/// A request to send, as a read-only view: every pointer is owned by scopegate and valid as long
/// as the function that gave the view says (during a transport callback; until the session's
/// next request). Send it as it is and never follow a redirect: answer a 3xx as it came. It may
/// carry secrets (the `Authorization` header, a code or refresh token in the body): never log it.
#[repr(C)]
#[derive(Debug)]
pub struct scopegate_http_request {
    /// The method (`POST`), NUL-terminated.
    pub method: *const c_char,
    /// The absolute URL, NUL-terminated.
    pub url: *const c_char,
    /// The headers to send, in order.
    pub headers: *const scopegate_header,
    /// How many headers.
    pub headers_len: usize,
    /// The body (NULL when `body_len` is 0).
    pub body: *const u8,
    /// The body's length in bytes.
    pub body_len: usize,
    /// Stop reading the answer's body past this many bytes and report
    /// `SCOPEGATE_TRANSPORT_FAILURE_BODY_TOO_LARGE`.
    pub max_response_bytes: usize,
}

/// Owns what a [`scopegate_http_request`] points into. Boxed: the view points at itself.
pub(crate) struct RequestView {
    view: scopegate_http_request,
    /// What `view.headers` points to.
    _headers: Vec<scopegate_header>,
    /// What the strings and the body point into: method, URL, header names and values (each
    /// NUL-terminated), then the body; zeroized on drop (it holds secrets).
    _arena: Zeroizing<Vec<u8>>,
    host: String,
}

impl std::fmt::Debug for RequestView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestView").field("host", &self.host).finish_non_exhaustive()
    }
}

impl RequestView {
    pub(crate) fn new(request: &HttpRequest) -> Box<RequestView> {
        let body = request.body();
        let mut arena = Zeroizing::new(Vec::new());
        let mut put = |s: &[u8]| {
            let at = arena.len();
            arena.extend(s.iter().copied().filter(|b| *b != 0));
            arena.push(0);
            at
        };
        let method = put(request.method().as_str().as_bytes());
        let url = put(request.url().as_str().as_bytes());
        let offsets: Vec<(usize, usize)> =
            request.headers().map(|(n, v)| (put(n.as_bytes()), put(v.as_bytes()))).collect();
        let body_at = arena.len();
        arena.extend_from_slice(&body);
        // The arena is complete: pointers into it stay valid (it is never grown again).
        let base = arena.as_ptr();
        let at = |offset: usize| base.wrapping_add(offset).cast::<c_char>();
        let headers: Vec<scopegate_header> =
            offsets.iter().map(|(n, v)| scopegate_header { name: at(*n), value: at(*v) }).collect();
        let view = scopegate_http_request {
            method: at(method),
            url: at(url),
            headers: headers.as_ptr(),
            headers_len: headers.len(),
            body: if body.is_empty() { std::ptr::null() } else { base.wrapping_add(body_at) },
            body_len: body.len(),
            max_response_bytes: request.max_response_bytes(),
        };
        let host = request.url().host_str().unwrap_or("").to_owned();
        Box::new(RequestView { view, _headers: headers, _arena: arena, host })
    }

    pub(crate) fn as_ptr(&self) -> *const scopegate_http_request {
        &self.view
    }

    /// The host the request goes to (for transport errors).
    pub(crate) fn host(&self) -> &str {
        &self.host
    }
}

/// How a request failed, as a transport callback or a session's caller reports it. What
/// matters is whether the request may have reached the server: a code exchange or a refresh
/// that may have arrived is never sent again.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum scopegate_transport_failure {
    /// No connection could be made (refused, unreachable, name not found): nothing was sent. A
    /// connection lost after the request was written is `SCOPEGATE_TRANSPORT_FAILURE_IO`.
    Connect = 1,
    /// The TLS handshake failed (certificate not trusted): nothing was sent. A TLS error after
    /// the request was written is `SCOPEGATE_TRANSPORT_FAILURE_IO`.
    Tls = 2,
    /// The connect timeout passed: nothing was sent.
    ConnectTimeout = 3,
    /// No complete answer in time after the request was sent: it may have arrived.
    ResponseTimeout = 4,
    /// The answer's body is larger than `max_response_bytes`.
    BodyTooLarge = 5,
    /// Anything else after the connection was made: the request may have arrived.
    Io = 6,
}

impl scopegate_transport_failure {
    pub(crate) fn from_arg(arg: FailureArg) -> Result<Self, Failure> {
        Ok(match arg.0 {
            1 => Self::Connect,
            2 => Self::Tls,
            3 => Self::ConnectTimeout,
            4 => Self::ResponseTimeout,
            5 => Self::BodyTooLarge,
            6 => Self::Io,
            _ => return Err(Failure::invalid("failure", "not a scopegate_transport_failure")),
        })
    }

    /// The core's error for this failure; `reason` is the caller's text (trimmed, no control
    /// characters, at most 200 characters: it must not carry secrets).
    pub(crate) fn error(self, host: &str, reason: &str, limit: usize) -> TransportError {
        let kind = match self {
            Self::Connect => CallerFailure::Connect,
            Self::Tls => CallerFailure::Tls,
            Self::ConnectTimeout => CallerFailure::ConnectTimeout,
            Self::ResponseTimeout => CallerFailure::ResponseTimeout,
            Self::BodyTooLarge => CallerFailure::BodyTooLarge,
            Self::Io => CallerFailure::Io,
        };
        caller_failure(kind, host, reason, limit)
    }
}

enum Inner {
    /// Being filled in by a transport callback.
    Building {
        status: u16,
        headers: Vec<(String, String)>,
        body: Zeroizing<Vec<u8>>,
        limit: usize,
        failure: Option<(scopegate_transport_failure, String)>,
    },
    /// An answer received (from `scopegate_client_request`).
    Received(HttpResponse),
}

/// An HTTP response.
///
/// Ownership: one given by `scopegate_client_request` belongs to the caller, who frees it with
/// `scopegate_http_response_free`; the one handed to a transport callback belongs to scopegate
/// and lives only during the callback, which fills it in (`_set_status`, `_add_header`,
/// `_append_body`, or `_set_failure`) and must not free it.
///
/// Thread safety: not thread-safe; may be moved to another thread.
pub struct scopegate_http_response {
    inner: Inner,
}

impl std::fmt::Debug for scopegate_http_response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("scopegate_http_response").field("status", &self.status()).finish_non_exhaustive()
    }
}

impl scopegate_http_response {
    pub(crate) fn building(limit: usize) -> scopegate_http_response {
        scopegate_http_response {
            inner: Inner::Building {
                status: 0,
                headers: Vec::new(),
                body: Zeroizing::new(Vec::new()),
                limit,
                failure: None,
            },
        }
    }

    pub(crate) fn received(response: HttpResponse) -> scopegate_http_response {
        scopegate_http_response { inner: Inner::Received(response) }
    }

    fn status(&self) -> u16 {
        match &self.inner {
            Inner::Building { status, .. } => *status,
            Inner::Received(r) => r.status(),
        }
    }

    /// What a transport callback left, given what it returned.
    pub(crate) fn into_outcome(self, returned: u32, host: &str) -> Result<HttpResponse, TransportError> {
        let Inner::Building { status, headers, body, limit, failure } = self.inner else {
            return Err(TransportError::Io {
                host: host.to_owned(),
                reason: "internal: not a callback response".into(),
            });
        };
        let failure = match (failure, returned) {
            (Some(f), _) => Some(f),
            (None, 0) if status == 0 => {
                Some((scopegate_transport_failure::Io, "the transport callback returned OK without a status".into()))
            }
            (None, 0) => None,
            (None, n) => Some((scopegate_transport_failure::Io, format!("the transport callback returned {n}"))),
        };
        if let Some((kind, reason)) = failure {
            return Err(kind.error(host, &reason, limit));
        }
        let mut response = HttpResponse::new(status, body.to_vec());
        for (n, v) in headers {
            response = response.with_header(n, v);
        }
        Ok(response)
    }

    fn building_mut(&mut self) -> Result<BuildingMut<'_>, Failure> {
        match &mut self.inner {
            Inner::Building { status, headers, body, limit, failure } => {
                Ok(BuildingMut { status, headers, body, limit: *limit, failure })
            }
            Inner::Received(_) => Err(Failure::new(
                scopegate_result::Usage,
                "this response was received, not handed to a transport callback: it is read-only",
            )),
        }
    }
}

struct BuildingMut<'a> {
    status: &'a mut u16,
    headers: &'a mut Vec<(String, String)>,
    body: &'a mut Zeroizing<Vec<u8>>,
    limit: usize,
    failure: &'a mut Option<(scopegate_transport_failure, String)>,
}

/// The status code (200); 0 for NULL or when none was set.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn scopegate_http_response_status(response: *const scopegate_http_response) -> u16 {
    // SAFETY: NULL or a live response, by contract.
    guard_value(0, || unsafe { response.as_ref() }.map_or(0, |r| r.status()))
}

/// Points `*out_body` at the body and writes its length to `*out_len` (`*out_body` is NULL when
/// the body is empty). The bytes belong to `response` and live as long as it.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_http_response_body(
    response: *const scopegate_http_response,
    out_body: *mut *const u8,
    out_len: *mut usize,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live response and writable out-parameters, or NULL, by contract.
        let out_body = unsafe { Out::new(out_body, "out_body") }?;
        let out_len = unsafe { Out::new(out_len, "out_len") }?;
        let r = unsafe { handle(response, "response") }?;
        let body: &[u8] = match &r.inner {
            Inner::Building { body, .. } => body,
            Inner::Received(h) => h.body(),
        };
        out_body.write(if body.is_empty() { std::ptr::null() } else { body.as_ptr() });
        out_len.write(body.len());
        Ok(())
    })
}

/// Writes the value of the first header called `name` (case-insensitive) into `buf`, like every
/// text output; `SCOPEGATE_RESULT_NOT_FOUND` when there is none.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_http_response_header(
    response: *const scopegate_http_response,
    name: *const c_char,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live response, a NUL-terminated name and an output buffer, or NULL.
        let out = unsafe { OutText::new(buf, len, out_n) }?;
        let r = unsafe { handle(response, "response") }?;
        let name = unsafe { cstr(name, "name") }?;
        let value = match &r.inner {
            Inner::Building { headers, .. } => {
                headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
            }
            Inner::Received(h) => h.header(name),
        };
        let value = value.ok_or_else(|| Failure::new(scopegate_result::NotFound, "the response has no such header"))?;
        out.write(value.as_bytes())
    })
}

/// Sets the status code of the answer (transport callbacks).
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_http_response_set_status(
    response: *mut scopegate_http_response,
    status: u16,
) -> scopegate_result {
    guard(|| {
        // SAFETY: NULL or the response handed to the running callback, by contract.
        let b = unsafe { handle_mut(response, "response") }?.building_mut()?;
        if !(100..=999).contains(&status) {
            return Err(Failure::invalid("status", "an http status is 100-999"));
        }
        *b.status = status;
        Ok(())
    })
}

/// Adds a header of the answer (transport callbacks), as the bytes received: a value that is not
/// UTF-8 is read as ISO-8859-1 (kept, each byte one character) and a header whose name is not
/// UTF-8 is dropped; neither costs the answer.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_http_response_add_header(
    response: *mut scopegate_http_response,
    name: *const c_char,
    value: *const c_char,
) -> scopegate_result {
    guard(|| {
        // SAFETY: the running callback's response and NUL-terminated strings, or NULL.
        let b = unsafe { handle_mut(response, "response") }?.building_mut()?;
        let name = unsafe { cbytes(name, "name") }?;
        let value = unsafe { cbytes(value, "value") }?;
        if let Some(header) = scopegate_core::http::header_text(name, value) {
            b.headers.push(header);
        }
        Ok(())
    })
}

/// Appends `len` bytes to the answer's body (transport callbacks): call it as the body arrives.
/// Past the request's `max_response_bytes` the response is marked
/// `SCOPEGATE_TRANSPORT_FAILURE_BODY_TOO_LARGE` and `SCOPEGATE_RESULT_TRANSPORT` is returned: stop
/// reading.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_http_response_append_body(
    response: *mut scopegate_http_response,
    data: *const u8,
    len: usize,
) -> scopegate_result {
    guard(|| {
        // SAFETY: the running callback's response and `len` readable bytes, or NULL.
        let b = unsafe { handle_mut(response, "response") }?.building_mut()?;
        let data = unsafe { bytes(data, len, "data") }?;
        if b.body.len().saturating_add(data.len()) > b.limit {
            *b.failure = Some((scopegate_transport_failure::BodyTooLarge, String::new()));
            return Err(Failure::new(
                scopegate_result::Transport,
                format!("the response body is larger than {} bytes", b.limit),
            ));
        }
        b.body.extend_from_slice(data);
        Ok(())
    })
}

/// Marks the request as failed (transport callbacks), saying whether it may have reached the
/// server (see `scopegate_transport_failure`); the callback then returns anything but
/// `SCOPEGATE_RESULT_OK`. `reason` (may be NULL) is kept in error messages: never put a secret in
/// it. A callback that fails without calling this is taken as `SCOPEGATE_TRANSPORT_FAILURE_IO`
/// (the request may have arrived, so it is not retried).
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_http_response_set_failure(
    response: *mut scopegate_http_response,
    failure: FailureArg,
    reason: *const c_char,
) -> scopegate_result {
    guard(|| {
        // SAFETY: the running callback's response and a NUL-terminated reason, or NULL.
        let b = unsafe { handle_mut(response, "response") }?.building_mut()?;
        let kind = scopegate_transport_failure::from_arg(failure)?;
        let reason = unsafe { crate::boundary::opt_cstr(reason, "reason") }?.unwrap_or("");
        *b.failure = Some((kind, reason.to_owned()));
        Ok(())
    })
}

/// Frees a response given by `scopegate_client_request`. NULL is a no-op. Never free the
/// response handed to a transport callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn scopegate_http_response_free(response: *mut scopegate_http_response) {
    // SAFETY: NULL or a response given to the caller and not freed yet, by contract.
    guard_value((), || unsafe { free_handle(response) })
}
