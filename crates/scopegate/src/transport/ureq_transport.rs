//! The default transport: ureq with rustls and the webpki root certificates.

use std::time::Duration;

use scopegate_core::Method;
use scopegate_core::TransportError;
use scopegate_core::http::header_text;
use scopegate_core::{HttpRequest, HttpResponse};

use super::Transport;
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{ConnectionDetails, Connector, DefaultConnector, NextTimeout};

/// Settings of [`UreqTransport`].
#[derive(Clone, Debug)]
pub struct TransportConfig {
    /// Connection setup, TLS included (default 10 s).
    pub connect_timeout: Duration,
    /// Whole exchange, body included (default 30 s).
    pub total_timeout: Duration,
    /// `User-Agent` header (default `scopegate/<version>`).
    pub user_agent: String,
    /// The root certificates (DER) TLS trusts. `None` (the default): the Mozilla roots of
    /// `webpki-roots`. `Some(roots)`: these roots only, instead of the Mozilla ones: for a
    /// provider behind a private CA, or a test server with its own self-signed root. Either way
    /// every certificate is verified; there is no way to turn verification off.
    pub root_certificates: Option<Vec<Vec<u8>>>,
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
            root_certificates: None,
        }
    }
}

/// A blocking HTTP transport:
///
/// - TLS is always verified (rustls, webpki roots or [`TransportConfig::root_certificates`]);
///   there is no switch to turn it off;
/// - a failure says whether the request may have been sent by the phase it happened in: only
///   DNS, connect and the TLS handshake come before any byte of it is written
///   ([`TransportError::may_have_been_sent`]); a TLS or network error after that is
///   [`TransportError::Io`], never retried;
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
        let mut builder = ureq::Agent::config_builder()
            .timeout_connect(Some(config.connect_timeout))
            .timeout_global(Some(config.total_timeout))
            .max_redirects(0)
            .http_status_as_error(false)
            .proxy(None)
            .user_agent(config.user_agent.as_str());
        if let Some(roots) = &config.root_certificates {
            let roots: Vec<ureq::tls::Certificate<'static>> =
                roots.iter().map(|der| ureq::tls::Certificate::from_der(der).to_owned()).collect();
            let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::new_with_certs(&roots)).build();
            builder = builder.tls_config(tls);
        }
        // Failures of DNS, connect and the TLS handshake come marked: only they are "not sent".
        let agent = ureq::Agent::with_parts(builder.build(), SetupPhase::default(), SetupResolver::default());
        Self { agent, config }
    }

    /// The settings.
    pub fn config(&self) -> &TransportConfig {
        &self.config
    }
}

/// A failure while the connection was being set up (DNS, connect, the TLS handshake): nothing
/// of the request had been written. [`SetupPhase`] and [`SetupResolver`] wrap every error of
/// that phase in it, so that the phase, not the kind of error, says whether a request may have
/// been sent (a TLS or unreachable error after the request was written is "sent").
#[derive(Debug)]
struct BeforeSending(ureq::Error);

impl std::fmt::Display for BeforeSending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "before sending: {}", self.0)
    }
}

impl std::error::Error for BeforeSending {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

fn before_sending(e: ureq::Error) -> ureq::Error {
    ureq::Error::Other(Box::new(BeforeSending(e)))
}

/// ureq's default connector chain (TCP, then the TLS handshake), its failures marked
/// [`BeforeSending`].
#[derive(Debug, Default)]
struct SetupPhase(DefaultConnector);

impl Connector<()> for SetupPhase {
    type Out = <DefaultConnector as Connector<()>>::Out;

