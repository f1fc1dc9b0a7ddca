//! Loopback login: a simulated browser talks to the listener over 127.0.0.1.

#![allow(clippy::print_stderr)] // a skipped case says why

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use scopegate::Transport;
use scopegate::{Browser, Client, LoginOptions, MemoryStore, loopback_login};
use scopegate_core::CallbackError;
use scopegate_core::prelude::*;

struct TokenEndpoint {
    calls: AtomicUsize,
}

impl Transport for TokenEndpoint {
    fn send(&self, req: &HttpRequest) -> Result<HttpResponse, TransportError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let body = String::from_utf8(req.body().to_vec()).unwrap();
        assert!(body.contains("code=THE-CODE"), "{body}");
        Ok(HttpResponse::new(
            200,
            r#"{"access_token":"AT","token_type":"bearer","refresh_token":"RT","expires_in":60}"#,
        ))
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn client(redirect: &str, overrides: &str) -> (Client, Arc<TokenEndpoint>) {
    let provider = Provider::builtin("yuvo")
        .unwrap()
        .with_overrides(&format!("[token]\nurl = \"https://auth.test/token\"\n{overrides}"), "t")
        .unwrap();
    let t = Arc::new(TokenEndpoint { calls: AtomicUsize::new(0) });
    let config = ClientConfig::new("cid").unwrap().with_secret("s").with_redirect_uri(redirect).unwrap();
    (Client::new(provider, config, t.clone(), Arc::new(MemoryStore::new()), "default"), t)
}

/// GET `url` over a raw socket; the status line and body.
fn browser_get(url: &str) -> (u16, String) {
    let u = url::Url::parse(url).unwrap();
    let mut s = TcpStream::connect((u.host_str().unwrap(), u.port().unwrap())).unwrap();
    let target = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_owned(),
    };
    write!(s, "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", u.host_str().unwrap()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split(' ').nth(1).unwrap().parse().unwrap();
    (status, out)
}

fn auth_params(url: &str) -> (String, String) {
    let u = url::Url::parse(url).unwrap();
    let get = |k: &str| u.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.into_owned()).unwrap();
    (get("state"), get("redirect_uri"))
}

#[test]
fn one_callback_with_the_right_state_completes_the_login() {
    let port = free_port();
    let (client, endpoint) = client(&format!("http://127.0.0.1:{port}/callback"), "");
    let (tx, rx) = mpsc::channel::<String>();
    let browser = thread::spawn(move || {
        let url = rx.recv().unwrap();
        let (state, redirect) = auth_params(&url);
        let (s_other_path, _) = browser_get(&format!(
            "{redirect_base}/favicon.ico",
            redirect_base = redirect.trim_end_matches("/callback")
        ));
        let (s_forged, page) = browser_get(&format!("{redirect}?code=EVIL&state=forged"));
        assert!(page.contains("does not belong"), "{page}");
        let (s_ok, page) = browser_get(&format!("{redirect}?code=THE-CODE&state={state}"));
        assert!(page.contains("You are signed in"), "{page}");
        (s_other_path, s_forged, s_ok)
    });
    let opts =
        LoginOptions { timeout: Duration::from_secs(10), browser: Browser::PrintOnly, ..LoginOptions::default() };
    let mut shown = None;
    let tokens = loopback_login(&client, &opts, |url, opened| {
        assert!(!opened);
        shown = Some(url.to_owned());
        tx.send(url.to_owned()).unwrap();
    })
    .unwrap();
    // Every request but the real callback is answered 400 and ignored.
    assert_eq!(browser.join().unwrap(), (400, 400, 200));
    assert_eq!(tokens.access_token.expose_secret(), "AT");
    assert_eq!(client.stored().unwrap(), Some(tokens));
    assert_eq!(endpoint.calls.load(Ordering::SeqCst), 1, "the forged callback was never exchanged");
    assert!(shown.unwrap().starts_with("https://api.yuvohub.com/oauth/authorize/?response_type=code"));
    // the port is closed again
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn a_refused_consent_is_shown_and_returned() {
    let port = free_port();
    let (client, endpoint) = client(&format!("http://127.0.0.1:{port}/cb"), "");
    let (tx, rx) = mpsc::channel::<String>();
    let browser = thread::spawn(move || {
        let (state, redirect) = auth_params(&rx.recv().unwrap());
        browser_get(&format!("{redirect}?error=access_denied&error_description=no+thanks&state={state}"))
    });
    let opts =
        LoginOptions { timeout: Duration::from_secs(10), browser: Browser::PrintOnly, ..LoginOptions::default() };
    let err = loopback_login(&client, &opts, |url, _| tx.send(url.to_owned()).unwrap()).unwrap_err();
    let (status, page) = browser.join().unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("access_denied (no thanks)"), "{page}");
    assert!(matches!(err, scopegate::Error::Callback(CallbackError::Denied(_))), "{err:?}");
    assert_eq!(endpoint.calls.load(Ordering::SeqCst), 0);
}

