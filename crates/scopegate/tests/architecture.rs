//! Provider quirks are data: no provider id appears in the code (comments aside) of this crate or
//! of the CLI. What differs between providers lives in their profiles; the sandbox, which
//! emulates them, is the one place that names them.

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

/// The line without its `//` comment (a `//` inside a string literal would cut too early, which
/// only makes the check stricter).
fn code_of(line: &str) -> &str {
    line.find("//").map_or(line, |i| &line[..i])
}

#[test]
fn no_provider_id_in_the_io_crate_or_the_cli() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    sources(&root.join("../scopegate-cli/src"), &mut files);
    assert!(files.len() >= 10, "found the sources");
    for (path, text) in &files {
        for (n, line) in text.lines().enumerate() {
            let code = code_of(line).to_ascii_lowercase();
            for id in ["yespo", "reteno", "yotpo", "yuvo"] {
                assert!(!code.contains(id), "{path}:{}: `{id}` in code: {line}", n + 1);
            }
        }
    }
}
