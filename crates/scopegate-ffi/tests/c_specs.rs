//! The C test of issue 23's specs (`tests/c/specs.c`) against the sandbox's `/specs` server
//! started here: the device grant through a session and a client, PAR and DPoP through a
//! session, private_key_jwt through `scopegate_client_new_with_key` and
//! `scopegate_session_new_with_key`. Built and run like the other C tests (plain, and with
//! `SCOPEGATE_C_MEMCHECK=1` under valgrind and AddressSanitizer).
#![allow(clippy::print_stderr)]

mod c_harness;

use std::process::Stdio;
use std::time::{Duration, Instant};

use c_harness::*;
use scopegate::discover_with;
use scopegate_core::discovery::{ServerMetadata, profile_toml};
use scopegate_core::jose::SigningKey;
use scopegate_sandbox::{SPECS_SECRET, Sandbox};

fn key_file() -> std::path::PathBuf {
    crate_dir().join("../scopegate-core/tests/keys/es256.pem")
}

fn run_specs(variant: Variant) {
    if variant != Variant::Plain && !memcheck() {
        eprintln!("skipped: specs ({}) runs with SCOPEGATE_C_MEMCHECK=1 (scripts/test)", variant.name());
        return;
    }
    let bin = build("specs", Lang::C, variant);
    let dir = work_dir().join(format!("specs-{}-{}", variant.name(), std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sb = Sandbox::start().expect("start the sandbox");
    let issuer = sb.specs_issuer();
    // The client c-jwt, registered with the public half of the key the C test signs with.
    let key = SigningKey::from_pem(&std::fs::read_to_string(key_file()).unwrap()).unwrap();
    sb.register_jwt_client("c-jwt", key.public_jwks_entry());
    // The profile `scopegate provider discover` writes, with the API part a user adds.
    let metadata = discover_with(&sb.transport(), &issuer).expect("discovery");
    let json = serde_json::to_vec(metadata.raw()).unwrap();
    let text = profile_toml(&ServerMetadata::parse(&issuer, &json).unwrap()).unwrap();
    let profile = dir.join("specs.toml");
    std::fs::write(&profile, format!("{text}\n[api]\nbase_url = \"{issuer}/api/\"\n")).unwrap();
    let mut cmd = command(&bin, variant);
    cmd.env("SCOPEGATE_TEST_SPECS_PROFILE", &profile)
        .env("SCOPEGATE_TEST_SPECS_SECRET", SPECS_SECRET)
        .env("SCOPEGATE_TEST_KEY_FILE", key_file())
        .env("SCOPEGATE_TEST_SANDBOX", sb.base_url())
        .env("SCOPEGATE_TEST_REDIRECT_URI", REDIRECT_URI)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let limit = if variant == Variant::Valgrind { Duration::from_secs(600) } else { Duration::from_secs(120) };
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "specs ({}) failed: {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        variant.name(),
        out.status
    );
    assert!(stdout.contains("specs: ok"), "{stdout}\n{stderr}");
    let counters = sb.specs_counters();
    assert!(counters.token_nonce_challenges >= 1 && counters.resource_nonce_challenges >= 1, "{counters:?}");
    assert!(counters.pushed >= 1);
}

#[test]
fn c_specs() {
    run_specs(Variant::Plain);
}

#[test]
fn valgrind_specs() {
    run_specs(Variant::Valgrind);
}

#[test]
fn asan_specs() {
    run_specs(Variant::Sanitized);
}
