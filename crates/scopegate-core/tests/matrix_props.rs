//! Property test: for random paths built from the templates, the checker agrees with a slow,
//! obviously-correct reference matcher.

use proptest::prelude::*;
use scopegate_core::matrix::{Decision, Rights};
use scopegate_core::prelude::*;
use scopegate_core::profile::TemplateSegment;

/// The reference: every template of the method with as many segments as the path, whose static
/// segments equal the path's and whose params see a non-empty segment; the winner is the one with
/// a static segment at the first position where candidates differ.
fn reference<'p>(p: &'p Provider, method: Method, path: &str) -> Option<&'p str> {
    let segs: Vec<&str> = path.split('/').collect();
    let mut best: Option<(Vec<bool>, &str)> = None;
    for g in p.groups() {
        for e in &g.endpoints {
            if e.method != method || e.segments.len() != segs.len() {
                continue;
            }
            let fits = e.segments.iter().zip(&segs).all(|(t, s)| match t {
                TemplateSegment::Static(x) => x == s,
                TemplateSegment::Param(_) => !s.is_empty(),
            });
            if !fits {
                continue;
            }
            let staticness: Vec<bool> = e.segments.iter().map(|t| matches!(t, TemplateSegment::Static(_))).collect();
            if best.as_ref().is_none_or(|(b, _)| staticness > *b) {
                best = Some((staticness, e.template.as_str()));
            }
        }
    }
    best.map(|(_, t)| t)
}

fn tricky() -> Provider {
    let endpoints = [
        "GET a/{x}/c",
        "GET a/b/{y}",
        "GET a/b/d/e",
        "GET {p}/b/c/d",
        "GET a/{x}/{y}/e",
        "GET {p}/{q}/{r}/{s}/f",
        "GET a/b/c/d/{z}",
        "GET token",
        "GET {p}",
        "PUT a/{x}/c",
        "PUT {p}/b",
    ];
    let list = endpoints.iter().map(|e| format!("\"{e}\"")).collect::<Vec<_>>().join(", ");
    Provider::from_toml_str(
        &format!("id = \"tricky\"\n[authorization]\nurl = \"https://a.example/\"\n[[groups]]\nid = \"g\"\nopen = true\nendpoints = [{list}]\n"),
        "tricky",
    )
    .unwrap()
}

fn checker<'p>(p: &'p Provider, method: Method, path: &str) -> Option<&'p str> {
    match p.matrix().check(Rights::from_bits(u64::MAX), method.as_str(), path) {
        Decision::Allowed(e) | Decision::Denied { endpoint: e, .. } => Some(e.template.as_str()),
        Decision::UnknownEndpoint => None,
        Decision::Rejected(r) => panic!("valid path {path:?} rejected: {r}"),
    }
}

/// A path built from a template: params filled from a pool that includes static names (to force
/// backtracking), sometimes with a segment dropped or added.
fn path_strategy(
    templates: Vec<(Method, Vec<String>)>,
    statics: Vec<String>,
) -> impl Strategy<Value = (Method, String)> {
    let n = templates.len();
    (0..n, proptest::collection::vec(0usize..1000, 8), 0u8..10, "[a-z0-9]{1,6}").prop_map(
        move |(ti, picks, mutate, extra)| {
            let (method, segs) = &templates[ti];
            let mut out: Vec<String> = segs
                .iter()
                .zip(picks.iter().cycle())
                .map(|(s, pick)| {
                    if s.starts_with('{') {
                        if pick % 2 == 0 { statics[pick % statics.len()].clone() } else { format!("v{pick}") }
                    } else if pick % 17 == 0 {
                        statics[pick % statics.len()].clone()
                    } else {
                        s.clone()
                    }
                })
                .collect();
            match mutate {
                0 if out.len() > 1 => {
                    out.pop();
                }
                1 => out.push(extra.clone()),
                _ => {}
            }
            (*method, out.join("/"))
        },
    )
}

fn parts(p: &Provider) -> (Vec<(Method, Vec<String>)>, Vec<String>) {
    let mut templates = Vec::new();
    let mut statics = Vec::new();
    for g in p.groups() {
        for e in &g.endpoints {
            templates.push((e.method, e.template.split('/').map(str::to_owned).collect()));
            for s in &e.segments {
                if let TemplateSegment::Static(x) = s {
                    statics.push(x.clone());
                }
            }
        }
    }
    statics.sort();
    statics.dedup();
    (templates, statics)
}

#[test]
fn reference_sanity() {
    let p = tricky();
    assert_eq!(reference(&p, Method::Get, "a/b/c"), Some("a/b/{y}"));
    assert_eq!(reference(&p, Method::Get, "a/z/c"), Some("a/{x}/c"));
    assert_eq!(reference(&p, Method::Get, "a/b/c/d"), Some("{p}/b/c/d"));
    assert_eq!(reference(&p, Method::Get, "a/b/x/e"), Some("a/{x}/{y}/e"));
    assert_eq!(checker(&p, Method::Get, "a/b/x/e"), Some("a/{x}/{y}/e"));
    assert_eq!(checker(&p, Method::Get, "a/b/c/d"), Some("{p}/b/c/d"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn checker_agrees_with_reference_on_yespo((method, path) in {
        let (t, s) = parts(&Provider::builtin("yespo").unwrap());
        path_strategy(t, s)
    }) {
        let p = Provider::builtin("yespo").unwrap();
        prop_assert_eq!(checker(&p, method, &path), reference(&p, method, &path), "{} {}", method, path);
    }

    #[test]
    fn checker_agrees_with_reference_on_a_tricky_matrix((method, path) in {
        let (t, s) = parts(&tricky());
        path_strategy(t, s)
    }) {
        let p = tricky();
        prop_assert_eq!(checker(&p, method, &path), reference(&p, method, &path), "{} {}", method, path);
    }

    #[test]
    fn checker_never_panics_and_never_allows_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let p = Provider::builtin("yespo").unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let d = p.matrix().check(Rights::from_bits(u64::MAX), "GET", &text);
        if let Decision::Allowed(e) | Decision::Denied { endpoint: e, .. } = d {
            // whatever matched, the reference must agree on the cleaned relative path
            let rel = text.split(['?', '#']).next().unwrap_or("");
            let rel = rel.strip_prefix("/api/v1/").or_else(|| rel.strip_prefix("/api/v2/")).unwrap_or(rel);
            prop_assert_eq!(reference(&p, Method::Get, rel), Some(e.template.as_str()));
        }
    }
}
