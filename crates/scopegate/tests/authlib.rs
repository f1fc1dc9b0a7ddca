//! Every flow of `Client` against an authorization server we did not write: Authlib (Python) on
//! 127.0.0.1, started per test from `tests/authlib/server.py` and stopped when the test ends.
//!
//! The Python interpreter comes from `SCOPEGATE_TEST_PYTHON` (a venv with authlib and flask;
//! `scripts/test` creates it). Without it the tests say so and do nothing, unless
//! `SCOPEGATE_REQUIRE_AUTHLIB=1` (set by `scripts/test`), which makes a missing server a failure.
//!
//! Multi-process tests re-run this test binary as child processes (`--ignored --exact child`).

#![allow(clippy::print_stderr)] // the tests report skips and measured figures

mod support;

use scopegate::Transport as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime};

use scopegate::{Client, SqliteStore, TokenStore, UreqTransport};
use scopegate_core::Revoked;
use scopegate_core::low_level::{FlowError, TokenFlow, TokenResponseError};
use scopegate_core::prelude::*;
use support::*;

/// A token request outside the client (to check what the server accepts).
fn raw_refresh(provider: &Provider, creds: (&str, &str), tokens: &TokenSet) -> Result<TokenSet, FlowError> {
    let mut flow = TokenFlow::refresh(provider, &config(creds), tokens).unwrap();
    let now = Timestamp::from_system_time(SystemTime::now());
    let req = flow.poll_transmit(now).unwrap();
    let resp = UreqTransport::default().send(&req).unwrap();
    flow.handle_response(now, resp).unwrap();
    flow.poll_outcome().unwrap()
}

fn me(client: &Client) -> serde_json::Value {
    let resp = client.request(Method::Get, "me", None).expect("api call");
    assert_eq!(resp.status(), 200, "{}", String::from_utf8_lossy(resp.body()));
    serde_json::from_slice(resp.body()).unwrap()
}

#[test]
fn every_flow_with_client_secret_basic_and_post() {
    let Some(server) = Authlib::start(false) else { return };
    let dir = TempDir::new("flows");
    for (creds, body_auth) in [(BASIC_CLIENT, false), (POST_CLIENT, true)] {
        let store: Arc<dyn TokenStore> = Arc::new(SqliteStore::open(dir.0.join(format!("{}.db", creds.0))).unwrap());
        let provider = provider(&server, &dir.0, body_auth);
        let c = client(provider.clone(), creds, store.clone());

        // Authorization code with PKCE (Authlib requires it), then an API call.
        let first = login(&c);
        assert!(first.refresh_token.is_some());
        assert_eq!(me(&c)["client_id"], creds.0);

        // Refresh with rotation: a new refresh token, the old one refused by the server.
        let second = c.refresh().unwrap();
        assert_ne!(second.refresh_token, first.refresh_token, "rotated");
        assert_eq!(store.load(&c.key()).unwrap(), Some(second.clone()), "stored");
        let err = raw_refresh(&provider, creds, &first).unwrap_err();
        assert!(err.is_invalid_grant(), "{err}");
        assert_eq!(me(&c)["client_id"], creds.0);

        // Revocation (RFC 7009): server-side dead, locally forgotten.
        assert_eq!(c.revoke().unwrap(), Revoked::Done);
        assert!(c.stored().unwrap().is_none());
        assert!(raw_refresh(&provider, creds, &second).unwrap_err().is_invalid_grant());
        let resp = UreqTransport::default()
            .send(
                &HttpRequest::new(Method::Get, url::Url::parse(&server.url("/api/me")).unwrap())
                    .with_bearer(&second.access_token),
            )
            .unwrap();
        assert_eq!(resp.status(), 401, "revoking the refresh token ended its access token too");

        // Client credentials.
        let cc = c.client_credentials(&["read".into()]).unwrap();
        assert!(cc.refresh_token.is_none());
        assert_eq!(cc.scopes, vec!["read".to_string()]);
        assert_eq!(me(&c)["client_id"], creds.0);
    }
    // The wrong secret, the wrong authentication style: invalid_client, typed.
    let store: Arc<dyn TokenStore> = Arc::new(SqliteStore::open(dir.0.join("bad.db")).unwrap());
    for (creds, body_auth) in [(("basic-client", "wrong"), false), (BASIC_CLIENT, true)] {
        let c = client(provider(&server, &dir.0, body_auth), creds, store.clone());
        match c.client_credentials(&[]) {
            Err(scopegate::Error::Flow(FlowError::Response(TokenResponseError::Refused(e)))) => {
                assert_eq!(e.code.as_str(), "invalid_client");
            }
            other => panic!("{other:?}"),
        }
    }
    let stats = server.stats();
    assert_eq!(stats["by_grant"]["authorization_code"], 2);
    assert_eq!(stats["revocations"], 2);
}

