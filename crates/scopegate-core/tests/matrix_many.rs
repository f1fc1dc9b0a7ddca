//! `allows_many` decides each call as `allows` does, and `allows_method_bytes` as `allows` on
//! UTF-8 (never allowing other bytes): property tests on random batches (paths built from the
//! templates, with noise that reaches every hand-over to the full search, and arbitrary bytes),
//! on Yespo's matrix and on a matrix with every kind of node table.

use proptest::prelude::*;
use scopegate_core::Rights;
use scopegate_core::prelude::*;
use scopegate_core::profile::TemplateSegment;

/// Static segments and `{param}`s beside each other, at nodes with few children (compared in
/// order) and many (hashed, some on whole segments), statics longer than 8 and 16 bytes.
fn mixed() -> Provider {
    let mut endpoints: Vec<String> = (0..24).map(|i| format!("GET res{i}/{{id}}")).collect();
    endpoints.extend(
        [
            "GET a/{x}/c",
            "GET a/b/{y}",
            "GET {p}/b/c",
            "GET token",
            "GET tokens/{t}",
            "GET subscriptions-and-more/{x}",
            "GET aaaaaaaa-middle-1-zzzzzzzz",
            "PUT a/{x}/c",
            "PUT {p}",
        ]
        .map(str::to_owned),
    );
    let list = endpoints.iter().map(|e| format!("\"{e}\"")).collect::<Vec<_>>().join(", ");
    Provider::from_toml_str(
        &format!(
            "id = \"mixed\"\n[authorization]\nurl = \"https://m.example/\"\n[api]\nbase_url = \"https://m.example/v1/\"\n\
             [[rights]]\nid = \"r\"\ngroups = [\"g\"]\n[[groups]]\nid = \"g\"\nendpoints = [{list}]\n[[groups]]\nid = \"o\"\nopen = true\nendpoints = [\"GET open/{{x}}\"]\n"
        ),
        "mixed",
    )
    .unwrap()
}

const NOISE: &[&str] =
    &["", "/", "//", "?q=1", "#f", "%20", "%2F", "%41", "%", ":", ".", "..", "..;", "\0", "\u{e9}", "~", "-", "token"];

/// Random calls: a template with its params filled (sometimes with a static name, to force
/// backtracking), perhaps cut, extended, prefixed with the API base or given noise.
fn calls(p: &Provider) -> impl Strategy<Value = Vec<(Method, String)>> {
    let mut templates = Vec::new();
    let mut statics = Vec::new();
    for g in p.groups() {
        for e in &g.endpoints {
            templates.push((e.method, e.segments.clone()));
            statics.extend(e.segments.iter().filter_map(|s| match s {
                TemplateSegment::Static(x) => Some(x.clone()),
                TemplateSegment::Param(_) => None,
            }));
        }
    }
    let n = templates.len();
    let call = (0..n, any::<u64>(), 0..NOISE.len(), 0u8..8, 0usize..64, 0usize..Method::ALL.len()).prop_map(
        move |(ti, pick, noise, how, at, other)| {
            let (method, segs) = &templates[ti];
            let mut parts: Vec<String> = segs
                .iter()
                .enumerate()
                .map(|(i, s)| match s {
                    TemplateSegment::Static(x) => x.clone(),
                    TemplateSegment::Param(_) if (pick >> i) & 1 == 0 => {
                        statics[(pick as usize >> 8) % statics.len()].clone()
                    }
                    TemplateSegment::Param(_) => format!("v{}-{}", pick % 977, i),
                })
                .collect();
            let method = if how == 7 { Method::ALL[other] } else { *method };
            match how {
                1 if parts.len() > 1 => drop(parts.pop()),
                2 => parts.push(statics[at % statics.len()].clone()),
                _ => {}
            }
            let path = parts.join("/");
            let at = path.char_indices().map(|(i, _)| i).chain([path.len()]).nth(at % (path.chars().count() + 1));
            let at = at.unwrap_or(0);
            let path = match how {
                3 => format!("{}{}{}", &path[..at], NOISE[noise], &path[at..]),
                4 => format!("{path}{}", NOISE[noise]),
                5 => format!("/v1/{path}"),
                6 => format!("https://m.example/v1/{path}"),
                _ => path,
            };
            (method, path)
        },
    );
    proptest::collection::vec(call, 0..40)
}

