//! Strict mode over HTTP on loopback: PKCE required (S256), refresh-token reuse revokes the grant;
//! and what stays as it was when strict mode is off.

use scopegate::Transport as _;
use std::sync::Arc;

use scopegate::{Client, MemoryStore, UreqTransport};
use scopegate_core::PkceVerifier;
use scopegate_core::pkce::s256_challenge;
use scopegate_core::prelude::*;
use scopegate_core::profile::PkceMode;
use scopegate_sandbox::{
    Consent, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Sandbox, SandboxOptions, profile_at, profile_overrides,
    profile_overrides_with,
};

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const REUSE: &str = "refresh token reuse detected; the grant is revoked";

fn strict() -> Sandbox {
    Sandbox::start_with(SandboxOptions { port: 0, consent: Consent::AutoApprove, strict: true }).unwrap()
}

fn config() -> ClientConfig {
    ClientConfig::new(SANDBOX_CLIENT_ID)
        .unwrap()
        .with_secret(SANDBOX_CLIENT_SECRET)
        .with_redirect_uri(REDIRECT)
        .unwrap()
}

fn client(provider: Provider) -> Client {
    Client::new(provider, config(), Arc::new(UreqTransport::default()), Arc::new(MemoryStore::new()), "default")
}

fn get(url: &str) -> HttpResponse {
    UreqTransport::default().send(&HttpRequest::new(Method::Get, url::Url::parse(url).unwrap())).unwrap()
}

fn get_bearer(url: &str, token: &AccessToken) -> HttpResponse {
    let req = HttpRequest::new(Method::Get, url::Url::parse(url).unwrap()).with_bearer(token);
    UreqTransport::default().send(&req).unwrap()
}

fn post(url: &str, content_type: &str, body: &str) -> HttpResponse {
    let req =
        HttpRequest::new(Method::Post, url::Url::parse(url).unwrap()).with_body(content_type, body.as_bytes().to_vec());
    UreqTransport::default().send(&req).unwrap()
}