    fn connect(&self, details: &ConnectionDetails<'_>, chained: Option<()>) -> Result<Option<Self::Out>, ureq::Error> {
        self.0.connect(details, chained).map_err(before_sending)
    }
}

/// ureq's default resolver, its failures (DNS) marked [`BeforeSending`].
#[derive(Debug, Default)]
struct SetupResolver(DefaultResolver);

impl Resolver for SetupResolver {
    fn resolve(&self, uri: &Uri, config: &Config, timeout: NextTimeout) -> Result<ResolvedSocketAddrs, ureq::Error> {
        self.0.resolve(uri, config, timeout).map_err(before_sending)
    }
}

/// The rustls error inside an io error, if that is what it is.
fn rustls_error(io: &std::io::Error) -> Option<&rustls::Error> {
    let inner = io.get_ref()?;
    inner.downcast_ref::<rustls::Error>().or_else(|| match inner.downcast_ref::<ureq::Error>() {
        Some(ureq::Error::Rustls(e)) => Some(e),
        _ => None,
    })
}

/// A failure in the setup phase: nothing of the request was written.
fn setup_error(host: String, e: ureq::Error) -> TransportError {
    match e {
        ureq::Error::Timeout(_) => TransportError::Timeout { host, phase: "connect" },
        ureq::Error::HostNotFound => TransportError::Connect { host, reason: "host not found".into() },
        ureq::Error::Tls(reason) => TransportError::Tls { host, reason: reason.to_owned() },
        ureq::Error::Rustls(err) => TransportError::Tls { host, reason: err.to_string() },
        ureq::Error::Io(io) => match rustls_error(&io) {
            Some(tls) => TransportError::Tls { host, reason: tls.to_string() },
            None => TransportError::Connect { host, reason: io.kind().to_string() },
        },
        // Named, not quoted: some carry the URL, which may hold credentials.
        other => TransportError::Connect { host, reason: error_kind(&other).into() },
    }
}

/// A ureq error as the core's. Failures of the setup phase come marked [`BeforeSending`]; any
/// other happened after the request began to be written, whatever its kind (a TLS record that
/// does not decrypt, a network that became unreachable), so the request may have arrived.
fn map_error(host: &str, e: ureq::Error, limit: usize) -> TransportError {
    let host = host.to_owned();
    match e {
        ureq::Error::Other(inner) => match inner.downcast::<BeforeSending>() {
            Ok(setup) => setup_error(host, setup.0),
            Err(_) => TransportError::Io { host, reason: "transport error".into() },
        },
        ureq::Error::Timeout(kind) => {
            let phase = match kind {
                ureq::Timeout::Resolve | ureq::Timeout::Connect => "connect",
                _ => "response",
            };
            TransportError::Timeout { host, phase }
        }
        // The connector gave no connection, or no address was found: nothing was written.
        ureq::Error::HostNotFound => TransportError::Connect { host, reason: "host not found".into() },
        ureq::Error::ConnectionFailed => TransportError::Connect { host, reason: "connection failed".into() },
        ureq::Error::BodyExceedsLimit(_) => TransportError::BodyTooLarge { host, limit },
        // The URI may carry credentials (a `query_unsafe` profile): never quote it.
        ureq::Error::BadUri(_) => TransportError::InvalidUrl { reason: "ureq rejected the uri".into() },
        ureq::Error::Tls(reason) => {
            TransportError::Io { host, reason: format!("tls failed after the request was written: {reason}") }
        }
        ureq::Error::Rustls(err) => {
            TransportError::Io { host, reason: format!("tls failed after the request was written: {err}") }
        }
        ureq::Error::Io(io) => {
            if let Some(tls) = rustls_error(&io) {
                return TransportError::Io { host, reason: format!("tls failed after the request was written: {tls}") };
            }
            match io.get_ref().and_then(|i| i.downcast_ref::<ureq::Error>()) {
                Some(ureq::Error::BodyExceedsLimit(_)) => TransportError::BodyTooLarge { host, limit },
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

fn method_name(m: Method) -> &'static str {
    m.as_str()
}

impl Transport for UreqTransport {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let url = request.url();
        let host = url.host_str().unwrap_or("").to_owned();
        if let Some(refused) = crate::embed::policy_refusal(request) {
            return Err(refused);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 18: an unreachable host or network reported on an established connection (the
    /// request was written) is not a connect failure.
    #[test]
    fn unreachable_after_the_connection_was_made_may_have_been_sent() {
        use std::io::{Error, ErrorKind};
        for kind in [ErrorKind::HostUnreachable, ErrorKind::NetworkUnreachable, ErrorKind::ConnectionRefused] {
            let e = map_error("h", ureq::Error::Io(Error::from(kind)), 10);
            assert!(e.may_have_been_sent(), "{kind:?}: {e:?}");
            // The same during the setup phase (DNS, connect, handshake): nothing was sent.
            let e = map_error("h", before_sending(ureq::Error::Io(Error::from(kind))), 10);
            assert!(matches!(e, TransportError::Connect { .. }) && !e.may_have_been_sent(), "{kind:?}: {e:?}");
        }
    }

    #[test]
    fn the_phase_decides_for_tls_and_timeouts() {
        use std::io::{Error, ErrorKind};
        let tls = || ureq::Error::Io(Error::new(ErrorKind::InvalidData, rustls::Error::DecryptError));
        let e = map_error("h", before_sending(tls()), 10);
        assert!(matches!(e, TransportError::Tls { .. }) && !e.may_have_been_sent(), "{e:?}");
        let e = map_error("h", tls(), 10);
        assert!(matches!(e, TransportError::Io { .. }) && e.may_have_been_sent(), "{e:?}");
        assert!(e.to_string().contains("tls failed after the request was written"), "{e}");
        let e = map_error("h", before_sending(ureq::Error::Timeout(ureq::Timeout::Global)), 10);
        assert_eq!(e, TransportError::Timeout { host: "h".into(), phase: "connect" });
        let e = map_error("h", ureq::Error::Timeout(ureq::Timeout::Global), 10);
        assert!(e.may_have_been_sent(), "{e:?}");
        let e = map_error("h", before_sending(ureq::Error::HostNotFound), 10);
        assert!(matches!(e, TransportError::Connect { .. }) && !e.may_have_been_sent(), "{e:?}");
    }
}
