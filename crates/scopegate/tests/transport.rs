//! UreqTransport against servers on 127.0.0.1 (ephemeral ports, stopped by each test).

use scopegate::Transport as _;
use std::io::Read;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use scopegate::{TransportConfig, UreqTransport};
use scopegate_core::AuthorizationRequest;
use scopegate_core::low_level::TokenFlow;
use scopegate_core::prelude::*;
use url::Url;

/// What the server saw of one request.
#[derive(Debug, Default, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// A server answering `n` requests with `answer`, recording them; joined by the test.
fn serve(
    n: usize,
    answer: impl Fn(&Seen) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> + Send + 'static,
) -> (String, Arc<Mutex<Vec<Seen>>>, thread::JoinHandle<()>) {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("bind loopback");
    let addr = server.server_addr().to_ip().expect("ip address");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let handle = thread::spawn(move || {
        for _ in 0..n {
            let Ok(Some(mut req)) = server.recv_timeout(Duration::from_secs(10)) else { return };
            let mut body = String::new();
            let _ = req.as_reader().read_to_string(&mut body);
            let s = Seen {
                method: req.method().to_string(),
                path: req.url().to_owned(),
                headers: req.headers().iter().map(|h| (h.field.to_string(), h.value.to_string())).collect(),
                body,
            };
            let resp = answer(&s);
            log.lock().unwrap().push(s);
            let _ = req.respond(resp);
        }
    });
    (format!("http://{addr}"), seen, handle)
}

fn header(seen: &Seen, name: &str) -> Option<String> {
    seen.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
}

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

#[test]
fn sends_method_headers_and_body_and_returns_any_status() {
    let (base, seen, h) = serve(1, |_| {
        tiny_http::Response::from_string("{\"ok\":true}")
            .with_status_code(201)
            .with_header("X-Answer: 42".parse::<tiny_http::Header>().unwrap())
    });
    let t = UreqTransport::default();
    let req = HttpRequest::new(Method::Post, url(&format!("{base}/api/v1/contact?x=1")))
        .with_header("Accept", "application/json")
        .with_bearer(&AccessToken::new("AT-secret"))
        .with_body("application/json", b"{\"a\":1}".to_vec());
    let resp = t.send(&req).unwrap();
    h.join().unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.header("x-answer"), Some("42"));
    assert_eq!(resp.body(), b"{\"ok\":true}");
    let s = seen.lock().unwrap()[0].clone();
    assert_eq!((s.method.as_str(), s.path.as_str()), ("POST", "/api/v1/contact?x=1"));
    assert_eq!(header(&s, "authorization").as_deref(), Some("Bearer AT-secret"));
    assert_eq!(header(&s, "content-type").as_deref(), Some("application/json"));
    assert_eq!(header(&s, "user-agent"), Some(format!("scopegate/{}", env!("CARGO_PKG_VERSION"))));
    assert_eq!(s.body, "{\"a\":1}");
}

#[test]
fn error_statuses_are_responses_not_errors() {
    let (base, _seen, h) = serve(1, |_| tiny_http::Response::from_string("down").with_status_code(503));
    let resp = UreqTransport::default().send(&HttpRequest::new(Method::Get, url(&format!("{base}/x")))).unwrap();
    h.join().unwrap();
    assert_eq!((resp.status(), resp.body()), (503, &b"down"[..]));
}

#[test]
fn redirects_are_not_followed() {
    let (base, seen, h) = serve(1, |_| {
        tiny_http::Response::from_string("")
            .with_status_code(302)
            .with_header("Location: /elsewhere".parse::<tiny_http::Header>().unwrap())
    });
    let resp = UreqTransport::default().send(&HttpRequest::new(Method::Post, url(&format!("{base}/token")))).unwrap();
    h.join().unwrap();
    assert_eq!(resp.status(), 302);
    assert_eq!(resp.header("location"), Some("/elsewhere"));
    assert_eq!(seen.lock().unwrap().len(), 1, "the redirect target was never asked");
}

#[test]
fn bodies_over_the_limit_are_refused() {
    let (base, _seen, h) = serve(1, |_| tiny_http::Response::from_data(vec![b'x'; 2 * 1024 * 1024]));
    let err = UreqTransport::default().send(&HttpRequest::new(Method::Get, url(&format!("{base}/big")))).unwrap_err();
    h.join().unwrap();
    assert!(matches!(err, TransportError::BodyTooLarge { limit: 1_048_576, .. }), "{err:?}");
    assert!(err.may_have_been_sent());
}

#[test]
fn connection_refused_is_reported_as_not_sent() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }; // closed again: nothing listens there now
    let err = UreqTransport::default()
        .send(&HttpRequest::new(Method::Post, url(&format!("http://127.0.0.1:{port}/token"))))
        .unwrap_err();
    assert!(matches!(err, TransportError::Connect { .. }), "{err:?}");
    assert!(!err.may_have_been_sent(), "safe to retry");
}

#[test]
fn a_silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let h = thread::spawn(move || {
        // accept, read, never answer; keep the socket open until the client gave up
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf);
        thread::sleep(Duration::from_millis(1500));
    });
    let t = UreqTransport::new(TransportConfig {
        connect_timeout: Duration::from_millis(300),
        total_timeout: Duration::from_millis(500),
        ..TransportConfig::default()
    });
    let started = std::time::Instant::now();
    let err = t.send(&HttpRequest::new(Method::Post, url(&format!("http://127.0.0.1:{port}/token")))).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    h.join().unwrap();
    assert!(matches!(err, TransportError::Timeout { phase: "response", .. }), "{err:?}");
    assert!(err.may_have_been_sent(), "the request was written: never resend a code exchange");
}

