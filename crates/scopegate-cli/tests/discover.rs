//! `scopegate provider discover ISSUER_URL --out FILE` (a contract: this command and flag), run as
//! a process against a `scopegate sandbox` process (its `/specs` server) and, when
//! `SCOPEGATE_TEST_OIDC` names one, against node-oidc-provider.

#![allow(clippy::print_stderr)] // the test reports a skip

use std::process::{Command, Output};

use scopegate_core::profile::ClientAuth;
use scopegate_core::{GrantType, Provider};

mod support;
use support::{BIN, SandboxProcess, TempDir};

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run scopegate")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn discover_writes_a_profile_that_loads_as_written() {
    let sb = SandboxProcess::start();
    let issuer = format!("{}/specs", sb.url);
    let dir = TempDir::new("sandbox");
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
    let dir = TempDir::new("node");
    let file = dir.join("node.toml");
    let o = run(&["provider", "discover", &issuer, "--out", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let p = Provider::from_file(&file).unwrap();
    assert_eq!(p.token_url().unwrap().as_str(), format!("{issuer}/token"));
    assert!(p.issuer_in_callback());
}
