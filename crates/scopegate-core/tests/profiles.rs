//! Provider profiles: the built-in data, user profiles, overrides and validation errors.

mod common;

use common::*;
use proptest::prelude::*;
use scopegate_core::Method;
use scopegate_core::profile::*;

#[test]
fn every_builtin_profile_loads() {
    let all = Provider::builtins().unwrap();
    let ids: Vec<&str> = all.iter().map(|p| p.id()).collect();
    assert_eq!(ids, ["yespo", "reteno", "yotpo", "yuvo"]);
}

#[test]
fn yespo_profile_carries_the_documented_quirks() {
    let p = provider("yespo");
    assert_eq!(p.name(), "Yespo");
    assert_eq!(
        p.authorization(),
        &AuthorizationEndpoint::Url("https://uaa.yespo.io/uaa/oauth/authorize".parse().unwrap())
    );
    assert_eq!(p.token_url().unwrap().as_str(), "https://uaa.yespo.io/uaa/oauth/token");
    assert_eq!(p.client_auth(), ClientAuth::Basic);
    assert_eq!(p.pkce(), PkceMode::Off);
    assert_eq!(p.grants(), [GrantType::AuthorizationCode, GrantType::RefreshToken]);
    assert_eq!(p.access_lifetime(), Lifetime::Secs(172_800));
    assert_eq!(p.refresh_lifetime(), Lifetime::Secs(2_592_000));
    assert_eq!(
        p.extra_params(GrantType::RefreshToken),
        [("code".to_owned(), ParamValue::AuthorizationCode), ("redirect_uri".to_owned(), ParamValue::RedirectUri)]
    );
    let api = p.api().unwrap();
    assert_eq!(api.base_url.as_str(), "https://yespo.io/api/v1/");
    let verify = api.verify.as_ref().unwrap();
    assert_eq!((verify.method, verify.url.as_str()), (Method::Get, "https://yespo.io/api/v2/version"));
    let rights: Vec<&str> = p.rights().iter().map(|r| r.id.as_str()).collect();
    assert_eq!(rights, ["full_api", "events", "events_and_contacts", "messages"]);
    assert_eq!(p.groups().len(), 6);
    assert!(p.groups()[0].open, "general methods need no right");
    let counts: Vec<usize> = p.groups().iter().map(|g| g.endpoints.len()).collect();
    assert_eq!(counts, [21, 11, 6, 1, 3, 13], "every method listed in groups 1-6");
    let deprecated: Vec<String> = p
        .groups()
        .iter()
        .flat_map(|g| g.endpoints.iter())
        .filter(|e| e.deprecated)
        .map(|e| format!("{} {}", e.method, e.template))
        .collect();
    assert_eq!(
        deprecated,
        ["POST message/{id}/send", "GET message/email/status", "GET message/sms/status", "GET message/viber/status"]
    );
    let full = &p.rights()[0];
    assert!(full.all_groups);
    let ec = &p.rights()[p.right_index("events_and_contacts").unwrap()];
    assert_eq!(ec.groups, [1, 2, 3, 4]);
}

#[test]
fn reteno_is_yespo_on_retenos_hosts() {
    let (y, r) = (provider("yespo"), provider("reteno"));
    assert_eq!((r.id(), r.name()), ("reteno", "Reteno"));
    assert_eq!(
        r.authorization(),
        &AuthorizationEndpoint::Url("https://uaa.reteno.com/uaa/oauth/authorize".parse().unwrap())
    );
    assert_eq!(r.token_url().unwrap().as_str(), "https://uaa.reteno.com/uaa/oauth/token");
    assert_eq!(r.api().unwrap().verify.as_ref().unwrap().url.as_str(), "https://reteno.com/api/v2/version");
    assert_eq!(r.groups(), y.groups());
    assert_eq!(r.rights(), y.rights());
    assert_eq!(r.access_lifetime(), y.access_lifetime());
}

