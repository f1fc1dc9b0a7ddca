//! The demo: the sandbox in-process, every built-in provider walked through its documented flows
//! with the real client, transport, SQLite store and loopback login. Each step reports its
//! outcome to the caller (the `scopegate demo` command prints them).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use scopegate::{Browser, Client, LoginOptions, SqliteStore, TokenStore, UreqTransport};
use scopegate_core::ClientConfig;
use scopegate_core::Method;
use scopegate_core::Provider;
use scopegate_core::Revoked;

use crate::apps::{App, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_STORE};
use crate::error::SandboxError;
use crate::knobs::Consent;
use crate::sandbox::Sandbox;

/// One step of the demo and how it went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoStep {
    /// The provider (`yespo`...).
    pub provider: String,
    /// What the step does.
    pub name: String,
    /// Whether it went as the provider's document says.
    pub ok: bool,
    /// What happened.
    pub detail: String,
}

struct Steps<'a> {
    report: &'a mut dyn FnMut(&DemoStep),
    failed: usize,
}

impl Steps<'_> {
    fn step(&mut self, provider: &str, name: &str, outcome: Result<String, String>) {
        let ok = outcome.is_ok();
        let detail = match outcome {
            Ok(d) | Err(d) => d,
        };
        if !ok {
            self.failed += 1;
        }
        (self.report)(&DemoStep { provider: provider.to_owned(), name: name.to_owned(), ok, detail });
    }
}

type Step = Result<String, String>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

pub use crate::browser::follow_as_browser;

/// A free port on 127.0.0.1 (for a loopback redirect URI).
pub fn free_loopback_port() -> std::io::Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")?.local_addr().map(|a| a.port())
}

/// Logs in through the real loopback listener; the "browser" is a thread that follows the
/// authorization URL to the auto-approving sandbox and on to our callback.
fn login(client: &Client) -> Step {
    let options =
        LoginOptions { timeout: Duration::from_secs(20), browser: Browser::PrintOnly, ..LoginOptions::default() };
    let mut browser = None;
    let tokens = scopegate::loopback_login(client, &options, |url, _| {
        let url = url.to_owned();
        browser = Some(std::thread::spawn(move || follow_as_browser(&url)));
    })
    .map_err(err)?;
    if let Some(b) = browser {
        b.join().map_err(|_| "browser thread panicked".to_string())??;
    }
    let expiry = match tokens.expires_at {
        Some(t) => format!("expires in {} s", t.secs_since(tokens.issued_at)),
        None => "never expires".into(),
    };
    Ok(format!(
        "tokens stored ({expiry}, refresh token: {})",
        if tokens.refresh_token.is_some() { "yes" } else { "no" }
    ))
}

fn status_of(client: &Client, method: Method, path: &str, body: Option<&[u8]>) -> Result<u16, String> {
    client.request(method, path, body).map(|r| r.status()).map_err(err)
}

fn expect_status(got: Result<u16, String>, want: u16, what: &str) -> Step {
    match got {
        Ok(s) if s == want => Ok(format!("http {s} {what}")),
        Ok(s) => Err(format!("http {s}, expected {want} {what}")),
        Err(e) => Err(e),
    }
}

fn new_client(provider: Provider, store: Arc<dyn TokenStore>, account: &str, port: u16) -> Result<Client, String> {
    let cfg = ClientConfig::new(SANDBOX_CLIENT_ID)
        .map_err(err)?
        .with_secret(SANDBOX_CLIENT_SECRET)
        .with_redirect_uri(format!("http://127.0.0.1:{port}/callback"))
        .map_err(err)?;
    Ok(Client::new(provider, cfg, Arc::new(UreqTransport::default()), store, account))
}

/// The demo, ready to run: a sandbox on an ephemeral loopback port and a token store in a
/// temporary directory (removed when the demo is dropped).
#[derive(Debug)]
pub struct Demo {
    sandbox: Sandbox,
    dir: PathBuf,
    store: Arc<SqliteStore>,
}

