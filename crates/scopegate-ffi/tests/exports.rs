//! Every export of the C ABI keeps the rules the header promises: `#[unsafe(no_mangle)]`, a
//! `scopegate_` name, and a panic boundary (`guard`, `guard_quiet` or `guard_value`) around its
//! whole body, so that no panic unwinds into C.

use std::path::PathBuf;

/// (file, function name, body) of every `extern "C" fn` in src/.
fn exports() -> Vec<(String, String, String)> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("extern \"C\" fn ") {
            let before = &rest[..at];
            let after = &rest[at + "extern \"C\" fn ".len()..];
            let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            assert!(
                before.trim_end().ends_with("pub unsafe") || before.trim_end().ends_with("pub"),
                "{file}: {name} is not public"
            );
            let attr = before.rfind("#[unsafe(no_mangle)]").map(|i| &before[i..]);
            // Only `#[must_use]` (SCOPEGATE_NODISCARD in the header) may stand between them.
            assert!(
                attr.is_some_and(|a| a.lines().filter(|l| l.trim() != "#[must_use]").count() <= 2),
                "{file}: {name} lacks #[unsafe(no_mangle)] right above it"
            );
            let returns_result = after[..after.find(" {\n").unwrap_or(0)].trim_end().ends_with("-> scopegate_result");
            assert_eq!(
                attr.is_some_and(|a| a.contains("#[must_use]")),
                returns_result,
                "{file}: {name}: #[must_use] (SCOPEGATE_NODISCARD) on exactly the exports that return a scopegate_result"
            );
            // The body: from the `{` that ends the signature to its matching `}`.
            let open = after.find(" {\n").expect("a body") + 1;
            let mut depth = 0;
            let mut end = open;
            for (i, c) in after[open..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = open + i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            out.push((file.clone(), name, after[open + 1..end].to_owned()));
            rest = &after[end..];
        }
    }
    out
}

#[test]
fn every_export_is_named_scopegate_and_has_a_panic_boundary() {
    let all = exports();
    assert!(all.len() > 50, "found only {} exports", all.len());
    for (file, name, body) in &all {
        assert!(name.starts_with("scopegate_"), "{file}: {name}");
        // Comments and blank lines may come first; the first statement is the boundary.
        let first = body.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with("//")).unwrap_or_default();
        let guarded =
            ["guard(", "guard_quiet(", "guard_value(", "crate::boundary::guard_value(", "boundary::guard_value("]
                .iter()
                .any(|g| first.starts_with(g));
        assert!(guarded, "{file}: {name} does not start with a panic boundary: `{first}`");
        // ...and it is the whole body: its call is the function's tail expression.
        let last = body.lines().map(str::trim).rfind(|l| !l.is_empty() && !l.starts_with("//")).unwrap_or_default();
        assert!(last == "})" || (last == first && first.ends_with(')')), "{file}: {name} runs code after its boundary");
    }
}

#[test]
fn every_export_is_in_the_header() {
    let header =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../include/scopegate.h")).unwrap();
    for (file, name, _) in exports() {
        let declared = header.contains(&format!(" {name}(")) || header.contains(&format!("*{name}("));
        assert!(declared, "{file}: {name} is not in include/scopegate.h");
    }
}
