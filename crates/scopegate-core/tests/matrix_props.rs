//! Property test: for random paths built from the templates, the checker agrees with a slow,
//! obviously-correct reference matcher.

use proptest::prelude::*;
use scopegate_core::prelude::*;
use scopegate_core::profile::TemplateSegment;
use scopegate_core::{Decision, Rights};

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

/// A matrix that exercises every table kind of the fast path: nodes with one or two static
/// children (compared in order), a few (hashed on their first bytes, some sharing them), many
/// sharing a prefix (hashed on the whole segment), statics longer than 8 and 16 bytes that share
/// their first and last 8 bytes, and `{param}`s beside statics.
fn wide() -> Provider {
    let mut endpoints: Vec<String> = (0..40).map(|i| format!("GET res{i}/{{id}}")).collect();
    endpoints.extend((0..40).step_by(3).map(|i| format!("GET res{i}/{{id}}/sub")));
    endpoints.extend(
        [
            "GET group",
            "GET groups",
            "GET grouping/{g}",
            "GET group/{g}/members",
            "GET subscriptions",
            "GET subscriptionsA",
            "GET subscriptionsAB/{x}",
            "GET aaaaaaaa-middle-1-zzzzzzzz",
            "GET aaaaaaaa-middle-2-zzzzzzzz",
            "GET aaaaaaaa-middle-2-zzzzzzzz/{x}",
            "GET aaaaaaaazzzzzzzz",
            "GET h/alpha",
            "GET h/beta",
            "GET h/gamma/{x}",
            "GET h/delta",
            "GET h/deltas",
            "GET h/epsilon-is-long/{x}",
            "GET a/b",
            "GET a/{x}",
            "GET a/{x}/c",
            "GET a/bb/{y}/d",
            "GET {p}/sub",
            "GET {p}",
            "PUT one/{x}",
            "PUT one/two",
            "PUT one/two/three/four/five/six/seven/eight/nine/ten",
        ]
        .map(str::to_owned),
    );
    let list = endpoints.iter().map(|e| format!("\"{e}\"")).collect::<Vec<_>>().join(", ");
    Provider::from_toml_str(
        &format!(
            "id = \"wide\"\n[authorization]\nurl = \"https://w.example/\"\n[api]\nbase_url = \"https://w.example/v1/\"\n\
             [[rights]]\nid = \"r\"\ngroups = [\"g\"]\n[[groups]]\nid = \"g\"\nendpoints = [{list}]\n"
        ),
        "wide",
    )
    .unwrap()
}

/// Mutations that reach every branch of the fast path and hand-overs to the full search.
const NOISE: &[&str] = &[
    "", "/", "//", "?q=1", "#f", "%20", "%2F", "%41", "%", ":", "@", ".", "..", "\0", "\u{e9}", "+", "~", "-", "res1",
    "sub",
];

fn noisy_path_strategy(p: &Provider) -> impl Strategy<Value = (Method, String)> {
    let (t, s) = parts(p);
    (path_strategy(t, s), 0usize..NOISE.len(), 0usize..64, 0u8..4).prop_map(|((m, path), noise, at, how)| {
        let at =
            path.char_indices().map(|(i, _)| i).chain([path.len()]).nth(at % (path.chars().count() + 1)).unwrap_or(0);
        let path = match how {
            0 => path,
            1 => format!("{}{}{}", &path[..at], NOISE[noise], &path[at..]),
            2 => format!("{path}{}", NOISE[noise]),
            _ => format!("/v1/{path}"),
        };
        (m, path)
    })
}

/// The fast path and the full search agree, and `allows` is `check(..).is_allowed()`.
fn fast_agrees_with_thorough(p: &Provider, method: Method, path: &str) -> Result<(), TestCaseError> {
    let m = p.matrix();
    for rights in [Rights::EMPTY, Rights::from_bits(1), Rights::from_bits(u64::MAX)] {
        let fast = m.check_method(rights, method, path);
        prop_assert_eq!(fast, m.check_method_thorough(rights, method, path), "{} {:?}", method, path);
        prop_assert_eq!(m.allows(rights, method.as_str(), path), fast.is_allowed(), "{} {:?}", method, path);
    }
    Ok(())
}