#[test]
fn plain_http_is_refused_off_loopback_without_connecting() {
    let err = UreqTransport::default()
        .send(&HttpRequest::new(Method::Post, url("http://uaa.yespo.io/uaa/oauth/token")))
        .unwrap_err();
    assert_eq!(err, TransportError::InsecureScheme { host: "uaa.yespo.io".into() });
    assert!(!err.may_have_been_sent());
    let err = UreqTransport::default().send(&HttpRequest::new(Method::Get, url("ftp://127.0.0.1/x"))).unwrap_err();
    assert!(matches!(err, TransportError::InvalidUrl { .. }), "{err:?}");
}

#[test]
fn tls_to_a_server_that_does_not_speak_it_fails_as_tls() {
    // A plain TCP server on loopback: the TLS handshake cannot complete.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let h = thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            use std::io::Write;
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let err = UreqTransport::default()
        .send(&HttpRequest::new(Method::Get, url(&format!("https://127.0.0.1:{port}/x"))))
        .unwrap_err();
    h.join().unwrap();
    assert!(matches!(err, TransportError::Tls { .. }), "{err:?}");
    assert!(!err.may_have_been_sent());
}

/// A real TLS server on loopback with a self-signed certificate for `localhost` and 127.0.0.1:
/// the handshake must fail on verification (nothing sent), whatever name is used.
#[test]
fn a_self_signed_certificate_is_refused() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let alerts = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&alerts);
    let h = thread::spawn(move || {
        for _ in 0..2 {
            let Ok((tcp, _)) = listener.accept() else { return };
            tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let conn = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let mut buf = [0u8; 512];
            // The client aborts the handshake: the server never gets a request byte.
            let r = tls.read(&mut buf);
            seen.lock().unwrap().push(format!("{r:?}"));
        }
    });
    for host in ["localhost", "127.0.0.1"] {
        let req = HttpRequest::new(Method::Post, url(&format!("https://{host}:{port}/oauth/token")))
            .with_body("application/x-www-form-urlencoded", "grant_type=client_credentials");
        let err = UreqTransport::default().send(&req).unwrap_err();
        assert!(matches!(err, TransportError::Tls { .. }), "{host}: {err:?}");
        assert!(err.to_string().contains("certificate"), "{host}: {err}");
        assert!(!err.may_have_been_sent(), "{host}");
    }
    h.join().unwrap();
    let alerts = alerts.lock().unwrap();
    assert_eq!(alerts.len(), 2);
    assert!(alerts.iter().all(|a| a.starts_with("Err")), "{alerts:?}");
}

#[test]
fn errors_never_quote_credentials_in_the_url() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = UreqTransport::default()
        .send(&HttpRequest::new(
            Method::Post,
            url(&format!("http://127.0.0.1:{port}/token?client_id=a&client_secret=HUNTER2-SECRET")),
        ))
        .unwrap_err();
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains("HUNTER2"), "{text}");
    }
}

#[test]
fn a_whole_code_exchange_through_the_transport() {
    let (base, seen, h) = serve(1, |s| {
        if s.body.contains("grant_type=authorization_code") {
            tiny_http::Response::from_string(
                r#"{"access_token":"AT","token_type":"bearer","refresh_token":"RT","expires_in":60}"#,
            )
        } else {
            tiny_http::Response::from_string(r#"{"error":"invalid_request"}"#).with_status_code(400)
        }
    });
    let provider = Provider::builtin("yuvo")
        .unwrap()
        .with_overrides(&format!("[token]\nurl = \"{base}/oauth/token/\"\n"), "test")
        .unwrap();
    let client =
        ClientConfig::new("cid").unwrap().with_secret("csecret").with_redirect_uri("http://127.0.0.1:9/cb").unwrap();
    let now = Timestamp::from_unix_secs(1_800_000_000);
    let AuthorizationStart { mut pending, .. } = AuthorizationRequest::new(&provider, &client).build(now).unwrap();
    let state = pending.state().expose_secret().to_owned();
    let grant = pending.handle_callback(now, &format!("?code=C1&state={state}")).unwrap();
    let mut flow = TokenFlow::authorization_code(&provider, &client, grant).unwrap();
    let req = flow.poll_transmit(now).unwrap();
    let resp = UreqTransport::default().send(&req).unwrap();
    flow.handle_response(now, resp).unwrap();
    let tokens = flow.poll_outcome().unwrap().unwrap();
    h.join().unwrap();
    assert_eq!(tokens.access_token.expose_secret(), "AT");
    let s = seen.lock().unwrap()[0].clone();
    assert_eq!(s.path, "/oauth/token/");
    assert_eq!(
        header(&s, "authorization").as_deref(),
        Some(scopegate_core::low_level::basic_authorization("cid", "csecret").as_str())
    );
    assert!(s.body.contains("code=C1"), "{}", s.body);
}

/// Issue 18: header values that are not visible ASCII (a Latin-1 cookie, UTF-8 text) are kept,
/// decoded (UTF-8 when they are, else ISO-8859-1), never dropped and never the response's end.
#[test]
fn header_values_that_are_not_ascii_are_kept_decoded() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let h = thread::spawn(move || {
        use std::io::Write;
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf);
        let mut answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nSet-Cookie: lang=fran\xe7ais\r\n".to_vec();
        answer.extend_from_slice("X-Utf8: café\r\n\r\n{}".as_bytes());
        s.write_all(&answer).unwrap();
    });
    let resp = UreqTransport::default()
        .send(&HttpRequest::new(Method::Get, url(&format!("http://127.0.0.1:{port}/x"))))
        .unwrap();
    h.join().unwrap();
    assert_eq!(resp.body(), b"{}");
    assert_eq!(resp.header("set-cookie"), Some("lang=fran\u{e7}ais"));
    assert_eq!(resp.header("x-utf8"), Some("café"));
}