impl Demo {
    /// Starts the sandbox (auto-approving consent) and opens the store.
    pub fn start() -> Result<Demo, SandboxError> {
        let sandbox = Sandbox::start_on(0, Consent::AutoApprove)?;
        let dir = std::env::temp_dir().join(format!("scopegate-demo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| SandboxError::Io(format!("{}: {e}", dir.display())))?;
        let store = Arc::new(SqliteStore::open(dir.join("tokens.db")).map_err(|e| SandboxError::Io(e.to_string()))?);
        Ok(Demo { sandbox, dir, store })
    }

    /// The sandbox's base URL.
    pub fn base_url(&self) -> &str {
        self.sandbox.base_url()
    }

    /// The token store's file.
    pub fn store_path(&self) -> &Path {
        self.store.path()
    }

    /// Walks every provider through its flows, reporting each step; returns how many failed.
    pub fn run(self, report: &mut dyn FnMut(&DemoStep)) -> usize {
        let mut steps = Steps { report, failed: 0 };
        let port = match free_loopback_port() {
            Ok(p) => p,
            Err(e) => {
                steps.step("-", "a free loopback port", Err(err(e)));
                return steps.failed;
            }
        };
        let store: Arc<dyn TokenStore> = self.store.clone();
        for id in ["yespo", "reteno"] {
            uaa(&self.sandbox, id, store.clone(), port, &mut steps);
        }
        yotpo(&self.sandbox, store.clone(), port, &mut steps);
        yuvo(&self.sandbox, store, port, &mut steps);
        steps.failed
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn uaa(sb: &Sandbox, id: &str, store: Arc<dyn TokenStore>, port: u16, s: &mut Steps<'_>) {
    let client = match sb.profile(id).map_err(err).and_then(|p| new_client(p, store, "demo", port)) {
        Ok(c) => c,
        Err(e) => return s.step(id, "profile pointed at the sandbox", Err(e)),
    };
    s.step(id, "login (authorization code, loopback redirect)", login(&client));
    let verify = client.provider().api().and_then(|a| a.verify.as_ref()).map(|v| v.url.to_string()).unwrap_or_default();
    s.step(
        id,
        "verification call GET api/v2/version",
        expect_status(status_of(&client, Method::Get, &verify, None), 200, ""),
    );
    let before = client.stored().ok().flatten();
    s.step(
        id,
        "refresh (sends code + redirect_uri, rotates)",
        client.refresh().map_err(err).and_then(|t| {
            if t.refresh_token.is_some() && before.as_ref().is_some_and(|b| b.refresh_token != t.refresh_token) {
                Ok("new refresh token stored".into())
            } else {
                Err("the refresh token did not rotate".into())
            }
        }),
    );
    s.step(
        id,
        "permitted call PUT contact/42/subscriptions",
        expect_status(
            status_of(&client, Method::Put, "contact/42/subscriptions", Some(b"{}")),
            200,
            "(events_and_contacts)",
        ),
    );
    s.step(
        id,
        "refused by the provider POST message/7/send",
        expect_status(status_of(&client, Method::Post, "message/7/send", Some(b"{}")), 403, "(no `messages` right)"),
    );
    let rights = client.provider().rights_from_ids(["events_and_contacts"]).unwrap_or_default();
    let checked = client.with_redirect_uri(&format!("http://127.0.0.1:{port}/callback")).map(|c| c.with_rights(rights));
    s.step(
        id,
        "refused locally, nothing sent",
        match checked.map_err(err).and_then(|c| c.request(Method::Post, "message/7/send", Some(b"{}")).map_err(err)) {
            Err(e) if e.contains("not allowed") => Ok(e),
            Err(e) => Err(e),
            Ok(r) => Err(format!("sent, http {}", r.status())),
        },
    );
}

fn yotpo(sb: &Sandbox, store: Arc<dyn TokenStore>, port: u16, s: &mut Steps<'_>) {
    let id = "yotpo";
    let registered = sb.register(App {
        provider: id.into(),
        client_id: SANDBOX_CLIENT_ID.into(),
        client_secret: SANDBOX_CLIENT_SECRET.into(),
        redirect_uri: Some(format!("http://127.0.0.1:{port}/callback")),
        rights: vec![],
    });
    let client = match registered
        .map_err(err)
        .and_then(|_| sb.profile(id).map_err(err))
        .and_then(|p| new_client(p, store, SANDBOX_STORE, port))
    {
        Ok(c) => c,
        Err(e) => return s.step(id, "app registered with the sandbox", Err(e)),
    };
    s.step(id, "install (install link, code + app_key + state)", login(&client));
    s.step(id, "verification call GET store", expect_status(status_of(&client, Method::Get, "store", None), 200, ""));
    s.step(
        id,
        "uninstall from the app (remove application)",
        match client.revoke() {
            Ok(Revoked::Done) => Ok("token removed at Yotpo and forgotten here".into()),
            Ok(other) => Err(format!("{other:?}")),
            Err(e) => Err(err(e)),
        },
    );
    s.step(id, "re-install", login(&client));
    s.step(
        id,
        "merchant disconnects in Yotpo",
        sb.merchant_uninstall(SANDBOX_STORE).map(|_| "token deleted by the provider".to_string()).map_err(err),
    );
    let mut outcome = Err("no re-install signal".to_string());
    for _ in 0..3 {
        match client.request(Method::Get, "store", None) {
            Ok(r) if r.status() == 401 => continue,
            Ok(r) => {
                outcome = Err(format!("http {}", r.status()));
                break;
            }
            Err(scopegate::Error::ReauthorizationRequired { .. }) => {
                outcome = Ok("three 401s in a row: the merchant must re-install".into());
                break;
            }
            Err(e) => {
                outcome = Err(err(e));
                break;
            }
        }
    }
    s.step(id, "re-install signal after repeated 401s", outcome);
}

fn yuvo(sb: &Sandbox, store: Arc<dyn TokenStore>, port: u16, s: &mut Steps<'_>) {
    let id = "yuvo";
    let client = match sb.profile(id).map_err(err).and_then(|p| new_client(p, store.clone(), "demo", port)) {
        Ok(c) => c,
        Err(e) => return s.step(id, "profile pointed at the sandbox", Err(e)),
    };
    s.step(id, "login (/oauth/authorize/, trailing slash)", login(&client));
    s.step(
        id,
        "verification call GET companies",
        expect_status(status_of(&client, Method::Get, "companies", None), 200, ""),
    );
    let refreshes = (0..2).map(|_| client.refresh()).collect::<Result<Vec<_>, _>>();
    s.step(
        id,
        "refresh twice (one answer omits refresh_token)",
        refreshes.map_err(err).map(|ts| {
            if ts[0].refresh_token == ts[1].refresh_token {
                "the refresh token was kept when the answer had none".into()
            } else {
                "both answers rotated".into()
            }
        }),
    );
    let cc = new_client(client.provider().clone(), store, "demo-app", port);
    s.step(
        id,
        "client credentials",
        cc.and_then(|c| c.client_credentials(&[]).map_err(err)).map(|t| {
            format!("app token, expires in {} s", t.expires_at.map(|e| e.secs_since(t.issued_at)).unwrap_or(0))
        }),
    );
    sb.set_consent(Consent::AutoDeny);
    s.step(
        id,
        "consent refused",
        match login(&client) {
            Err(e) if e.contains("access_denied") => Ok("access_denied, reported as such".into()),
            Err(e) => Err(e),
            Ok(_) => Err("logged in although consent was refused".into()),
        },
    );
    sb.set_consent(Consent::AutoApprove);
}
