//! A local emulator of what the provider documents in `../shared/seeds/` say, on 127.0.0.1 only.
//!
//! One server serves every built-in provider under its own path prefix (`/yespo`, `/reteno`,
//! `/yotpo`, `/yuvo`); [`Sandbox::profile`] gives the built-in profile with every URL pointed at
//! it. What each provider does here, and the document it follows:
//!
//! - **Yespo, Reteno** (UAA): `GET /{p}/uaa/oauth/authorize` (consent), `POST /{p}/uaa/oauth/token`
//!   with the client authenticated by Basic or in the body; `authorization_code`, and
//!   `refresh_token` which must carry the original `code` and `redirect_uri` as the document asks,
//!   and rotates (a used refresh token stops working); tokens carry `scope: UseRestApi` and live
//!   172800 s. `GET /{p}/api/v2/version`, and every API method of the profile's groups under
//!   `/{p}/api/v1/` (and `/v2/`): 401 without a live token, 403 when the app's registered rights
//!   do not open the method's group (the profile's own matrix decides), 404 for unknown methods.
//! - **Yotpo**: the install link in path form (`/yotpo/app/install/applications/{client_id}?state=`,
//!   since a URL fragment never reaches a server) leads to consent, then to the app's registered
//!   redirect URI with `code`, `app_key` and `state`. `POST /yotpo/oauth/token` (body credentials):
//!   a token that never expires, one per store (a new install replaces the old token).
//!   `DELETE /yotpo/apps/{app_key}/uninstall` (the remove application endpoint, bearer token).
//!   `GET /yotpo/api/store`: 401 once uninstalled. A merchant-side uninstall
//!   ([`Sandbox::merchant_uninstall`]) deletes the token and POSTs the uninstall webhook.
//! - **Yuvo**: `/yuvo/oauth/authorize/` and `/yuvo/oauth/token/` with their trailing slashes;
//!   authorization_code, refresh_token (every second refresh answer omits `refresh_token`: the old
//!   one stays valid), client_credentials; `error=access_denied` when consent is refused;
//!   `GET /yuvo/companies`.
//!
//! Consent is a small HTML page (approve / deny) or automatic ([`Consent`]). Fault knobs
//! ([`Fault`]) apply to the next token-endpoint answers of a provider. Apps are registered with
//! [`Sandbox::register`] (or `POST /_sandbox/register`); each provider has the app
//! [`SANDBOX_CLIENT_ID`] / [`SANDBOX_CLIENT_SECRET`] from the start.
//!
//! Control endpoints (for a sandbox in another process): `POST /_sandbox/register` (JSON
//! [`App`]), `GET /_sandbox/counters`, `POST /_sandbox/fault` (`{"provider":..,"fault":..}`),
//! `POST /_sandbox/yotpo/uninstall?app_key=..`, `POST /_sandbox/consent` (`{"mode":"approve"}`).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use scopegate_core::matrix::Decision;
use scopegate_core::method::Method;
use scopegate_core::profile::{ProfileError, Provider};
use serde_json::{Value, json};
use url::Url;

/// The client id every provider of a new sandbox knows.
pub const SANDBOX_CLIENT_ID: &str = "sandbox-client";
/// Its secret.
pub const SANDBOX_CLIENT_SECRET: &str = "sandbox-secret";
/// The store a Yotpo install is for unless the consent page says otherwise.
pub const SANDBOX_STORE: &str = "sandbox-store-1";
/// The Yuvo company the authorization code flow grants access to.
pub const SANDBOX_COMPANY: &str = "sandbox-company-1";

/// The providers the sandbox emulates.
pub const PROVIDERS: [&str; 4] = ["yespo", "reteno", "yotpo", "yuvo"];

const YESPO_ACCESS_SECS: u64 = 172_800;
const YESPO_REFRESH_SECS: u64 = 2_592_000;
const YUVO_ACCESS_SECS: u64 = 3600;
const CODE_MAX_AGE_SECS: u64 = 600;
const MAX_BODY: usize = 64 * 1024;

/// How the sandbox answers an authorization request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consent {
    /// Approve at once (tests, `scopegate demo`).
    AutoApprove,
    /// Refuse at once (`error=access_denied`).
    AutoDeny,
    /// Show a page with Approve and Deny buttons.
    Page,
}

/// A misbehaviour of the next token-endpoint answer of a provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (500, 502, 503, ...) and a short HTML body.
    Status(u16),
    /// Answer correctly after this delay.
    Slow(Duration),
    /// Answer 200 with a body that is not JSON.
    MalformedJson,
    /// Answer 200 with `{"error":"server_error"}`.
    ErrorIn200,
    /// Issue the token normally, but let it die after this many seconds (whatever `expires_in`
    /// says).
    EarlyExpiry(u64),
}