#[test]
fn no_callback_times_out_and_closes_the_port() {
    let port = free_port();
    let (client, _) = client(&format!("http://127.0.0.1:{port}/cb"), "");
    let opts =
        LoginOptions { timeout: Duration::from_millis(300), browser: Browser::PrintOnly, ..LoginOptions::default() };
    let err = loopback_login(&client, &opts, |_, _| {}).unwrap_err();
    assert!(matches!(err, scopegate::Error::LoginTimeout { .. }), "{err:?}");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn ephemeral_port_only_when_the_profile_allows_it() {
    let (client_no, _) = client("http://127.0.0.1:0/cb", "");
    let opts =
        LoginOptions { timeout: Duration::from_millis(200), browser: Browser::PrintOnly, ..LoginOptions::default() };
    let refused = loopback_login(&client_no, &opts, |_, _| {}).unwrap_err();
    match &refused {
        scopegate::Error::Usage(scopegate::core::UsageError::AnyPortNotAllowed { provider }) => {
            assert_eq!(provider, "yuvo")
        }
        other => panic!("expected AnyPortNotAllowed, got {other:?}"),
    }
    assert!(refused.to_string().contains("loopback_any_port"), "{refused}");

    let (client_yes, _) = client("http://127.0.0.1:0/cb", "[authorization]\nloopback_any_port = true\n");
    let (tx, rx) = mpsc::channel::<String>();
    let browser = thread::spawn(move || {
        let (state, redirect) = auth_params(&rx.recv().unwrap());
        assert!(!redirect.contains(":0/"), "the real port is sent: {redirect}");
        browser_get(&format!("{redirect}?code=THE-CODE&state={state}")).0
    });
    let opts =
        LoginOptions { timeout: Duration::from_secs(10), browser: Browser::PrintOnly, ..LoginOptions::default() };
    assert!(loopback_login(&client_yes, &opts, |url, _| tx.send(url.to_owned()).unwrap()).is_ok());
    assert_eq!(browser.join().unwrap(), 200);
}

#[test]
fn non_loopback_redirects_are_refused() {
    let (c, _) = client("https://app.example/cb", "");
    let opts =
        LoginOptions { timeout: Duration::from_millis(200), browser: Browser::PrintOnly, ..LoginOptions::default() };
    assert!(matches!(
        loopback_login(&c, &opts, |_, _| {}),
        Err(scopegate::Error::Usage(scopegate::core::UsageError::LoopbackRedirectUri { .. }))
    ));
}

fn raw(port: u16, bytes: &[u8]) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(bytes).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// Anyone on the machine can reach the port. Junk requests, a slow client and idle connections
/// are all open when the real callback comes, and the login still succeeds; nothing but the
/// callback with the login's state reaches the token endpoint.
#[test]
fn junk_slow_and_idle_connections_never_stop_the_login() {
    let port = free_port();
    let (client, endpoint) = client(&format!("http://127.0.0.1:{port}/callback"), "");
    let (tx, rx) = mpsc::channel::<String>();
    let browser = thread::spawn(move || {
        let (state, redirect) = auth_params(&rx.recv().unwrap());
        // Idle preconnects, as browsers open, and a slowloris sending a byte every 200 ms.
        let idle: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap()).collect();
        let slow = thread::spawn(move || {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            for b in b"GET /callback?state=x HTTP/1.1\r\n" {
                if s.write_all(&[*b]).is_err() {
                    break;
                }
                thread::sleep(Duration::from_millis(200));
            }
        });
        let junk: Vec<Vec<u8>> = vec![
            b"GET /callback?a&a HTTP/1.1\r\n\r\n".to_vec(),
            format!("GET /callback?code=X&state={state}&state={state} HTTP/1.1\r\n\r\n").into_bytes(),
            format!("GET /callback?code=X&code=Y&state={state} HTTP/1.1\r\n\r\n").into_bytes(),
            format!("POST /callback?code=X&state={state} HTTP/1.1\r\n\r\n").into_bytes(),
            format!("GET /elsewhere?code=X&state={state} HTTP/1.1\r\n\r\n").into_bytes(),
            b"GET /callback?code=X&state=wrong HTTP/1.1\r\n\r\n".to_vec(),
            b"GET /callback?code=X HTTP/1.1\r\n\r\n".to_vec(),
            b"GET /callback?code=%zz&state=%FF HTTP/1.1\r\n\r\n".to_vec(),
            format!("GET /callback?{} HTTP/1.1\r\n\r\n", "x".repeat(20_000)).into_bytes(),
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n".to_vec(),
            b"GET /callback HTTP/1.1\r\nX: y\r\n\r\n".to_vec(),
        ];
        let statuses: Vec<u16> = junk.iter().map(|j| raw(port, j)).collect();
        let started = std::time::Instant::now();
        let (ok, page) = browser_get(&format!("{redirect}?code=THE-CODE&state={state}"));
        assert!(page.contains("You are signed in"), "{page}");
        let took = started.elapsed();
        drop(idle);
        slow.join().unwrap();
        (statuses, ok, took)
    });
    let opts =
        LoginOptions { timeout: Duration::from_secs(30), browser: Browser::PrintOnly, ..LoginOptions::default() };
    let tokens = loopback_login(&client, &opts, |url, _| tx.send(url.to_owned()).unwrap()).unwrap();
    let (statuses, ok, took) = browser.join().unwrap();
    assert!(statuses.iter().all(|s| *s == 400), "every junk request is answered 400: {statuses:?}");
    assert_eq!(ok, 200);
    assert!(took < Duration::from_secs(2), "the callback was not held up: {took:?}");
    assert_eq!(tokens.access_token.expose_secret(), "AT");
    assert_eq!(endpoint.calls.load(Ordering::SeqCst), 1, "only the real callback was exchanged");
}

