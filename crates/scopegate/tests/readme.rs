//! The README's Rust quick start is `examples/rust/quick_start.rs`, which the crate docs run as
//! a doctest: the copy a newcomer reads is the program that is tested.

use std::path::Path;

#[test]
fn the_readme_quick_start_is_the_tested_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let example = std::fs::read_to_string(root.join("examples/rust/quick_start.rs")).unwrap();
    let section = readme.split("\n## Rust quick start\n").nth(1).expect("README has a `## Rust quick start` section");
    let code = section.split("```rust\n").nth(1).and_then(|c| c.split("```\n").next()).expect("a rust block");
    assert_eq!(code, example, "README.md's quick start differs from examples/rust/quick_start.rs: copy the file");
}
