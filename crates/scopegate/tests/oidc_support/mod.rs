//! The node-oidc-provider test server (`tests/oidc/server.mjs`) and a headless browser for it.
//!
//! The server: `SCOPEGATE_TEST_OIDC` (its issuer URL; `scripts/test` starts one with
//! `scripts/oidc`), else one started here for this test binary when node and the server's
//! node_modules are there (`scripts/oidc start` installs them), stopped when the binary exits
//! (its stdin is our pipe). Otherwise the tests say why and do nothing, unless
//! `SCOPEGATE_REQUIRE_OIDC=1`, which makes a missing server a failure.
//!
//! The browser keeps cookies, follows redirects by hand, and submits the provider's plain HTML
//! forms: the login form with the test account (alice / wonderland), the consent form, the
//! device flow's user-code forms.
#![allow(dead_code, unreachable_pub, clippy::print_stderr)]

use scopegate::Transport as _;
use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

use scopegate::UreqTransport;
use scopegate_core::jose::SigningKey;
use scopegate_core::low_level::{FlowError, TokenFlow};
use scopegate_core::prelude::*;
use url::Url;

pub const REDIRECT_URI: &str = "http://127.0.0.1:45678/callback";
pub const ACCOUNT: (&str, &str) = ("alice", "wonderland");

struct Spawned {
    url: String,
    _child: Child,
    // Kept open: the server must be able to write to its stdout for as long as it runs.
    _stdout: BufReader<std::process::ChildStdout>,
}

static SPAWNED: OnceLock<Option<Mutex<Spawned>>> = OnceLock::new();

/// The issuer URL of the test server, or `None` (the test then returns) when there is none.
pub fn server() -> Option<String> {
    if let Ok(url) = std::env::var("SCOPEGATE_TEST_OIDC") {
        return Some(url.trim_end_matches('/').to_owned());
    }
    let spawned = SPAWNED.get_or_init(|| spawn().map(Mutex::new));
    match spawned {
        Some(s) => Some(s.lock().unwrap().url.clone()),
        None => {
            assert!(
                std::env::var_os("SCOPEGATE_REQUIRE_OIDC").is_none(),
                "SCOPEGATE_REQUIRE_OIDC is set but no node-oidc-provider server could be had: run scripts/test, or scripts/oidc start and set SCOPEGATE_TEST_OIDC"
            );
            eprintln!(
                "skipped: no node-oidc-provider server (set SCOPEGATE_TEST_OIDC, or install node and run scripts/oidc start once)"
            );
            None
        }
    }
}

fn spawn() -> Option<Spawned> {
    // From this crate's tests and from the other crates' that include this module.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scopegate/tests/oidc");
    if !dir.join("node_modules/oidc-provider").is_dir() {
        return None;
    }
    let log = std::fs::File::create(Path::new(env!("CARGO_TARGET_TMPDIR")).join("oidc-server.log")).ok()?;
    let mut child = Command::new("node")
        .arg(dir.join("server.mjs"))
        .arg("--stdin-lifeline")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .ok()?;
    let mut stdout = BufReader::new(child.stdout.take()?);
    let mut line = String::new();
    stdout.read_line(&mut line).ok()?;
    let url = line.trim().strip_prefix("listening on ")?.to_owned();
    Some(Spawned { url, _child: child, _stdout: stdout })
}

pub fn now() -> Timestamp {
    Timestamp::from_system_time(SystemTime::now())
}

pub fn send(req: &HttpRequest) -> HttpResponse {
    UreqTransport::default().send(req).unwrap_or_else(|e| panic!("{} {}: {e}", req.method().as_str(), req.url()))
}

pub fn get(url: &str) -> HttpResponse {
    send(&HttpRequest::new(Method::Get, Url::parse(url).unwrap()))
}

pub fn body(resp: &HttpResponse) -> String {
    String::from_utf8_lossy(resp.body()).into_owned()
}

/// The server's metadata, as JSON text.
pub fn metadata_json(issuer: &str) -> String {
    body(&get(&format!("{issuer}/.well-known/openid-configuration")))
}

/// The discovered profile with `overrides` (TOML) laid over it.
pub fn provider(issuer: &str, overrides: &str) -> Provider {
    let p = Provider::from_discovery(issuer, &metadata_json(issuer)).expect("profile from discovery");
    if overrides.is_empty() { p } else { p.with_overrides(overrides, "test").expect("overrides") }
}

