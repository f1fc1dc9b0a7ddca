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

/// Names whose values are secrets, in normalized form (lower case, no `_`, `-`, `.` or space):
/// `access_token`, `accessToken`, `AccessToken` and `access-token` are all `accesstoken`.
const SECRET_NAMES: [&str; 15] = [
    "clientsecret",
    "secret",
    "code",
    "refreshtoken",
    "accesstoken",
    "token",
    "codeverifier",
    "state",
    "password",
    "assertion",
    "clientassertion",
    "idtoken",
    "apikey",
    "sessiontoken",
    "devicecode",
];

/// A key name in normalized form (lower case, separators removed).
fn normalize_key(name: &str) -> String {
    name.chars().filter(|c| !matches!(c, '_' | '-' | '.' | ' ')).map(|c| c.to_ascii_lowercase()).collect()
}

/// Whether a parameter or key name carries a secret value, whatever its case or separators.
pub(crate) fn is_secret_name(name: &str) -> bool {
    let n = normalize_key(name);
    SECRET_NAMES.contains(&n.as_str())
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

    /// Adds a form parameter (`application/x-www-form-urlencoded` body, and that
    /// `Content-Type` unless one is set); values of secret-named parameters (`client_secret`,
    /// `code`, `client_assertion`, ...) are redacted in `Debug`.
    pub fn with_form_param(mut self, name: &str, value: impl Into<String>) -> Self {
        if self.header_value("content-type").is_none() {
            self.header("Content-Type", "application/x-www-form-urlencoded", false);
        }
        self.form_param(name, value);
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

/// A header received in bytes, as text: the value as UTF-8 when it is, else as ISO-8859-1 (RFC
/// 9110 §5.5: octets outside ASCII are opaque; read this way each byte is kept as the character
/// of the same number, so nothing is lost). `None` when the name is not UTF-8: a field name is
/// an ASCII token, so such a header is dropped. Every transport, binding and caller that hands a
/// response in applies this rule, so that one odd header never refuses a whole response.
pub fn header_text(name: &[u8], value: &[u8]) -> Option<(String, String)> {
    let name = std::str::from_utf8(name).ok()?;
    let value = match std::str::from_utf8(value) {
        Ok(v) => v.to_owned(),
        Err(_) => value.iter().map(|&b| char::from(b)).collect(),
    };
    Some((name.to_owned(), value))
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

/// A URL without user info and with the values of secret-named query parameters replaced by
/// `[redacted]`.
pub(crate) fn redacted_url(url: &Url) -> String {
    let mut shown = url.clone();
    if !shown.username().is_empty() || shown.password().is_some() {
        // Only URLs that cannot have user info refuse these; they have none to remove.
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
    }
    if url.query().is_none() {
        return shown.to_string();
    }
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

    /// Adds a header as it came off the wire, in bytes: decoded by [`header_text`], or dropped
    /// when its name is not text. A header never costs the response (it may carry a rotated
    /// refresh token next to a Latin-1 `Set-Cookie`).
    pub fn with_header_bytes(self, name: &[u8], value: &[u8]) -> Self {
        match header_text(name, value) {
            Some((n, v)) => self.with_header(n, v),
            None => self,
        }
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
/// Known secrets are cut out; the values of secret-named keys (`"accessToken": "..."`,
/// `refresh_token=...`, `Client-Secret: ...`, whatever the case or separators, of any length)
/// and every long token-like run of characters are replaced by `[redacted]`; control characters
/// are escaped, and the result is at most about 80 characters.
pub(crate) fn redacted_snippet(body: &[u8], known_secrets: &[&str]) -> String {
    const MAX_CHARS: usize = 80;
    let head = &body[..body.len().min(4096)];
    let mut text = String::from_utf8_lossy(head).into_owned();
    for s in known_secrets.iter().filter(|s| s.len() >= 4) {
        text = text.replace(*s, REDACTED);
    }
    let text = redact_secret_values(&text);
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
    if out.chars().count() > MAX_CHARS {
        let cut: String = out.chars().take(MAX_CHARS).collect();
        return format!("{cut}...");
    }
    if body.len() > head.len() {
        out.push_str("...");
    }
    out
}

/// `text` with the value after every secret-named key replaced by `[redacted]`. A key is a run of
/// letters, digits, `_` and `-` (optionally quoted) followed by `:` or `=`; a quoted value ends at
/// its closing quote (whatever it contains), a bare one at `&`, `,`, `;`, `}`, `]` or white space.
fn redact_secret_values(text: &str) -> String {
    let b = text.as_bytes();
    let is_key_byte = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        if !is_key_byte(b[i]) || (i > 0 && is_key_byte(b[i - 1])) {
            i += 1;
            continue;
        }
        let key_start = i;
        while i < b.len() && is_key_byte(b[i]) {
            i += 1;
        }
        if !is_secret_name(&text[key_start..i]) {
            continue;
        }
        // closing quote of the key, blanks, the separator, blanks, an opening quote
        let mut j = i;
        if j < b.len() && (b[j] == b'"' || b[j] == b'\'') {
            j += 1;
        }
        while j < b.len() && b[j] == b' ' {
            j += 1;
        }
        if j >= b.len() || (b[j] != b':' && b[j] != b'=') {
            continue;
        }
        j += 1;
        while j < b.len() && b[j] == b' ' {
            j += 1;
        }
        let quote = (j < b.len() && (b[j] == b'"' || b[j] == b'\'')).then(|| b[j]);
        if quote.is_some() {
            j += 1;
        }
        let value_start = j;
        while j < b.len() {
            let c = b[j];
            let end = match quote {
                Some(q) => c == q && b[j - 1] != b'\\',
                None => matches!(c, b'&' | b',' | b';' | b'}' | b']' | b'"' | b'\'') || c.is_ascii_whitespace(),
            };
            if end {
                break;
            }
            j += 1;
        }
        if j > value_start && &text[value_start..j] != REDACTED {
            out.push_str(&text[copied..value_start]);
            out.push_str(REDACTED);
            copied = j;
        }
        i = j;
    }
    out.push_str(&text[copied..]);
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
    fn secret_keys_are_found_whatever_their_spelling_and_values_of_any_length() {
        for (body, secret) in [
            (r#"{"accessToken":"ab:cd!ef$gh%ij"}"#, "ab:cd!ef$gh%ij"),
            (r#"{"AccessToken": "x"}"#, "\"x\""),
            (r#"{'access-token': 'p q r'}"#, "p q r"),
            ("access_token=tiny&x=1", "tiny"),
            ("REFRESH_TOKEN = r1", "r1"),
            (r#"{"id_token":"eyJ.a.b","token_type":"Bearer"}"#, "eyJ.a.b"),
            (r#"{"client-secret":"s3","code":"c0de"}"#, "c0de"),
            (r#"{"password":"hunter2"}"#, "hunter2"),
            (r#"{"error":"invalid","token":"t:o:k"}"#, "t:o:k"),
        ] {
            let s = redacted_snippet(body.as_bytes(), &[]);
            assert!(!s.contains(secret), "{body} -> {s}");
            assert!(s.contains(REDACTED), "{body} -> {s}");
        }
        // Not secrets: kept.
        let s = redacted_snippet(br#"{"token_type":"Bearer","error":"invalid_grant","expires_in":5}"#, &[]);
        assert_eq!(s, r#"{"token_type":"Bearer","error":"invalid_grant","expires_in":5}"#);
    }

    #[test]
    fn header_bytes_are_decoded_or_dropped_never_refused() {
        assert_eq!(
            header_text(b"Set-Cookie", b"lang=fran\xe7ais"),
            Some(("Set-Cookie".into(), "lang=fran\u{e7}ais".into()))
        );
        assert_eq!(header_text(b"X", "café".as_bytes()), Some(("X".into(), "café".into())));
        assert_eq!(header_text(b"X-\xff", b"v"), None);
        let r = HttpResponse::new(200, b"{}".to_vec())
            .with_header_bytes(b"A", b"\xff\xfe")
            .with_header_bytes(b"\xc3", b"x");
        assert_eq!(r.headers().collect::<Vec<_>>(), [("A", "\u{ff}\u{fe}")]);
    }

    #[test]
    fn url_redaction() {
        let u = Url::parse("https://h/p?client_id=a&client_secret=b&code=c").unwrap();
        let shown = redacted_url(&u);
        assert!(shown.contains("client_id=a"));
        assert!(!shown.contains("=b") && !shown.contains("=c"), "{shown}");
    }
}
