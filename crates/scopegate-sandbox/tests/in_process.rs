//! The sandbox without sockets (its in-process transport), its virtual clock, the
//! `no-refresh-token` fault, app registration from another process, and Debug forms that keep
//! secrets out.

use scopegate::Transport as _;
use std::sync::Arc;

use scopegate::{Client, MemoryStore, TokenStore};
use scopegate_core::TransportError;
use scopegate_core::prelude::*;
use scopegate_sandbox::{
    App, Consent, Fault, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Sandbox, SandboxError, SandboxOptions,
    SandboxTransport, login_app, register_remote,
};

const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn config(client_id: &str, secret: &str) -> ClientConfig {
    ClientConfig::new(client_id).unwrap().with_secret(secret).with_redirect_uri(REDIRECT).unwrap()
}

/// A client that reaches the sandbox through `t` and reads the sandbox's clock.
fn client(sb_clock: scopegate_sandbox::SandboxClock, t: &SandboxTransport, provider: Provider) -> Client {
    Client::new(
        provider,
        config(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET),
        Arc::new(t.clone()),
        Arc::new(MemoryStore::new()),
        "default",
    )
    .with_clock(move || sb_clock.now())
}

fn get(t: &SandboxTransport, url: &str) -> HttpResponse {
    t.send(&HttpRequest::new(Method::Get, url::Url::parse(url).unwrap())).unwrap()
}

fn get_bearer(t: &SandboxTransport, url: &str, token: &AccessToken) -> HttpResponse {
    t.send(&HttpRequest::new(Method::Get, url::Url::parse(url).unwrap()).with_bearer(token)).unwrap()
}

fn json(resp: &HttpResponse) -> serde_json::Value {
    serde_json::from_slice(resp.body()).unwrap_or_else(|_| panic!("json: {}", String::from_utf8_lossy(resp.body())))
}

/// The browser, in-process: the authorization URL answers a redirect to the callback.
fn login(t: &SandboxTransport, c: &Client) -> Result<TokenSet, scopegate::Error> {
    let AuthorizationStart { url, mut pending } = c.authorization_request().unwrap();
    let resp = get(t, &url);
    assert_eq!(resp.status(), 302, "{}", String::from_utf8_lossy(resp.body()));
    c.exchange(&mut pending, resp.header("location").unwrap())
}

#[test]
fn a_whole_login_without_sockets() {
    let sb = Sandbox::start().unwrap();
    let (t, clock, base) = (sb.transport(), sb.clock(), sb.base_url().to_owned());
    let p = sb.profile("yespo").unwrap();
    let counters_before = sb.counters("yespo");
    // The server is stopped and its port closed: only the in-process transport can answer.
    let addr = base.trim_start_matches("http://").to_owned();
    drop(sb);
    assert!(std::net::TcpStream::connect(&addr).is_err());

    let c = client(clock, &t, p.clone());
    let AuthorizationStart { url, mut pending } = c.authorization_request().unwrap();
    let resp = get(&t, &url);
    assert_eq!(resp.status(), 302);
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    let location = resp.header("location").unwrap();
    assert!(location.starts_with(REDIRECT) && location.contains("code="), "{location}");
    let tokens = c.exchange(&mut pending, location).unwrap();
    assert_eq!(tokens.scopes, vec!["UseRestApi".to_string()]);
    let verify = p.api().unwrap().verify.as_ref().unwrap().url.to_string();
    let v = c.request(Method::Get, &verify, None).unwrap();
    assert_eq!(v.status(), 200);
    assert_eq!(v.header("content-type"), Some("application/json"));
    assert_eq!(json(&v)["protocolVersion"], "2");
    assert_eq!(c.request(Method::Post, "message/7/send", Some(b"{}")).unwrap().status(), 403);
    assert!(c.refresh().is_ok());
    assert_eq!(counters_before, Default::default());

    // The control endpoints answer in-process too.
    let counters = json(&get(&t, &format!("{base}/_sandbox/counters")));
    assert_eq!(counters["yespo"]["approved"], 1);
    assert_eq!(counters["yespo"]["api_403"], 1);
    assert_eq!(counters["yespo"]["token_requests"]["refresh_token"], 1);
}

#[test]
fn another_origin_is_a_connect_error() {
    let sb = Sandbox::start().unwrap();
    let t = sb.transport();
    let port: u16 = sb.base_url().rsplit(':').next().unwrap().parse().unwrap();
    let others = [
        format!("http://127.0.0.1:{}/yuvo/companies", port.wrapping_add(1).max(1)),
        format!("http://localhost:{port}/yuvo/companies"),
        format!("https://127.0.0.1:{port}/yuvo/companies"),
        "https://api.yuvohub.com/companies".to_owned(),
    ];
    for other in others {
        let e = t.send(&HttpRequest::new(Method::Get, url::Url::parse(&other).unwrap())).unwrap_err();
        assert!(matches!(e, TransportError::Connect { .. }), "{other}: {e:?}");
        assert!(!e.may_have_been_sent());
    }
    assert_eq!(sb.counters("yuvo"), Default::default(), "nothing reached the sandbox");
    // A client whose profile points elsewhere fails the same way.
    let c = client(sb.clock(), &t, Provider::builtin("yuvo").unwrap());
    let e = c.client_credentials(&[]).unwrap_err();
    assert!(e.to_string().contains("connect"), "{e}");
}