impl Fault {
    /// Reads a fault from its text form: `500`, `slow:1500` (ms), `malformed-json`,
    /// `error-in-200`, `early-expiry:5` (s).
    pub fn parse(s: &str) -> Option<Fault> {
        if let Ok(status) = s.parse::<u16>() {
            return (400..600).contains(&status).then_some(Fault::Status(status));
        }
        match s.split_once(':') {
            Some(("slow", ms)) => ms.parse().ok().map(|ms| Fault::Slow(Duration::from_millis(ms))),
            Some(("early-expiry", secs)) => secs.parse().ok().map(Fault::EarlyExpiry),
            None if s == "malformed-json" => Some(Fault::MalformedJson),
            None if s == "error-in-200" => Some(Fault::ErrorIn200),
            _ => None,
        }
    }
}

/// An app registered with a provider of the sandbox. Its Debug form hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct App {
    /// `yespo`, `reteno`, `yotpo` or `yuvo`.
    pub provider: String,
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// The registered redirect URI (Yotpo needs one: its install link carries none). `None`:
    /// any loopback `http` redirect URI is accepted.
    pub redirect_uri: Option<String>,
    /// The access rights the app was registered with (Yespo/Reteno).
    pub rights: Vec<String>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("provider", &self.provider)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_uri", &self.redirect_uri)
            .field("rights", &self.rights)
            .finish()
    }
}

impl App {
    fn from_json(v: &Value) -> Option<App> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        Some(App {
            provider: s("provider")?,
            client_id: s("client_id")?,
            client_secret: s("client_secret")?,
            redirect_uri: s("redirect_uri"),
            rights: v
                .get("rights")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default(),
        })
    }
}

/// What a provider of the sandbox has seen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Authorization (or install) requests.
    pub authorize: u64,
    /// Consents given / refused.
    pub approved: u64,
    /// Consents refused.
    pub denied: u64,
    /// Token requests, by `grant_type`.
    pub token_requests: HashMap<String, u64>,
    /// Token requests answered with an error (faults included).
    pub token_errors: u64,
    /// API calls.
    pub api_calls: u64,
    /// API calls answered 401.
    pub api_401: u64,
    /// API calls answered 403.
    pub api_403: u64,
    /// Remove-application calls.
    pub uninstalls: u64,
    /// Uninstall webhooks delivered.
    pub webhooks: u64,
}

impl Counters {
    /// Token requests of one grant.
    pub fn grant(&self, grant: &str) -> u64 {
        self.token_requests.get(grant).copied().unwrap_or(0)
    }

    fn to_json(&self) -> Value {
        json!({
            "authorize": self.authorize, "approved": self.approved, "denied": self.denied,
            "token_requests": self.token_requests, "token_errors": self.token_errors,
            "api_calls": self.api_calls, "api_401": self.api_401, "api_403": self.api_403,
            "uninstalls": self.uninstalls, "webhooks": self.webhooks,
        })
    }
}

/// An error of the sandbox's own API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The provider id is not one the sandbox emulates.
    #[error("the sandbox does not emulate provider `{0}` (it has yespo, reteno, yotpo, yuvo)")]
    UnknownProvider(String),
    /// The server could not start.
    #[error("cannot start the sandbox on 127.0.0.1:{port}: {reason}")]
    Start {
        /// Port asked for.
        port: u16,
        /// Why.
        reason: String,
    },
    /// A built-in profile could not be pointed at the sandbox.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// Nothing to uninstall.
    #[error("no yotpo install for store `{0}`")]
    NotInstalled(String),
}

struct Code {
    provider: String,
    client_id: String,
    redirect_uri: String,
    app_key: Option<String>,
    company: Option<String>,
    issued: u64,
    challenge: Option<String>,
}

#[derive(Clone)]
struct Token {
    provider: String,
    client_id: String,
    access: String,
    refresh: Option<String>,
    access_expires: Option<u64>,
    refresh_expires: Option<u64>,
    code: Option<String>,
    redirect_uri: Option<String>,
    app_key: Option<String>,
    company: Option<String>,
}

struct Pending {
    provider: String,
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    challenge: Option<String>,
}

struct State {
    apps: Vec<App>,
    codes: HashMap<String, Code>,
    tokens: Vec<Token>,
    pending: HashMap<String, Pending>,
    counters: HashMap<String, Counters>,
    faults: HashMap<String, Vec<Fault>>,
    consent: Consent,
    webhook: Option<Url>,
    yuvo_refreshes: u64,
}

impl State {
    /// The counters of `provider`, created on first use.
    fn count(&mut self, provider: &str) -> &mut Counters {
        self.counters.entry(provider.to_owned()).or_default()
    }

