//! Whether a request may have been sent, decided by the phase a failure happened in (issue 18):
//! only DNS, connect and the TLS handshake come before the request is written. Against a real
//! TLS server on 127.0.0.1 (rustls, a self-signed root given to the transport), driven through
//! a `Session`'s refresh the way a caller drives one; the server counts the token requests.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use scopegate::Transport;
use scopegate::{TransportConfig, UreqTransport};
use scopegate_core::prelude::*;

const T0: Timestamp = Timestamp::from_unix_secs(1_800_000_000);

/// What the server does once it has read a token request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum After {
    /// Answers it properly.
    Answer,
    /// Writes the status line and headers, part of the body, then a TLS record that does not
    /// decrypt (raw bytes on the socket).
    BreakInBody,
    /// Writes a broken TLS record before any byte of the answer.
    BreakBeforeAnswer,
}

struct Server {
    port: u16,
    root: Vec<u8>,
    token_requests: Arc<AtomicUsize>,
    handshakes_failed: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

const ANSWER: &str =
    r#"{"access_token":"AT-NEW","token_type":"bearer","expires_in":3600,"refresh_token":"RT-ROTATED"}"#;

/// A TLS server on an ephemeral loopback port with a fresh self-signed certificate for
/// `localhost`; it serves connections until dropped.
fn server(after: After) -> Server {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let root = cert.cert.der().to_vec();
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
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let token_requests = Arc::new(AtomicUsize::new(0));
    let handshakes_failed = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (count, failed, stopped) = (Arc::clone(&token_requests), Arc::clone(&handshakes_failed), Arc::clone(&stop));
    let thread = thread::spawn(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !stopped.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
            match listener.accept() {
                Ok((tcp, _)) => serve_one(tcp, &config, after, &count, &failed),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => thread::sleep(Duration::from_millis(5)),
                Err(_) => return,
            }
        }
    });
    Server { port, root, token_requests, handshakes_failed, stop, thread: Some(thread) }
}

fn serve_one(
    tcp: TcpStream,
    config: &Arc<rustls::ServerConfig>,
    after: After,
    count: &AtomicUsize,
    failed: &AtomicUsize,
) {
    tcp.set_nonblocking(false).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut conn = rustls::ServerConnection::new(Arc::clone(config)).unwrap();
    let mut tcp = tcp;
    while conn.is_handshaking() {
        if conn.complete_io(&mut tcp).is_err() {
            failed.fetch_add(1, Ordering::SeqCst);
            return;
        }
    }
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    // The request: head, then the body its Content-Length announces.
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match tls.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&got[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
        .unwrap_or(0);
    while got.len() < head_end + length {
        match tls.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    if head.starts_with("post /oauth/token") {
        count.fetch_add(1, Ordering::SeqCst);
    }
    let head_out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        ANSWER.len()
    );
    match after {
        After::Answer => {
            let _ = tls.write_all(head_out.as_bytes());
            let _ = tls.write_all(ANSWER.as_bytes());
            let _ = tls.flush();
            tls.conn.send_close_notify();
            let _ = tls.conn.complete_io(&mut tls.sock);
        }
        After::BreakInBody => {
            let _ = tls.write_all(head_out.as_bytes());
            let _ = tls.write_all(&ANSWER.as_bytes()[..10]);
            let _ = tls.flush();
            thread::sleep(Duration::from_millis(50));
            broken_record(&mut tls.sock);
        }
        After::BreakBeforeAnswer => broken_record(&mut tls.sock),
    }
    thread::sleep(Duration::from_millis(100));
}

/// An application-data record (TLS 1.2/1.3 framing) whose contents do not decrypt.
fn broken_record(tcp: &mut TcpStream) {
    let mut record = vec![0x17, 0x03, 0x03, 0x00, 0x20];
    record.extend_from_slice(&[0xA5; 0x20]);
    let _ = tcp.write_all(&record);
    let _ = tcp.flush();
}

fn transport(root: &[u8]) -> UreqTransport {
    UreqTransport::new(TransportConfig {
        connect_timeout: Duration::from_secs(5),
        total_timeout: Duration::from_secs(10),
        root_certificates: Some(vec![root.to_vec()]),
        ..TransportConfig::default()
    })
}

/// A session holding a refresh token, its token endpoint on the server.
fn session(port: u16) -> Session {
    let provider = Provider::builtin("yuvo")
        .unwrap()
        .with_overrides(&format!("[token]\nurl = \"https://localhost:{port}/oauth/token/\"\n"), "test")
        .unwrap();
    let client = ClientConfig::new("cid").unwrap().with_secret("csecret");
    let tokens = serde_json::json!({
        "format": "scopegate.token_set", "version": 1, "provider": "yuvo", "identity": "user",
        "access_token": "AT-OLD", "refresh_token": "RT-SPENT-IF-SENT", "token_type": "Bearer",
        "scopes": [], "issued_at": T0.as_unix_secs(), "params": {}, "consecutive_401": 0,
    });
    let mut s = Session::new(provider, client);
    s.set_tokens(Some(TokenSet::from_json(&tokens.to_string()).unwrap())).unwrap();
    s
}

/// Refreshes through the transport as a caller drives a session; the transport errors seen and
/// the events.
fn refresh(s: &mut Session, t: &UreqTransport) -> (Vec<TransportError>, Vec<Event>) {
    s.refresh(T0).unwrap();
    let mut errors = Vec::new();
    while let Some((id, request)) = s.poll_transmit(T0) {
        match t.send(&request) {
            Ok(r) => s.handle_response(T0, id, r).unwrap(),
            Err(e) => {
                errors.push(e.clone());
                s.handle_transport_error(T0, id, e).unwrap();
            }
        }
    }
    (errors, std::iter::from_fn(|| s.poll_event()).collect())
}

#[test]
fn the_transport_trusts_a_root_it_is_given() {
    let srv = server(After::Answer);
    let mut s = session(srv.port);
    let (errors, events) = refresh(&mut s, &transport(&srv.root));
    assert!(errors.is_empty(), "{errors:?}");
    assert!(matches!(events.as_slice(), [Event::TokensChanged]), "{events:?}");
    assert_eq!(s.tokens().unwrap().refresh_token.as_ref().unwrap().expose_secret(), "RT-ROTATED");
    assert_eq!(srv.token_requests.load(Ordering::SeqCst), 1);
    // Without that root (the Mozilla roots): refused in the handshake, nothing sent, tried 3
    // times, the refresh token never left.
    let mut s = session(srv.port);
    let (errors, _) = refresh(&mut s, &UreqTransport::default());
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors.iter().all(|e| matches!(e, TransportError::Tls { .. }) && !e.may_have_been_sent()), "{errors:?}");
    assert_eq!(srv.token_requests.load(Ordering::SeqCst), 1, "no request got through");
    drop(srv);
}

