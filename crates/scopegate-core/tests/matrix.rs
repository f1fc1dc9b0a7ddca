//! The permission matrix on the Yespo data: decisions, path forms, adversarial paths, the
//! least-privilege advisor.

mod common;

use common::*;
use scopegate_core::matrix::*;
use scopegate_core::*;

fn yespo() -> Provider {
    provider("yespo")
}

fn rights(p: &Provider, ids: &[&str]) -> Rights {
    p.rights_from_ids(ids).unwrap()
}

fn allowed_template(d: Decision<'_>) -> String {
    match d {
        Decision::Allowed(e) => format!("{} {}", e.method, e.template),
        other => panic!("expected allowed, got {other:?}"),
    }
}

#[test]
fn general_methods_need_no_right() {
    let p = yespo();
    let m = p.matrix();
    for (method, path) in
        [("GET", "version"), ("GET", "account/info"), ("PUT", "messages/email/7/en"), ("PUT", "interactions/9/status")]
    {
        assert!(m.check(Rights::EMPTY, method, path).is_allowed(), "{method} {path}");
    }
}

#[test]
fn full_api_opens_everything() {
    let p = yespo();
    let full = rights(&p, &["full_api"]);
    assert_eq!(p.matrix().allowed_endpoints(full).count(), 55);
    for e in p.matrix().endpoints() {
        let path = e.template.replace(['{', '}'], "");
        assert!(p.matrix().check(full, e.method.as_str(), &path).is_allowed(), "{} {}", e.method, e.template);
    }
}

#[test]
fn our_reading_of_the_narrow_rights() {
    let p = yespo();
    let m = p.matrix();
    let ev = rights(&p, &["events"]);
    let ec = rights(&p, &["events_and_contacts"]);
    let msg = rights(&p, &["messages"]);
    assert!(m.check(ev, "POST", "event").is_allowed());
    assert!(!m.check(ev, "PUT", "contact/1").is_allowed());
    for (method, path) in
        [("PUT", "contact/1"), ("GET", "contacts"), ("GET", "contacts/activity"), ("POST", "past_events")]
    {
        assert!(m.check(ec, method, path).is_allowed(), "{method} {path}");
    }
    assert!(!m.check(ec, "POST", "message/email").is_allowed());
    assert!(m.check(msg, "POST", "message/email").is_allowed());
    assert!(!m.check(msg, "POST", "event").is_allowed());
    assert_eq!(m.allowed_endpoints(ev).count(), 21 + 3);
    assert_eq!(m.allowed_endpoints(ec).count(), 21 + 11 + 6 + 1 + 3);
}

#[test]
fn denied_names_the_rights_that_would_allow_it() {
    let p = yespo();
    let d = p.matrix().check(rights(&p, &["messages"]), "PUT", "contact/12345/subscriptions");
    let Decision::Denied { endpoint, would_allow } = d else { panic!("{d:?}") };
    assert_eq!(endpoint.template, "contact/{id}/subscriptions");
    assert_eq!(p.matrix().groups()[endpoint.group].id, "contacts_update");
    assert_eq!(p.matrix().right_ids(would_allow), ["full_api", "events_and_contacts"]);
}

#[test]
fn allowed_reports_template_group_and_deprecation() {
    let p = yespo();
    let d = p.matrix().check(rights(&p, &["messages"]), "GET", "message/sms/status");
    let Decision::Allowed(e) = d else { panic!("{d:?}") };
    assert_eq!((e.template.as_str(), e.deprecated), ("message/sms/status", true));
    assert_eq!(p.matrix().groups()[e.group].id, "messages");
    let Decision::Allowed(e) = p.matrix().check(rights(&p, &["messages"]), "GET", "message/status") else { panic!() };
    assert!(!e.deprecated);
}

#[test]
fn unknown_endpoints_fail_closed() {
    let p = yespo();
    let full = rights(&p, &["full_api"]);
    for (method, path) in [
        ("GET", "nothing/here"),
        ("PATCH", "contact/1"),
        ("GET", "contact"),
        ("GET", "contact/1/2"),
        ("GET", "Contact/1"),
        ("GET", "contacts/email/extra"),
    ] {
        assert_eq!(p.matrix().check(full, method, path), Decision::UnknownEndpoint, "{method} {path}");
    }
}

