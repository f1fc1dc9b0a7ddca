//! Findings of issue 18 at the command line, against a `scopegate sandbox` process on loopback:
//!
//! 3. with `SCOPEGATE_STORE_KEY` set, a token set stored without a key is refused (anyone who can
//!    write the store could have planted it) until `scopegate store seal` seals the store;
//! 5. `--sandbox URL` gives the built-in profile a provider id of its own, so the real
//!    provider's stored tokens are never sent to the sandbox URL.

use std::process::{Command, Output};

mod support;
use support::{BIN, SandboxProcess, TempDir};
const KEY: &str = "0202020202020202020202020202020202020202020202020202020202020202";

/// Runs `scopegate ARGS` with the store key set (or not).
fn run(args: &[&str], key: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_remove("SCOPEGATE_STORE").env_remove("SCOPEGATE_STORE_OLD_KEYS");
    match key {
        Some(k) => cmd.env("SCOPEGATE_STORE_KEY", k),
        None => cmd.env_remove("SCOPEGATE_STORE_KEY"),
    };
    cmd.output().unwrap()
}

fn said(o: &Output) -> String {
    format!("exit {:?}\n{}{}", o.status.code(), String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn a_store_written_without_a_key_is_refused_with_one_until_sealed() {
    let sb = SandboxProcess::start();
    let dir = TempDir::new("seal");
    let store = dir.store();
    let who = ["--provider", "yuvo", "--sandbox", &sb.url, "--store", &store];
    let o = run(&[&["token", "new"][..], &who].concat(), None);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    // With a key: the unsealed token set is refused, and the error says how to seal.
    let o = run(&[&["token", "show"][..], &who].concat(), Some(KEY));
    let text = said(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("not sealed") && text.contains("scopegate store seal"), "{text}");
    // Sealing needs the key.
    let o = run(&["store", "seal", "--store", &store], None);
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    assert!(said(&o).contains("SCOPEGATE_STORE_KEY"), "{}", said(&o));
    // The explicit step: one row sealed; then the token reads with the key, and not without.
    let o = run(&["store", "seal", "--store", &store, "--json"], Some(KEY));
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["sealed"], 1, "{v}");
    let o = run(&["store", "seal", "--store", &store], Some(KEY));
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    assert!(said(&o).contains("0 "), "nothing left to seal: {}", said(&o));
    let o = run(&[&["token", "show"][..], &who].concat(), Some(KEY));
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let o = run(&[&["token", "show"][..], &who].concat(), None);
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    assert!(said(&o).contains("SCOPEGATE_STORE_KEY"), "{}", said(&o));
}

/// A stand-in for `https://X`: records every request it gets (head and body), answers 400.
struct Recorder {
    url: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn recorder() -> Recorder {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (log, stopped) = (seen.clone(), stop.clone());
    let thread = std::thread::spawn(move || {
        while !stopped.load(std::sync::atomic::Ordering::SeqCst) {
            let Ok((mut s, _)) = listener.accept() else {
                std::thread::sleep(std::time::Duration::from_millis(5));
                continue;
            };
            s.set_nonblocking(false).unwrap();
            s.set_read_timeout(Some(std::time::Duration::from_millis(500))).unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            // The head, then as many body bytes as it announces.
            let complete = |got: &[u8]| {
                let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") else { return false };
                let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:").and_then(|v| v.trim().parse::<usize>().ok()))
                    .unwrap_or(0);
                got.len() >= end + 4 + length
            };
            while !complete(&got) {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            log.lock().unwrap().push(String::from_utf8_lossy(&got).into_owned());
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 27\r\nConnection: close\r\n\r\n{\"error\":\"invalid_request\"}");
        }
    });
    Recorder { url, seen, stop, thread: Some(thread) }
}

#[test]
fn sandbox_url_never_gets_the_real_providers_tokens() {
    let dir = TempDir::new("sandbox-id");
    let store = dir.store();
    // The real Yuvo token of this app and account, stored by an earlier login.
    let real = scopegate_core::TokenSet::from_json(
        r#"{"format":"scopegate.token_set","version":1,"provider":"yuvo","identity":"user","access_token":"REAL-YUVO-ACCESS","refresh_token":"REAL-YUVO-REFRESH","issued_at":1,"expires_at":4000000000}"#,
    )
    .unwrap();
    let real_key = scopegate::StoreKey::new("yuvo", "sandbox-client", "default");
    scopegate::TokenStore::save(&scopegate::SqliteStore::open(&store).unwrap(), &real_key, &real).unwrap();
    let x = recorder();
    let who = ["--provider", "yuvo", "--sandbox", &x.url, "--account", "default", "--client-id", "sandbox-client"];
    let call = run(&[&["call"][..], &who, &["--store", &store, "GET", "companies"]].concat(), None);
    let refresh = run(&[&["token", "refresh"][..], &who, &["--store", &store]].concat(), None);
    let seen = x.seen.lock().unwrap().clone();
    for request in &seen {
        assert!(!request.contains("REAL-YUVO"), "the real token went to the --sandbox URL:\n{request}");
    }
    for o in [&call, &refresh] {
        assert_eq!(o.status.code(), Some(1), "{}", said(o));
        let authority = x.url.trim_start_matches("http://");
        assert!(said(o).contains(&format!("no token stored for yuvo@{authority}/default")), "{}", said(o));
    }
    assert!(seen.is_empty(), "{seen:?}");
    // The real token set is as it was.
    let kept = scopegate::TokenStore::load(&scopegate::SqliteStore::open(&store).unwrap(), &real_key).unwrap();
    assert_eq!(kept, Some(real));
}
