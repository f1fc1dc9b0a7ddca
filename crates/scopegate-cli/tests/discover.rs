//! `scopegate provider discover ISSUER_URL --out FILE` (a contract: this command and flag), run as
//! a process against a `scopegate sandbox` process (its `/specs` server) and, when
//! `SCOPEGATE_TEST_OIDC` names one, against node-oidc-provider.

#![allow(clippy::print_stderr)] // the test reports a skip

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use scopegate_core::profile::ClientAuth;
use scopegate_core::{GrantType, Provider};

const BIN: &str = env!("CARGO_BIN_EXE_scopegate");

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run scopegate")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

struct Sandbox(Child, String);

impl Sandbox {
    fn start() -> Sandbox {
        let mut child = Command::new(BIN)
            .args(["sandbox", "--port", "0", "--consent", "approve"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.starts_with("sandbox listening on ") {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "the sandbox did not start");
        }
        // Keep reading its stdout so that it never blocks on a full pipe.
        std::thread::spawn(move || for _ in out.lines() {});
        let url = line.trim().trim_start_matches("sandbox listening on ").to_owned();
        Sandbox(child, url)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn temp(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let d = std::env::temp_dir().join(format!("scopegate-discover-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn discover_writes_a_profile_that_loads_as_written() {
    let sb = Sandbox::start();
    let issuer = format!("{}/specs", sb.1);
    let dir = temp("sandbox");
    let file = dir.join("specs.toml");
    let f = file.to_str().unwrap();
    let o = run(&["provider", "discover", &issuer, "--out", f]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let p = Provider::from_file(&file).expect("the written profile loads as it is");
    assert_eq!(p.issuer(), Some(issuer.as_str()));
    assert_eq!(p.client_auth(), ClientAuth::Basic);
    assert!(p.supports(GrantType::DeviceCode) && p.par_url().is_some() && p.dpop().is_some());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("# token_endpoint_auth_methods_supported: client_secret_basic, private_key_jwt"), "{text}");
    // `provider show` reads it like any profile file.
    let o = run(&["provider", "show", f]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Never overwritten.
    let o = run(&["provider", "discover", &issuer, "--out", f]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("exists"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    // Another issuer than the document's: refused (RFC 8414 §3.3), nothing written.
    let other = dir.join("other.toml");
    let o = run(&["provider", "discover", &format!("{issuer}/"), "--out", other.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("RFC 8414 §3.3"), "{}", stderr(&o));
    assert!(!other.exists());
    // Plain http to a host that is not loopback: bad input.
    let o = run(&["provider", "discover", "http://as.example", "--out", other.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // JSON output.
    let json_file = dir.join("j.toml");
    let o = run(&["provider", "discover", &issuer, "--out", json_file.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["issuer"], issuer.as_str());
    assert_eq!(v["grants"][3], "device_code");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn discover_node_oidc_provider_when_it_runs() {
    let Ok(issuer) = std::env::var("SCOPEGATE_TEST_OIDC") else {
        assert!(
            std::env::var_os("SCOPEGATE_REQUIRE_OIDC").is_none(),
            "SCOPEGATE_REQUIRE_OIDC set without SCOPEGATE_TEST_OIDC"
        );
        eprintln!("skipped: SCOPEGATE_TEST_OIDC is not set (scripts/test sets it)");
        return;
    };
    let dir = temp("node");
    let file = dir.join("node.toml");
    let o = run(&["provider", "discover", &issuer, "--out", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let p = Provider::from_file(&file).unwrap();
    assert_eq!(p.token_url().unwrap().as_str(), format!("{issuer}/token"));
    assert!(p.issuer_in_callback());
    let _ = std::fs::remove_dir_all(dir);
}