#[test]
fn the_virtual_clock_expires_codes_and_tokens() {
    let sb = Sandbox::start().unwrap();
    let t = sb.transport();
    let start = sb.now();
    let p = sb.profile("yuvo").unwrap();
    let c = client(sb.clock(), &t, p);
    let tokens = login(&t, &c).unwrap();
    let companies = format!("{}/yuvo/companies", sb.base_url());
    assert_eq!(get_bearer(&t, &companies, &tokens.access_token).status(), 200);

    // Yuvo's access token lives 3600 s: one second short, then past it.
    sb.advance(3599);
    assert_eq!(get_bearer(&t, &companies, &tokens.access_token).status(), 200);
    sb.advance(2);
    assert!(sb.now() >= start.plus_secs(3601));
    assert_eq!(get_bearer(&t, &companies, &tokens.access_token).status(), 401);
    assert_eq!(sb.counters("yuvo").api_401, 1);
    // The client reads the same clock: it refreshes before the call, no 401.
    let refreshes = sb.counters("yuvo").grant("refresh_token");
    assert_eq!(c.request(Method::Get, "companies", None).unwrap().status(), 200);
    assert_eq!(sb.counters("yuvo").grant("refresh_token"), refreshes + 1);
    assert_eq!(sb.counters("yuvo").api_401, 1);

    // An authorization code lives 10 minutes (sent by hand: the client itself gives up on a
    // callback that old).
    let AuthorizationStart { url, .. } = c.authorization_request().unwrap();
    let location = url::Url::parse(get(&t, &url).header("location").unwrap()).unwrap();
    let code = location.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    sb.advance(601);
    let req = HttpRequest::new(Method::Post, url::Url::parse(&format!("{}/yuvo/oauth/token/", sb.base_url())).unwrap())
        .with_body(
            "application/x-www-form-urlencoded",
            format!(
                "grant_type=authorization_code&code={code}&redirect_uri={REDIRECT}&client_id={SANDBOX_CLIENT_ID}&client_secret={SANDBOX_CLIENT_SECRET}"
            ),
        );
    let late = t.send(&req).unwrap();
    assert_eq!((late.status(), json(&late)["error"].as_str()), (400, Some("invalid_grant")));

    // Early expiry follows the clock too.
    sb.inject("yuvo", Fault::EarlyExpiry(10));
    let short = c.refresh().unwrap();
    assert_eq!(get_bearer(&t, &companies, &short.access_token).status(), 200);
    sb.advance(10);
    assert_eq!(get_bearer(&t, &companies, &short.access_token).status(), 401);
}