#[test]
fn path_forms_bare_base_path_and_full_url() {
    let p = yespo();
    let ec = rights(&p, &["events_and_contacts"]);
    for path in [
        "contact/42/subscriptions",
        "/api/v1/contact/42/subscriptions",
        "/api/v2/contact/42/subscriptions",
        "https://yespo.io/api/v1/contact/42/subscriptions",
        "HTTPS://YESPO.IO/api/v1/contact/42/subscriptions",
        "https://yespo.io:443/api/v1/contact/42/subscriptions",
        "contact/42/subscriptions?limit=5&x=/../",
        "contact/42/subscriptions#frag/..",
        "https://yespo.io/api/v1/contact/42/subscriptions?q=1",
    ] {
        assert_eq!(allowed_template(p.matrix().check(ec, "PUT", path)), "PUT contact/{id}/subscriptions", "{path}");
    }
}

#[test]
fn static_segments_win_over_params_with_backtracking() {
    let p = yespo();
    let full = rights(&p, &["full_api"]);
    let m = p.matrix();
    assert_eq!(
        allowed_template(m.check(full, "PUT", "contact/token/activated/a/b")),
        "PUT contact/token/activated/{app_uuid}/{token_id}"
    );
    assert_eq!(allowed_template(m.check(full, "PUT", "contact/token")), "PUT contact/{id}");
    // `token` takes the static branch first, which has no `subscriptions`: back to `{id}`.
    assert_eq!(allowed_template(m.check(full, "PUT", "contact/token/subscriptions")), "PUT contact/{id}/subscriptions");
    assert_eq!(allowed_template(m.check(full, "GET", "messages/email/viewLink")), "GET messages/email/{id}");
    assert_eq!(allowed_template(m.check(full, "GET", "messages/email/1/viewLink")), "GET messages/email/{id}/viewLink");
    assert_eq!(m.check(full, "PUT", "contact/token/activated/a"), Decision::UnknownEndpoint);
    // the statistics endpoint is open, contact/{id} is not
    assert!(m.check(Rights::EMPTY, "PUT", "contact/token/activated/a/b").is_allowed());
    assert!(!m.check(Rights::EMPTY, "PUT", "contact/token").is_allowed());
}

#[test]
fn method_case_rule_upper_case_only() {
    let p = yespo();
    let m = p.matrix();
    assert_eq!(m.check(Rights::EMPTY, "get", "version"), Decision::Rejected(RejectReason::MethodCase));
    assert_eq!(m.check(Rights::EMPTY, "Get", "version"), Decision::Rejected(RejectReason::MethodCase));
    assert_eq!(m.check(Rights::EMPTY, "FETCH", "version"), Decision::Rejected(RejectReason::UnknownMethod));
    assert_eq!(m.check(Rights::EMPTY, "", "version"), Decision::Rejected(RejectReason::UnknownMethod));
    assert!(m.check(Rights::EMPTY, "GET", "version").is_allowed());
}

#[test]
fn trailing_slash_rule_rejected() {
    let p = yespo();
    let full = rights(&p, &["full_api"]);
    for path in ["contact/1/", "version/", "/api/v1/contacts/"] {
        assert_eq!(p.matrix().check(full, "GET", path), Decision::Rejected(RejectReason::TrailingSlash), "{path}");
    }
}