#[test]
fn wide_matrix_sanity() {
    let p = wide();
    let all = Rights::from_bits(u64::MAX);
    let t = |m: &str, path: &str| match p.matrix().check(all, m, path) {
        Decision::Allowed(e) => e.template.clone(),
        other => format!("{other:?}"),
    };
    assert_eq!(t("GET", "res17/5"), "res17/{id}");
    assert_eq!(t("GET", "res18/5/sub"), "res18/{id}/sub");
    assert_eq!(t("GET", "res17/5/sub"), "UnknownEndpoint");
    assert_eq!(t("GET", "h/deltas"), "h/deltas");
    assert_eq!(t("GET", "h/delta"), "h/delta");
    assert_eq!(t("GET", "h/epsilon-is-long/1"), "h/epsilon-is-long/{x}");
    assert_eq!(t("GET", "h/epsilon-is-lonG/1"), "UnknownEndpoint");
    assert_eq!(t("GET", "groups"), "groups");
    assert_eq!(t("GET", "group/7/members"), "group/{g}/members");
    assert_eq!(t("GET", "subscriptionsA"), "subscriptionsA");
    assert_eq!(t("GET", "subscriptionsAB/1"), "subscriptionsAB/{x}");
    assert_eq!(t("GET", "aaaaaaaa-middle-2-zzzzzzzz"), "aaaaaaaa-middle-2-zzzzzzzz");
    assert_eq!(t("GET", "aaaaaaaa-middle-3-zzzzzzzz"), "{p}");
    assert_eq!(t("GET", "a/b/c"), "a/{x}/c");
    assert_eq!(t("GET", "a/bb/x/d"), "a/bb/{y}/d");
    assert_eq!(t("GET", "sub/sub"), "{p}/sub");
    assert_eq!(
        t("PUT", "one/two/three/four/five/six/seven/eight/nine/ten"),
        "one/two/three/four/five/six/seven/eight/nine/ten"
    );
    assert_eq!(t("PUT", "one/two/three"), "UnknownEndpoint");
    for (m, path) in
        [("GET", "res17/5"), ("GET", "a/b/c"), ("GET", "https://w.example/v1/groups?x"), ("GET", "res1/%2F")]
    {
        fast_agrees_with_thorough(&p, m.parse().unwrap(), path).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn fast_path_agrees_with_the_full_search_on_yespo((method, path) in noisy_path_strategy(&Provider::builtin("yespo").unwrap())) {
        fast_agrees_with_thorough(&Provider::builtin("yespo").unwrap(), method, &path)?;
    }

    #[test]
    fn fast_path_agrees_with_the_full_search_on_a_tricky_matrix((method, path) in noisy_path_strategy(&tricky())) {
        fast_agrees_with_thorough(&tricky(), method, &path)?;
    }

    #[test]
    fn fast_path_agrees_with_the_full_search_on_a_wide_matrix((method, path) in noisy_path_strategy(&wide())) {
        fast_agrees_with_thorough(&wide(), method, &path)?;
    }

    #[test]
    fn checker_agrees_with_reference_on_a_wide_matrix((method, path) in {
        let (t, s) = parts(&wide());
        path_strategy(t, s)
    }) {
        let p = wide();
        prop_assert_eq!(checker(&p, method, &path), reference(&p, method, &path), "{} {}", method, path);
    }

    #[test]
    fn fast_path_agrees_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let text = String::from_utf8_lossy(&bytes);
        fast_agrees_with_thorough(&Provider::builtin("yespo").unwrap(), Method::Get, &text)?;
        fast_agrees_with_thorough(&wide(), Method::Get, &text)?;
    }
}