/// A clock the test moves: the stored token is expired for the client at once.
fn client_at(client: Client, clock: Arc<AtomicU64>) -> Client {
    client.with_clock(move || Timestamp::from_unix_secs(clock.load(Ordering::SeqCst)))
}

#[test]
fn thirty_two_threads_on_an_expired_token_make_one_refresh() {
    let Some(server) = Authlib::start(false) else { return };
    let dir = TempDir::new("threads");
    let store: Arc<dyn TokenStore> = Arc::new(SqliteStore::open(dir.0.join("tokens.db")).unwrap());
    let clock = Arc::new(AtomicU64::new(now_secs()));
    let c = Arc::new(client_at(client(provider(&server, &dir.0, false), BASIC_CLIENT, store), clock.clone()));
    let first = login(&c);
    clock.fetch_add(7200, Ordering::SeqCst); // an hour past expiry
    let barrier = Arc::new(Barrier::new(32));
    let handles: Vec<_> = (0..32)
        .map(|_| {
            let (c, b) = (Arc::clone(&c), Arc::clone(&barrier));
            std::thread::spawn(move || {
                b.wait();
                c.access_token()
            })
        })
        .collect();
    let results: Vec<TokenSet> = handles.into_iter().map(|h| h.join().unwrap().expect("access_token")).collect();
    assert!(results.iter().all(|t| t.access_token == results[0].access_token), "all got the same token");
    assert_ne!(results[0].access_token, first.access_token);
    assert_eq!(server.stat("refreshes"), 1, "exactly one refresh request");
    assert_eq!(server.stat("invalid_grant"), 0);
    assert_eq!(me(&c)["client_id"], BASIC_CLIENT.0, "the refreshed token works");
}

// ---------------------------------------------------------------------------------------------
// Child processes: this test binary run again with `--ignored --exact child --nocapture`.

const CHILD_ENV: &str = "SCOPEGATE_AUTHLIB_CHILD";

/// What a child does, from its environment: `access_token` (wait for the go file, then one
/// access_token() at a clock two hours ahead) or `refresh_loop` (refresh until killed).
#[test]
#[ignore = "run by the multi-process tests as a child process"]
fn child() {
    let mode = std::env::var(CHILD_ENV).expect("run by the multi-process tests");
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k}"));
    let profile = Provider::from_file(var("SG_PROFILE")).unwrap();
    let store: Arc<dyn TokenStore> = Arc::new(SqliteStore::open(var("SG_STORE")).unwrap());
    // `refresh`: the token is fresh (the caller asks for a refresh anyway); else two hours on.
    let ahead = if mode == "refresh" { 0 } else { 7200 };
    let clock = Arc::new(AtomicU64::new(now_secs() + ahead));
    let c = client_at(client(profile, BASIC_CLIENT, store), clock);
    let mut out = std::io::stdout();
    match mode.as_str() {
        "access_token" => {
            let dir = PathBuf::from(var("SG_DIR"));
            std::fs::write(dir.join(format!("ready-{}", std::process::id())), b"").unwrap();
            let deadline = Instant::now() + Duration::from_secs(30);
            while !dir.join("go").exists() {
                assert!(Instant::now() < deadline, "no go signal");
                std::thread::yield_now();
            }
            let t = c.access_token().expect("access_token");
            writeln!(out, "TOKEN {}", t.access_token.expose_secret()).unwrap();
        }
        "refresh" => {
            let dir = PathBuf::from(var("SG_DIR"));
            let seen = c.access_token().expect("the current token, fresh");
            std::fs::write(dir.join(format!("ready-{}", std::process::id())), b"").unwrap();
            let deadline = Instant::now() + Duration::from_secs(30);
            while !dir.join("go").exists() {
                assert!(Instant::now() < deadline, "no go signal");
                std::thread::yield_now();
            }
            let t = c.refresh().expect("refresh");
            assert_ne!(t.access_token, seen.access_token);
            writeln!(out, "TOKEN {}", t.access_token.expose_secret()).unwrap();
        }
        "refresh_loop" => {
            writeln!(out, "STARTED").unwrap();
            out.flush().unwrap();
            loop {
                c.refresh().expect("refresh");
            }
        }
        other => panic!("unknown child mode {other}"),
    }
}