#[test]
fn yotpo_profile_has_install_link_and_no_token_url() {
    let p = provider("yotpo");
    assert_eq!(
        p.authorization(),
        &AuthorizationEndpoint::InstallLink(
            "https://integrations-center.yotpo.com/app/#/install/applications/{client_id}?state={state}".into()
        )
    );
    assert!(p.token_url().is_none());
    assert!(p.token_url_hint().unwrap().contains("does not publish"));
    assert_eq!(p.client_auth(), ClientAuth::Body);
    assert_eq!(p.access_lifetime(), Lifetime::Never);
    assert_eq!(p.keep_callback_params(), ["app_key"]);
    assert_eq!(p.require_callback_params(), ["app_key"]);
    assert_eq!(p.lifecycle().reinstall_after_consecutive_401, Some(3));
    assert!(p.api().is_none());
}

#[test]
fn yuvo_profile_keeps_trailing_slashes() {
    let p = provider("yuvo");
    assert_eq!(
        p.authorization(),
        &AuthorizationEndpoint::Url("https://api.yuvohub.com/oauth/authorize/".parse().unwrap())
    );
    assert_eq!(p.token_url().unwrap().as_str(), "https://api.yuvohub.com/oauth/token/");
    assert!(p.supports(GrantType::ClientCredentials));
    assert_eq!(p.api().unwrap().verify.as_ref().unwrap().url.as_str(), "https://api.yuvohub.com/companies");
}

#[test]
fn user_profile_extends_a_builtin() {
    let p = Provider::from_toml_str(
        "extends = \"yotpo\"\n[token]\nurl = \"https://yotpo.example/oauth/token\"\n",
        "my-yotpo.toml",
    )
    .unwrap();
    assert_eq!(p.id(), "yotpo");
    assert_eq!(p.origin(), "builtin:yotpo + my-yotpo.toml");
    assert_eq!(p.token_url().unwrap().as_str(), "https://yotpo.example/oauth/token");
    // everything else inherited
    assert_eq!(p.client_auth(), ClientAuth::Body);
    assert_eq!(p.keep_callback_params(), ["app_key"]);
}

#[test]
fn overrides_can_point_every_url_at_a_loopback_server() {
    let p = provider("yespo")
        .with_overrides(
            r#"
[authorization]
url = "http://127.0.0.1:8123/uaa/oauth/authorize"
[token]
url = "http://127.0.0.1:8123/uaa/oauth/token"
[api]
base_url = "http://127.0.0.1:8123/api/v1"
verify = "GET http://127.0.0.1:8123/api/v2/version"
"#,
            "sandbox",
        )
        .unwrap();
    assert_eq!(p.token_url().unwrap().as_str(), "http://127.0.0.1:8123/uaa/oauth/token");
    assert_eq!(p.api().unwrap().base_url.as_str(), "http://127.0.0.1:8123/api/v1/");
    assert_eq!(p.groups().len(), 6, "the matrix survives an override");
}