fn agrees(p: &Provider, calls: &[(Method, String)]) -> Result<(), TestCaseError> {
    let m = p.matrix();
    let borrowed: Vec<(Method, &str)> = calls.iter().map(|(m, path)| (*m, path.as_str())).collect();
    for rights in [Rights::EMPTY, Rights::from_bits(1), Rights::from_bits(0b10), Rights::from_bits(u64::MAX)] {
        let mut out = vec![false; calls.len()];
        m.allows_many(rights, &borrowed, &mut out);
        let policy = p.policy(rights);
        let mut via_policy = vec![true; calls.len()];
        policy.allows_many(&borrowed, &mut via_policy);
        for (i, (method, path)) in calls.iter().enumerate() {
            let one = m.allows(rights, method.as_str(), path);
            prop_assert_eq!(out[i], one, "{} {:?} with {:?}", method, path, rights);
            prop_assert_eq!(via_policy[i], one, "{} {:?} with {:?} (policy)", method, path, rights);
        }
    }
    Ok(())
}

/// `allows_method_bytes` on each call's bytes, as they are and with a byte above 0x7f put in at
/// `at`: what `allows` says of the text when the bytes are UTF-8, else not allowed.
fn bytes_agree(p: &Provider, calls: &[(Method, String)], at: usize, high: u8) -> Result<(), TestCaseError> {
    let m = p.matrix();
    for (method, path) in calls {
        let mut spoiled = path.as_bytes().to_vec();
        spoiled.insert(at % (spoiled.len() + 1), high);
        for bytes in [path.as_bytes(), &spoiled] {
            for rights in [Rights::EMPTY, Rights::from_bits(1), Rights::from_bits(0b100), Rights::from_bits(u64::MAX)] {
                let want = std::str::from_utf8(bytes).is_ok_and(|s| m.allows(rights, method.as_str(), s));
                prop_assert_eq!(m.allows_method_bytes(rights, *method, bytes), want, "{} {:?}", method, bytes);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn allows_many_is_allows_for_each_call_on_yespo(calls in calls(&Provider::builtin("yespo").unwrap())) {
        agrees(&Provider::builtin("yespo").unwrap(), &calls)?;
    }

    #[test]
    fn allows_many_is_allows_for_each_call_on_a_mixed_matrix(calls in calls(&mixed())) {
        agrees(&mixed(), &calls)?;
    }

    #[test]
    fn allows_method_bytes_is_allows_on_utf8_and_never_on_other_bytes(
        yespo in calls(&Provider::builtin("yespo").unwrap()),
        mixed_calls in calls(&mixed()),
        at in 0usize..80,
        high in 0x80u8..=0xff,
        raw in proptest::collection::vec((0usize..7, proptest::collection::vec(any::<u8>(), 0..60)), 0..10),
    ) {
        bytes_agree(&Provider::builtin("yespo").unwrap(), &yespo, at, high)?;
        bytes_agree(&mixed(), &mixed_calls, at, high)?;
        let m = mixed();
        for (i, bytes) in &raw {
            let method = Method::ALL[*i];
            let want = std::str::from_utf8(bytes).is_ok_and(|s| m.matrix().allows(Rights::from_bits(1), method.as_str(), s));
            prop_assert_eq!(m.matrix().allows_method_bytes(Rights::from_bits(1), method, bytes), want, "{:?}", bytes);
        }
    }

    #[test]
    fn allows_many_is_allows_on_arbitrary_bytes(
        paths in proptest::collection::vec((0usize..7, proptest::collection::vec(any::<u8>(), 0..60)), 0..20)
    ) {
        let calls: Vec<(Method, String)> =
            paths.iter().map(|(m, b)| (Method::ALL[*m], String::from_utf8_lossy(b).into_owned())).collect();
        agrees(&Provider::builtin("yespo").unwrap(), &calls)?;
        agrees(&mixed(), &calls)?;
    }
}

#[test]
fn the_mixed_matrix_answers_as_written() {
    let p = mixed();
    let m = p.matrix();
    let r = Rights::from_bits(1);
    let calls = [
        (Method::Get, "a/b/c"),
        (Method::Get, "res17/5"),
        (Method::Get, "res17/5?x"),
        (Method::Get, "tokens/9"),
        (Method::Get, "open/1"),
        (Method::Get, "res17/../x"),
        (Method::Put, "anything"),
        (Method::Delete, "a/b/c"),
        (Method::Get, "https://m.example/v1/subscriptions-and-more/1"),
        (Method::Get, "x/b/c"),
    ];
    let mut out = [false; 10];
    m.allows_many(r, &calls, &mut out);
    assert_eq!(out, [true, true, true, true, true, false, true, false, true, true]);
    m.allows_many(Rights::EMPTY, &calls, &mut out);
    assert_eq!(out, [false, false, false, false, true, false, false, false, false, false]);
}

#[test]
#[should_panic(expected = "one answer per call")]
fn allows_many_wants_one_answer_per_call() {
    let p = Provider::builtin("yespo").unwrap();
    p.policy(Rights::EMPTY).allows_many(&[(Method::Get, "version")], &mut []);
}
