//! In-process calls: a [`Transport`] that hands requests straight to the sandbox's routing,
//! without a socket.

use std::sync::Arc;

use scopegate::Transport;
use scopegate_core::TransportError;
use scopegate_core::{HttpRequest, HttpResponse};
use url::Url;

use crate::server::{Incoming, respond};
use crate::state::Shared;

/// A [`Transport`] that answers requests to the sandbox's base URL in-process: the same routing
/// as the HTTP server (same state, counters, faults, clock), no connection opened. A request
/// to any other origin fails with [`TransportError::Connect`] (nothing is sent anywhere).
/// Redirects are answered, never followed; a `slow` fault sleeps as the server does. Made by
/// [`Sandbox::transport`](crate::Sandbox::transport); clones share the sandbox.
#[derive(Clone)]
pub struct SandboxTransport {
    shared: Arc<Shared>,
    origin: Url,
}

impl SandboxTransport {
    pub(crate) fn new(shared: Arc<Shared>) -> SandboxTransport {
        let origin = Url::parse(&shared.base).expect("the sandbox's base url is http://127.0.0.1:PORT");
        SandboxTransport { shared, origin }
    }

    /// Whether `url` is under the sandbox's base URL (same scheme, host and port).
    fn reaches(&self, url: &Url) -> bool {
        url.scheme() == self.origin.scheme()
            && url.host() == self.origin.host()
            && url.port_or_known_default() == self.origin.port_or_known_default()
    }
}

impl std::fmt::Debug for SandboxTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxTransport").field("base_url", &self.shared.base).finish()
    }
}

impl Transport for SandboxTransport {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let url = request.url();
        let host = url.host_str().unwrap_or("").to_owned();
        if !self.reaches(url) {
            return Err(TransportError::Connect {
                host,
                reason: format!("the in-process sandbox transport reaches only {}", self.shared.base),
            });
        }
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let incoming = Incoming {
            method: request.method().as_str(),
            target: &target,
            authorization: request.header_value("authorization").map(str::to_owned),
            dpop: request.header_value("dpop").map(str::to_owned),
            content_type: request.header_value("content-type").unwrap_or_default().to_owned(),
            body: Some(request.body().to_vec()),
        };
        let answer = respond(&self.shared, incoming);
        if let Some(d) = answer.delay {
            std::thread::sleep(d);
        }
        let limit = request.max_response_bytes();
        if answer.body.len() > limit {
            return Err(TransportError::BodyTooLarge { host, limit });
        }
        let headers = answer.headers();
        let mut response = HttpResponse::new(answer.status, answer.body.into_bytes());
        for (name, value) in headers {
            response = response.with_header(name, value);
        }
        Ok(response)
    }
}
