//! HTTP request and response values exchanged with the caller's transport.
//!
//! The core builds [`HttpRequest`]s and consumes [`HttpResponse`]s; it never opens a socket.
//! Values that carry secrets (the `Authorization` header, a code or refresh token in the body,
//! client credentials) are zeroized on drop and redacted by `Debug`.

use std::fmt;

use url::Url;
use zeroize::Zeroizing;

use crate::method::Method;
use crate::secret::REDACTED;

/// Largest response body the core accepts (1 MiB). Transports should stop reading past it.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Form parameter and query names whose values are secrets.
const SECRET_NAMES: [&str; 9] = [
    "client_secret",
    "code",
    "refresh_token",
    "access_token",
    "code_verifier",
    "state",
    "password",
    "assertion",
    "id_token",
];

pub(crate) fn is_secret_name(name: &str) -> bool {
    SECRET_NAMES.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// A header or form value, marked when it is a secret.
#[derive(Clone)]
struct Field {
    name: String,
    value: Zeroizing<String>,
    secret: bool,
}

/// An HTTP request the caller must send.
///
/// Redirects must not be followed: an OAuth token request re-sent to another location could leak
/// the credentials in it, so [`HttpRequest::follow_redirects`] is always `false` for the requests
/// the core builds, and a 3xx answer is reported as an error.
#[derive(Clone)]
pub struct HttpRequest {
    method: Method,
    url: Url,
    headers: Vec<Field>,
    form: Vec<Field>,
    raw_body: Option<Zeroizing<Vec<u8>>>,
    follow_redirects: bool,
    max_response_bytes: usize,
}

impl HttpRequest {
    /// A request with no headers and no body. Redirects are never followed.
    pub fn new(method: Method, url: Url) -> Self {
        Self {
            method,
            url,
            headers: Vec::new(),
            form: Vec::new(),
            raw_body: None,
            follow_redirects: false,
            max_response_bytes: MAX_RESPONSE_BYTES,
        }
    }

    /// Adds a header whose value is not secret.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.header(name, value, false);
        self
    }

    /// Adds `Authorization: Bearer <token>` (redacted in `Debug`).
    pub fn with_bearer(mut self, token: &crate::secret::AccessToken) -> Self {
        self.header("Authorization", format!("Bearer {}", token.expose_secret()), true);
        self
    }

    /// Sets a raw body (e.g. JSON) with its content type; replaces any form parameters.
    /// The body is zeroized on drop and shown only by length in `Debug`.
    pub fn with_body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.form.clear();
        self.header("Content-Type", content_type, false);
        self.raw_body = Some(Zeroizing::new(body.into()));
        self
    }

    pub(crate) fn header(&mut self, name: &str, value: impl Into<String>, secret: bool) {
        self.headers.push(Field { name: name.to_owned(), value: Zeroizing::new(value.into()), secret });
    }

    pub(crate) fn form_param(&mut self, name: &str, value: impl Into<String>) {
        let secret = is_secret_name(name);
        self.form.push(Field { name: name.to_owned(), value: Zeroizing::new(value.into()), secret });
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The URL to send to. It carries secrets only for a profile that opted into
    /// `client_auth = "query_unsafe"`.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Headers to send, in order, values exposed (for the transport).
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|f| (f.name.as_str(), f.value.as_str()))
    }

    /// The value of the first header with this name (case-insensitive).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }

    /// Form parameters, in order, values exposed.
    pub fn form_params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.form.iter().map(|f| (f.name.as_str(), f.value.as_str()))
    }

    /// The value of a form parameter.
    pub fn form_value(&self, name: &str) -> Option<&str> {
        self.form_params().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The body: the raw body when one was set, else the form parameters
    /// `application/x-www-form-urlencoded` (empty when none).
    pub fn body(&self) -> Zeroizing<Vec<u8>> {
        if let Some(raw) = &self.raw_body {
            return raw.clone();
        }
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for f in &self.form {
            ser.append_pair(&f.name, &f.value);
        }
        Zeroizing::new(ser.finish().into_bytes())
    }

    /// Always `false` for requests built by the core: never follow a redirect.
    pub fn follow_redirects(&self) -> bool {
        self.follow_redirects
    }

    /// Stop reading the response past this many bytes.
    pub fn max_response_bytes(&self) -> usize {
        self.max_response_bytes
    }
}

/// Whether a URL may be used by a transport: https anywhere, plain http only to a loopback host,
/// no user info. `Err` says why not.
pub fn check_url_policy(url: &Url) -> Result<(), String> {
    crate::profile::check_endpoint_url(url)
}