fn spawn_child(mode: &str, server_dir: &Path, profile: &Path, store: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child", "--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, mode)
        .env("SG_PROFILE", profile)
        .env("SG_STORE", store)
        .env("SG_DIR", server_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child")
}

fn read_all(stdout: Option<ChildStdout>) -> String {
    let mut s = String::new();
    stdout.expect("stdout").read_to_string(&mut s).unwrap();
    s
}

#[test]
fn four_processes_sharing_one_sqlite_store_make_one_refresh() {
    four_processes_make_one_refresh("access_token", &[]);
}

/// Issue "nothing lost", finding 2: explicit refreshes are coalesced too. Four processes that
/// saw the same token set call `refresh()` at once, against a slowed token endpoint: one
/// request; the others get its result.
#[test]
fn four_processes_calling_refresh_make_one_request() {
    four_processes_make_one_refresh("refresh", &["--token-delay-ms", "500"]);
}

fn four_processes_make_one_refresh(mode: &str, server_args: &[&str]) {
    let Some(server) = Authlib::start_with(server_args) else { return };
    let dir = TempDir::new("procs");
    let profile = server.profile_file(&dir.0);
    let store_path = dir.0.join("tokens.db");
    let store: Arc<dyn TokenStore> = Arc::new(SqliteStore::open(&store_path).unwrap());
    let c = client(Provider::from_file(&profile).unwrap(), BASIC_CLIENT, store.clone());
    let first = login(&c);

    let mut children: Vec<Child> = (0..4).map(|_| spawn_child(mode, &dir.0, &profile, &store_path)).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_dir(&dir.0)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("ready-"))
        .count()
        < 4
    {
        assert!(Instant::now() < deadline, "children did not get ready");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::write(dir.0.join("go"), b"").unwrap();
    let mut tokens = Vec::new();
    for child in &mut children {
        let out = read_all(child.stdout.take());
        assert!(child.wait().unwrap().success(), "child failed: {out}");
        // (the harness prints "test child ... " first, on the same line)
        let t = out
            .split_once("TOKEN ")
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no token in {out:?}"))
            .to_owned();
        tokens.push(t);
    }
    assert!(tokens.iter().all(|t| *t == tokens[0]), "every process got the same token");
    assert_ne!(tokens[0], first.access_token.expose_secret());
    assert_eq!(server.stat("refreshes"), 1, "exactly one refresh request");
    assert_eq!(server.stat("invalid_grant"), 0);
    let stored = store.load(&c.key()).unwrap().unwrap();
    assert_eq!(stored.access_token.expose_secret(), tokens[0]);
}

