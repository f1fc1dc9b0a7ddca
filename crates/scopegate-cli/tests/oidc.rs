//! Issue 23's "done when", from the command line, against node-oidc-provider (an OpenID
//! Certified server we did not write; `crates/scopegate/tests/oidc`, found or started as
//! `oidc_support` says): `provider discover` writes a profile that `login` uses as is;
//! `login --device` completes; a private_key_jwt client (`--client-key-file`) logs in and
//! refreshes; a PAR-required client logs in; a DPoP-required client logs in, refreshes and calls
//! a DPoP-protected resource, with nonce round trips. Each login goes through the provider's own
//! pages (login form, consent, the device pages) with a headless browser; the profile edits are
//! the ones a user makes (flip `par`, `required`, `client_auth`; add `[api]`).

#![allow(clippy::print_stderr)]

#[path = "../../scopegate/tests/oidc_support/mod.rs"]
mod oidc_support;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use oidc_support::{ACCOUNT, Browser, Step, server, stats};
use url::Url;

mod support;
use support::{BIN, TempDir};

/// `scopegate provider discover` into `dir`, with `edit` applied to the file's text.
fn profile(issuer: &str, dir: &Path, edit: impl Fn(String) -> String) -> String {
    let path = dir.join("provider.toml");
    let out = Command::new(BIN).args(["provider", "discover", issuer, "--out"]).arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, edit(text)).unwrap();
    path.to_string_lossy().into_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn key_file(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scopegate-core/tests/keys").join(name).to_string_lossy().into_owned()
}

/// A `scopegate` process whose stderr is read line by line as it comes.
struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(args: &[&str], secret: &str) -> Running {
        let mut child = Command::new(BIN)
            .args(args)
            .env("OIDC_CLIENT_SECRET", secret)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = channel();
        let err = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in err.lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Running { child, lines, seen: Vec::new() }
    }

    /// The first stderr line that starts with `prefix` (after trimming).
    fn line(&mut self, prefix: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(60)) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if l.trim_start().starts_with(prefix) {
                        return l.trim().to_owned();
                    }
                }
                Err(_) => panic!("no line starting with {prefix:?}; stderr so far: {:#?}", self.seen),
            }
        }
    }

    fn finish(mut self) -> (Output, String) {
        let out = std::mem::replace(&mut self.child, Command::new("true").spawn().unwrap()).wait_with_output().unwrap();
        let rest: Vec<String> = self.lines.try_iter().collect();
        self.seen.extend(rest);
        (out, self.seen.join("\n"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(args: &[&str], secret: &str) -> Output {
    Command::new(BIN).args(args).env("OIDC_CLIENT_SECRET", secret).output().unwrap()
}

fn ok(o: &Output) -> String {
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "stdout: {text}\nstderr: {}", String::from_utf8_lossy(&o.stderr));
    text
}

/// `scopegate login` with a loopback redirect URI on a free port; the browser logs alice in and
/// approves; returns the login's stdout and the URL the browser was sent to.
fn login(provider: &str, store: &Path, client_id: &str, secret: &str, extra: &[&str]) -> (String, String) {
    let redirect = format!("http://127.0.0.1:{}/callback", free_port());
    let store = store.to_string_lossy().into_owned();
    let mut args = vec![
        "login",
        "--provider",
        provider,
        "--client-id",
        client_id,
        "--redirect-uri",
        &redirect,
        "--no-browser",
        "--timeout",
        "60",
        "--store",
        &store,
    ];
    if !secret.is_empty() {
        args.extend(["--client-secret-env", "OIDC_CLIENT_SECRET"]);
    }
    args.extend(extra);
    let mut cli = Running::start(&args, secret);
    cli.line("open this URL in your browser:");
    let url = cli.line("http");
    match Browser::default().walk(&url, &redirect, ACCOUNT.1) {
        Step::Redirected(callback) => {
            // The browser follows the redirect to the command's loopback listener.
            let resp = oidc_support::get(&callback);
            assert_eq!(resp.status(), 200, "{}", oidc_support::body(&resp));
        }
        Step::Page { url, status, html } => panic!("stopped at {url} ({status}): {html}"),
    }
    let (out, stderr) = cli.finish();
    assert!(out.status.success(), "login failed: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stdout.contains("logged in:"), "{stdout}");
    (stdout, url)
}

fn who<'a>(provider: &'a str, store: &'a str, client_id: &'a str) -> Vec<&'a str> {
    vec!["--provider", provider, "--client-id", client_id, "--store", store]
}

#[test]
fn discover_writes_a_profile_that_login_uses_as_is() {
    let Some(issuer) = server() else { return };
    let dir = TempDir::new("discover");
    let p = profile(&issuer, &dir, |t| t);
    let store = dir.join("tokens.db");
    let (stdout, url) = login(&p, &store, "basic-client", "basic-secret", &[]);
    assert!(url.contains("code_challenge="), "PKCE from the profile: {url}");
    assert!(stdout.contains("[redacted]"), "{stdout}");
    let s = store.to_string_lossy();
    let mut args = vec!["token", "refresh"];
    args.extend(who(&p, &s, "basic-client"));
    args.extend(["--client-secret-env", "OIDC_CLIENT_SECRET"]);
    ok(&run(&args, "basic-secret"));
}

#[test]
fn login_device_prints_the_uri_and_waits_for_the_approval() {
    let Some(issuer) = server() else { return };
    let dir = TempDir::new("device");
    let p = profile(&issuer, &dir, |t| t);
    let store = dir.join("tokens.db").to_string_lossy().into_owned();
    let mut args = vec!["login", "--device"];
    args.extend(who(&p, &store, "device-client"));
    args.extend(["--client-secret-env", "OIDC_CLIENT_SECRET"]);
    let mut cli = Running::start(&args, "device-secret");
    cli.line("to authorize this device, open:");
    let uri = cli.line("http");
    assert!(Url::parse(&uri).unwrap().query().unwrap_or("").contains("user_code="), "the complete URI: {uri}");
    let code_line = cli.line("and check that it shows the code");
    // The user approves on another device: the provider's own pages, login and consent.
    match Browser::default().walk(&uri, "http://never.example", ACCOUNT.1) {
        Step::Page { status: 200, html, .. } => assert!(html.contains("Device approved"), "{html}"),
        other => panic!("{other:?}"),
    }
    let (out, stderr) = cli.finish();
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("logged in:") && stdout.contains("device-client"), "{stdout}");
    let code = code_line.rsplit(' ').next().unwrap();
    assert!(uri.contains(code), "{code_line} / {uri}");
    // Refreshed like any login.
    let mut args = vec!["token", "refresh"];
    args.extend(who(&p, &store, "device-client"));
    args.extend(["--client-secret-env", "OIDC_CLIENT_SECRET"]);
    ok(&run(&args, "device-secret"));
}

