//! The server: starting and stopping a sandbox, the tiny_http loop, requests and answers, and
//! the routing every request goes through.

use std::collections::HashMap;
use std::io::Read;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use scopegate_core::Provider;
use scopegate_core::Timestamp;
use serde_json::{Value, json};
use url::Url;

use crate::state::{Shared, State};
use crate::{
    App, Consent, Counters, Fault, PROVIDERS, SandboxClock, SandboxError, SandboxTransport, authorize, consent,
    control, profile_at, profile_at_with, token,
};
use crate::{uaa, yotpo, yuvo};

/// Largest request body read.
const MAX_BODY: usize = 64 * 1024;

/// How a sandbox starts ([`Sandbox::start_with`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SandboxOptions {
    /// Port on 127.0.0.1 (0: ephemeral).
    pub port: u16,
    /// How consent is given.
    pub consent: Consent,
    /// Strict mode (see [`Sandbox::set_strict`]).
    pub strict: bool,
}

impl Default for SandboxOptions {
    /// An ephemeral port, consent automatic, not strict: what [`Sandbox::start`] does.
    fn default() -> SandboxOptions {
        SandboxOptions { port: 0, consent: Consent::AutoApprove, strict: false }
    }
}

/// A running sandbox. Dropping it stops the server and closes the port.
pub struct Sandbox {
    pub(crate) shared: Arc<Shared>,
    server: Option<Arc<tiny_http::Server>>,
    thread: Option<JoinHandle<()>>,
    addr: std::net::SocketAddr,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("base_url", &self.shared.base).finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Starts on an ephemeral port of 127.0.0.1, consent automatic.
    pub fn start() -> Result<Sandbox, SandboxError> {
        Sandbox::start_on(0, Consent::AutoApprove)
    }

    /// Starts on `port` of 127.0.0.1 (0: ephemeral).
    pub fn start_on(port: u16, consent: Consent) -> Result<Sandbox, SandboxError> {
        Sandbox::start_with(SandboxOptions { port, consent, strict: false })
    }

