//! `include/scopegate.h` is what cbindgen generates from this crate, with version macros that
//! match Cargo.toml. Rewrite it with
//!
//! ```sh
//! SCOPEGATE_BLESS=1 cargo test -p scopegate-ffi --test header
//! ```

use std::path::{Path, PathBuf};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn header_path() -> PathBuf {
    crate_dir().join("../../include/scopegate.h")
}

/// The version macros, from the package version.
fn version_macros() -> String {
    format!(
        "\n/* The version of this header; scopegate_version() gives the library's. */\n\
         #define SCOPEGATE_VERSION \"{}\"\n#define SCOPEGATE_VERSION_MAJOR {}\n\
         #define SCOPEGATE_VERSION_MINOR {}\n#define SCOPEGATE_VERSION_PATCH {}",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
    )
}

/// The crate docs' "Conventions" section (src/lib.rs), as the lines of a C comment: the one
/// place the conventions are written.
fn conventions() -> String {
    let lib = std::fs::read_to_string(crate_dir().join("src/lib.rs")).expect("src/lib.rs");
    let docs: Vec<&str> =
        lib.lines().filter_map(|l| l.strip_prefix("//!")).map(|l| l.strip_prefix(' ').unwrap_or(l)).collect();
    let start = docs.iter().position(|l| l.starts_with("## Conventions")).expect("a Conventions section");
    let body = docs[start + 1..].iter().take_while(|l| !l.starts_with("## ")).copied();
    let mut out = vec![" * Conventions (those of rustls-ffi):".to_owned()];
    for line in body {
        // Intra-doc links read as plain names in C.
        let text = line.replace(" (the [`result`] module)", "").replace("**", "");
        out.push(if text.is_empty() { " *".to_owned() } else { format!(" * {text}") });
    }
    while out.last().is_some_and(|l| l == " *") {
        out.pop();
    }
    out.join("\n")
}

fn generate() -> String {
    let dir = crate_dir();
    let mut config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    // The version macros, then cbindgen.toml's own (SCOPEGATE_NODISCARD).
    config.after_includes = Some(version_macros() + "\n" + config.after_includes.as_deref().unwrap_or_default());
    config.header = config.header.map(|h| h.replace(" * CONVENTIONS", &conventions()));
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen generates the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    untag_references(&String::from_utf8(out).expect("utf-8"))
}

/// cbindgen's `style = "both"` declares `typedef struct scopegate_x {...} scopegate_x;` (a tag,
/// so C code can forward-declare it) and then spells every use `struct scopegate_x *`; the
/// header uses the typedef names, as the contract of issue 12 writes them.
fn untag_references(header: &str) -> String {
    header
        .lines()
        .map(|line| {
            if line.starts_with("typedef struct ") || line.trim_start().starts_with('*') {
                line.to_owned()
            } else {
                line.replace("struct scopegate_", "scopegate_")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn header_is_current() {
    let generated = generate();
    let path = header_path();
    if std::env::var_os("SCOPEGATE_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write include/scopegate.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let line = committed.lines().zip(generated.lines()).position(|(a, b)| a != b).map_or(0, |i| i + 1);
        panic!(
            "{} differs from what cbindgen generates (first at line {line}); rewrite it with\n    \
             SCOPEGATE_BLESS=1 cargo test -p scopegate-ffi --test header",
            Path::new("include/scopegate.h").display()
        );
    }
}

#[test]
fn header_has_guard_cplusplus_and_version() {
    let h = generate();
    let flat = h.split_whitespace().collect::<Vec<_>>().join(" ").replace("( ", "(");
    assert!(h.contains("#ifndef SCOPEGATE_H") && h.contains("#define SCOPEGATE_H"));
    assert!(h.contains("extern \"C\" {"), "C++ linkage");
    assert!(h.contains(&format!("#define SCOPEGATE_VERSION \"{}\"", env!("CARGO_PKG_VERSION"))));
    // The contract of issue 12, as the header spells it.
    for needle in [
        "typedef struct scopegate_provider scopegate_provider;",
        "typedef struct scopegate_client scopegate_client;",
        "typedef struct scopegate_client_options {",
        "} scopegate_client_options;",
        "scopegate_result scopegate_provider_builtin(const char *id, scopegate_provider **out);",
        "scopegate_result scopegate_provider_from_toml(const char *toml, size_t len, scopegate_provider **out);",
        "scopegate_result scopegate_provider_from_file(const char *path, scopegate_provider **out);",
        "void scopegate_provider_free(scopegate_provider *provider);",
        "scopegate_result scopegate_rights_parse(const scopegate_provider *provider,",
        "void scopegate_result_message(scopegate_result result, char *buf, size_t len, size_t *out_n);",
        "scopegate_result scopegate_last_error(char *buf, size_t len, size_t *out_n);",
        "scopegate_result scopegate_client_client_credentials(scopegate_client *client);",
        "void scopegate_client_free(scopegate_client *client);",
        "SCOPEGATE_DECISION_ALLOWED",
        "SCOPEGATE_RESULT_NULL_PARAMETER = 1001",
    ] {
        // Compared with the whitespace collapsed: cbindgen wraps a declaration's parameters
        // when the SCOPEGATE_NODISCARD line before it makes the whole too long.
        assert!(flat.contains(needle), "the header lacks `{needle}`");
    }
}
