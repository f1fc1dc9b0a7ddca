//! The server: starting and stopping a sandbox, the tiny_http loop, requests and answers, and
//! the routing every request goes through.

use std::collections::HashMap;
use std::io::Read;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use scopegate_core::profile::Provider;
use serde_json::{Value, json};
use url::Url;

use crate::state::{Shared, State};
use crate::{App, Consent, Counters, Fault, PROVIDERS, SandboxError, authorize, consent, control, profile_at, token};
use crate::{uaa, yotpo, yuvo};

/// Largest request body read.
const MAX_BODY: usize = 64 * 1024;

/// A running sandbox. Dropping it stops the server and closes the port.
pub struct Sandbox {
    shared: Arc<Shared>,
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
        let server = tiny_http::Server::http(("127.0.0.1", port))
            .map_err(|e| SandboxError::Start { port, reason: e.to_string() })?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| SandboxError::Start { port, reason: "not an ip socket".into() })?;
        let shared = Arc::new(Shared { base: format!("http://{addr}"), state: Mutex::new(State::new(consent)) });
        let profiles: HashMap<String, Provider> = PROVIDERS
            .iter()
            .map(|p| profile_at(&shared.base, p).map(|prof| ((*p).to_owned(), prof)))
            .collect::<Result<_, _>>()?;
        let profiles = Arc::new(profiles);
        let server = Arc::new(server);
        let (srv, sh) = (Arc::clone(&server), Arc::clone(&shared));
        let thread = std::thread::spawn(move || {
            for request in srv.incoming_requests() {
                let (sh, profiles) = (Arc::clone(&sh), Arc::clone(&profiles));
                // One thread per request: a slow answer (fault) holds up nobody else.
                std::thread::spawn(move || handle(&sh, &profiles, request));
            }
        });
        Ok(Sandbox { shared, server: Some(server), thread: Some(thread), addr })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.shared.base
    }

    /// Built-in profile `id` with every URL pointed at this sandbox.
    pub fn profile(&self, id: &str) -> Result<Provider, SandboxError> {
        profile_at(&self.shared.base, id)
    }

    /// Registers (or replaces, by provider and client id) an app.
    pub fn register(&self, app: App) -> Result<(), SandboxError> {
        self.shared.lock().register(app)
    }

    /// What provider `id` has seen so far.
    pub fn counters(&self, id: &str) -> Counters {
        self.shared.lock().counters.get(id).cloned().unwrap_or_default()
    }

    /// Queues a fault for the next token-endpoint answer of provider `id` (queued faults apply
    /// one per request, in order).
    pub fn inject(&self, id: &str, fault: Fault) {
        self.shared.lock().faults.entry(id.to_owned()).or_default().push(fault);
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
}

impl Answer {
    pub(crate) fn json(status: u16, v: Value) -> Answer {
        Answer { status, content_type: "application/json", body: v.to_string(), location: None, delay: None }
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
        Answer { status, content_type: "text/html; charset=utf-8", body: page, location: None, delay: None }
    }
    pub(crate) fn redirect(to: String) -> Answer {
        Answer { status: 302, content_type: "text/plain", body: String::new(), location: Some(to), delay: None }
    }
}

/// `s` safe inside HTML text and attribute values.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn handle(shared: &Shared, profiles: &HashMap<String, Provider>, mut request: tiny_http::Request) {
    let url = request.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let header = |name: &str| {
        request
            .headers()
            .iter()
            .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
            .map(|h| h.value.to_string())
    };
    let authorization = header("authorization");
    let content_type = header("content-type").unwrap_or_default();
    let mut body = Vec::new();
    let too_big =
        request.as_reader().take(MAX_BODY as u64 + 1).read_to_end(&mut body).is_err() || body.len() > MAX_BODY;
    let form = if content_type.starts_with("application/x-www-form-urlencoded") {
        url::form_urlencoded::parse(&body).into_owned().collect()
    } else {
        Vec::new()
    };
    let req = Req {
        method: request.method().as_str().to_owned(),
        path: path.to_owned(),
        query: url::form_urlencoded::parse(query.as_bytes()).into_owned().collect(),
        form,
        json: if content_type.starts_with("application/json") { serde_json::from_slice(&body).ok() } else { None },
        authorization,
    };
    let answer = if too_big {
        Answer::oauth_error(413, "invalid_request", "body too large")
    } else {
        route(shared, profiles, &req)
    };
    if let Some(d) = answer.delay {
        std::thread::sleep(d);
    }
    let mut response = tiny_http::Response::from_string(answer.body).with_status_code(answer.status);
    let mut add = |k: &str, v: &str| {
        if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            response.add_header(h);
        }
    };
    add("Content-Type", answer.content_type);
    add("Cache-Control", "no-store");
    if let Some(l) = &answer.location {
        add("Location", l);
    }
    let _ = request.respond(response);
}

fn route(shared: &Shared, profiles: &HashMap<String, Provider>, req: &Req) -> Answer {
    let path = req.path.as_str();
    if let Some(rest) = path.strip_prefix("/_sandbox/") {
        return control::control(shared, req, rest);
    }
    if path == "/" || path.is_empty() {
        return index(shared);
    }
    let Some((provider, rest)) = path[1..].split_once('/') else {
        return Answer::json(404, json!({"error": "not_found"}));
    };
    let Some(profile) = profiles.get(provider) else {
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
        ("yotpo", "DELETE" | "POST", p) if p.starts_with("/apps/") && p.ends_with("/uninstall") => {
            let raw = &p["/apps/".len()..p.len() - "/uninstall".len()];
            let app_key: String = url::form_urlencoded::parse(format!("k={}", raw.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            yotpo::remove_application(shared, &app_key, req)
        }
        (_, "POST", "/consent") => consent::consent(shared, req),
        _ => api(shared, provider, profile, req, &rest),
    }
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