/// Whether the URL's host is a loopback address or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    crate::profile::is_loopback_host(url)
}

/// A URL with the values of secret-named query parameters replaced by `[redacted]`.
pub(crate) fn redacted_url(url: &Url) -> String {
    if url.query().is_none() {
        return url.to_string();
    }
    let mut shown = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if is_secret_name(&k) { REDACTED.to_owned() } else { v.into_owned() };
            (k.into_owned(), v)
        })
        .collect();
    shown.query_pairs_mut().clear().extend_pairs(pairs);
    shown.to_string()
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |fl: &Field| if fl.secret { REDACTED.to_owned() } else { fl.value.as_str().to_owned() };
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &redacted_url(&self.url))
            .field("headers", &self.headers.iter().map(|h| (h.name.clone(), show(h))).collect::<Vec<_>>())
            .field("form", &self.form.iter().map(|p| (p.name.clone(), show(p))).collect::<Vec<_>>())
            .field("raw_body_len", &self.raw_body.as_ref().map(|b| b.len()))
            .field("follow_redirects", &self.follow_redirects)
            .finish()
    }
}

/// An HTTP response the caller received.
#[derive(Clone)]
pub struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Zeroizing<Vec<u8>>,
}

impl HttpResponse {
    /// A response with this status and body (zeroized on drop).
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self { status, headers: Vec::new(), body: Zeroizing::new(body.into()) }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The headers, in order, as received.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &self.headers.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A short, printable, secret-free quotation of a body for error messages.
///
/// Known secrets are cut out, values of secret-named `key=value` / `"key": "value"` pairs and
/// every long token-like run of characters are replaced by `[redacted]`, control characters are
/// escaped, and the result is at most about 80 characters.
pub(crate) fn redacted_snippet(body: &[u8], known_secrets: &[&str]) -> String {
    const MAX_CHARS: usize = 80;
    let head = &body[..body.len().min(4096)];
    let mut text = String::from_utf8_lossy(head).into_owned();
    for s in known_secrets.iter().filter(|s| s.len() >= 4) {
        text = text.replace(*s, REDACTED);
    }
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 16 && run != REDACTED {
            out.push_str(REDACTED);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || "-._~+/=".contains(c) {
            run.push(c);
            continue;
        }
        flush(&mut run, &mut out);
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    // Redact values following secret-named keys, whatever their length.
    for name in SECRET_NAMES {
        out = redact_after_key(&out, name);
    }
    if out.chars().count() > MAX_CHARS {
        let cut: String = out.chars().take(MAX_CHARS).collect();
        return format!("{cut}...");
    }
    if body.len() > head.len() {
        out.push_str("...");
    }
    out
}

fn redact_after_key(text: &str, key: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(key) {
        let (before, after) = rest.split_at(pos + key.len());
        out.push_str(before);
        // skip separators: `=`, `":"`, spaces, quotes
        let sep_len = after.find(|c: char| !matches!(c, '=' | ':' | '"' | ' ' | '\'')).unwrap_or(after.len());
        let (sep, value_and_rest) = after.split_at(sep_len);
        out.push_str(sep);
        if sep.is_empty() {
            rest = after;
            continue;
        }
        let value_len = value_and_rest.find(['&', '"', '\'', ',', '}', ' ', '\\']).unwrap_or(value_and_rest.len());
        let value = &value_and_rest[..value_len];
        if value.is_empty() || value == REDACTED {
            out.push_str(value);
        } else {
            out.push_str(REDACTED);
        }
        rest = &value_and_rest[value_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_redacts_known_and_tokenlike_values() {
        let s = redacted_snippet(b"<html>oops access_token=abc&x=1</html>", &[]);
        assert!(!s.contains("abc"), "{s}");
        let s = redacted_snippet(b"error: the refresh token MYSECRETVALUE0001 is bad", &["MYSECRETVALUE0001"]);
        assert!(!s.contains("MYSECRETVALUE0001"), "{s}");
        let s = redacted_snippet(b"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz plain", &[]);
        assert_eq!(s, "[redacted] plain");
        let s = redacted_snippet(&vec![b'a'; 5000], &[]);
        assert!(s.len() < 100, "{s}");
        let s = redacted_snippet(b"line\nbreak\x00", &[]);
        assert_eq!(s, "line\\nbreak\\u{0}");
    }

    #[test]
    fn url_redaction() {
        let u = Url::parse("https://h/p?client_id=a&client_secret=b&code=c").unwrap();
        let shown = redacted_url(&u);
        assert!(shown.contains("client_id=a"));
        assert!(!shown.contains("=b") && !shown.contains("=c"), "{shown}");
    }
}