/// A connection gets `head_timeout` for its whole request head, however slowly it trickles in.
#[test]
fn a_slow_request_head_is_cut_off_at_its_deadline() {
    let port = free_port();
    let (client, _) = client(&format!("http://127.0.0.1:{port}/cb"), "");
    let (tx, rx) = mpsc::channel::<()>();
    let slow = thread::spawn(move || {
        rx.recv().unwrap();
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let started = std::time::Instant::now();
        let mut buf = [0u8; 16];
        loop {
            if s.write_all(b"G").is_err() {
                break;
            }
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => break,
            }
            assert!(started.elapsed() < Duration::from_secs(5), "never cut off");
        }
        started.elapsed()
    });
    let opts = LoginOptions {
        timeout: Duration::from_millis(1500),
        browser: Browser::PrintOnly,
        head_timeout: Duration::from_millis(300),
    };
    let err = loopback_login(&client, &opts, |_, _| tx.send(()).unwrap()).unwrap_err();
    assert!(matches!(err, scopegate::Error::LoginTimeout { .. }), "{err:?}");
    let cut_after = slow.join().unwrap();
    assert!(cut_after >= Duration::from_millis(250) && cut_after < Duration::from_millis(1400), "{cut_after:?}");
}

/// RFC 8252 §8.3: with `localhost`, both loopback addresses are ours, so no other process can
/// take [::1] and receive the callback there; one that holds it already makes the login fail.
#[test]
fn localhost_binds_both_loopback_addresses() {
    let Ok(probe) = TcpListener::bind("[::1]:0") else {
        eprintln!("no IPv6 loopback on this machine: nothing to take");
        return;
    };
    drop(probe);
    let port = free_port();
    let (client, _) = client(&format!("http://localhost:{port}/cb"), "");
    let (tx, rx) = mpsc::channel::<String>();
    let browser = thread::spawn(move || {
        let (state, _) = auth_params(&rx.recv().unwrap());
        let v6 = TcpStream::connect(("::1", port)).is_ok();
        let (status, _) = browser_get(&format!("http://127.0.0.1:{port}/cb?code=THE-CODE&state={state}"));
        (v6, status)
    });
    let opts =
        LoginOptions { timeout: Duration::from_secs(10), browser: Browser::PrintOnly, ..LoginOptions::default() };
    assert!(loopback_login(&client, &opts, |url, _| tx.send(url.to_owned()).unwrap()).is_ok());
    assert_eq!(browser.join().unwrap(), (true, 200));

    let squatter = TcpListener::bind(("::1", port)).unwrap();
    let err = loopback_login(&client, &opts, |_, _| {}).unwrap_err();
    assert!(matches!(err, scopegate::Error::Listen { .. }), "{err:?}");
    drop(squatter);
}

/// The browser is started without a shell, the URL as one argument (its `&` and `|` intact),
/// with an environment that holds none of ours (so no client secret).
#[cfg(unix)]
#[test]
fn the_browser_gets_the_url_as_one_argument_and_none_of_our_environment() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = std::env::temp_dir().join(format!("scopegate-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("browser.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s\\n' \"$#\" \"$1\" > {0}/args\nenv > {0}/env\n", dir.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    let port = free_port();
    let (client, _) =
        client(&format!("http://127.0.0.1:{port}/cb"), "[authorization.extra_params]\nx = \"a|b&c;d`e\"\n");
    let opts = LoginOptions {
        timeout: Duration::from_millis(1500),
        browser: Browser::Command(script.clone()),
        ..LoginOptions::default()
    };
    let mut url = String::new();
    let _ = loopback_login(&client, &opts, |u, opened| {
        assert!(opened);
        url = u.to_owned();
    });
    let args = std::fs::read_to_string(dir.join("args")).unwrap();
    assert_eq!(args, format!("1\n{url}\n"), "one argument, the whole url");
    assert!(url.contains("x=a%7Cb%26c%3Bd%60e"), "{url}");
    let env = std::fs::read_to_string(dir.join("env")).unwrap();
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some(), "the test runs with a cargo environment");
    assert!(!env.contains("CARGO_"), "none of our variables reach the browser:\n{env}");
    let _ = std::fs::remove_dir_all(&dir);
}