    /// Starts as `options` say.
    pub fn start_with(options: SandboxOptions) -> Result<Sandbox, SandboxError> {
        let SandboxOptions { port, consent, strict } = options;
        let server = tiny_http::Server::http(("127.0.0.1", port))
            .map_err(|e| SandboxError::Start { port, reason: e.to_string() })?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| SandboxError::Start { port, reason: "not an ip socket".into() })?;
        let base = format!("http://{addr}");
        let profiles: HashMap<String, Provider> = PROVIDERS
            .iter()
            .map(|p| profile_at(&base, p).map(|prof| ((*p).to_owned(), prof)))
            .collect::<Result<_, _>>()?;
        let clock = SandboxClock::default();
        let specs = crate::specs::SpecsServer::new(&base, clock.clone());
        let state = Mutex::new(State::new(consent, strict, clock));
        let shared = Arc::new(Shared { base, state, profiles, specs });
        let server = Arc::new(server);
        let (srv, sh) = (Arc::clone(&server), Arc::clone(&shared));
        let thread = std::thread::spawn(move || {
            for request in srv.incoming_requests() {
                let sh = Arc::clone(&sh);
                // One thread per request: a slow answer (fault) holds up nobody else.
                std::thread::spawn(move || handle(&sh, request));
            }
        });
        Ok(Sandbox { shared, server: Some(server), thread: Some(thread), addr })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.shared.base
    }

    /// Built-in profile `id` with every URL pointed at this sandbox (and, while the sandbox is
    /// strict, `pkce = "S256"` for Yespo, Reteno and Yuvo: see [`profile_at_with`]).
    pub fn profile(&self, id: &str) -> Result<Provider, SandboxError> {
        profile_at_with(&self.shared.base, id, self.is_strict())
    }

    /// Turns strict mode on or off; each request is judged by the mode when it arrives. In
    /// strict mode:
    /// - an authorization request to Yespo, Reteno or Yuvo without a `code_challenge` (or with a
    ///   method other than `S256`) is refused with `error=invalid_request` on the redirect URI,
    ///   and a token request carrying a `code_verifier` for a code requested without a
    ///   challenge is `invalid_grant` (RFC 9700 §2.1.1). (A challenge that was sent is verified
    ///   at the token endpoint whether strict or not);
    /// - a refresh token that was rotated out, presented again, is answered `invalid_grant`
    ///   ("refresh token reuse detected; the grant is revoked") and revokes its whole grant
    ///   (RFC 9700 §4.14.2): the current refresh token and the access tokens descended from the
    ///   same authorization code or client credentials issue stop working
    ///   ([`Counters::reuse_detected`]). Out of strict mode a used refresh token is only
    ///   `invalid_grant`.
    pub fn set_strict(&self, on: bool) {
        self.shared.lock().strict = on;
    }

    /// Whether the sandbox is in strict mode.
    pub fn is_strict(&self) -> bool {
        self.shared.lock().strict
    }

    /// Registers (or replaces, by provider and client id) an app. Its provider is a built-in id
    /// or the id of a profile pointed at a sandbox ([`builtin_id`](crate::builtin_id)).
    pub fn register(&self, mut app: App) -> Result<(), SandboxError> {
        app.provider = crate::builtin_id(&app.provider).to_owned();
        self.shared.lock().register(app)
    }

    /// What provider `id` (built-in, or pointed at a sandbox: `yespo@127.0.0.1:PORT`) has seen
    /// so far.
    pub fn counters(&self, id: &str) -> Counters {
        self.shared.lock().counters.get(crate::builtin_id(id)).cloned().unwrap_or_default()
    }

    /// Queues a fault for the next token-endpoint answer of provider `id` (as for
    /// [`counters`](Self::counters); queued faults apply one per request, in order).
    pub fn inject(&self, id: &str, fault: Fault) {
        self.shared.lock().faults.entry(crate::builtin_id(id).to_owned()).or_default().push(fault);
    }

    /// Sets how consent is given from now on.
    pub fn set_consent(&self, consent: Consent) {
        self.shared.lock().consent = consent;
    }

    /// Where Yotpo's uninstall webhook is POSTed (a loopback `http` URL).
    pub fn set_uninstall_webhook(&self, url: Url) {
        self.shared.lock().webhook = Some(url);
    }

    /// The merchant disconnects the app from store `app_key` in the (emulated) Yotpo admin: its
    /// token is deleted, and the uninstall webhook is POSTed when one is set. Returns whether the
    /// webhook was delivered.
    pub fn merchant_uninstall(&self, app_key: &str) -> Result<bool, SandboxError> {
        yotpo::merchant_uninstall(&self.shared, app_key)
    }

    /// A [`Transport`](scopegate::Transport) that calls this sandbox in-process,
    /// without a socket (see [`SandboxTransport`]).
    pub fn transport(&self) -> SandboxTransport {
        SandboxTransport::new(Arc::clone(&self.shared))
    }

    /// Now, by the sandbox's clock (the system clock unless [`advance`](Sandbox::advance)d).
    pub fn now(&self) -> Timestamp {
        self.shared.lock().clock.now()
    }

    /// Moves the sandbox's clock `secs` seconds forward: codes and tokens expire as if that
    /// time had passed.
    pub fn advance(&self, secs: u64) {
        self.shared.lock().clock.advance(secs);
    }

    /// A handle on the sandbox's clock (clones share it), e.g. for a client's clock.
    pub fn clock(&self) -> SandboxClock {
        self.shared.lock().clock.clone()
    }

    /// Stops the server (also done on drop).
    pub fn stop(mut self) {
        self.shutdown();
    }

    /// Stops accepting, waits for the serving thread, drops the server, and waits (up to 2 s)
    /// until the port refuses connections.
    fn shutdown(&mut self) {
        let Some(server) = self.server.take() else { return };
        server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        drop(server); // the last handle: tiny_http's listener thread ends and closes the port
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while std::time::Instant::now() < deadline
            && TcpStream::connect_timeout(&self.addr, Duration::from_millis(100)).is_ok()
        {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.shutdown();
    }
}

// ---------------------------------------------------------------------------------------------
// Requests

/// A request, parsed.
pub(crate) struct Req {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) form: Vec<(String, String)>,
    pub(crate) json: Option<Value>,
    pub(crate) authorization: Option<String>,
    /// The `DPoP` header (RFC 9449).
    pub(crate) dpop: Option<String>,
}