/// The reported bug: the answer's TLS record breaks after the request was written; the failure
/// was taken for a handshake failure ("not sent") and the spent refresh token sent twice more.
#[test]
fn a_tls_failure_after_the_request_was_written_is_never_retried() {
    for after in [After::BreakInBody, After::BreakBeforeAnswer] {
        let srv = server(after);
        let mut s = session(srv.port);
        let (errors, events) = refresh(&mut s, &transport(&srv.root));
        let requests = srv.token_requests.load(Ordering::SeqCst);
        assert_eq!(requests, 1, "{after:?}: the token request arrived {requests} times; errors: {errors:?}");
        assert_eq!(errors.len(), 1, "{after:?}: {errors:?}");
        assert!(errors[0].may_have_been_sent(), "{after:?}: {:?}", errors[0]);
        assert!(
            !matches!(errors[0], TransportError::Tls { .. }),
            "{after:?}: not a handshake failure: {:?}",
            errors[0]
        );
        assert!(errors[0].to_string().to_lowercase().contains("tls"), "{after:?}: says what broke: {}", errors[0]);
        assert!(
            matches!(events.as_slice(), [Event::Failed(e)] if e.kind() == ErrorKind::Transport),
            "{after:?}: {events:?}"
        );
        assert_eq!(s.tokens().unwrap().access_token.expose_secret(), "AT-OLD", "{after:?}: kept");
        assert_eq!(srv.handshakes_failed.load(Ordering::SeqCst), 0);
    }
}

/// A handshake the client aborts (an untrusted certificate) is still "not sent", with the
/// root configured for another server.
#[test]
fn a_handshake_failure_is_still_not_sent() {
    let srv = server(After::Answer);
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let t = transport(other.cert.der());
    let req = HttpRequest::new(
        Method::Post,
        url::Url::parse(&format!("https://localhost:{}/oauth/token/", srv.port)).unwrap(),
    )
    .with_body("application/x-www-form-urlencoded", "grant_type=client_credentials");
    let err = t.send(&req).unwrap_err();
    assert!(matches!(err, TransportError::Tls { .. }), "{err:?}");
    assert!(!err.may_have_been_sent());
    assert_eq!(srv.token_requests.load(Ordering::SeqCst), 0);
}
