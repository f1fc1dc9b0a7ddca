//! Issue 23's "done when" from C (`tests/c/oidc.c`) against node-oidc-provider (found or
//! started as `oidc_support` says; skipped without it unless `SCOPEGATE_REQUIRE_OIDC=1`): a
//! discovered profile as is, the device login, private_key_jwt, PAR and DPoP, through the C
//! client. This test plays the user's browser on the provider's own pages: the C program writes
//! `AUTHORIZE <url>` and reads the callback URL back, or writes `DEVICE <uri>` and polls while
//! the approval is given here. Plain, and with `SCOPEGATE_C_MEMCHECK=1` under valgrind and
//! AddressSanitizer.
#![allow(clippy::print_stderr)]

mod c_harness;
#[path = "../../scopegate/tests/oidc_support/mod.rs"]
mod oidc_support;

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::Stdio;
use std::sync::mpsc::channel;
use std::time::Duration;

use c_harness::*;
use oidc_support::{ACCOUNT, Browser, Step, metadata_json, server, stats};
use scopegate_core::discovery::{ServerMetadata, profile_toml};

/// Any loopback port is accepted (native clients): the C client only hands the callback URL on.
const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn run_oidc(variant: Variant) {
    let Some(issuer) = server() else { return };
    if variant != Variant::Plain && !memcheck() {
        eprintln!("skipped: oidc ({}) runs with SCOPEGATE_C_MEMCHECK=1 (scripts/test)", variant.name());
        return;
    }
    let bin = build("oidc", Lang::C, variant);
    let dir = work_dir().join(format!("oidc-{}-{}", variant.name(), std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // The profile `scopegate provider discover` writes, as it is.
    let metadata = ServerMetadata::parse(&issuer, metadata_json(&issuer).as_bytes()).unwrap();
    let profile = dir.join("provider.toml");
    std::fs::write(&profile, profile_toml(&metadata).unwrap()).unwrap();
    let before = stats(&issuer);

    let mut cmd = command(&bin, variant);
    cmd.env("SCOPEGATE_TEST_OIDC_PROFILE", &profile)
        .env("SCOPEGATE_TEST_OIDC_ISSUER", &issuer)
        .env("SCOPEGATE_TEST_REDIRECT_URI", REDIRECT)
        .env("SCOPEGATE_TEST_KEY_FILE", crate_dir().join("../scopegate-core/tests/keys/es256.pem"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (tx, lines) = channel();
    let out = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let limit = if variant == Variant::Valgrind { 600 } else { 120 };
    let mut seen = Vec::new();
    let (mut logins, mut devices) = (0, 0);
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(limit)) {
        seen.push(line.clone());
        if let Some(url) = line.strip_prefix("AUTHORIZE ") {
            logins += 1;
            let callback = match Browser::default().walk(url, REDIRECT, ACCOUNT.1) {
                Step::Redirected(callback) => callback,
                Step::Page { url, status, html } => panic!("stopped at {url} ({status}): {html}"),
            };
            writeln!(stdin, "{callback}").unwrap();
            stdin.flush().unwrap();
        } else if let Some(uri) = line.strip_prefix("DEVICE ") {
            devices += 1;
            // The user approves on another device while the C client polls.
            match Browser::default().walk(uri, "http://never.example", ACCOUNT.1) {
                Step::Page { status: 200, html, .. } => assert!(html.contains("Device approved"), "{html}"),
                other => panic!("{other:?}"),
            }
        } else if line == "oidc: ok" {
            break;
        }
    }
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success(),
        "oidc ({}) failed: {}\n--- stdout\n{seen:#?}\n--- stderr\n{stderr}",
        variant.name(),
        output.status
    );
    assert_eq!(seen.last().map(String::as_str), Some("oidc: ok"), "{seen:#?}\n{stderr}");
    assert_eq!((logins, devices), (4, 1), "{seen:#?}");
    let after = stats(&issuer);
    let n = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap();
    assert!(n(&after, "api_dpop") >= n(&before, "api_dpop") + 2, "the DPoP-protected resource answered");
    assert!(n(&after, "api_nonce_challenges") > n(&before, "api_nonce_challenges"), "with a nonce round trip");
}

#[test]
fn c_oidc() {
    run_oidc(Variant::Plain);
}

#[test]
fn valgrind_oidc() {
    run_oidc(Variant::Valgrind);
}

#[test]
fn asan_oidc() {
    run_oidc(Variant::Sanitized);
}
