//! The default transport: ureq with rustls and the webpki root certificates.

use std::time::Duration;

use scopegate_core::Method;
use scopegate_core::{HttpRequest, HttpResponse, check_url_policy, header_text};
use scopegate_core::{Transport, TransportError};

/// Settings of [`UreqTransport`].
#[derive(Clone, Debug)]
pub struct TransportConfig {
    /// Connection setup, TLS included (default 10 s).
    pub connect_timeout: Duration,
    /// Whole exchange, body included (default 30 s).
    pub total_timeout: Duration,
    /// `User-Agent` header (default `scopegate/<version>`).
    pub user_agent: String,
}

impl TransportConfig {
    /// The default connect timeout.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    /// The default total timeout of one request.
    pub const DEFAULT_TOTAL_TIMEOUT: Duration = Duration::from_secs(30);
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            total_timeout: Self::DEFAULT_TOTAL_TIMEOUT,
            user_agent: format!("scopegate/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// A blocking HTTP transport:
///
/// - TLS is always verified (rustls, webpki roots); there is no switch to turn it off;
/// - plain http only to loopback addresses; anything else is refused before connecting;
/// - redirects are never followed: a 3xx is returned as the response;
/// - connect and total timeouts; response bodies capped at the request's limit (1 MiB);
/// - no proxy from the environment (a token request must not be rerouted silently).
#[derive(Clone, Debug)]
pub struct UreqTransport {
    agent: ureq::Agent,
    config: TransportConfig,
}

impl Default for UreqTransport {
    fn default() -> Self {
        Self::new(TransportConfig::default())
    }
}

impl UreqTransport {
    /// A transport with these settings.
    pub fn new(config: TransportConfig) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(config.connect_timeout))
            .timeout_global(Some(config.total_timeout))
            .max_redirects(0)
            .http_status_as_error(false)
            .proxy(None)
            .user_agent(config.user_agent.as_str())
            .build()
            .into();
        Self { agent, config }
    }

    /// The settings.
    pub fn config(&self) -> &TransportConfig {
        &self.config
    }
}

fn map_error(host: &str, e: ureq::Error, limit: usize) -> TransportError {
    let host = host.to_owned();
    match e {
        ureq::Error::Timeout(kind) => {
            let phase = match kind {
                ureq::Timeout::Resolve | ureq::Timeout::Connect => "connect",
                _ => "response",
            };
            TransportError::Timeout { host, phase }
        }
        ureq::Error::HostNotFound => TransportError::Connect { host, reason: "host not found".into() },
        ureq::Error::ConnectionFailed => TransportError::Connect { host, reason: "connection failed".into() },
        ureq::Error::Io(io) if is_connect_error(&io) => TransportError::Connect { host, reason: io.kind().to_string() },
        ureq::Error::Tls(reason) => TransportError::Tls { host, reason: reason.to_owned() },
        ureq::Error::Rustls(err) => TransportError::Tls { host, reason: err.to_string() },
        ureq::Error::BodyExceedsLimit(_) => TransportError::BodyTooLarge { host, limit },
        // The URI may carry credentials (a `query_unsafe` profile): never quote it.
        ureq::Error::BadUri(_) => TransportError::InvalidUrl { reason: "ureq rejected the uri".into() },
        ureq::Error::Io(io) => {
            let inner = io.get_ref();
            if let Some(tls) = inner.and_then(|i| i.downcast_ref::<rustls::Error>()) {
                return TransportError::Tls { host, reason: tls.to_string() };
            }
            match inner.and_then(|i| i.downcast_ref::<ureq::Error>()) {
                Some(ureq::Error::BodyExceedsLimit(_)) => TransportError::BodyTooLarge { host, limit },
                Some(ureq::Error::Rustls(err)) => TransportError::Tls { host, reason: err.to_string() },
                Some(ureq::Error::Timeout(_)) => TransportError::Timeout { host, phase: "response" },
                _ => TransportError::Io { host, reason: io.kind().to_string() },
            }
        }
        // Other errors are named, not quoted: some carry the URL, which may hold credentials.
        other => TransportError::Io { host, reason: error_kind(&other).into() },
    }
}

fn error_kind(e: &ureq::Error) -> &'static str {
    match e {
        ureq::Error::StatusCode(_) => "unexpected status",
        ureq::Error::Http(_) => "invalid http request",
        ureq::Error::Protocol(_) => "http protocol error",
        ureq::Error::RedirectFailed | ureq::Error::TooManyRedirects => "redirect",
        ureq::Error::RequireHttpsOnly(_) | ureq::Error::TlsRequired => "https required",
        ureq::Error::LargeResponseHeader(_, _) => "response header too large",
        ureq::Error::BodyStalled => "response body stalled",
        _ => "transport error",
    }
}

fn is_connect_error(io: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(io.kind(), ConnectionRefused | AddrNotAvailable | NetworkUnreachable | HostUnreachable)
}

fn method_name(m: Method) -> &'static str {
    m.as_str()
}

impl Transport for UreqTransport {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let url = request.url();
        let host = url.host_str().unwrap_or("").to_owned();
        if let Err(reason) = check_url_policy(url) {
            return Err(if url.scheme() == "http" {
                TransportError::InsecureScheme { host }
            } else {
                TransportError::InvalidUrl { reason }
            });
        }
        let mut builder = ureq::http::Request::builder().method(method_name(request.method())).uri(url.as_str());
        for (name, value) in request.headers() {
            builder = builder.header(name, value);
        }
        let body = request.body();
        let http_request =
            builder.body(body.to_vec()).map_err(|e| TransportError::InvalidUrl { reason: e.to_string() })?;
        let limit = request.max_response_bytes();
        let mut response = self.agent.run(http_request).map_err(|e| map_error(&host, e, limit))?;
        let status = response.status().as_u16();
        // Values that are not visible ASCII (a Latin-1 cookie, UTF-8 text) are kept, decoded.
        let headers: Vec<(String, String)> =
            response.headers().iter().filter_map(|(n, v)| header_text(n.as_str().as_bytes(), v.as_bytes())).collect();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(limit as u64)
            .read_to_vec()
            .map_err(|e| map_error(&host, e, limit))?;
        let mut out = HttpResponse::new(status, bytes);
        for (n, v) in headers {
            out = out.with_header(n, v);
        }
        Ok(out)
    }
}
