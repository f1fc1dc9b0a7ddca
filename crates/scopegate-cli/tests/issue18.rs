//! Findings of issue 18 at the command line, against a `scopegate sandbox` process on loopback:
//!
//! 3. with `SCOPEGATE_STORE_KEY` set, a token set stored without a key is refused (anyone who can
//!    write the store could have planted it) until `scopegate store seal` seals the store;
//! 5. `--sandbox URL` gives the built-in profile a provider id of its own, so the real
//!    provider's stored tokens are never sent to the sandbox URL.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_scopegate");
const KEY: &str = "0202020202020202020202020202020202020202020202020202020202020202";

struct Sandbox(Child, String);

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sandbox() -> Sandbox {
    let mut child = Command::new(BIN)
        .args(["sandbox", "--port", "0", "--consent", "approve"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("sandbox listening on ").unwrap().to_owned();
    Sandbox(child, url)
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let d = std::env::temp_dir().join(format!("scopegate-issue18-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
    fn store(&self) -> String {
        self.0.join("tokens.db").to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

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
    let sb = sandbox();
    let dir = TempDir::new("seal");
    let store = dir.store();
    let who = ["--provider", "yuvo", "--sandbox", &sb.1, "--store", &store];
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