fn json(resp: &HttpResponse) -> serde_json::Value {
    serde_json::from_slice(resp.body()).unwrap_or_else(|_| panic!("json: {}", String::from_utf8_lossy(resp.body())))
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A raw authorization request to Yuvo with these extra query parameters; the redirect.
fn yuvo_authorize(sb: &Sandbox, extra: &str) -> url::Url {
    let resp = get(&format!(
        "{}/yuvo/oauth/authorize/?response_type=code&client_id={SANDBOX_CLIENT_ID}&redirect_uri={}&state=st-1{extra}",
        sb.base_url(),
        enc(REDIRECT)
    ));
    assert_eq!(resp.status(), 302, "{}", String::from_utf8_lossy(resp.body()));
    url::Url::parse(resp.header("location").unwrap()).unwrap()
}

fn param(u: &url::Url, name: &str) -> Option<String> {
    u.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// The code exchange at Yuvo's token endpoint, with this extra form text.
fn yuvo_exchange(sb: &Sandbox, code: &str, extra: &str) -> HttpResponse {
    post(
        &format!("{}/yuvo/oauth/token/", sb.base_url()),
        "application/x-www-form-urlencoded",
        &format!(
            "grant_type=authorization_code&code={}&redirect_uri={}&client_id={SANDBOX_CLIENT_ID}&client_secret={SANDBOX_CLIENT_SECRET}{extra}",
            enc(code),
            enc(REDIRECT)
        ),
    )
}

fn refresh_raw(sb: &Sandbox, provider_path: &str, refresh: &str, extra: &str) -> HttpResponse {
    post(
        &format!("{}/{provider_path}", sb.base_url()),
        "application/x-www-form-urlencoded",
        &format!(
            "grant_type=refresh_token&refresh_token={}&client_id={SANDBOX_CLIENT_ID}&client_secret={SANDBOX_CLIENT_SECRET}{extra}",
            enc(refresh)
        ),
    )
}

fn login(c: &Client) -> TokenSet {
    let AuthorizationStart { url, mut pending } = c.authorization_request().unwrap();
    let resp = get(&url);
    assert_eq!(resp.status(), 302, "{}", String::from_utf8_lossy(resp.body()));
    c.exchange(&mut pending, resp.header("location").unwrap()).expect("exchange")
}

#[test]
fn strict_profiles_say_s256_except_yotpo() {
    let sb = strict();
    for id in ["yespo", "reteno", "yuvo"] {
        assert_eq!(sb.profile(id).unwrap().pkce(), PkceMode::S256, "{id}");
        assert_eq!(profile_at(sb.base_url(), id).unwrap().pkce(), PkceMode::Off, "{id}: the built-in says off");
        let toml = profile_overrides_with(sb.base_url(), id, true).unwrap();
        assert!(toml.contains("pkce = \"S256\""), "{toml}");
    }
    assert_eq!(sb.profile("yotpo").unwrap().pkce(), PkceMode::Off, "the install link has no place for PKCE");
    // Not strict: the overrides are what they always were.
    assert_eq!(
        profile_overrides_with(sb.base_url(), "yespo", false).unwrap(),
        profile_overrides(sb.base_url(), "yespo").unwrap()
    );
    sb.set_strict(false);
    assert!(!sb.is_strict());
    assert_eq!(sb.profile("yuvo").unwrap().pkce(), PkceMode::Off);
}

#[test]
fn strict_refuses_an_authorization_without_pkce_on_the_redirect() {
    let sb = strict();
    // A client built from the ordinary profile sends no challenge.
    let c = client(profile_at(sb.base_url(), "yespo").unwrap());
    let AuthorizationStart { url, mut pending } = c.authorization_request().unwrap();
    let sent_state = param(&url::Url::parse(&url).unwrap(), "state").unwrap();
    let resp = get(&url);
    assert_eq!(resp.status(), 302);
    let location = url::Url::parse(resp.header("location").unwrap()).unwrap();
    assert!(location.as_str().starts_with(REDIRECT), "{location}");
    assert_eq!(param(&location, "error").as_deref(), Some("invalid_request"));
    assert_eq!(param(&location, "state"), Some(sent_state), "RFC 6749 §4.1.2.1: the state comes back");
    assert!(param(&location, "code").is_none());
    let e = c.exchange(&mut pending, location.as_str()).unwrap_err();
    assert!(e.to_string().contains("invalid_request"), "{e}");
    // Only S256: `plain` (or no method) is refused too.
    let plain = yuvo_authorize(&sb, &format!("&code_challenge={VERIFIER}&code_challenge_method=plain"));
    assert_eq!(param(&plain, "error").as_deref(), Some("invalid_request"));
    let no_method = yuvo_authorize(&sb, &format!("&code_challenge={VERIFIER}"));
    assert_eq!(param(&no_method, "error").as_deref(), Some("invalid_request"));
    assert_eq!(sb.counters("yespo").approved, 0);
}

#[test]
fn strict_checks_the_verifier_and_a_strict_profile_logs_in() {
    let sb = strict();
    let challenge = s256_challenge(&PkceVerifier::new(VERIFIER.to_owned()));
    let with_pkce = format!("&code_challenge={challenge}&code_challenge_method=S256");
    // Wrong verifier: invalid_grant.
    let code = param(&yuvo_authorize(&sb, &with_pkce), "code").unwrap();
    let wrong = yuvo_exchange(&sb, &code, "&code_verifier=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_eq!(wrong.status(), 400);
    assert_eq!(json(&wrong)["error"], "invalid_grant");
    // No verifier: invalid_grant.
    let code = param(&yuvo_authorize(&sb, &with_pkce), "code").unwrap();
    assert_eq!(json(&yuvo_exchange(&sb, &code, ""))["error"], "invalid_grant");
    // The right one: tokens.
    let code = param(&yuvo_authorize(&sb, &with_pkce), "code").unwrap();
    let ok = yuvo_exchange(&sb, &code, &format!("&code_verifier={VERIFIER}"));
    assert_eq!(ok.status(), 200, "{}", String::from_utf8_lossy(ok.body()));
    assert!(json(&ok)["access_token"].is_string());

    // RFC 9700 §2.1.1: a verifier for a code requested without a challenge is a downgrade.
    sb.set_strict(false);
    let code = param(&yuvo_authorize(&sb, ""), "code").unwrap();
    sb.set_strict(true);
    let downgrade = yuvo_exchange(&sb, &code, &format!("&code_verifier={VERIFIER}"));
    assert_eq!(json(&downgrade)["error"], "invalid_grant");

    // The whole flow with the client built from the strict profile.
    for id in ["yespo", "reteno", "yuvo"] {
        let p = sb.profile(id).unwrap();
        let c = client(p.clone());
        let AuthorizationStart { url, .. } = c.authorization_request().unwrap();
        assert!(url.contains("code_challenge_method=S256"), "{url}");
        login(&c);
        let verify = p.api().unwrap().verify.as_ref().unwrap().url.to_string();
        assert_eq!(c.request(Method::Get, &verify, None).unwrap().status(), 200, "{id}");
    }
}

#[test]
fn without_strict_a_challenge_that_is_sent_is_still_verified() {
    let sb = Sandbox::start().unwrap();
    assert!(!sb.is_strict());
    let challenge = s256_challenge(&PkceVerifier::new(VERIFIER.to_owned()));
    let with_pkce = format!("&code_challenge={challenge}&code_challenge_method=S256");
    let code = param(&yuvo_authorize(&sb, &with_pkce), "code").unwrap();
    assert_eq!(json(&yuvo_exchange(&sb, &code, "&code_verifier=not-the-one"))["error"], "invalid_grant");
    let code = param(&yuvo_authorize(&sb, &with_pkce), "code").unwrap();
    assert_eq!(json(&yuvo_exchange(&sb, &code, ""))["error"], "invalid_grant");
    let code = param(&yuvo_authorize(&sb, &with_pkce), "code").unwrap();
    assert_eq!(yuvo_exchange(&sb, &code, &format!("&code_verifier={VERIFIER}")).status(), 200);
    // No challenge, no verifier: fine; no challenge, a verifier: ignored as before.
    let code = param(&yuvo_authorize(&sb, ""), "code").unwrap();
    assert_eq!(yuvo_exchange(&sb, &code, "").status(), 200);
    let code = param(&yuvo_authorize(&sb, ""), "code").unwrap();
    assert_eq!(yuvo_exchange(&sb, &code, &format!("&code_verifier={VERIFIER}")).status(), 200);
}

#[test]
fn strict_refresh_token_reuse_revokes_the_grant() {
    let sb = strict();
    let p = sb.profile("yespo").unwrap();
    let verify = p.api().unwrap().verify.as_ref().unwrap().url.to_string();
    let c = client(p.clone());
    let first = login(&c);
    let code = first.authorization_code.as_ref().unwrap().expose_secret().to_owned();
    let doc = format!("&code={}&redirect_uri={}", enc(&code), enc(REDIRECT));
    // A second grant of the same client, which reuse in the first must not touch.
    let other = client(p.clone());
    let other_tokens = login(&other);

    let second = c.refresh().unwrap();
    assert_ne!(second.refresh_token, first.refresh_token, "rotation");
    assert_eq!(get_bearer(&verify, &second.access_token).status(), 200);

    // The rotated-out refresh token comes back.
    let old = first.refresh_token.as_ref().unwrap().expose_secret();
    let replay = refresh_raw(&sb, "yespo/uaa/oauth/token", old, &doc);
    assert_eq!(replay.status(), 400);
    assert_eq!(json(&replay)["error"], "invalid_grant");
    assert_eq!(json(&replay)["error_description"], REUSE);
    assert_eq!(sb.counters("yespo").reuse_detected, 1);

    // The whole family is dead: the current refresh token and the latest access token.
    let new = second.refresh_token.as_ref().unwrap().expose_secret();
    let dead = refresh_raw(&sb, "yespo/uaa/oauth/token", new, &doc);
    assert_eq!(dead.status(), 400);
    assert_eq!(json(&dead)["error"], "invalid_grant");
    assert_eq!(get_bearer(&verify, &second.access_token).status(), 401);
    assert!(c.refresh().is_err());
    // Another replay: detected again, nothing else to revoke.
    assert_eq!(json(&refresh_raw(&sb, "yespo/uaa/oauth/token", old, &doc))["error_description"], REUSE);
    assert_eq!(sb.counters("yespo").reuse_detected, 2);

    // The other grant lives on.
    assert_eq!(get_bearer(&verify, &other_tokens.access_token).status(), 200);
    assert!(other.refresh().is_ok());
    let counters = json(&get(&format!("{}/_sandbox/counters", sb.base_url())));
    assert_eq!(counters["yespo"]["reuse_detected"], 2);
}

#[test]
fn strict_reuse_at_yuvo_where_a_refresh_may_keep_its_token() {
    let sb = strict();
    let c = client(sb.profile("yuvo").unwrap());
    let first = login(&c);
    let second = c.refresh().unwrap(); // rotates
    let third = c.refresh().unwrap(); // keeps the refresh token: it is not rotated out
    assert_eq!(third.refresh_token, second.refresh_token);
    let kept = third.refresh_token.as_ref().unwrap().expose_secret();
    let fourth = refresh_raw(&sb, "yuvo/oauth/token/", kept, "");
    assert_eq!(fourth.status(), 200, "a kept refresh token is still the live one");
    let latest = AccessToken::new(json(&fourth)["access_token"].as_str().unwrap().to_owned());
    let old = first.refresh_token.as_ref().unwrap().expose_secret();
    assert_eq!(json(&refresh_raw(&sb, "yuvo/oauth/token/", old, ""))["error_description"], REUSE);
    assert_eq!(get_bearer(&format!("{}/yuvo/companies", sb.base_url()), &latest).status(), 401);
    assert_eq!(sb.counters("yuvo").reuse_detected, 1);
}

#[test]
fn without_strict_a_used_refresh_token_is_only_refused() {
    let sb = Sandbox::start().unwrap();
    let p = sb.profile("yespo").unwrap();
    let verify = p.api().unwrap().verify.as_ref().unwrap().url.to_string();
    let c = client(p);
    let first = login(&c);
    let code = first.authorization_code.as_ref().unwrap().expose_secret().to_owned();
    let doc = format!("&code={}&redirect_uri={}", enc(&code), enc(REDIRECT));
    let second = c.refresh().unwrap();
    let old = first.refresh_token.as_ref().unwrap().expose_secret();
    let replay = refresh_raw(&sb, "yespo/uaa/oauth/token", old, &doc);
    assert_eq!(replay.status(), 400);
    assert_eq!(json(&replay)["error"], "invalid_grant");
    assert_ne!(json(&replay)["error_description"], REUSE);
    assert_eq!(sb.counters("yespo").reuse_detected, 0);
    // Nothing else revoked.
    assert_eq!(get_bearer(&verify, &second.access_token).status(), 200);
    let third = c.refresh().unwrap();
    assert_eq!(get_bearer(&verify, &third.access_token).status(), 200);
}

#[test]
fn strict_over_the_control_endpoint() {
    let sb = Sandbox::start().unwrap();
    let b = sb.base_url().to_owned();
    let on = post(&format!("{b}/_sandbox/strict"), "application/json", r#"{"on":true}"#);
    assert_eq!(on.status(), 200);
    assert_eq!(json(&on)["strict"], true);
    assert!(sb.is_strict());
    assert_eq!(json(&get(&format!("{b}/_sandbox/strict")))["strict"], true);
    let refused = yuvo_authorize(&sb, "");
    assert_eq!(param(&refused, "error").as_deref(), Some("invalid_request"));
    assert_eq!(post(&format!("{b}/_sandbox/strict"), "application/json", r#"{"on":"yes"}"#).status(), 400);
    assert_eq!(post(&format!("{b}/_sandbox/strict"), "application/json", r#"{"on":false}"#).status(), 200);
    assert!(!sb.is_strict());
    assert!(param(&yuvo_authorize(&sb, ""), "code").is_some());
}