/// Every adversarial path and the reason it is rejected for.
pub const ADVERSARIAL: &[(&str, RejectReason)] = &[
    ("", RejectReason::EmptyPath),
    ("/api/v1", RejectReason::EmptyPath),
    ("/api/v1/", RejectReason::EmptyPath),
    ("?x=1", RejectReason::EmptyPath),
    ("contact//1", RejectReason::EmptySegment),
    ("/api/v1//contact/1", RejectReason::EmptySegment),
    ("contact/./1", RejectReason::DotSegment),
    ("contact/../contacts", RejectReason::DotSegment),
    ("/api/v1/../v1/contacts", RejectReason::DotSegment),
    ("..", RejectReason::DotSegment),
    ("contact/%2e%2e/contacts", RejectReason::EncodedDot),
    ("contact/%2E", RejectReason::EncodedDot),
    ("contact/1%2Fsubscriptions", RejectReason::EncodedSlash),
    ("contact/1%2fsubscriptions", RejectReason::EncodedSlash),
    ("contact/1%5Csubscriptions", RejectReason::EncodedSlash),
    ("contact/%252e%252e", RejectReason::EncodedPercent),
    ("contact/%00", RejectReason::EncodedControl),
    ("contact/%0a", RejectReason::EncodedControl),
    ("contact/%7F", RejectReason::EncodedControl),
    ("%63ontacts", RejectReason::EncodedUnreserved),
    ("contact/%7E", RejectReason::EncodedUnreserved),
    ("contact/%", RejectReason::MalformedPercent),
    ("contact/%4", RejectReason::MalformedPercent),
    ("contact/%zz", RejectReason::MalformedPercent),
    ("contact/1\0", RejectReason::ControlByte),
    ("contact/1\n", RejectReason::ControlByte),
    ("contact/1\t2", RejectReason::ControlByte),
    ("contact/\u{7f}", RejectReason::ControlByte),
    ("contact/é", RejectReason::NonAscii),
    ("contact/\u{ff0f}", RejectReason::NonAscii),
    ("contact/a b", RejectReason::ForbiddenCharacter),
    ("contact/a\\..\\b", RejectReason::ForbiddenCharacter),
    ("contact/<script>", RejectReason::ForbiddenCharacter),
    ("contact/{id}", RejectReason::ForbiddenCharacter),
    ("javascript:alert(1)", RejectReason::SchemeLike),
    ("ftp://yespo.io/api/v1/contacts", RejectReason::SchemeLike),
    ("https://evil.example/api/v1/contacts", RejectReason::OtherOrigin),
    ("http://yespo.io/api/v1/contacts", RejectReason::OtherOrigin),
    ("https://yespo.io:8443/api/v1/contacts", RejectReason::OtherOrigin),
    ("https://yespo.io.evil.example/api/v1/contacts", RejectReason::OtherOrigin),
    ("https://reteno.com/api/v1/contacts", RejectReason::OtherOrigin),
    ("https://user@yespo.io/api/v1/contacts", RejectReason::UserInfo),
    ("https://yespo.io@evil.example/api/v1/contacts", RejectReason::UserInfo),
    ("https://yespo.io/api/v3/contacts", RejectReason::NotUnderApiBase),
    ("https://yespo.io/contacts", RejectReason::NotUnderApiBase),
    ("https://yespo.io", RejectReason::NotUnderApiBase),
    ("/contacts", RejectReason::NotUnderApiBase),
    ("//evil.example/api/v1/contacts", RejectReason::NotUnderApiBase),
    ("/API/V1/contacts", RejectReason::NotUnderApiBase),
    ("/api/./v1/contacts", RejectReason::NotUnderApiBase),
    ("contact/1/", RejectReason::TrailingSlash),
];

#[test]
fn adversarial_paths_are_rejected_with_their_reason() {
    let p = yespo();
    let full = rights(&p, &["full_api"]);
    for (path, reason) in ADVERSARIAL {
        assert_eq!(p.matrix().check(full, "GET", path), Decision::Rejected(*reason), "{path:?}");
        assert!(!p.policy(full).allows("GET", path));
    }
}

#[test]
fn absurd_lengths_are_rejected() {
    let p = yespo();
    let full = rights(&p, &["full_api"]);
    let long = format!("contact/{}", "a".repeat(MAX_PATH_BYTES));
    assert_eq!(p.matrix().check(full, "GET", &long), Decision::Rejected(RejectReason::TooLong));
    // One pass: whichever limit is met first is the reason.
    let huge = "a/".repeat(1_000_000);
    assert_eq!(p.matrix().check(full, "GET", &huge), Decision::Rejected(RejectReason::TooManySegments));
    let wide = format!("{}/x", "b".repeat(1_000_000));
    assert_eq!(p.matrix().check(full, "GET", &wide), Decision::Rejected(RejectReason::TooLong));
    // a long query string is ignored, not counted
    let query = format!("contact/1?{}", "q".repeat(100_000));
    assert!(p.matrix().check(full, "GET", &query).is_allowed());
    let deep = vec!["a"; MAX_SEGMENTS + 1].join("/");
    assert_eq!(p.matrix().check(full, "GET", &deep), Decision::Rejected(RejectReason::TooManySegments));
    let ok_depth = vec!["a"; MAX_SEGMENTS].join("/");
    assert_eq!(p.matrix().check(full, "GET", &ok_depth), Decision::UnknownEndpoint);
}

