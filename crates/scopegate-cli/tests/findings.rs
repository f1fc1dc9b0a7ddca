//! The CLI findings of the Session issue, each shown against a scripted OAuth server on
//! loopback that a profile file points at (as a new user with their own provider would):
//!
//! 1. a user's token without a refresh token is never swapped for the app's client-credentials
//!    token;
//! 2. the bearer token never goes to a host outside the profile's API;
//! 5. after invalid_grant, the hint can be run as it is (it repeats the profile path) and says in
//!    words what happened;
//! 6. `[authorization.extra_params]` (prompt=consent), and a login without a refresh token says so;
//! 7. `scopegate token new` runs client credentials.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

mod support;
use support::{BIN, TempDir};
const SECRET: &str = "client-secret-from-the-environment";

/// What the scripted server saw.
#[derive(Default)]
struct Seen {
    /// `grant_type` of every token request.
    grants: Vec<String>,
    /// Whether each authorization request carried `prompt=consent`.
    prompts: Vec<bool>,
    /// Requests that reached the "other host", with their Authorization header.
    elsewhere: Vec<String>,
}

/// An OpenID-style server: a refresh token only when the authorization asked `prompt=consent`
/// (`oidc`), or always (`!oidc`); refresh answers invalid_grant; client credentials give the app's
/// token `APP-AT`; the API answers 200.
struct Server {
    port: u16,
    other_port: u16,
    seen: Arc<Mutex<Seen>>,
}

fn read_request(stream: &mut TcpStream) -> Option<(String, String, HashMap<String, String>, String)> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some((method, target, headers, String::from_utf8_lossy(&body).into_owned()))
}

fn answer(stream: &mut TcpStream, status: u16, extra: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    );
}

fn form(body: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes()).into_owned().collect()
}

