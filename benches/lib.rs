//! Benchmark support: the shared request set and synthetic profiles.

pub mod baseline;
pub mod harness;
#[path = "requests.rs"]
pub mod requests;
pub mod workload;

/// A synthetic profile with `n` templates shaped like `PUT contact/{id}/subscriptions`, spread
/// over 8 groups, 4 rights.
pub fn synthetic_profile(n: usize) -> String {
    let mut s = String::from("id = \"synthetic\"\n[authorization]\nurl = \"https://a.example/\"\n");
    for g in 0..8 {
        s.push_str(&format!("[[groups]]\nid = \"g{g}\"\nendpoints = [\n"));
        for i in (g..n).step_by(8) {
            s.push_str(&format!("  \"PUT res{i}/{{id}}/subscriptions\",\n"));
        }
        s.push_str("]\n");
    }
    for r in 0..4 {
        s.push_str(&format!("[[rights]]\nid = \"r{r}\"\ngroups = [\"g{}\", \"g{}\"]\n", 2 * r, 2 * r + 1));
    }
    s
}
