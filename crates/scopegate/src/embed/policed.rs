//! A caller's own HTTP client, kept to the rules every transport keeps, and its failures.

use scopegate_core::http::check_url_policy;
use scopegate_core::{HttpRequest, HttpResponse, TransportError};

use crate::transport::Transport;

/// Why a request may not leave at all (plain http to a host that is not loopback; a URL the
/// policy refuses), as the error every transport gives; `None` when it may.
pub fn policy_refusal(request: &HttpRequest) -> Option<TransportError> {
    let url = request.url();
    let reason = check_url_policy(url).err()?;
    let host = url.host_str().unwrap_or("").to_owned();
    Some(if url.scheme() == "http" {
        TransportError::InsecureScheme { host }
    } else {
        TransportError::InvalidUrl { reason }
    })
}

/// A caller's transport (a C callback, a Python callable) with the rules of the built-in one:
/// plain http only to loopback hosts (refused before the caller is asked), and an answer's
/// body no longer than the request allows ([`TransportError::BodyTooLarge`]).
#[derive(Debug)]
pub struct PolicedTransport<T>(pub T);

impl<T: Transport> Transport for PolicedTransport<T> {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        if let Some(refused) = policy_refusal(request) {
            return Err(refused);
        }
        let limit = request.max_response_bytes();
        let response = self.0.send(request)?;
        if response.body().len() > limit {
            let host = request.url().host_str().unwrap_or("").to_owned();
            return Err(TransportError::BodyTooLarge { host, limit });
        }
        Ok(response)
    }
}

/// How a caller's transport failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallerFailure {
    /// No connection was made (the request was not sent).
    Connect,
    /// The TLS handshake failed (the request was not sent).
    Tls,
    /// Connecting took too long (the request was not sent).
    ConnectTimeout,
    /// The answer took too long (the request may have been sent).
    ResponseTimeout,
    /// The answer's body was too large.
    BodyTooLarge,
    /// Anything else, after which the request may have reached the server.
    Io,
}

/// The longest caller text kept in a transport error.
const MAX_REASON_CHARS: usize = 200;

/// A caller's transport failure as the core's [`TransportError`]. `reason` is the caller's
/// text: control characters are removed and it is cut to 200 characters (it must not carry
/// secrets; an empty one says so).
pub fn caller_failure(kind: CallerFailure, host: &str, reason: &str, limit: usize) -> TransportError {
    let host = host.to_owned();
    let reason: String = reason.chars().filter(|c| !c.is_control()).take(MAX_REASON_CHARS).collect();
    let reason = if reason.trim().is_empty() { "no reason given".to_owned() } else { reason };
    match kind {
        CallerFailure::Connect => TransportError::Connect { host, reason },
        CallerFailure::Tls => TransportError::Tls { host, reason },
        CallerFailure::ConnectTimeout => TransportError::Timeout { host, phase: "connect" },
        CallerFailure::ResponseTimeout => TransportError::Timeout { host, phase: "response" },
        CallerFailure::BodyTooLarge => TransportError::BodyTooLarge { host, limit },
        CallerFailure::Io => TransportError::Io { host, reason },
    }
}