#[test]
fn percent_encoded_reserved_and_utf8_bytes_are_fine_inside_a_param() {
    let p = yespo();
    let full = rights(&p, &["full_api"]);
    for path in ["contact/a%40b.com", "contact/%C3%A9t%C3%A9", "contact/a:b", "contact/x@y", "contact/a+b;c=d"] {
        assert_eq!(allowed_template(p.matrix().check(full, "GET", path)), "GET contact/{id}", "{path}");
    }
}

#[test]
fn profile_without_api_accepts_bare_and_rooted_paths() {
    let p = Provider::from_toml_str(
        "id = \"x\"\n[authorization]\nurl = \"https://a.example/\"\n[[groups]]\nid = \"g\"\nendpoints = [\"GET items/{id}\"]\n[[rights]]\nid = \"r\"\ngroups = [\"g\"]\n",
        "t",
    )
    .unwrap();
    let r = p.rights_from_ids(["r"]).unwrap();
    assert!(p.policy(r).allows("GET", "items/1"));
    assert!(p.policy(r).allows("GET", "/items/1"));
    assert_eq!(p.matrix().check(r, "GET", "https://a.example/items/1"), Decision::Rejected(RejectReason::OtherOrigin));
    assert!(!p.policy(Rights::EMPTY).allows("GET", "items/1"));
}

#[test]
fn providers_without_a_matrix_know_no_endpoint() {
    let p = provider("yuvo");
    assert!(!p.has_matrix());
    assert_eq!(p.matrix().check(Rights::EMPTY, "GET", "companies"), Decision::UnknownEndpoint);
}