pub fn key(name: &str) -> SigningKey {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scopegate-core/tests/keys").join(name);
    SigningKey::from_pem(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Sends a token flow's request and returns its outcome.
pub fn run_flow(mut flow: TokenFlow) -> Result<TokenSet, FlowError> {
    let now = now();
    let req = flow.poll_transmit(now).expect("a request");
    flow.handle_response(now, send(&req)).unwrap();
    flow.poll_outcome().unwrap()
}

/// `GET /api/me` with a bearer token.
pub fn me_bearer(issuer: &str, token: &AccessToken) -> HttpResponse {
    send(&HttpRequest::new(Method::Get, Url::parse(&format!("{issuer}/api/me")).unwrap()).with_bearer(token))
}

pub fn stats(issuer: &str) -> serde_json::Value {
    serde_json::from_str(&body(&get(&format!("{issuer}/_test/stats")))).unwrap()
}

/// A browser: cookies by name, redirects followed by hand, forms submitted.
#[derive(Default)]
pub struct Browser {
    cookies: BTreeMap<String, String>,
    pub pages: usize,
}

/// The first form of a page: its action and hidden inputs.
pub struct Form {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = tag[start..].find('"')? + start;
    Some(
        tag[start..end]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

pub fn first_form(html: &str) -> Option<Form> {
    let start = html.find("<form")?;
    let end = html[start..].find("</form>").map_or(html.len(), |e| start + e);
    let form = &html[start..end];
    let tag_end = form.find('>')?;
    let action = attr(&form[..tag_end], "action")?;
    let mut fields = Vec::new();
    let mut rest = form;
    while let Some(i) = rest.find("<input") {
        let tag_end = rest[i..].find('>').map_or(rest.len(), |e| i + e);
        let tag = &rest[i..tag_end];
        if tag.contains("type=\"hidden\"") {
            if let (Some(n), Some(v)) = (attr(tag, "name"), attr(tag, "value")) {
                fields.push((n, v));
            }
        }
        rest = &rest[tag_end..];
    }
    Some(Form { action, fields })
}

impl Browser {
    fn request(&mut self, method: Method, url: &Url, form: Option<&[(String, String)]>) -> HttpResponse {
        self.pages += 1;
        let mut req = HttpRequest::new(method, url.clone());
        if !self.cookies.is_empty() {
            let c: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.with_header("Cookie", c.join("; "));
        }
        if let Some(fields) = form {
            let mut ser = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in fields {
                ser.append_pair(k, v);
            }
            req = req.with_body("application/x-www-form-urlencoded", ser.finish());
        }
        let resp = send(&req);
        for (name, value) in resp.headers() {
            if name.eq_ignore_ascii_case("set-cookie") {
                let pair = value.split(';').next().unwrap_or("");
                if let Some((k, v)) = pair.split_once('=') {
                    if v.is_empty() {
                        self.cookies.remove(k.trim());
                    } else {
                        self.cookies.insert(k.trim().to_owned(), v.to_owned());
                    }
                }
            }
        }
        resp
    }

    /// Requests `url` and follows redirects until a page (2xx/4xx) or a redirect to
    /// `stop_at` (returned as the final URL).
    pub fn navigate(&mut self, method: Method, url: &str, form: Option<&[(String, String)]>, stop_at: &str) -> Step {
        let mut url = Url::parse(url).unwrap();
        let mut resp = self.request(method, &url, form);
        for _ in 0..20 {
            if !(300..400).contains(&resp.status()) {
                return Step::Page { url, status: resp.status(), html: body(&resp) };
            }
            let location = resp.header("location").expect("a redirect has a location").to_owned();
            let next = url.join(&location).unwrap();
            if next.as_str().starts_with(stop_at) {
                return Step::Redirected(next.to_string());
            }
            url = next;
            resp = self.request(Method::Get, &url, None);
        }
        panic!("too many redirects");
    }

    /// Goes through the provider's pages (user-code forms, login, consent) from `start` until a
    /// redirect to `stop_at` (the callback URL is returned) or a final page (its HTML).
    pub fn walk(&mut self, start: &str, stop_at: &str, password: &str) -> Step {
        let mut step = self.navigate(Method::Get, start, None, stop_at);
        for _ in 0..10 {
            let Step::Page { url, status, html } = &step else { return step };
            if *status != 200 {
                return step;
            }
            let Some(form) = first_form(html) else { return step };
            let mut fields = form.fields.clone();
            if html.contains("name=\"password\"") {
                fields.push(("login".into(), ACCOUNT.0.into()));
                fields.push(("password".into(), password.into()));
            }
            let action = url.join(&form.action).unwrap().to_string();
            step = self.navigate(Method::Post, &action, Some(&fields), stop_at);
        }
        step
    }

    /// Logs alice in and approves: the callback URL the provider redirects to.
    pub fn authorize(&mut self, authorization_url: &str) -> String {
        match self.walk(authorization_url, REDIRECT_URI, ACCOUNT.1) {
            Step::Redirected(callback) => callback,
            Step::Page { url, status, html } => panic!("stopped at {url} ({status}): {html}"),
        }
    }
}

/// Where a walk ended.
#[derive(Debug)]
pub enum Step {
    /// A redirect to the URL the walk stops at.
    Redirected(String),
    /// A page.
    Page {
        /// Its URL.
        url: Url,
        /// Its status.
        status: u16,
        /// Its HTML.
        html: String,
    },
}
