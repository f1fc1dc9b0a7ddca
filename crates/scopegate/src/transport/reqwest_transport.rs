//! The default async transport: reqwest with rustls and the webpki roots (no native-tls).

use scopegate_core::http::header_text;
use scopegate_core::{HttpRequest, HttpResponse, Method, TransportError};

use super::{AsyncTransport, SendFuture, TransportConfig};

/// An async HTTP transport with the rules of [`UreqTransport`](super::UreqTransport): TLS always
/// verified (rustls, webpki roots), plain http only to loopback hosts, redirects never followed,
/// connect and total timeouts, bodies capped at the request's limit, no proxy from the
/// environment. A failure before the request could be written (a connection or TLS handshake
/// that failed) is "not sent"; anything later may have been sent.
#[derive(Clone, Debug)]
pub struct ReqwestTransport {
    /// The client, or why it could not be built (said by every send).
    client: Result<reqwest::Client, String>,
}

impl Default for ReqwestTransport {
    fn default() -> Self {
        Self::new(TransportConfig::default())
    }
}

impl ReqwestTransport {
    /// A transport with these settings (their root certificates, when set, replace the webpki
    /// roots; a root that cannot be read is said by every send, never skipped).
    pub fn new(config: TransportConfig) -> Self {
        Self { client: build(&config) }
    }
}

/// The reqwest client: rustls (ring, the provider ureq already builds) with our roots.
fn build(config: &TransportConfig) -> Result<reqwest::Client, String> {
    let mut roots = rustls::RootCertStore::empty();
    match &config.root_certificates {
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(ders) => {
            for (i, der) in ders.iter().enumerate() {
                roots
                    .add(rustls::pki_types::CertificateDer::from(der.clone()))
                    .map_err(|e| format!("root certificate {i} of the transport configuration: {e}"))?;
            }
        }
    }
    let tls =
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS configuration: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(config.connect_timeout)
        .timeout(config.total_timeout)
        .no_proxy()
        .user_agent(config.user_agent.clone())
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

fn method(m: Method) -> reqwest::Method {
    match m {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
        Method::Head => reqwest::Method::HEAD,
        Method::Options => reqwest::Method::OPTIONS,
    }
}

/// The core's error for a reqwest failure: only a failed connection (DNS, TCP, the TLS
/// handshake) is "not sent". Named, never quoted: a URL may carry credentials.
fn failure(host: &str, e: &reqwest::Error) -> TransportError {
    let host = host.to_owned();
    if e.is_connect() {
        return if e.is_timeout() {
            TransportError::Timeout { host, phase: "connect" }
        } else {
            TransportError::Connect { host, reason: "connection failed".into() }
        };
    }
    if e.is_timeout() {
        return TransportError::Timeout { host, phase: "response" };
    }
    let what = if e.is_body() || e.is_decode() { "reading the answer failed" } else { "the exchange failed" };
    TransportError::Io { host, reason: what.into() }
}

impl AsyncTransport for ReqwestTransport {
    fn send<'a>(&'a self, request: &'a HttpRequest) -> SendFuture<'a> {
        Box::pin(async move {
            if let Some(refused) = crate::embed::policy_refusal(request) {
                return Err(refused);
            }
            let url = request.url();
            let host = url.host_str().unwrap_or("").to_owned();
            let client = self
                .client
                .as_ref()
                .map_err(|reason| TransportError::Connect { host: host.clone(), reason: reason.clone() })?;
            let mut builder = client.request(method(request.method()), url.as_str());
            for (name, value) in request.headers() {
                builder = builder.header(name, value);
            }
            let body = request.body();
            if !body.is_empty() {
                builder = builder.body(body.to_vec());
            }
            let mut answer = builder.send().await.map_err(|e| failure(&host, &e))?;
            let status = answer.status().as_u16();
            let headers: Vec<(String, String)> = answer
                .headers()
                .iter()
                .filter_map(|(name, value)| header_text(name.as_str().as_bytes(), value.as_bytes()))
                .collect();
            let limit = request.max_response_bytes();
            let mut bytes = zeroize::Zeroizing::new(Vec::new());
            while let Some(chunk) = answer.chunk().await.map_err(|e| failure(&host, &e))? {
                if bytes.len() + chunk.len() > limit {
                    return Err(TransportError::BodyTooLarge { host, limit });
                }
                bytes.extend_from_slice(&chunk);
            }
            let mut response = HttpResponse::new(status, bytes.to_vec());
            for (name, value) in headers {
                response = response.with_header(name, value);
            }
            Ok(response)
        })
    }
}
