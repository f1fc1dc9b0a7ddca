//! `--store postgres://...` (and `SCOPEGATE_STORE`), sealed with `SCOPEGATE_STORE_KEY`: the same
//! commands against a PostgreSQL server (`scripts/pg start`; skipped without `SCOPEGATE_TEST_PG`
//! unless `SCOPEGATE_REQUIRE_PG` is set).
#![allow(clippy::print_stderr)]

use std::process::Command;

mod support;
use support::{BIN, SandboxProcess};
const KEY: &str = "0101010101010101010101010101010101010101010101010101010101010101";

#[test]
fn token_commands_on_a_sealed_postgres_store() {
    let Ok(pg) = std::env::var("SCOPEGATE_TEST_PG") else {
        assert!(std::env::var_os("SCOPEGATE_REQUIRE_PG").is_none(), "SCOPEGATE_REQUIRE_PG is set: run scripts/test");
        eprintln!("skipped: no PostgreSQL");
        return;
    };
    let sb = SandboxProcess::start();
    let account = format!("cli-{}", std::process::id());
    let run = |args: &[&str], key: Option<&str>| {
        let mut cmd = Command::new(BIN);
        cmd.args(args).args(["--provider", "yuvo", "--sandbox", &sb.url, "--account", &account]);
        cmd.env("SCOPEGATE_STORE", &pg).env_remove("SCOPEGATE_STORE_OLD_KEYS");
        match key {
            Some(k) => cmd.env("SCOPEGATE_STORE_KEY", k),
            None => cmd.env_remove("SCOPEGATE_STORE_KEY"),
        };
        cmd.output().unwrap()
    };
    let o = run(&["token", "new", "--json"], Some(KEY));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&["token", "show", "--json", "--reveal"], Some(KEY));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["identity"], "app");
    let token = v["access_token"].as_str().unwrap().to_owned();
    // Without the key: a clear error, never garbage and never "log in first".
    let o = run(&["token", "show"], None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("SCOPEGATE_STORE_KEY") && err.contains("postgres://postgres@"), "{err}");
    assert!(!err.contains(&token));
    // --store wins over the environment.
    let o = Command::new(BIN)
        .args(["token", "show", "--provider", "yuvo", "--sandbox", &sb.url, "--account", &account, "--store", &pg])
        .env("SCOPEGATE_STORE", "/nonexistent/dir/tokens.db")
        .env("SCOPEGATE_STORE_KEY", KEY)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
}