/// A child refreshing in a loop is killed with SIGKILL at a random moment, 20 times. Each time the
/// store opens, passes SQLite's integrity check, holds one consistent token set, and the server
/// accepts its refresh token.
///
/// The server runs with `--grace` (see server.py): when the kill lands after the server rotated
/// the refresh token and before the child committed the new one, no client can get that token
/// back; the server's reuse interval is what saves the connection, and the test counts how often
/// it was needed.
#[test]
fn sigkill_in_a_refresh_loop_never_corrupts_the_store() {
    let Some(server) = Authlib::start(true) else { return };
    let dir = TempDir::new("sigkill");
    let profile = server.profile_file(&dir.0);
    let store_path = dir.0.join("tokens.db");
    {
        let store: Arc<dyn TokenStore> = Arc::new(SqliteStore::open(&store_path).unwrap());
        login(&client(Provider::from_file(&profile).unwrap(), BASIC_CLIENT, store));
    }
    let mut seed = now_secs() ^ u64::from(std::process::id());
    for round in 0..20 {
        let before = server.stat("refreshes");
        let mut child = spawn_child("refresh_loop", &dir.0, &profile, &store_path);
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("STARTED") {
            line.clear();
            assert!(reader.read_line(&mut line).unwrap() > 0, "round {round}: the child ended before starting");
        }
        // Let it refresh for 20-120 ms (xorshift), then SIGKILL.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let deadline = Instant::now() + Duration::from_millis(20 + seed % 100);
        while server.stat("refreshes") == before || Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        assert!(!status.success(), "round {round}: killed");

        let conn = rusqlite::Connection::open(&store_path).unwrap();
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok", "round {round}");
        drop(conn);
        let store: Arc<dyn TokenStore> = Arc::new(SqliteStore::open(&store_path).unwrap());
        let keys = store.keys().unwrap();
        assert_eq!(keys.len(), 1, "round {round}: one token set");
        let c = client(Provider::from_file(&profile).unwrap(), BASIC_CLIENT, store.clone());
        let stored = store.load(&c.key()).unwrap().expect("a token set");
        assert_eq!(stored.provider_id, "authlib");
        assert!(stored.refresh_token.is_some());
        // The server accepts the stored refresh token (through the client, which stores the next).
        let next = c.refresh().unwrap_or_else(|e| panic!("round {round}: server refused the stored token: {e}"));
        assert_eq!(store.load(&c.key()).unwrap(), Some(next));
    }
    let stats = server.stats();
    assert_eq!(stats["invalid_grant"], 0, "{stats}");
    eprintln!(
        "sigkill: {} refreshes in 20 rounds; the server's reuse interval was needed {} times",
        stats["refreshes"], stats["grace_used"]
    );
}

/// RFC 8252 loopback login end to end: the "browser" (a thread) follows the authorization URL to
/// Authlib, which redirects to our listener on an ephemeral port (the profile allows any port).
#[test]
fn loopback_login_against_authlib() {
    let Some(server) = Authlib::start(false) else { return };
    let dir = TempDir::new("login");
    let store: Arc<dyn TokenStore> = Arc::new(SqliteStore::open(dir.0.join("tokens.db")).unwrap());
    // Port 0: any free port (the profile allows it), put into the redirect URI sent.
    let c = client(provider(&server, &dir.0, false), BASIC_CLIENT, store)
        .with_redirect_uri("http://127.0.0.1:0/callback")
        .unwrap();
    let options = scopegate::LoginOptions {
        timeout: Duration::from_secs(20),
        browser: scopegate::Browser::PrintOnly,
        ..scopegate::LoginOptions::default()
    };
    let mut page = None;
    let tokens = scopegate::loopback_login(&c, &options, |url, _opened| {
        let url = url.to_owned();
        page = Some(std::thread::spawn(move || {
            let callback = browser(&url);
            assert!(callback.starts_with("http://127.0.0.1:"), "{callback}");
            assert!(!callback.starts_with("http://127.0.0.1:0/"), "the real port: {callback}");
            UreqTransport::default().send(&HttpRequest::new(Method::Get, url::Url::parse(&callback).unwrap())).unwrap()
        }));
    })
    .expect("login");
    let answer = page.expect("the url was shown").join().unwrap();
    assert_eq!(answer.status(), 200);
    assert!(String::from_utf8_lossy(answer.body()).to_lowercase().contains("you can close"), "success page");
    assert_eq!(c.stored().unwrap(), Some(tokens));
    assert_eq!(me(&c)["client_id"], BASIC_CLIENT.0);
}
