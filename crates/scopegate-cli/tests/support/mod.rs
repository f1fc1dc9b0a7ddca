//! Helpers of the command line's process tests: the binary, a `scopegate sandbox` process, and
//! a temporary directory.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_scopegate");

/// `scopegate sandbox` (consent approved at once) in the background on an ephemeral loopback
/// port, killed on drop.
pub struct SandboxProcess {
    child: Child,
    /// Its base URL (`http://127.0.0.1:PORT`).
    pub url: String,
}

impl SandboxProcess {
    pub fn start() -> SandboxProcess {
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
        SandboxProcess { child, url }
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let d = std::env::temp_dir().join(format!("scopegate-cli-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }

    /// A SQLite token store's path in it.
    pub fn store(&self) -> String {
        self.0.join("tokens.db").to_string_lossy().into_owned()
    }
}

impl Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