#[test]
fn rights_from_unknown_ids_is_an_error() {
    let e = yespo().rights_from_ids(["events", "everything"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown right `everything` (rights of this provider: full_api, events, events_and_contacts, messages)"
    );
}

#[test]
fn policy_answers_the_fast_question() {
    let p = yespo();
    let policy = p.policy(rights(&p, &["events"]));
    assert!(policy.allows("POST", "event"));
    assert!(policy.allows("GET", "version"));
    assert!(!policy.allows("PUT", "contact/1"));
    assert!(!policy.allows("GET", "unknown"));
    assert!(matches!(policy.check("PUT", "contact/1"), Decision::Denied { .. }));
}

// ----- least-privilege advisor

#[test]
fn least_rights_prefers_the_narrowest_single_right() {
    let p = yespo();
    let m = p.matrix();
    let ids = |calls: &[(&str, &str)]| {
        m.right_ids(m.least_rights(calls).unwrap()).into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    assert_eq!(ids(&[("POST", "event")]), ["events"]);
    assert_eq!(ids(&[("PUT", "contact/7"), ("POST", "event")]), ["events_and_contacts"]);
    assert_eq!(ids(&[("POST", "message/email")]), ["messages"]);
    assert_eq!(ids(&[("GET", "version"), ("GET", "balance")]), Vec::<String>::new());
    // events + messages would be two rights; full_api covers both with one.
    assert_eq!(ids(&[("POST", "event"), ("POST", "message/email")]), ["full_api"]);
    assert_eq!(ids(&[]), Vec::<String>::new());
}

#[test]
fn least_rights_names_the_calls_no_right_allows() {
    let p = yespo();
    let e = p
        .matrix()
        .least_rights(&[("POST", "event"), ("GET", "nope"), ("GET", "contact/../x"), ("PUT", "contact/1")])
        .unwrap_err();
    assert_eq!(
        e,
        [
            Uncovered { index: 1, reason: UncoveredReason::UnknownEndpoint },
            Uncovered { index: 2, reason: UncoveredReason::Rejected(RejectReason::DotSegment) },
        ]
    );
}

#[test]
fn least_rights_reports_groups_no_right_opens() {
    let p = Provider::from_toml_str(
        "id = \"x\"\n[authorization]\nurl = \"https://a.example/\"\n[[groups]]\nid = \"g\"\nendpoints = [\"GET a\"]\n[[groups]]\nid = \"h\"\nendpoints = [\"GET b\"]\n[[rights]]\nid = \"r\"\ngroups = [\"g\"]\n",
        "t",
    )
    .unwrap();
    assert_eq!(p.matrix().least_rights(&[("GET", "a")]).unwrap(), Rights::single(0));
    assert_eq!(
        p.matrix().least_rights(&[("GET", "b")]).unwrap_err(),
        [Uncovered { index: 0, reason: UncoveredReason::NoRightOpensIt }]
    );
}

#[test]
fn user_profile_can_override_the_rights_reading() {
    // A user who reads `events` as also opening contact activity.
    let p = provider("yespo")
        .with_overrides(
            r#"
[[rights]]
id = "full_api"
title = "Full access to API"
all_groups = true
[[rights]]
id = "events"
title = "Access to events"
groups = ["events", "contacts_activity"]
"#,
            "mine.toml",
        )
        .unwrap();
    let ev = p.rights_from_ids(["events"]).unwrap();
    assert!(p.policy(ev).allows("GET", "contacts/activity"));
    assert!(p.rights_from_ids(["messages"]).is_err(), "arrays replace, they do not merge");
}

/// Dot segments in disguise, and escapes of the delimiters, are rejected through a `{param}` by
/// the detailed check and the fast path alike.
#[test]
fn disguised_dot_segments_and_encoded_delimiters_are_rejected() {
    let p = yespo();
    let rights = p.rights_from_ids(["full_api"]).unwrap();
    let policy = p.policy(rights);
    for (path, reason) in [
        ("contact/..;", RejectReason::DotSegment),
        ("contact/.;jsessionid=1", RejectReason::DotSegment),
        ("contact/..;x=1/subscriptions", RejectReason::DotSegment),
        ("contact/%C0%AE%C0%AE", RejectReason::EncodedInvalidUtf8),
        ("contact/%C0%AE", RejectReason::EncodedInvalidUtf8),
        ("contact/%EF%BC%8E%EF%BC%8E", RejectReason::DotSegment),
        ("contact/%EF%BC%8E", RejectReason::DotSegment),
        ("contact/%E2%80%A4%EF%B9%92", RejectReason::DotSegment),
        ("contact/a%3Fb", RejectReason::EncodedDelimiter),
        ("contact/a%23b", RejectReason::EncodedDelimiter),
        ("contact/1%2Fx", RejectReason::EncodedSlash),
    ] {
        assert_eq!(p.matrix().check(rights, "GET", path), Decision::Rejected(reason), "{path}");
        assert!(!policy.allows("GET", path), "{path}");
    }
    // Not dots: a name in UTF-8, a leading dot in a longer value, a `;` after a value.
    for path in ["contact/%D0%98%D0%B2%D0%B0%D0%BD", "contact/.hidden", "contact/...", "contact/42;v=1"] {
        assert!(p.matrix().check(rights, "GET", path).is_allowed(), "{path}");
        assert!(policy.allows("GET", path), "{path}");
    }
}

#[test]
fn rights_print_their_names_with_the_matrix_and_their_bits_without() {
    let p = yespo();
    let set = rights(&p, &["events", "messages"]);
    // A Rights value does not know its profile: Debug shows the bit indexes, never a bare number.
    assert_eq!(format!("{set:?}"), "Rights{1, 3}");
    assert_eq!(format!("{:?}", Rights::EMPTY), "Rights{}");
    // The matrix names them, in profile order; a bit the profile has no right for says so.
    let m = p.matrix();
    assert_eq!(format!("{:?}", m.named(set)), r#"{"events", "messages"}"#);
    assert_eq!(m.named(set).to_string(), "events, messages");
    assert_eq!(m.named(set.union(Rights::single(63))).to_string(), "events, messages, #63");
    assert_eq!(m.named(Rights::EMPTY).to_string(), "(none)");
}