    /// Registers (or replaces, by provider and client id) an app.
    fn register(&mut self, app: App) -> Result<(), SandboxError> {
        if !PROVIDERS.contains(&app.provider.as_str()) {
            return Err(SandboxError::UnknownProvider(app.provider));
        }
        self.apps.retain(|a| !(a.provider == app.provider && a.client_id == app.client_id));
        self.apps.push(app);
        Ok(())
    }
}

struct Shared {
    base: String,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

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

/// The profile overrides that point built-in profile `id` at a sandbox running at `base`
/// (`http://127.0.0.1:PORT`), as TOML. Usable without a running sandbox (the CLI's `--sandbox URL`).
pub fn profile_overrides(base: &str, id: &str) -> Result<String, SandboxError> {
    let b = format!("{}/{id}", base.trim_end_matches('/'));
    Ok(match id {
        "yespo" | "reteno" => format!(
            "[authorization]\nurl = \"{b}/uaa/oauth/authorize\"\n\
             [token]\nurl = \"{b}/uaa/oauth/token\"\n\
             [api]\nbase_url = \"{b}/api/v1\"\nextra_base_urls = [\"{b}/api/v2\"]\nverify = \"GET {b}/api/v2/version\"\n"
        ),
        "yotpo" => format!(
            "[authorization]\ninstall_link = \"{b}/app/install/applications/{{client_id}}?state={{state}}\"\n\
             [token]\nurl = \"{b}/oauth/token\"\n\
             [revocation]\nurl = \"{b}/apps/{{account}}/uninstall\"\nmethod = \"DELETE\"\n\
             [api]\nbase_url = \"{b}/api\"\nverify = \"GET {b}/api/store\"\n"
        ),
        "yuvo" => format!(
            "[authorization]\nurl = \"{b}/oauth/authorize/\"\n\
             [token]\nurl = \"{b}/oauth/token/\"\n\
             [api]\nbase_url = \"{b}\"\nverify = \"GET {b}/companies\"\n"
        ),
        other => return Err(SandboxError::UnknownProvider(other.to_owned())),
    })
}

/// Built-in profile `id` pointed at a sandbox running at `base`.
pub fn profile_at(base: &str, id: &str) -> Result<Provider, SandboxError> {
    let overrides = profile_overrides(base, id)?;
    Ok(Provider::builtin(id)?.with_overrides(&overrides, &format!("sandbox at {base}"))?)
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
        let apps = PROVIDERS
            .iter()
            .map(|p| App {
                provider: (*p).to_owned(),
                client_id: SANDBOX_CLIENT_ID.into(),
                client_secret: SANDBOX_CLIENT_SECRET.into(),
                redirect_uri: None,
                rights: if matches!(*p, "yespo" | "reteno") { vec!["events_and_contacts".into()] } else { vec![] },
            })
            .collect();
        let shared = Arc::new(Shared {
            base: format!("http://{addr}"),
            state: Mutex::new(State {
                apps,
                codes: HashMap::new(),
                tokens: Vec::new(),
                pending: HashMap::new(),
                counters: HashMap::new(),
                faults: HashMap::new(),
                consent,
                webhook: None,
                yuvo_refreshes: 0,
            }),
        });
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
        merchant_uninstall(&self.shared, app_key)
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

struct Req {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    form: Vec<(String, String)>,
    json: Option<Value>,
    authorization: Option<String>,
}

impl Req {
    fn q(&self, k: &str) -> Option<&str> {
        self.query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
    fn f(&self, k: &str) -> Option<&str> {
        self.form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
    fn bearer(&self) -> Option<&str> {
        let a = self.authorization.as_deref()?;
        let (scheme, token) = a.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
    }
}

struct Answer {
    status: u16,
    content_type: &'static str,
    body: String,
    location: Option<String>,
    delay: Option<Duration>,
}

impl Answer {
    fn json(status: u16, v: Value) -> Answer {
        Answer { status, content_type: "application/json", body: v.to_string(), location: None, delay: None }
    }
    fn oauth_error(status: u16, error: &str, description: &str) -> Answer {
        Answer::json(status, json!({"error": error, "error_description": description}))
    }
    fn html(status: u16, title: &str, body: &str) -> Answer {
        let page = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
             <body style=\"font-family:sans-serif;margin:3em\"><h1>{t}</h1>{body}</body></html>",
            t = escape(title)
        );
        Answer { status, content_type: "text/html; charset=utf-8", body: page, location: None, delay: None }
    }
    fn redirect(to: String) -> Answer {
        Answer { status: 302, content_type: "text/plain", body: String::new(), location: Some(to), delay: None }
    }
}

fn escape(s: &str) -> String {
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
        return control(shared, req, rest);
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
        ("yespo" | "reteno", "GET", "/uaa/oauth/authorize") => authorize(shared, provider, req),
        ("yespo" | "reteno", "POST", "/uaa/oauth/token") => token(shared, provider, req),
        ("yuvo", "GET", "/oauth/authorize/") => authorize(shared, provider, req),
        ("yuvo", "POST", "/oauth/token/") => token(shared, provider, req),
        ("yotpo", "GET", p) if p.starts_with("/app/install/applications/") => {
            let client_id = &p["/app/install/applications/".len()..];
            install(shared, client_id, req)
        }
        ("yotpo", "POST", "/oauth/token") => token(shared, provider, req),
        ("yotpo", "DELETE" | "POST", p) if p.starts_with("/apps/") && p.ends_with("/uninstall") => {
            let raw = &p["/apps/".len()..p.len() - "/uninstall".len()];
            let app_key: String = url::form_urlencoded::parse(format!("k={}", raw.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            remove_application(shared, &app_key, req)
        }
        (_, "POST", "/consent") => consent(shared, req),
        _ => api(shared, provider, profile, req, &rest),
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn random(n: usize) -> String {
    let mut b = vec![0u8; n];
    // A sandbox without randomness would hand out guessable tokens: fail loudly instead.
    getrandom::fill(&mut b).expect("the operating system's random number generator");
    URL_SAFE_NO_PAD.encode(b)
}

fn index(shared: &Shared) -> Answer {
    let b = &shared.base;
    let items: String = PROVIDERS.iter().map(|p| format!("<li><code>{b}/{p}/</code></li>")).collect();
    Answer::html(200, "scopegate sandbox", &format!("<p>Providers emulated here:</p><ul>{items}</ul>"))
}

// --- authorization -------------------------------------------------------------------------

fn find_app<'a>(st: &'a State, provider: &str, client_id: &str) -> Option<&'a App> {
    st.apps.iter().find(|a| a.provider == provider && a.client_id == client_id)
}

fn redirect_allowed(app: &App, uri: &str) -> bool {
    match &app.redirect_uri {
        Some(r) => r == uri,
        None => Url::parse(uri)
            .is_ok_and(|u| u.scheme() == "http" && matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))),
    }
}

fn authorize(shared: &Shared, provider: &str, req: &Req) -> Answer {
    let mut st = shared.lock();
    st.count(provider).authorize += 1;
    let client_id = req.q("client_id").unwrap_or("");
    let Some(app) = find_app(&st, provider, client_id).cloned() else {
        return Answer::html(400, "Unknown application", "<p>No application is registered with this client_id.</p>");
    };
    let Some(redirect_uri) = req.q("redirect_uri").or(app.redirect_uri.as_deref()).map(str::to_owned) else {
        return Answer::html(400, "Missing redirect_uri", "<p>The request has no redirect_uri.</p>");
    };
    if !redirect_allowed(&app, &redirect_uri) {
        // RFC 6749 §4.1.2.1: never redirect to an unverified URI.
        return Answer::html(400, "Redirect URI mismatch", "<p>The redirect_uri is not registered for this app.</p>");
    }
    let state = req.q("state").map(str::to_owned);
    if req.q("response_type") != Some("code") {
        return Answer::redirect(with_params(
            &redirect_uri,
            &[("error", "unsupported_response_type")],
            state.as_deref(),
        ));
    }
    let challenge = match (req.q("code_challenge"), req.q("code_challenge_method")) {
        (Some(c), Some("S256")) => Some(c.to_owned()),
        (Some(_), _) => {
            return Answer::redirect(with_params(
                &redirect_uri,
                &[("error", "invalid_request"), ("error_description", "only S256 is supported")],
                state.as_deref(),
            ));
        }
        (None, _) => None,
    };
    let pending =
        Pending { provider: provider.to_owned(), client_id: client_id.to_owned(), redirect_uri, state, challenge };
    decide(&mut st, pending)
}

fn install(shared: &Shared, client_id: &str, req: &Req) -> Answer {
    let mut st = shared.lock();
    st.count("yotpo").authorize += 1;
    let Some(app) = find_app(&st, "yotpo", client_id).cloned() else {
        return Answer::html(404, "Unknown application", "<p>No Yotpo app has this id.</p>");
    };
    let Some(redirect_uri) = app.redirect_uri.clone() else {
        return Answer::html(
            400,
            "No redirect URL registered",
            "<p>Register the app's redirect URL with the sandbox first (POST /_sandbox/register).</p>",
        );
    };
    let pending = Pending {
        provider: "yotpo".into(),
        client_id: client_id.to_owned(),
        redirect_uri,
        state: req.q("state").map(str::to_owned),
        challenge: None,
    };
    decide(&mut st, pending)
}

fn decide(st: &mut State, pending: Pending) -> Answer {
    match st.consent {
        Consent::AutoApprove => approve(st, pending, None),
        Consent::AutoDeny => deny(st, pending),
        Consent::Page => {
            let id = random(16);
            let store_field = if pending.provider == "yotpo" {
                format!(
                    "<p><label>Store (app_key): <input name=\"app_key\" value=\"{}\"></label></p>",
                    escape(SANDBOX_STORE)
                )
            } else {
                String::new()
            };
            let text = format!(
                "<p>The application <b>{client}</b> asks for access to your sandbox {provider} account.</p>\
                 <form method=\"post\" action=\"/{provider}/consent\">\
                 <input type=\"hidden\" name=\"request\" value=\"{id}\">{store_field}\
                 <button name=\"decision\" value=\"approve\">Approve</button> \
                 <button name=\"decision\" value=\"deny\">Deny</button></form>",
                client = escape(&pending.client_id),
                provider = escape(&pending.provider),
            );
            st.pending.insert(id, pending);
            Answer::html(200, "Authorize application (sandbox)", &text)
        }
    }
}

fn consent(shared: &Shared, req: &Req) -> Answer {
    let mut st = shared.lock();
    let Some(pending) = req.f("request").and_then(|id| st.pending.remove(id)) else {
        return Answer::html(400, "Unknown request", "<p>This consent request is unknown or was already answered.</p>");
    };
    match req.f("decision") {
        Some("approve") => {
            let app_key = req.f("app_key").filter(|k| !k.is_empty()).map(str::to_owned);
            approve(&mut st, pending, app_key)
        }
        _ => deny(&mut st, pending),
    }
}

fn approve(st: &mut State, p: Pending, app_key: Option<String>) -> Answer {
    st.count(&p.provider).approved += 1;
    let code = random(24);
    let app_key = (p.provider == "yotpo").then(|| app_key.unwrap_or_else(|| SANDBOX_STORE.to_owned()));
    let mut params = vec![("code", code.clone())];
    if let Some(k) = &app_key {
        params.push(("app_key", k.clone()));
    }
    st.codes.insert(
        code,
        Code {
            provider: p.provider.clone(),
            client_id: p.client_id,
            redirect_uri: p.redirect_uri.clone(),
            app_key,
            company: (p.provider == "yuvo").then(|| SANDBOX_COMPANY.to_owned()),
            issued: now(),
            challenge: p.challenge,
        },
    );
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Answer::redirect(with_params(&p.redirect_uri, &params, p.state.as_deref()))
}

fn deny(st: &mut State, p: Pending) -> Answer {
    st.count(&p.provider).denied += 1;
    Answer::redirect(with_params(
        &p.redirect_uri,
        &[("error", "access_denied"), ("error_description", "The user denied access")],
        p.state.as_deref(),
    ))
}

fn with_params(uri: &str, params: &[(&str, &str)], state: Option<&str>) -> String {
    let Ok(mut u) = Url::parse(uri) else { return uri.to_owned() };
    {
        let mut q = u.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
        if let Some(s) = state {
            q.append_pair("state", s);
        }
    }
    u.into()
}

// --- token endpoint ------------------------------------------------------------------------

/// The client's credentials: Basic (form-urlencoded id and secret, RFC 6749 §2.3.1) or body.
fn client_credentials(req: &Req) -> Option<(String, String)> {
    if let Some(a) = &req.authorization {
        let (scheme, b64) = a.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let raw = String::from_utf8(STANDARD.decode(b64.trim()).ok()?).ok()?;
        let (id, secret) = raw.split_once(':')?;
        let dec =
            |s: &str| url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned());
        return Some((dec(id)?, dec(secret)?));
    }
    Some((req.f("client_id")?.to_owned(), req.f("client_secret")?.to_owned()))
}

fn token(shared: &Shared, provider: &str, req: &Req) -> Answer {
    let mut st = shared.lock();
    let grant = req.f("grant_type").unwrap_or("(none)").to_owned();
    let counters = st.count(provider);
    *counters.token_requests.entry(grant.clone()).or_default() += 1;
    let fault = st.faults.get_mut(provider).and_then(|q| (!q.is_empty()).then(|| q.remove(0)));
    let mut early = None;
    let mut delay = None;
    match fault {
        Some(Fault::Status(s)) => {
            st.count(provider).token_errors += 1;
            return Answer::html(s, "Server error", "<p>The sandbox was told to fail this request.</p>");
        }
        Some(Fault::MalformedJson) => {
            st.count(provider).token_errors += 1;
            return Answer {
                status: 200,
                content_type: "application/json",
                body: "{\"access_token\": ".into(),
                location: None,
                delay: None,
            };
        }
        Some(Fault::ErrorIn200) => {
            st.count(provider).token_errors += 1;
            return Answer::oauth_error(200, "server_error", "the sandbox was told to put an error in a 200");
        }
        Some(Fault::Slow(d)) => delay = Some(d),
        Some(Fault::EarlyExpiry(s)) => early = Some(s),
        None => {}
    }
    let mut answer = token_grant(&mut st, provider, &grant, req, early);
    if answer.status != 200 {
        st.count(provider).token_errors += 1;
    }
    answer.delay = delay;
    answer
}

fn token_grant(st: &mut State, provider: &str, grant: &str, req: &Req, early: Option<u64>) -> Answer {
    let Some((client_id, secret)) = client_credentials(req) else {
        return Answer::oauth_error(401, "invalid_client", "client authentication is missing");
    };
    let Some(app) = find_app(st, provider, &client_id).cloned() else {
        return Answer::oauth_error(401, "invalid_client", "unknown client");
    };
    if app.client_secret != secret {
        return Answer::oauth_error(401, "invalid_client", "bad client credentials");
    }
    let grants: &[&str] = match provider {
        "yespo" | "reteno" => &["authorization_code", "refresh_token"],
        "yotpo" => &["authorization_code"],
        _ => &["authorization_code", "refresh_token", "client_credentials"],
    };
    if !grants.contains(&grant) {
        return Answer::oauth_error(400, "unsupported_grant_type", "this provider does not support that grant");
    }
    let t = now();
    match grant {
        "authorization_code" => {
            let Some(code_value) = req.f("code") else {
                return Answer::oauth_error(400, "invalid_request", "code is required");
            };
            // A code works once (RFC 6749 §4.1.2), for its client, within 10 minutes.
            let Some(code) = st.codes.remove(code_value) else {
                return Answer::oauth_error(400, "invalid_grant", "unknown or used code");
            };
            if code.provider != provider || code.client_id != client_id || t > code.issued + CODE_MAX_AGE_SECS {
                return Answer::oauth_error(400, "invalid_grant", "code not valid for this client");
            }
            if req.f("redirect_uri") != Some(code.redirect_uri.as_str()) {
                return Answer::oauth_error(
                    400,
                    "invalid_grant",
                    "redirect_uri does not match the authorization request",
                );
            }
            if let Some(ch) = &code.challenge {
                let ok = req.f("code_verifier").is_some_and(|v| &scopegate_core::pkce::s256_challenge(&v.into()) == ch);
                if !ok {
                    return Answer::oauth_error(400, "invalid_grant", "PKCE verification failed");
                }
            }
            if provider == "yotpo" {
                // One token per store: a new install replaces the old token.
                st.tokens.retain(|x| !(x.provider == "yotpo" && x.client_id == client_id && x.app_key == code.app_key));
            }
            let tok = new_token(
                provider,
                &client_id,
                Some(code_value.to_owned()),
                Some(code.redirect_uri),
                code.app_key,
                code.company,
                early,
                t,
            );
            issue(st, tok, true)
        }
        "refresh_token" => {
            let Some(rt) = req.f("refresh_token") else {
                return Answer::oauth_error(400, "invalid_request", "refresh_token is required");
            };
            let Some(i) = st
                .tokens
                .iter()
                .position(|x| x.provider == provider && x.client_id == client_id && x.refresh.as_deref() == Some(rt))
            else {
                return Answer::oauth_error(400, "invalid_grant", "unknown, used or revoked refresh token");
            };
            let old = st.tokens[i].clone();
            if old.refresh_expires.is_some_and(|e| t >= e) {
                st.tokens.remove(i);
                return Answer::oauth_error(400, "invalid_grant", "refresh token expired");
            }
            if matches!(provider, "yespo" | "reteno") {
                // "The request must contain ... a code you received during authorization".
                if req.f("code") != old.code.as_deref() {
                    return Answer::oauth_error(
                        400,
                        "invalid_request",
                        "code must be the one received during authorization",
                    );
                }
                if req.f("redirect_uri") != old.redirect_uri.as_deref() {
                    return Answer::oauth_error(400, "invalid_request", "redirect_uri must be the callback url");
                }
            }
            let rotate = if provider == "yuvo" {
                st.yuvo_refreshes += 1;
                st.yuvo_refreshes % 2 == 1 // every second answer keeps the refresh token
            } else {
                true
            };
            st.tokens.remove(i);
            let mut tok =
                new_token(provider, &client_id, old.code, old.redirect_uri, old.app_key, old.company, early, t);
            if !rotate {
                tok.refresh = old.refresh;
                tok.refresh_expires = old.refresh_expires;
            }
            issue(st, tok, rotate)
        }
        _ => {
            let mut tok = new_token(provider, &client_id, None, None, None, None, early, t);
            tok.refresh = None;
            tok.refresh_expires = None;
            issue(st, tok, false)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn new_token(
    provider: &str,
    client_id: &str,
    code: Option<String>,
    redirect_uri: Option<String>,
    app_key: Option<String>,
    company: Option<String>,
    early: Option<u64>,
    t: u64,
) -> Token {
    let (access_secs, refresh_secs, refresh) = match provider {
        "yespo" | "reteno" => (Some(YESPO_ACCESS_SECS), Some(YESPO_REFRESH_SECS), true),
        "yotpo" => (None, None, false),
        _ => (Some(YUVO_ACCESS_SECS), None, true),
    };
    Token {
        provider: provider.to_owned(),
        client_id: client_id.to_owned(),
        access: random(32),
        refresh: refresh.then(|| random(32)),
        access_expires: early.or(access_secs).map(|s| t + s),
        refresh_expires: refresh_secs.map(|s| t + s),
        code: if matches!(provider, "yespo" | "reteno") { code } else { None },
        redirect_uri,
        app_key,
        company,
    }
}

fn issue(st: &mut State, tok: Token, with_refresh: bool) -> Answer {
    let mut body = json!({"access_token": tok.access, "token_type": "bearer"});
    match tok.provider.as_str() {
        "yespo" | "reteno" => {
            body["scope"] = json!("UseRestApi");
            body["expires_in"] = json!(YESPO_ACCESS_SECS);
        }
        "yuvo" => {
            body["token_type"] = json!("Bearer");
            body["expires_in"] = json!(YUVO_ACCESS_SECS);
        }
        _ => {} // Yotpo: no expires_in, the token does not expire
    }
    if with_refresh {
        if let Some(r) = &tok.refresh {
            body["refresh_token"] = json!(r);
        }
    }
    st.tokens.push(tok);
    Answer::json(200, body)
}

// --- API -----------------------------------------------------------------------------------

fn live_token<'a>(st: &'a State, provider: &str, req: &Req) -> Option<&'a Token> {
    let bearer = req.bearer()?;
    let t = now();
    st.tokens.iter().find(|x| x.provider == provider && x.access == bearer && x.access_expires.is_none_or(|e| t < e))
}

fn api(shared: &Shared, provider: &str, profile: &Provider, req: &Req, rest: &str) -> Answer {
    let mut st = shared.lock();
    st.count(provider).api_calls += 1;
    let Some(tok) = live_token(&st, provider, req).cloned() else {
        st.count(provider).api_401 += 1;
        return Answer::json(401, json!({"error": "unauthorized", "message": "missing, expired or revoked token"}));
    };
    match (provider, req.method.as_str(), rest) {
        ("yotpo", "GET", "/api/store") => {
            return Answer::json(200, json!({"store": {"app_key": tok.app_key, "name": "Sandbox store"}}));
        }
        ("yuvo", "GET", "/companies") => {
            let companies: Vec<Value> = tok
                .company
                .iter()
                .map(|c| json!({"id": c, "name": "Sandbox Company", "uen_code": "SBX0001", "sector": "Testing"}))
                .collect();
            return Answer::json(200, json!(companies));
        }
        ("yespo" | "reteno", "GET", "/api/v2/version") => {
            return Answer::json(200, json!({"version": "sandbox-1.0", "protocolVersion": "2"}));
        }
        ("yespo" | "reteno", _, _) => {}
        _ => return Answer::json(404, json!({"error": "not_found"})),
    }
    // Yespo/Reteno: the profile's own matrix decides, with the app's registered rights.
    let app = find_app(&st, provider, &tok.client_id).cloned();
    let rights = app.and_then(|a| profile.rights_from_ids(&a.rights).ok()).unwrap_or_default();
    let Ok(method) = req.method.parse::<Method>() else {
        return Answer::json(405, json!({"error": "method_not_allowed"}));
    };
    let full = format!("/{provider}{rest}");
    match profile.matrix().check_method(rights, method, &full) {
        Decision::Allowed(ep) => {
            Answer::json(200, json!({"ok": true, "method": method.as_str(), "endpoint": ep.template}))
        }
        Decision::Denied { endpoint, .. } => {
            st.count(provider).api_403 += 1;
            Answer::json(
                403,
                json!({"error": "forbidden", "message": format!("the app's access rights do not open {} {}", method.as_str(), endpoint.template)}),
            )
        }
        Decision::UnknownEndpoint => Answer::json(404, json!({"error": "not_found"})),
        Decision::Rejected(r) => Answer::json(400, json!({"error": "bad_request", "message": r.to_string()})),
    }
}

fn remove_application(shared: &Shared, app_key: &str, req: &Req) -> Answer {
    let mut st = shared.lock();
    st.count("yotpo").uninstalls += 1;
    let Some(tok) = live_token(&st, "yotpo", req).cloned() else {
        return Answer::json(401, json!({"error": "unauthorized"}));
    };
    if tok.app_key.as_deref() != Some(app_key) {
        return Answer::json(403, json!({"error": "forbidden", "message": "the token belongs to another store"}));
    }
    st.tokens.retain(|x| x.access != tok.access);
    Answer::json(200, json!({"status": "uninstalled", "app_key": app_key}))
}

fn merchant_uninstall(shared: &Shared, app_key: &str) -> Result<bool, SandboxError> {
    let webhook = {
        let mut st = shared.lock();
        let before = st.tokens.len();
        st.tokens.retain(|x| !(x.provider == "yotpo" && x.app_key.as_deref() == Some(app_key)));
        if st.tokens.len() == before {
            return Err(SandboxError::NotInstalled(app_key.to_owned()));
        }
        st.webhook.clone()
    };
    let Some(url) = webhook else { return Ok(false) };
    let body = json!({"event": "app_uninstalled", "app_key": app_key}).to_string();
    let delivered = post_loopback(&url, &body).is_ok_and(|s| (200..300).contains(&s));
    if delivered {
        shared.lock().count("yotpo").webhooks += 1;
    }
    Ok(delivered)
}

/// A minimal HTTP/1.1 POST to a loopback URL (the sandbox talks to nothing else).
fn post_loopback(url: &Url, body: &str) -> std::io::Result<u16> {
    let host = url.host_str().unwrap_or("");
    if url.scheme() != "http" || !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        return Err(std::io::Error::other("webhook url must be http on loopback"));
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let mut s = TcpStream::connect((if host == "[::1]" { "::1" } else { host }, port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    write!(
        s,
        "POST {target} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head)?;
    std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))
}

// --- control -------------------------------------------------------------------------------

fn control(shared: &Shared, req: &Req, rest: &str) -> Answer {
    match (req.method.as_str(), rest) {
        ("POST", "register") => {
            let Some(app) = req.json.as_ref().and_then(App::from_json) else {
                return Answer::json(
                    400,
                    json!({"error": "expected {provider, client_id, client_secret, redirect_uri?, rights?}"}),
                );
            };
            match shared.lock().register(app) {
                Ok(()) => Answer::json(200, json!({"registered": true})),
                Err(e) => Answer::json(400, json!({"error": e.to_string()})),
            }
        }
        ("GET", "counters") => {
            let st = shared.lock();
            let map: serde_json::Map<String, Value> = PROVIDERS
                .iter()
                .map(|p| ((*p).to_owned(), st.counters.get(*p).cloned().unwrap_or_default().to_json()))
                .collect();
            Answer::json(200, Value::Object(map))
        }
        ("POST", "fault") => {
            let v = req.json.as_ref();
            let provider = v.and_then(|v| v.get("provider")).and_then(Value::as_str).unwrap_or("");
            let fault = v.and_then(|v| v.get("fault")).and_then(Value::as_str).and_then(Fault::parse);
            match fault {
                Some(f) if PROVIDERS.contains(&provider) => {
                    shared.lock().faults.entry(provider.to_owned()).or_default().push(f);
                    Answer::json(200, json!({"queued": true}))
                }
                _ => Answer::json(
                    400,
                    json!({"error": "expected {provider, fault: 500|slow:MS|malformed-json|error-in-200|early-expiry:S}"}),
                ),
            }
        }
        ("POST", "consent") => {
            let mode = req.json.as_ref().and_then(|v| v.get("mode")).and_then(Value::as_str);
            let c = match mode {
                Some("approve") => Consent::AutoApprove,
                Some("deny") => Consent::AutoDeny,
                Some("page") => Consent::Page,
                _ => return Answer::json(400, json!({"error": "expected {mode: approve|deny|page}"})),
            };
            shared.lock().consent = c;
            Answer::json(200, json!({"consent": mode}))
        }
        ("POST", "webhook") => {
            let url =
                req.json.as_ref().and_then(|v| v.get("url")).and_then(Value::as_str).and_then(|u| Url::parse(u).ok());
            match url {
                Some(u) => {
                    shared.lock().webhook = Some(u);
                    Answer::json(200, json!({"webhook": true}))
                }
                None => Answer::json(400, json!({"error": "expected {url}"})),
            }
        }
        ("POST", "yotpo/uninstall") => match req.q("app_key") {
            Some(k) => match merchant_uninstall(shared, k) {
                Ok(delivered) => Answer::json(200, json!({"uninstalled": k, "webhook_delivered": delivered})),
                Err(e) => Answer::json(404, json!({"error": e.to_string()})),
            },
            None => Answer::json(400, json!({"error": "expected ?app_key="})),
        },
        _ => Answer::json(404, json!({"error": "not_found"})),
    }
}
