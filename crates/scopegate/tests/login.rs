//! Loopback login: a simulated browser talks to the listener over 127.0.0.1.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use scopegate::{Browser, Client, ClientError, LoginError, LoginOptions, MemoryStore, loopback_login};
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
        let (s404, _) = browser_get(&format!(
            "{redirect_base}/favicon.ico",
            redirect_base = redirect.trim_end_matches("/callback")
        ));
        let (s_forged, page) = browser_get(&format!("{redirect}?code=EVIL&state=forged"));
        assert!(page.contains("does not belong"), "{page}");
        let (s_ok, page) = browser_get(&format!("{redirect}?code=THE-CODE&state={state}"));
        assert!(page.contains("You are signed in"), "{page}");
        (s404, s_forged, s_ok)
    });
    let opts = LoginOptions { timeout: Duration::from_secs(10), browser: Browser::PrintOnly };
    let mut shown = None;
    let tokens = loopback_login(&client, &opts, |url, opened| {
        assert!(!opened);
        shown = Some(url.to_owned());
        tx.send(url.to_owned()).unwrap();
    })
    .unwrap();
    assert_eq!(browser.join().unwrap(), (404, 400, 200));
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
    let opts = LoginOptions { timeout: Duration::from_secs(10), browser: Browser::PrintOnly };
    let err = loopback_login(&client, &opts, |url, _| tx.send(url.to_owned()).unwrap()).unwrap_err();
    let (status, page) = browser.join().unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("access_denied (no thanks)"), "{page}");
    assert!(matches!(err, LoginError::Client(ClientError::Callback(CallbackError::Denied(_)))), "{err:?}");
    assert_eq!(endpoint.calls.load(Ordering::SeqCst), 0);
}

#[test]
fn no_callback_times_out_and_closes_the_port() {
    let port = free_port();
    let (client, _) = client(&format!("http://127.0.0.1:{port}/cb"), "");
    let opts = LoginOptions { timeout: Duration::from_millis(300), browser: Browser::PrintOnly };
    let err = loopback_login(&client, &opts, |_, _| {}).unwrap_err();
    assert!(matches!(err, LoginError::Timeout { .. }), "{err:?}");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn ephemeral_port_only_when_the_profile_allows_it() {
    let (client_no, _) = client("http://127.0.0.1:0/cb", "");
    let opts = LoginOptions { timeout: Duration::from_millis(200), browser: Browser::PrintOnly };
    assert!(matches!(loopback_login(&client_no, &opts, |_, _| {}), Err(LoginError::NotLoopback { .. })));

    let (client_yes, _) = client("http://127.0.0.1:0/cb", "[authorization]\nloopback_any_port = true\n");
    let (tx, rx) = mpsc::channel::<String>();
    let browser = thread::spawn(move || {
        let (state, redirect) = auth_params(&rx.recv().unwrap());
        assert!(!redirect.contains(":0/"), "the real port is sent: {redirect}");
        browser_get(&format!("{redirect}?code=THE-CODE&state={state}")).0
    });
    let opts = LoginOptions { timeout: Duration::from_secs(10), browser: Browser::PrintOnly };
    assert!(loopback_login(&client_yes, &opts, |url, _| tx.send(url.to_owned()).unwrap()).is_ok());
    assert_eq!(browser.join().unwrap(), 200);
}

#[test]
fn non_loopback_redirects_are_refused() {
    let (c, _) = client("https://app.example/cb", "");
    let opts = LoginOptions { timeout: Duration::from_millis(200), browser: Browser::PrintOnly };
    assert!(matches!(loopback_login(&c, &opts, |_, _| {}), Err(LoginError::NotLoopback { .. })));
}