impl Req {
    /// A query parameter.
    pub(crate) fn q(&self, k: &str) -> Option<&str> {
        self.query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
    /// A form parameter.
    pub(crate) fn f(&self, k: &str) -> Option<&str> {
        self.form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
    /// The bearer token of the `Authorization` header.
    pub(crate) fn bearer(&self) -> Option<&str> {
        let a = self.authorization.as_deref()?;
        let (scheme, token) = a.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
    }
}

/// An answer, before it is written.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) body: String,
    pub(crate) location: Option<String>,
    /// Wait this long before answering (the `slow` fault).
    pub(crate) delay: Option<Duration>,
    /// More headers (`DPoP-Nonce`, `WWW-Authenticate`).
    pub(crate) extra_headers: Vec<(&'static str, String)>,
}

impl Answer {
    pub(crate) fn json(status: u16, v: Value) -> Answer {
        Answer {
            status,
            content_type: "application/json",
            body: v.to_string(),
            location: None,
            delay: None,
            extra_headers: Vec::new(),
        }
    }
    pub(crate) fn oauth_error(status: u16, error: &str, description: &str) -> Answer {
        Answer::json(status, json!({"error": error, "error_description": description}))
    }
    pub(crate) fn html(status: u16, title: &str, body: &str) -> Answer {
        let page = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
             <body style=\"font-family:sans-serif;margin:3em\"><h1>{t}</h1>{body}</body></html>",
            t = escape(title)
        );
        Answer {
            status,
            content_type: "text/html; charset=utf-8",
            body: page,
            location: None,
            delay: None,
            extra_headers: Vec::new(),
        }
    }
    pub(crate) fn redirect(to: String) -> Answer {
        Answer {
            status: 302,
            content_type: "text/plain",
            body: String::new(),
            location: Some(to),
            delay: None,
            extra_headers: Vec::new(),
        }
    }
    /// The headers of the answer.
    pub(crate) fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![("Content-Type", self.content_type.to_owned()), ("Cache-Control", "no-store".to_owned())];
        if let Some(l) = &self.location {
            h.push(("Location", l.clone()));
        }
        h.extend(self.extra_headers.iter().cloned());
        h
    }
    /// The answer with one more header.
    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Answer {
        self.extra_headers.push((name, value));
        self
    }
}

/// `s` safe inside HTML text and attribute values.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A request as it arrives, before it is parsed: from a socket or from the in-process transport.
pub(crate) struct Incoming<'a> {
    pub(crate) method: &'a str,
    /// Path and query, as on the request line.
    pub(crate) target: &'a str,
    pub(crate) authorization: Option<String>,
    pub(crate) dpop: Option<String>,
    pub(crate) content_type: String,
    /// `None`: the body could not be read or is larger than the sandbox reads.
    pub(crate) body: Option<Vec<u8>>,
}

/// Answers one request: the one entry of the HTTP server and of the in-process transport.
pub(crate) fn respond(shared: &Shared, incoming: Incoming<'_>) -> Answer {
    let Some(body) = incoming.body.filter(|b| b.len() <= MAX_BODY) else {
        return Answer::oauth_error(413, "invalid_request", "body too large");
    };
    let (path, query) = incoming.target.split_once('?').unwrap_or((incoming.target, ""));
    let content_type = incoming.content_type;
    let form = if content_type.starts_with("application/x-www-form-urlencoded") {
        url::form_urlencoded::parse(&body).into_owned().collect()
    } else {
        Vec::new()
    };
    let req = Req {
        method: incoming.method.to_owned(),
        path: path.to_owned(),
        query: url::form_urlencoded::parse(query.as_bytes()).into_owned().collect(),
        form,
        json: if content_type.starts_with("application/json") { serde_json::from_slice(&body).ok() } else { None },
        authorization: incoming.authorization,
        dpop: incoming.dpop,
    };
    route(shared, &req)
}