impl Server {
    fn start(oidc: bool) -> Server {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let main = TcpListener::bind("127.0.0.1:0").unwrap();
        let other = TcpListener::bind("127.0.0.1:0").unwrap();
        let (port, other_port) = (main.local_addr().unwrap().port(), other.local_addr().unwrap().port());
        let s = Arc::clone(&seen);
        thread::spawn(move || {
            for stream in other.incoming() {
                let Ok(mut stream) = stream else { continue };
                if let Some((_, target, headers, _)) = read_request(&mut stream) {
                    let auth = headers.get("authorization").cloned().unwrap_or_default();
                    s.lock().unwrap().elsewhere.push(format!("{target} {auth}"));
                }
                answer(&mut stream, 200, "", "{}");
            }
        });
        let s = Arc::clone(&seen);
        thread::spawn(move || {
            let mut consented = false;
            for stream in main.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some((method, target, _headers, body)) = read_request(&mut stream) else { continue };
                let (path, query) = target.split_once('?').unwrap_or((&target, ""));
                match (method.as_str(), path) {
                    ("GET", "/authorize") => {
                        let q = form(query);
                        consented = q.get("prompt").map(String::as_str) == Some("consent");
                        s.lock().unwrap().prompts.push(consented);
                        let location = format!("{}?code=C1&state={}", q["redirect_uri"], q["state"]);
                        answer(&mut stream, 302, &format!("Location: {location}\r\n"), "");
                    }
                    ("POST", "/token") => {
                        let f = form(&body);
                        let grant = f.get("grant_type").cloned().unwrap_or_default();
                        s.lock().unwrap().grants.push(grant.clone());
                        if f.get("client_secret").map(String::as_str) != Some(SECRET) {
                            answer(&mut stream, 401, "", r#"{"error":"invalid_client"}"#);
                            continue;
                        }
                        match grant.as_str() {
                            "authorization_code" if !oidc || consented => answer(
                                &mut stream,
                                200,
                                "",
                                r#"{"access_token":"USER-AT","token_type":"Bearer","expires_in":3600,"refresh_token":"USER-RT"}"#,
                            ),
                            "authorization_code" => answer(
                                &mut stream,
                                200,
                                "",
                                r#"{"access_token":"USER-AT","token_type":"Bearer","expires_in":3600}"#,
                            ),
                            "client_credentials" => answer(
                                &mut stream,
                                200,
                                "",
                                r#"{"access_token":"APP-AT","token_type":"Bearer","expires_in":3600}"#,
                            ),
                            _ => answer(
                                &mut stream,
                                400,
                                "",
                                r#"{"error":"invalid_grant","error_description":"Invalid refresh token"}"#,
                            ),
                        }
                    }
                    _ => answer(&mut stream, 200, "", r#"{"ok":true}"#),
                }
            }
        });
        Server { port, other_port, seen }
    }

    fn profile(&self, dir: &TempDir, extra: &str) -> String {
        let p = self.port;
        let text = format!(
            "id = \"oidc\"\nname = \"OIDC test\"\n\n[authorization]\nurl = \"http://127.0.0.1:{p}/authorize\"\n\
             loopback_any_port = true\n{extra}\n[token]\nurl = \"http://127.0.0.1:{p}/token\"\nclient_auth = \"body\"\n\
             grants = [\"authorization_code\", \"refresh_token\", \"client_credentials\"]\naccess_lifetime = 3600\n\n\
             [api]\nbase_url = \"http://127.0.0.1:{p}/api\"\n"
        );
        let path = dir.0.join(format!("oidc-{}.toml", extra.len()));
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env("S", SECRET).output().expect("run scopegate")
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn get(url: &str) -> (u16, Option<String>) {
    let u = url::Url::parse(url).unwrap();
    let mut s = TcpStream::connect((u.host_str().unwrap(), u.port().unwrap())).unwrap();
    let target = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_owned(),
    };
    write!(s, "GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split(' ').nth(1).unwrap().parse().unwrap();
    let location = out
        .lines()
        .find_map(|l| l.strip_prefix("Location: ").or_else(|| l.strip_prefix("location: ")))
        .map(str::to_owned);
    (status, location)
}

/// `scopegate login --no-browser` for the profile, playing the user's browser.
fn login(profile: &str, store: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(["login", "--provider", profile, "--client-id", "app", "--client-secret-env", "S"])
        .args(["--no-browser", "--timeout", "30", "--store", store])
        .env("S", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
        if let Some(u) = line.trim().strip_prefix("http://") {
            let (status, location) = get(&format!("http://{u}"));
            assert_eq!(status, 302);
            let (status, _) = get(&location.unwrap());
            assert_eq!(status, 200);
            break;
        }
    }
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    let mut out = child.wait_with_output().unwrap();
    out.stderr = format!("{seen}{rest}").into_bytes();
    out
}

fn stored_access_token(profile: &str, store: &str, account: &str) -> String {
    let o =
        run(&["token", "show", "--provider", profile, "--store", store, "--account", account, "--reveal", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

/// Finding 1: `token refresh` on a user's token without a refresh token, on a profile that also
/// lists client_credentials, used to run client credentials and store the app's token under the
/// user's account (exit 0).
#[test]
fn finding_1_a_users_token_is_never_swapped_for_the_apps() {
    let server = Server::start(true);
    let dir = TempDir::new("swap");
    let profile = server.profile(&dir, "");
    let store = dir.store();
    let o = login(&profile, &store);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let o = run(&["token", "refresh", "--provider", &profile, "--client-secret-env", "S", "--store", &store]);
    assert_ne!(o.status.code(), Some(0), "refused: {:?}", text(&o));
    assert!(!server.seen.lock().unwrap().grants.contains(&"client_credentials".to_owned()), "no app token asked for");
    assert_eq!(stored_access_token(&profile, &store, "default"), "USER-AT", "the user's token stays");
}

/// Finding 2: the bearer token went to any host: a full URL elsewhere, and paths that the URL
/// parser resolves to another host.
#[test]
fn finding_2_the_token_never_leaves_the_profiles_api() {
    let server = Server::start(false);
    let dir = TempDir::new("origin");
    let profile = server.profile(&dir, "");
    let store = dir.store();
    assert_eq!(login(&profile, &store).status.code(), Some(0));
    let other = server.other_port;
    for path in [
        format!("http://127.0.0.1:{other}/x"),
        format!("//127.0.0.1:{other}/x"),
        format!("\\\\127.0.0.1:{other}\\x"),
        format!("/\\127.0.0.1:{other}/x"),
    ] {
        let o = run(&["call", "--provider", &profile, "--client-secret-env", "S", "--store", &store, "GET", &path]);
        assert_eq!(o.status.code(), Some(2), "{path}: refused as bad input: {:?}", text(&o));
        assert!(text(&o).1.contains("refusing to send the token"), "{path}: {:?}", text(&o));
    }
    thread::sleep(Duration::from_millis(100));
    assert_eq!(server.seen.lock().unwrap().elsewhere, Vec::<String>::new(), "nothing reached the other host");
    // The API itself still works, by path and by full URL.
    let o = run(&["call", "--provider", &profile, "--client-secret-env", "S", "--store", &store, "GET", "contacts"]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let full = format!("http://127.0.0.1:{}/api/contacts", server.port);
    let o = run(&["call", "--provider", &profile, "--client-secret-env", "S", "--store", &store, "GET", &full]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
}

/// Finding 5: after invalid_grant the hint named the profile id (`--provider oidc`, which fails
/// for a profile file) and printed a Rust Debug name.
#[test]
fn finding_5_the_hint_can_be_run_and_says_what_happened() {
    let server = Server::start(false);
    let dir = TempDir::new("hint");
    let profile = server.profile(&dir, "");
    let store = dir.store();
    assert_eq!(login(&profile, &store).status.code(), Some(0));
    let o = run(&["token", "refresh", "--provider", &profile, "--client-secret-env", "S", "--store", &store]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the provider refused the refresh token (invalid_grant): it was revoked, expired or already used"),
        "{err}"
    );
    assert!(err.contains(&format!("scopegate login --provider {profile} ")), "{err}");
    assert!(!err.contains("InvalidGrant"), "no Debug names: {err}");
    // The dead grant is remembered: the next refresh fails without a request.
    let before = server.seen.lock().unwrap().grants.len();
    let o = run(&["token", "refresh", "--provider", &profile, "--client-secret-env", "S", "--store", &store]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(server.seen.lock().unwrap().grants.len(), before, "no request for a known-dead grant");
}

/// Finding 6: OpenID-style providers issue a refresh token only with prompt=consent; a profile
/// can now send it, and a login that got no refresh token says so.
#[test]
fn finding_6_extra_authorization_parameters_and_a_missing_refresh_token() {
    let server = Server::start(true);
    let dir = TempDir::new("prompt");
    let store = dir.store();
    let plain = server.profile(&dir, "");
    let o = login(&plain, &store);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert!(text(&o).1.contains("the provider issued no refresh token"), "{:?}", text(&o));

    let consent = server.profile(&dir, "\n[authorization.extra_params]\nprompt = \"consent\"\n");
    let o = login(&consent, &store);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert!(!text(&o).1.contains("no refresh token"), "{:?}", text(&o));
    assert_eq!(server.seen.lock().unwrap().prompts, [false, true]);
    let o = run(&["token", "show", "--provider", &consent, "--store", &store, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["refresh_token"], "[redacted]", "a refresh token is stored");
}

/// Finding 7: no command ran client credentials.
#[test]
fn finding_7_token_new_runs_client_credentials() {
    let server = Server::start(false);
    let dir = TempDir::new("cc");
    let profile = server.profile(&dir, "");
    let store = dir.store();
    let o = run(&[
        "token",
        "new",
        "--provider",
        &profile,
        "--client-id",
        "app",
        "--client-secret-env",
        "S",
        "--account",
        "service",
        "--store",
        &store,
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(!out.contains("APP-AT") && !err.contains(SECRET), "nothing secret printed: {out}{err}");
    assert_eq!(server.seen.lock().unwrap().grants, ["client_credentials"]);
    assert_eq!(stored_access_token(&profile, &store, "service"), "APP-AT");
    // An account that holds a user's token is not given the app's.
    assert_eq!(login(&profile, &store).status.code(), Some(0));
    let o2 = run(&[
        "token",
        "new",
        "--provider",
        &profile,
        "--client-id",
        "app",
        "--client-secret-env",
        "S",
        "--store",
        &store,
    ]);
    assert_eq!(o2.status.code(), Some(1), "{:?}", text(&o2));
    assert!(text(&o2).1.contains("holds a user's token"), "{:?}", text(&o2));
    assert_eq!(stored_access_token(&profile, &store, "default"), "USER-AT");
}
