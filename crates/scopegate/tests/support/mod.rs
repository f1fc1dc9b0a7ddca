//! What the Authlib interop tests and the PostgreSQL tests share: the Authlib server, a temporary
//! directory, a client for it, the user's browser.
#![allow(dead_code, unreachable_pub, clippy::print_stderr)]

pub mod fake;
pub mod faulty;

use scopegate::Transport as _;
use std::io::BufRead as _;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::SystemTime;

use scopegate::{Client, TokenStore, UreqTransport};
use scopegate_core::prelude::*;

pub const BASIC_CLIENT: (&str, &str) = ("basic-client", "basic secret:+/=");
pub const POST_CLIENT: (&str, &str) = ("post-client", "post-secret");

/// The Authlib server, killed on drop.
pub struct Authlib {
    child: Child,
    pub port: u16,
}

impl Authlib {
    pub fn start(grace: bool) -> Option<Authlib> {
        Self::start_with(if grace { &["--grace"] } else { &[] })
    }

    /// The server with extra arguments (`--grace`, `--token-delay-ms N`, `--expires-in N`).
    pub fn start_with(args: &[&str]) -> Option<Authlib> {
        let python = match std::env::var_os("SCOPEGATE_TEST_PYTHON") {
            Some(p) => p,
            None => {
                assert!(
                    std::env::var_os("SCOPEGATE_REQUIRE_AUTHLIB").is_none(),
                    "SCOPEGATE_REQUIRE_AUTHLIB is set but SCOPEGATE_TEST_PYTHON is not: run scripts/test"
                );
                eprintln!("skipped: set SCOPEGATE_TEST_PYTHON to a python with authlib and flask (scripts/test does)");
                return None;
            }
        };
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/authlib/server.py");
        let mut cmd = Command::new(python);
        // Deprecation warnings are errors: the server must use Authlib as documented today.
        cmd.arg("-W").arg("error::DeprecationWarning").arg(script);
        cmd.args(args);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the authlib server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read the port");
        let port = line
            .strip_prefix("PORT ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("authlib server did not start: {line:?}"));
        Some(Authlib { child, port })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn stats(&self) -> serde_json::Value {
        let resp = UreqTransport::default()
            .send(&HttpRequest::new(Method::Get, url::Url::parse(&self.url("/stats")).unwrap()))
            .expect("stats");
        serde_json::from_slice(resp.body()).expect("stats json")
    }

    pub fn stat(&self, name: &str) -> u64 {
        self.stats()[name].as_u64().unwrap_or_else(|| panic!("stat {name}"))
    }

    /// A profile file for this server (written into `dir`).
    pub fn profile_file(&self, dir: &Path) -> PathBuf {
        let text = format!(
            r#"# The Authlib test server (crates/scopegate/tests/authlib/server.py).
id = "authlib"
name = "Authlib test server"

[authorization]
url = "{base}/authorize"
pkce = "S256"
scopes = ["read"]
loopback_any_port = true

[token]
url = "{base}/token"
client_auth = "basic"
grants = ["authorization_code", "refresh_token", "client_credentials"]

[api]
base_url = "{base}/api/"
verify = "GET {base}/api/me"

[revocation]
kind = "rfc7009"
url = "{base}/revoke"
"#,
            base = self.url("")
        );
        let path = dir.join("authlib.toml");
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Authlib {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh directory under the target dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir().join(format!("scopegate-authlib-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn provider(server: &Authlib, dir: &Path, body_auth: bool) -> Provider {
    let p = Provider::from_file(server.profile_file(dir)).expect("profile file");
    if body_auth { p.with_overrides("[token]\nclient_auth = \"body\"\n", "test").unwrap() } else { p }
}

pub fn config((id, secret): (&str, &str)) -> ClientConfig {
    ClientConfig::new(id).unwrap().with_secret(secret).with_redirect_uri("http://127.0.0.1:45678/callback").unwrap()
}

pub fn client(provider: Provider, creds: (&str, &str), store: Arc<dyn TokenStore>) -> Client {
    Client::new(provider, config(creds), Arc::new(UreqTransport::default()), store, "default")
}

/// The user's browser: follows the authorization URL (auto-approved) and returns the redirect.
pub fn browser(authorization_url: &str) -> String {
    let resp = UreqTransport::default()
        .send(&HttpRequest::new(Method::Get, url::Url::parse(authorization_url).unwrap()))
        .expect("authorize");
    assert_eq!(resp.status(), 302, "{}", String::from_utf8_lossy(resp.body()));
    resp.header("location").expect("location").to_owned()
}

pub fn login(client: &Client) -> TokenSet {
    let AuthorizationStart { url, mut pending } = client.authorization_request().unwrap();
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    let callback = browser(&url);
    client.exchange(&mut pending, &callback).expect("code exchange")
}

pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs()
}

/// The PostgreSQL server the tests run against (`SCOPEGATE_TEST_PG`, from `scripts/pg start`), or
/// `None`: the test says so and does nothing, unless `SCOPEGATE_REQUIRE_PG` is set (`scripts/test`
/// sets it), which makes a missing server a failure. Without the crate's `postgres` feature there
/// is no PostgresStore to run on.
pub fn pg_url() -> Option<String> {
    match std::env::var("SCOPEGATE_TEST_PG") {
        Ok(url) if cfg!(feature = "postgres") => Some(url),
        _ => {
            assert!(
                std::env::var_os("SCOPEGATE_REQUIRE_PG").is_none(),
                "SCOPEGATE_REQUIRE_PG is set but PostgreSQL is not available: run scripts/test (feature postgres, SCOPEGATE_TEST_PG)"
            );
            eprintln!(
                "PostgreSQL skipped: build with --features postgres and set SCOPEGATE_TEST_PG (scripts/pg start)"
            );
            None
        }
    }
}

/// Runs `scripts/pg ACTION` (`stop`, `start`) on the test server.
pub fn pg_script(action: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg");
    let out = Command::new(script).arg(action).output().expect("scripts/pg");
    assert!(out.status.success(), "scripts/pg {action}: {}", String::from_utf8_lossy(&out.stderr));
}