#[test]
fn private_key_jwt_client_logs_in_and_refreshes_with_its_key_file() {
    let Some(issuer) = server() else { return };
    let dir = TempDir::new("jwt");
    let p = profile(&issuer, &dir, |t| t.replace("client_auth = \"basic\"", "client_auth = \"private_key_jwt\""));
    let store = dir.join("tokens.db");
    let key = key_file("es256.pem");
    login(&p, &store, "jwt-es256", "", &["--client-key-file", &key]);
    let s = store.to_string_lossy();
    let mut args = vec!["token", "refresh", "--json"];
    args.extend(who(&p, &s, "jwt-es256"));
    let refused = run(&args, "");
    assert_eq!(refused.status.code(), Some(2), "no key: refused before any request");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--client-key-file"));
    args.extend(["--client-key-file", &key]);
    let out = ok(&run(&args, ""));
    assert!(out.contains("\"token_type\":\"Bearer\""), "{out}");
    // The key never appears in what the command prints.
    let pem = std::fs::read_to_string(&key).unwrap();
    let body_line = pem.lines().nth(1).unwrap();
    assert!(!out.contains(body_line));
    // Another client's key: the provider refuses the assertion (invalid_client), typed.
    let mut args = vec!["token", "new"];
    args.extend(who(&p, &s, "jwt-rs256"));
    args.extend(["--client-key-file", &key]);
    let out = run(&args, "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invalid_client"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn par_required_client_logs_in_through_a_pushed_request() {
    let Some(issuer) = server() else { return };
    let dir = TempDir::new("par");
    let p = profile(&issuer, &dir, |t| t.replace("par = false", "par = true"));
    let (_, url) = login(&p, &dir.join("tokens.db"), "par-client", "par-secret", &[]);
    let names: Vec<String> = Url::parse(&url).unwrap().query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(names, ["client_id", "request_uri"], "{url}");
}

#[test]
fn dpop_client_logs_in_refreshes_and_calls_the_resource_with_nonces() {
    let Some(issuer) = server() else { return };
    let dir = TempDir::new("dpop");
    let p = profile(&issuer, &dir, |t| {
        format!("{}\n[api]\nbase_url = \"{issuer}/api/\"\n", t.replace("required = false", "required = true"))
    });
    let store = dir.join("tokens.db");
    let before = stats(&issuer);
    let (stdout, _) = login(&p, &store, "dpop-client", "dpop-secret", &[]);
    assert!(stdout.contains("DPoP"), "{stdout}");
    let s = store.to_string_lossy();
    let with_secret = |mut args: Vec<&'static str>| {
        args.extend(["--client-secret-env", "OIDC_CLIENT_SECRET"]);
        args
    };
    let mut args = with_secret(vec!["token", "refresh", "--json"]);
    args.extend(who(&p, &s, "dpop-client"));
    let out = ok(&run(&args, "dpop-secret"));
    assert!(out.contains("\"token_type\":\"DPoP\""), "{out}");
    assert!(!out.contains("pkcs8") && !out.contains("dpop_key"), "the DPoP key is never printed: {out}");
    let mut args = with_secret(vec!["call", "--json"]);
    args.extend(who(&p, &s, "dpop-client"));
    args.extend(["GET", "me"]);
    let out = ok(&run(&args, "dpop-secret"));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["status"], 200, "{out}");
    assert_eq!(v["body"]["token_type"], "DPoP");
    let after = stats(&issuer);
    let n = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap();
    assert!(
        n(&after, "api_nonce_challenges") > n(&before, "api_nonce_challenges"),
        "a nonce round trip at the resource"
    );
    assert!(n(&after, "api_dpop") > n(&before, "api_dpop"));
    let mut args = vec!["token", "show", "--json", "--reveal"];
    args.extend(who(&p, &s, "dpop-client"));
    let out = ok(&run(&args, ""));
    assert!(!out.contains("pkcs8") && !out.contains("dpop_key"), "not even with --reveal: {out}");
}