#[test]
fn a_complete_user_profile_loads_from_a_file() {
    let dir = std::env::temp_dir().join(format!("scopegate-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("acme.toml");
    std::fs::write(
        &path,
        r#"
id = "acme"
name = "Acme"
[authorization]
url = "https://auth.acme.example/authorize"
pkce = "S256"
scopes = ["read", "write"]
[token]
url = "https://auth.acme.example/token"
client_auth = "body"
grants = ["authorization_code", "refresh_token", "client_credentials"]
access_lifetime = 900
"#,
    )
    .unwrap();
    let p = Provider::from_file(&path).unwrap();
    assert_eq!(p.id(), "acme");
    assert_eq!(p.pkce(), PkceMode::S256);
    assert_eq!(p.scopes(), ["read", "write"]);
    assert_eq!(p.access_lifetime(), Lifetime::Secs(900));
    std::fs::remove_dir_all(&dir).unwrap();

    let missing = Provider::from_file(dir.join("nope.toml")).unwrap_err();
    assert!(matches!(missing, ProfileError::Io { .. }), "{missing}");
}

fn err(text: &str) -> String {
    Provider::from_toml_str(text, "user.toml").unwrap_err().to_string()
}

const MINIMAL: &str = "id = \"x\"\n[authorization]\nurl = \"https://a.example/authorize\"\n";

#[test]
fn validation_errors_name_origin_field_and_problem() {
    let cases: &[(&str, &str)] = &[
        ("[authorization]\nurl = \"https://a.example/\"\n", "user.toml: field `id` is required"),
        ("id = \"x\"\n", "user.toml: field `authorization.url` is required"),
        ("id = \"X Y\"\n[authorization]\nurl = \"https://a.example/\"", "field `id`: must be 1-64 characters"),
        (
            "id = \"x\"\n[authorization]\nurl = \"http://a.example/authorize\"",
            "field `authorization.url`: plain http is allowed only for loopback hosts",
        ),
        ("id = \"x\"\n[authorization]\nurl = \"not a url\"", "field `authorization.url`: not an absolute url"),
        (
            "id = \"x\"\n[authorization]\nurl = \"https://u:p@a.example/\"",
            "field `authorization.url`: must not carry credentials",
        ),
        (&format!("{MINIMAL}pkce = \"plain\""), "field `authorization.pkce`: must be \"off\" or \"S256\""),
        (
            &format!("{MINIMAL}[token]\nclient_auth = \"query\""),
            "field `token.client_auth`: must be \"basic\", \"body\" or \"query_unsafe\"",
        ),
        (&format!("{MINIMAL}[token]\ngrants = [\"password\"]"), "field `token.grants[0]`"),
        (&format!("{MINIMAL}[token]\naccess_lifetime = 0"), "field `token.access_lifetime`"),
        (&format!("{MINIMAL}[token]\naccess_lifetime = \"forever\""), "field `token.access_lifetime`"),
        (
            &format!("{MINIMAL}[token.extra_params.refresh_token]\nrefresh_token = \"x\""),
            "field `token.extra_params.refresh_token.refresh_token`: the refresh_token grant already sends",
        ),
        (
            &format!("{MINIMAL}[token.extra_params.refresh_token]\nfoo = \"{{secret}}\""),
            "field `token.extra_params.refresh_token.foo`: unknown placeholder",
        ),
        (
            "id = \"x\"\n[authorization]\ninstall_link = \"https://i.example/#/install/{client_id}\"",
            "field `authorization.install_link`: must contain `{state}` exactly once",
        ),
        (
            "id = \"x\"\n[authorization]\nurl = \"https://a.example/\"\ninstall_link = \"https://i.example/{client_id}{state}\"",
            "set either `url` or `install_link`",
        ),
        (&format!("{MINIMAL}[callback]\nrequire = [\"app_key\"]"), "field `callback.require[0]`"),
        (&format!("{MINIMAL}[callback]\nkeep = [\"state\"]"), "field `callback.keep[0]`"),
        (
            &format!("{MINIMAL}[[groups]]\nid = \"g\"\nendpoints = [\"GET a//b\"]"),
            "field `groups[0].endpoints[0]`: the path has an empty segment",
        ),
        (
            &format!("{MINIMAL}[[groups]]\nid = \"g\"\nendpoints = [\"get a\"]"),
            "field `groups[0].endpoints[0]`: unknown http method `get`",
        ),
        (
            &format!("{MINIMAL}[[groups]]\nid = \"g\"\nendpoints = [\"GET a/{{id}}\", \"GET a/{{other}}\"]"),
            "field `groups[0].endpoints[1]`: `GET a/{other}` matches the same requests as groups[0].endpoints[0]",
        ),
        (
            &format!("{MINIMAL}[[groups]]\nid = \"g\"\nendpoints = [\"GET a\"]\ndeprecated = [\"GET b\"]"),
            "field `groups[0].deprecated[0]`: `GET b` is not among this group's endpoints",
        ),
        (
            &format!("{MINIMAL}[[rights]]\nid = \"r\"\ngroups = [\"nope\"]"),
            "field `rights[0].groups[0]`: no group `nope`",
        ),
        (&format!("{MINIMAL}[api]\nverify = \"GET https://a.example/v\""), "field `api.base_url` is required"),
        ("extends = \"nope\"", "no built-in provider profile named `nope` (built-in: yespo, reteno, yotpo, yuvo)"),
    ];
    for (text, expected) in cases {
        let message = err(text);
        assert!(message.contains(expected), "for\n{text}\nexpected `{expected}` in\n`{message}`");
    }
}

#[test]
fn schema_errors_carry_line_and_column() {
    let message = err("id = \"x\"\n[authorization]\nurl = \"https://a.example/\"\n[tokn]\nurl = \"x\"\n");
    assert!(message.starts_with("user.toml:4:"), "{message}");
    assert!(message.contains("unknown field `tokn`"), "{message}");
    let message = err("id = \n");
    assert!(message.starts_with("user.toml:1:"), "{message}");
}

#[test]
fn a_secret_mistakenly_put_in_a_profile_is_not_echoed() {
    // A schema error must not quote the offending source line.
    let message = err("id = \"x\"\nclient_secret = \"hunter2-very-secret\"\n");
    assert!(message.contains("unknown field `client_secret`"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn too_many_rights_and_oversized_profiles_are_rejected() {
    let mut text = String::from(MINIMAL);
    for i in 0..65 {
        text.push_str(&format!("[[rights]]\nid = \"r{i}\"\n"));
    }
    assert!(err(&text).contains("at most 64 rights"));
    let huge = "#".repeat(MAX_PROFILE_BYTES + 1);
    assert!(matches!(Provider::from_toml_str(&huge, "big").unwrap_err(), ProfileError::TooLarge { .. }));
}

#[test]
fn override_may_not_extend() {
    let e = provider("yespo").with_overrides("extends = \"yuvo\"", "o").unwrap_err();
    assert!(e.to_string().contains("field `extends`: is not allowed in an override"), "{e}");
}

#[test]
fn query_credentials_need_an_explicit_unsafe_opt_in() {
    let p = Provider::from_toml_str(
        &format!("{MINIMAL}[token]\nurl = \"https://a.example/t\"\nclient_auth = \"query_unsafe\""),
        "u",
    )
    .unwrap();
    assert_eq!(p.client_auth(), ClientAuth::QueryUnsafe);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn profile_parser_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Provider::from_toml_bytes(&bytes, "fuzz");
    }

    #[test]
    fn profile_parser_never_panics_on_near_valid_text(
        key in "[a-z_\\.\\[\\]]{0,20}",
        value in "[ -~]{0,40}",
    ) {
        let text = format!("{MINIMAL}{key} = {value}\n");
        let _ = Provider::from_toml_str(&text, "fuzz");
        let _ = Provider::from_toml_str(&format!("extends = \"yespo\"\n{key} = \"{value}\"\n"), "fuzz");
    }
}

#[test]
fn schema_type_errors_name_the_field_and_position() {
    let text = "id = \"x\"\n[authorization]\nurl = \"https://a.example/\"\n\n[token]\nurl = 5\n";
    let e = Provider::from_toml_str(text, "mine.toml").unwrap_err().to_string();
    assert!(e.starts_with("mine.toml:6:7: token.url: "), "{e}");
    assert!(e.contains("expected a string"), "{e}");
    let e = Provider::from_toml_str("id = 7\n", "top.toml").unwrap_err().to_string();
    assert!(e.contains(": id: "), "{e}");
}

/// A profile pointed at a stand-in server may name it in its id (`yespo@127.0.0.1:8080`: how a
/// sandbox profile keeps its tokens apart from the real provider's); nothing else may follow `@`.
#[test]
fn an_id_may_name_the_server_the_profile_points_at() {
    let yespo = Provider::builtin("yespo").unwrap();
    for id in ["yespo@127.0.0.1:8080", "yespo@localhost:9", "yespo@[::1]:443", "yespo@sandbox.example:443"] {
        let p = yespo.with_overrides(&format!("id = \"{id}\"\n"), "t").unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(p.id(), id);
    }
    for id in ["@127.0.0.1:8080", "yespo@", "yespo@Host:1", "yespo@h/x", "yespo@a@b", "Yespo@h:1", "yespo@h x"] {
        let e = yespo.with_overrides(&format!("id = \"{id}\"\n"), "t").unwrap_err();
        assert!(e.to_string().contains("id"), "{id}: {e}");
    }
}