#[test]
fn the_no_refresh_token_fault() {
    assert_eq!(Fault::parse("no-refresh-token"), Some(Fault::NoRefreshToken));
    let sb = Sandbox::start().unwrap();
    let t = sb.transport();
    // A login that ends with a user token and no refresh token.
    let c = client(sb.clock(), &t, sb.profile("yespo").unwrap());
    sb.inject("yespo", Fault::NoRefreshToken);
    let tokens = login(&t, &c).unwrap();
    assert!(tokens.refresh_token.is_none());
    assert!(c.stored().unwrap().unwrap().refresh_token.is_none());
    assert_eq!(c.request(Method::Put, "contact/42/subscriptions", Some(b"{}")).unwrap().status(), 200);
    assert!(c.refresh().is_err(), "nothing to refresh with");
    // Only the next answer: the one after has a refresh token again.
    let c2 = client(sb.clock(), &t, sb.profile("yespo").unwrap());
    let with = login(&t, &c2).unwrap();
    assert!(with.refresh_token.is_some());
    // On a refresh: the answer has none and the used one is not kept.
    sb.inject("yespo", Fault::NoRefreshToken);
    let body = format!(
        "grant_type=refresh_token&refresh_token={}&code={}&redirect_uri={REDIRECT}&client_id={SANDBOX_CLIENT_ID}&client_secret={SANDBOX_CLIENT_SECRET}",
        with.refresh_token.as_ref().unwrap().expose_secret(),
        with.authorization_code.as_ref().unwrap().expose_secret(),
    );
    let token_url = format!("{}/yespo/uaa/oauth/token", sb.base_url());
    let send = || {
        let req = HttpRequest::new(Method::Post, url::Url::parse(&token_url).unwrap())
            .with_body("application/x-www-form-urlencoded", body.clone().into_bytes());
        t.send(&req).unwrap()
    };
    let answer = send();
    assert_eq!(answer.status(), 200);
    assert!(json(&answer).get("refresh_token").is_none(), "{}", json(&answer));
    assert_eq!(json(&send())["error"], "invalid_grant", "the used refresh token is gone");
    // Over the control endpoint.
    let req = HttpRequest::new(Method::Post, url::Url::parse(&format!("{}/_sandbox/fault", sb.base_url())).unwrap())
        .with_body("application/json", r#"{"provider":"yuvo","fault":"no-refresh-token"}"#);
    assert_eq!(t.send(&req).unwrap().status(), 200);
    let y = client(sb.clock(), &t, sb.profile("yuvo").unwrap());
    assert!(login(&t, &y).unwrap().refresh_token.is_none());
}

#[test]
fn login_apps_and_registering_with_a_sandbox_in_another_process() {
    let yotpo = login_app("yotpo", "cli-app", "cli-secret", REDIRECT);
    assert_eq!(yotpo.redirect_uri.as_deref(), Some(REDIRECT));
    assert!(yotpo.rights.is_empty());
    for p in ["yespo", "reteno"] {
        let a = login_app(p, "cli-app", "cli-secret", REDIRECT);
        assert_eq!((a.redirect_uri, a.rights), (None, vec!["events_and_contacts".to_owned()]));
    }
    let yuvo = login_app("yuvo", "cli-app", "cli-secret", REDIRECT);
    assert_eq!((yuvo.redirect_uri, yuvo.rights.len()), (None, 0));

    let sb = Sandbox::start_with(SandboxOptions { consent: Consent::AutoApprove, ..Default::default() }).unwrap();
    let base = format!("{}/", sb.base_url());
    register_remote(&base, &yotpo).unwrap();
    // The Yotpo install of the registered app lands on its redirect URI.
    let t = sb.transport();
    let install = get(&t, &format!("{}/yotpo/app/install/applications/cli-app?state=s1", sb.base_url()));
    assert_eq!(install.status(), 302);
    assert!(install.header("location").unwrap().starts_with(REDIRECT));
    // Yespo: its rights open the contacts group.
    register_remote(sb.base_url(), &login_app("yespo", "cli-app", "cli-secret", REDIRECT)).unwrap();
    let c = Client::new(
        sb.profile("yespo").unwrap(),
        config("cli-app", "cli-secret"),
        Arc::new(t.clone()),
        Arc::new(MemoryStore::new()),
        "default",
    );
    login(&t, &c).unwrap();
    assert_eq!(c.request(Method::Put, "contact/42/subscriptions", Some(b"{}")).unwrap().status(), 200);

    // Refusals, none of them showing the secret.
    let e = register_remote(sb.base_url(), &login_app("nope", "a", "the-secret-value", REDIRECT)).unwrap_err();
    assert!(matches!(e, SandboxError::UnknownProvider(_)), "{e}");
    let bad = login_app("yotpo", "x", "the-secret-value", REDIRECT);
    let far = register_remote("http://example.invalid", &bad).unwrap_err();
    assert!(matches!(far, SandboxError::Remote { .. }), "{far}");
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let none = register_remote(&format!("http://{closed}"), &bad).unwrap_err();
    assert!(none.to_string().contains("no sandbox"), "{none}");
    for e in [&far, &none] {
        assert!(!e.to_string().contains("the-secret-value") && !format!("{e:?}").contains("the-secret-value"));
    }
}

#[test]
fn debug_forms_never_show_secrets_or_tokens() {
    let sb = Sandbox::start_with(SandboxOptions { strict: true, ..Default::default() }).unwrap();
    let t = sb.transport();
    let app = App {
        provider: "yuvo".into(),
        client_id: "dbg".into(),
        client_secret: "the-secret-value".into(),
        redirect_uri: None,
        rights: vec![],
    };
    sb.register(app.clone()).unwrap();
    let c = Client::new(
        sb.profile("yuvo").unwrap(),
        config("dbg", "the-secret-value"),
        Arc::new(t.clone()),
        Arc::new(MemoryStore::new()),
        "default",
    );
    let tokens = login(&t, &c).unwrap();
    let shown = [
        format!("{sb:?}"),
        format!("{t:?}"),
        format!("{:?}", sb.clock()),
        format!("{:?}", sb.counters("yuvo")),
        format!("{app:?}"),
        format!("{:?}", login_app("yuvo", "dbg", "the-secret-value", REDIRECT)),
        format!("{:?}", SandboxOptions::default()),
    ];
    let secrets = [
        "the-secret-value".to_owned(),
        SANDBOX_CLIENT_SECRET.to_owned(),
        tokens.access_token.expose_secret().to_owned(),
        tokens.refresh_token.as_ref().unwrap().expose_secret().to_owned(),
    ];
    for s in &shown {
        for secret in &secrets {
            assert!(!s.contains(secret.as_str()), "{s}");
        }
    }
    assert!(MemoryStore::new().keys().unwrap().is_empty());
}
