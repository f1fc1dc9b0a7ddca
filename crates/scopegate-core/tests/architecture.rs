//! The core stays sans-IO: no network crates, no sockets, no clock reads, no unsafe code.

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn core_sources_do_no_network_io_and_read_no_clock() {
    let mut files = Vec::new();
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    assert!(files.len() >= 10, "found the sources");
    for (path, text) in &files {
        for banned in
            ["std::net", "TcpStream", "UdpSocket", "SystemTime::now", "Instant::now", "std::process", "std::thread"]
        {
            assert!(!text.contains(banned), "{path} uses `{banned}`: the core is sans-IO");
        }
    }
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    assert!(lib.contains("#![forbid(unsafe_code)]"));
}

#[test]
fn core_depends_on_no_io_crate() {
    let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let deps = manifest.split("[dependencies]").nth(1).unwrap().split("\n[").next().unwrap();
    for banned in ["ureq", "reqwest", "hyper", "tokio", "async-std", "mio", "rusqlite", "tiny_http", "pyo3", "socket2"]
    {
        assert!(
            !deps.lines().any(|l| l.trim_start().starts_with(banned)),
            "scopegate-core must not depend on `{banned}`"
        );
    }
}
