//! The transport contract: how a caller's HTTP client plugs into scopegate (the core builds
//! the requests and reads the answers; this crate moves them).
//!
//! The core builds [`HttpRequest`]s and reads [`HttpResponse`]s; a [`Transport`] moves them.
//! [`UreqTransport`] is the default one; anything implementing the trait can replace it
//! (a test double, an async runtime's client behind a blocking shim, a corporate proxy client).
//!
//! A transport must:
//! - never follow redirects ([`HttpRequest::follow_redirects`] is `false` for every request the
//!   core builds): answer the 3xx response as it is;
//! - stop reading a body past [`HttpRequest::max_response_bytes`] and report
//!   [`TransportError::BodyTooLarge`];
//! - say, when it fails, whether the request may have reached the server
//!   ([`TransportError::may_have_been_sent`]): a code exchange or a refresh that may have been
//!   received must not be sent again (the code or the old refresh token may already be spent).
//!   Decide by the phase the failure happened in, not by its kind: only a failure before any
//!   byte of the request was written (DNS, connect, the TLS handshake) is "not sent"; a TLS
//!   error or an unreachable network after that is [`TransportError::Io`];
//! - never put a secret (header values, body) into an error.

mod ureq_transport;

pub use scopegate_core::TransportError;
use scopegate_core::{HttpRequest, HttpResponse};
pub use ureq_transport::{TransportConfig, UreqTransport};

/// Sends one request and returns the response (whatever its status).
pub trait Transport: Send + Sync {
    /// Sends `request`. A non-2xx answer is a response, not an error.
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError>;
}

impl<T: Transport + ?Sized> Transport for &T {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        (**self).send(request)
    }
}

impl<T: Transport + ?Sized> Transport for std::sync::Arc<T> {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        (**self).send(request)
    }
}

/// A future that sends one request (what [`AsyncTransport::send`] returns).
#[cfg(feature = "tokio")]
pub type SendFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<HttpResponse, TransportError>> + Send + 'a>>;

/// Sends one request asynchronously: the async side of [`Transport`], for
/// [`AsyncClient`](crate::AsyncClient) (cargo feature `tokio`). The same contract as
/// [`Transport`]: never follow redirects, stop reading past the request's body limit, say by
/// the error whether the request may have been sent, put no secret in an error.
/// [`ReqwestTransport`] is the default one; a service's own async HTTP client plugs in by
/// implementing this.
#[cfg(feature = "tokio")]
pub trait AsyncTransport: Send + Sync + 'static {
    /// Sends `request`. A non-2xx answer is a response, not an error.
    fn send<'a>(&'a self, request: &'a HttpRequest) -> SendFuture<'a>;
}

#[cfg(feature = "tokio")]
mod reqwest_transport;
#[cfg(feature = "tokio")]
pub use reqwest_transport::ReqwestTransport;