/// One request from a socket: read, answered, written.
fn handle(shared: &Shared, mut request: tiny_http::Request) {
    let header = |name: &str| {
        request
            .headers()
            .iter()
            .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
            .map(|h| h.value.to_string())
    };
    let authorization = header("authorization");
    let dpop = header("dpop");
    let content_type = header("content-type").unwrap_or_default();
    let mut body = Vec::new();
    let read = request.as_reader().take(MAX_BODY as u64 + 1).read_to_end(&mut body);
    let (method, target) = (request.method().as_str().to_owned(), request.url().to_owned());
    let incoming =
        Incoming { method: &method, target: &target, authorization, dpop, content_type, body: read.ok().map(|_| body) };
    let answer = respond(shared, incoming);
    if let Some(d) = answer.delay {
        std::thread::sleep(d);
    }
    let headers = answer.headers();
    let mut response = tiny_http::Response::from_string(answer.body).with_status_code(answer.status);
    for (k, v) in headers {
        if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            response.add_header(h);
        }
    }
    let _ = request.respond(response);
}

/// Which handler answers a request.
fn route(shared: &Shared, req: &Req) -> Answer {
    let path = req.path.as_str();
    if let Some(answer) = crate::specs::route(shared, req) {
        return answer;
    }
    if let Some(rest) = path.strip_prefix("/_sandbox/") {
        return control::control(shared, req, rest);
    }
    if path == "/" || path.is_empty() {
        return index(shared);
    }
    let Some((provider, rest)) = path[1..].split_once('/') else {
        return Answer::json(404, json!({"error": "not_found"}));
    };
    let Some(profile) = shared.profiles.get(provider) else {
        return Answer::json(404, json!({"error": "not_found", "message": format!("no provider `{provider}` here")}));
    };
    let rest = format!("/{rest}");
    let m = req.method.as_str();
    match (provider, m, rest.as_str()) {
        ("yespo" | "reteno", "GET", "/uaa/oauth/authorize") => authorize::authorize(shared, provider, req),
        ("yespo" | "reteno", "POST", "/uaa/oauth/token") => token::token(shared, provider, req),
        ("yuvo", "GET", "/oauth/authorize/") => authorize::authorize(shared, provider, req),
        ("yuvo", "POST", "/oauth/token/") => token::token(shared, provider, req),
        ("yotpo", "GET", p) if p.starts_with("/app/install/applications/") => {
            let client_id = &p["/app/install/applications/".len()..];
            yotpo::install(shared, client_id, req)
        }
        ("yotpo", "POST", "/oauth/token") => token::token(shared, provider, req),
        ("yotpo", "DELETE" | "POST", p) if app_key_of(p).is_some() => {
            let raw = app_key_of(p).unwrap_or_default();
            let app_key: String = url::form_urlencoded::parse(format!("k={}", raw.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            yotpo::remove_application(shared, &app_key, req)
        }
        // `/apps/...` that is not `/apps/{app_key}/uninstall` (no app key, or more segments).
        ("yotpo", _, p) if p.starts_with("/apps/") => Answer::json(404, json!({"error": "not_found"})),
        (_, "POST", "/consent") => consent::consent(shared, req),
        _ => api(shared, provider, profile, req, &rest),
    }
}

/// The `{app_key}` of `/apps/{app_key}/uninstall`, when there is one (not empty, one segment).
fn app_key_of(path: &str) -> Option<&str> {
    path.strip_prefix("/apps/")?.strip_suffix("/uninstall").filter(|k| !k.is_empty() && !k.contains('/'))
}

fn index(shared: &Shared) -> Answer {
    let b = &shared.base;
    let items: String = PROVIDERS.iter().map(|p| format!("<li><code>{b}/{p}/</code></li>")).collect();
    Answer::html(200, "scopegate sandbox", &format!("<p>Providers emulated here:</p><ul>{items}</ul>"))
}

/// An API call: 401 without a live token, else the provider's own API.
fn api(shared: &Shared, provider: &str, profile: &Provider, req: &Req, rest: &str) -> Answer {
    let mut st = shared.lock();
    st.count(provider).api_calls += 1;
    let Some(tok) = st.live_token(provider, req.bearer()).cloned() else {
        st.count(provider).api_401 += 1;
        return Answer::json(401, json!({"error": "unauthorized", "message": "missing, expired or revoked token"}));
    };
    match (provider, req.method.as_str(), rest) {
        ("yotpo", "GET", "/api/store") => yotpo::store(&tok),
        ("yuvo", "GET", "/companies") => yuvo::companies(&tok),
        ("yespo" | "reteno", _, _) => uaa::api(&mut st, provider, profile, req, &tok, rest),
        _ => Answer::json(404, json!({"error": "not_found"})),
    }
}
