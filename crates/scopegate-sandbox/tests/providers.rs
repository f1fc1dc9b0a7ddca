//! Each emulated provider driven through the real `scopegate::Client` over HTTP on loopback.

use scopegate::Transport as _;
use std::sync::Arc;
use std::time::Duration;

use scopegate::{Client, MemoryStore, TokenStore, UreqTransport};
use scopegate_core::Revoked;
use scopegate_core::prelude::*;
use scopegate_sandbox::{App, Consent, Fault, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_STORE, Sandbox};

const REDIRECT: &str = "http://127.0.0.1:9/callback";

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

fn post_form(url: &str, form: &str) -> HttpResponse {
    let req = HttpRequest::new(Method::Post, url::Url::parse(url).unwrap())
        .with_body("application/x-www-form-urlencoded", form.as_bytes().to_vec());
    UreqTransport::default().send(&req).unwrap()
}

/// The browser: follows the authorization URL (automatic consent) and returns the redirect.
fn browse(url: &str) -> String {
    let resp = get(url);
    assert_eq!(resp.status(), 302, "{}", String::from_utf8_lossy(resp.body()));
    resp.header("location").unwrap().to_owned()
}

fn login(c: &Client) -> TokenSet {
    let AuthorizationStart { url, mut pending } = c.authorization_request().unwrap();
    let callback = browse(&url);
    c.exchange(&mut pending, &callback).expect("exchange")
}

fn json(resp: &HttpResponse) -> serde_json::Value {
    serde_json::from_slice(resp.body()).unwrap_or_else(|_| panic!("json: {}", String::from_utf8_lossy(resp.body())))
}

fn verify_url(p: &Provider) -> String {
    p.api().unwrap().verify.as_ref().unwrap().url.to_string()
}

#[test]
fn yespo_code_flow_refresh_rotation_and_the_rights_matrix() {
    let sb = Sandbox::start().unwrap();
    let p = sb.profile("yespo").unwrap();
    assert!(p.token_url().unwrap().as_str().starts_with(sb.base_url()));
    let c = client(p.clone());
    let first = login(&c);
    assert_eq!(first.scopes, vec!["UseRestApi".to_string()]);
    assert_eq!(first.expires_at, Some(first.issued_at.plus_secs(172_800)));

    // The verification call of the document.
    let v = c.request(Method::Get, &verify_url(&p), None).unwrap();
    assert_eq!(v.status(), 200);
    assert_eq!(json(&v)["protocolVersion"], "2");

    // Rights: the sandbox app has events_and_contacts.
    assert_eq!(c.request(Method::Put, "contact/42/subscriptions", Some(b"{}")).unwrap().status(), 200);
    let refused = c.request(Method::Post, "message/7/send", Some(b"{}")).unwrap();
    assert_eq!(refused.status(), 403, "the server refuses a group the rights do not open");
    assert_eq!(c.request(Method::Get, "no/such/method", None).unwrap().status(), 404);
    assert_eq!(sb.counters("yespo").api_403, 1);

    // The same rights configured in the client: refused locally, nothing sent.
    let rights = p.rights_from_ids(["events_and_contacts"]).unwrap();
    let checked = client(p.clone()).with_rights(rights);
    login(&checked);
    let calls = sb.counters("yespo").api_calls;
    match checked.request(Method::Post, "message/7/send", Some(b"{}")) {
        Err(scopegate::Error::PermissionDenied { would_allow, .. }) => assert!(would_allow.contains("messages")),
        other => panic!("{other:?}"),
    }
    assert_eq!(sb.counters("yespo").api_calls, calls);

    // Refresh (with code and redirect_uri, as documented) rotates; the old refresh token dies.
    let second = c.refresh().unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    let old_rt = first.refresh_token.as_ref().unwrap().expose_secret();
    let code_missing = post_form(
        p.token_url().unwrap().as_str(),
        &format!(
            "grant_type=refresh_token&refresh_token={old_rt}&client_id={SANDBOX_CLIENT_ID}&client_secret={SANDBOX_CLIENT_SECRET}"
        ),
    );
    assert_eq!(code_missing.status(), 400);
    assert_eq!(json(&code_missing)["error"], "invalid_grant", "the used refresh token is dead");
    let new_rt = second.refresh_token.as_ref().unwrap().expose_secret();
    let without_code = post_form(
        p.token_url().unwrap().as_str(),
        &format!(
            "grant_type=refresh_token&refresh_token={new_rt}&client_id={SANDBOX_CLIENT_ID}&client_secret={SANDBOX_CLIENT_SECRET}"
        ),
    );
    assert_eq!(json(&without_code)["error"], "invalid_request", "the document's refresh needs the code");
    assert_eq!(sb.counters("yespo").grant("refresh_token"), 3);
    assert_eq!(c.request(Method::Get, &verify_url(&p), None).unwrap().status(), 200);
}

#[test]
fn reteno_with_credentials_in_the_body() {
    let sb = Sandbox::start().unwrap();
    let p = sb.profile("reteno").unwrap().with_overrides("[token]\nclient_auth = \"body\"\n", "test").unwrap();
    let c = client(p.clone());
    login(&c);
    assert_eq!(c.request(Method::Get, &verify_url(&p), None).unwrap().status(), 200);
    assert_eq!(sb.counters("reteno").grant("authorization_code"), 1);
    assert_eq!(sb.counters("yespo"), Default::default(), "providers are separate");
    // Wrong secret: invalid_client.
    let bad = ClientConfig::new(SANDBOX_CLIENT_ID).unwrap().with_secret("nope").with_redirect_uri(REDIRECT).unwrap();
    let c = Client::new(p, bad, Arc::new(UreqTransport::default()), Arc::new(MemoryStore::new()), "default");
    let AuthorizationStart { url, mut pending } = c.authorization_request().unwrap();
    let e = c.exchange(&mut pending, &browse(&url)).unwrap_err();
    assert!(e.to_string().contains("invalid_client"), "{e}");
}

#[test]
fn yotpo_install_uninstall_and_reinstall() {
    let sb = Sandbox::start().unwrap();
    sb.register(App {
        provider: "yotpo".into(),
        client_id: SANDBOX_CLIENT_ID.into(),
        client_secret: SANDBOX_CLIENT_SECRET.into(),
        redirect_uri: Some(REDIRECT.into()),
        rights: vec![],
    })
    .unwrap();
    let p = sb.profile("yotpo").unwrap();
    let c = Client::new(
        p.clone(),
        config(),
        Arc::new(UreqTransport::default()),
        Arc::new(MemoryStore::new()),
        SANDBOX_STORE,
    );
    let AuthorizationStart { url, mut pending } = c.authorization_request().unwrap();
    assert!(url.contains("/yotpo/app/install/applications/sandbox-client?state="), "{url}");
    let callback = browse(&url);
    assert!(callback.contains("app_key=sandbox-store-1"), "{callback}");
    let t = c.exchange(&mut pending, &callback).unwrap();
    assert_eq!(t.expires_at, None, "never expires");
    assert_eq!(t.params.get("app_key").map(String::as_str), Some(SANDBOX_STORE));
    assert_eq!(json(&c.request(Method::Get, "store", None).unwrap())["store"]["app_key"], SANDBOX_STORE);

    // A second install for the same store replaces the token: the first answers 401.
    let c2 = Client::new(
        p.clone(),
        config(),
        Arc::new(UreqTransport::default()),
        Arc::new(MemoryStore::new()),
        SANDBOX_STORE,
    );
    login(&c2);
    assert_eq!(c.request(Method::Get, "store", None).unwrap().status(), 401);

    // Uninstall from our side: the remove application endpoint, then 401 for the old token.
    let old = c2.stored().unwrap().unwrap();
    assert_eq!(c2.revoke().unwrap(), Revoked::Done);
    assert_eq!(sb.counters("yotpo").uninstalls, 1);
    let resp = UreqTransport::default()
        .send(&HttpRequest::new(Method::Get, url::Url::parse(&verify_url(&p)).unwrap()).with_bearer(&old.access_token))
        .unwrap();
    assert_eq!(resp.status(), 401);

    // Re-install, then the merchant disconnects in Yotpo: the webhook arrives, calls get 401,
    // and three of them in a row ask for a re-install.
    let hook = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let hook_url = format!("http://{}/yotpo/uninstalled", hook.server_addr().to_ip().unwrap());
    sb.set_uninstall_webhook(url::Url::parse(&hook_url).unwrap());
    login(&c2);
    let receiver = std::thread::spawn(move || {
        let mut req = hook.recv_timeout(Duration::from_secs(10)).unwrap().expect("the webhook");
        let mut body = String::new();
        req.as_reader().read_to_string(&mut body).unwrap();
        let _ = req.respond(tiny_http::Response::empty(200));
        body
    });
    assert!(sb.merchant_uninstall(SANDBOX_STORE).unwrap(), "webhook delivered");
    let body = receiver.join().unwrap();
    assert!(body.contains("app_uninstalled") && body.contains(SANDBOX_STORE), "{body}");
    assert_eq!(c2.request(Method::Get, "store", None).unwrap().status(), 401);
    assert_eq!(c2.request(Method::Get, "store", None).unwrap().status(), 401);
    assert!(matches!(c2.request(Method::Get, "store", None), Err(scopegate::Error::ReauthorizationRequired { .. })));
    assert!(sb.merchant_uninstall(SANDBOX_STORE).is_err(), "nothing left to uninstall");
}

#[test]
fn yotpo_without_a_registered_redirect_says_so() {
    let sb = Sandbox::start().unwrap();
    let c = client(sb.profile("yotpo").unwrap());
    let AuthorizationStart { url, .. } = c.authorization_request().unwrap();
    let resp = get(&url);
    assert_eq!(resp.status(), 400);
    assert!(String::from_utf8_lossy(resp.body()).contains("Register the app"));
}

#[test]
fn yuvo_trailing_slashes_refresh_without_rotation_and_client_credentials() {
    let sb = Sandbox::start().unwrap();
    let p = sb.profile("yuvo").unwrap();
    assert!(p.token_url().unwrap().path().ends_with("/oauth/token/"));
    let c = client(p.clone());
    let first = login(&c);
    assert_eq!(first.expires_at, Some(first.issued_at.plus_secs(3600)));
    let companies = json(&c.request(Method::Get, "companies", None).unwrap());
    assert_eq!(companies[0]["id"], scopegate_sandbox::SANDBOX_COMPANY);
    // First refresh rotates, the second answer omits refresh_token: the client keeps the last.
    let second = c.refresh().unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    let third = c.refresh().unwrap();
    assert_eq!(third.refresh_token, second.refresh_token, "kept when the answer has none");
    assert_ne!(third.access_token, second.access_token);
    let fourth = c.refresh().unwrap();
    assert_ne!(fourth.refresh_token, third.refresh_token, "still valid, then rotated");
    // Client credentials: no refresh token, no company of the user's.
    let cc = client(p.clone());
    let t = cc.client_credentials(&[]).unwrap();
    assert!(t.refresh_token.is_none());
    assert_eq!(json(&cc.request(Method::Get, "companies", None).unwrap()), serde_json::json!([]));
    // Consent refused: access_denied, typed.
    sb.set_consent(Consent::AutoDeny);
    let AuthorizationStart { url, mut pending } = c.authorization_request().unwrap();
    let e = c.exchange(&mut pending, &browse(&url)).unwrap_err();
    assert!(e.to_string().contains("access_denied"), "{e}");
    assert_eq!(sb.counters("yuvo").denied, 1);
}

#[test]
fn the_consent_page_approves_and_denies() {
    let sb = Sandbox::start_on(0, Consent::Page).unwrap();
    let p = sb.profile("yuvo").unwrap();
    let c = client(p);
    for (decision, expect) in [("approve", "code="), ("deny", "error=access_denied")] {
        let AuthorizationStart { url, .. } = c.authorization_request().unwrap();
        let page = get(&url);
        assert_eq!(page.status(), 200);
        let html = String::from_utf8_lossy(page.body()).into_owned();
        assert!(html.contains("Approve") && html.contains("Deny"));
        let id = html.split("name=\"request\" value=\"").nth(1).unwrap().split('"').next().unwrap();
        let resp = post_form(&format!("{}/yuvo/consent", sb.base_url()), &format!("request={id}&decision={decision}"));
        assert_eq!(resp.status(), 302);
        let location = resp.header("location").unwrap();
        assert!(location.starts_with(REDIRECT) && location.contains(expect), "{location}");
        // A consent request is answered once.
        let again = post_form(&format!("{}/yuvo/consent", sb.base_url()), &format!("request={id}&decision=approve"));
        assert_eq!(again.status(), 400);
    }
}

#[test]
fn faults_reach_the_client_as_typed_errors() {
    let sb = Sandbox::start().unwrap();
    let p = sb.profile("yuvo").unwrap();
    let c = client(p);
    login(&c);
    let cases: [(Fault, &str); 3] =
        [(Fault::Status(502), "502"), (Fault::MalformedJson, "not json"), (Fault::ErrorIn200, "server_error")];
    for (fault, expect) in cases {
        sb.inject("yuvo", fault);
        let e = c.refresh().unwrap_err().to_string();
        assert!(e.to_lowercase().contains(expect), "{expect}: {e}");
    }
    sb.inject("yuvo", Fault::Slow(Duration::from_millis(300)));
    assert!(c.refresh().is_ok(), "slow but fine");
    // Early expiry: the server stops accepting the token at once; the client refreshes on 401
    // and retries.
    sb.inject("yuvo", Fault::EarlyExpiry(0));
    c.refresh().unwrap();
    let before = sb.counters("yuvo").grant("refresh_token");
    assert_eq!(c.request(Method::Get, "companies", None).unwrap().status(), 200);
    assert_eq!(sb.counters("yuvo").grant("refresh_token"), before + 1);
    assert_eq!(sb.counters("yuvo").api_401, 1);
}

#[test]
fn control_endpoints_over_http() {
    let sb = Sandbox::start().unwrap();
    let b = sb.base_url();
    let send = |path: &str, body: &str| {
        let req = HttpRequest::new(Method::Post, url::Url::parse(&format!("{b}{path}")).unwrap())
            .with_body("application/json", body.as_bytes().to_vec());
        UreqTransport::default().send(&req).unwrap()
    };
    let r = send(
        "/_sandbox/register",
        r#"{"provider":"yespo","client_id":"mine","client_secret":"s","rights":["messages"]}"#,
    );
    assert_eq!(r.status(), 200);
    assert_eq!(send("/_sandbox/register", r#"{"provider":"nope","client_id":"a","client_secret":"b"}"#).status(), 400);
    assert_eq!(send("/_sandbox/fault", r#"{"provider":"yespo","fault":"503"}"#).status(), 200);
    assert_eq!(send("/_sandbox/fault", r#"{"provider":"yespo","fault":"sometimes"}"#).status(), 400);
    let p = sb.profile("yespo").unwrap();
    let mine = ClientConfig::new("mine").unwrap().with_secret("s").with_redirect_uri(REDIRECT).unwrap();
    let c = Client::new(p, mine, Arc::new(UreqTransport::default()), Arc::new(MemoryStore::new()), "default");
    let AuthorizationStart { url, mut pending } = c.authorization_request().unwrap();
    let callback = browse(&url);
    assert!(c.exchange(&mut pending, &callback).unwrap_err().to_string().contains("503"));
    login(&c);
    assert_eq!(c.request(Method::Post, "message/7/send", Some(b"{}")).unwrap().status(), 200, "messages right");
    assert_eq!(c.request(Method::Get, "contacts", None).unwrap().status(), 403);
    let counters = json(&get(&format!("{b}/_sandbox/counters")));
    assert_eq!(counters["yespo"]["token_errors"], 1);
    assert_eq!(counters["yespo"]["api_403"], 1);
    assert!(MemoryStore::new().keys().unwrap().is_empty());
}

#[test]
fn the_port_is_closed_on_drop() {
    let sb = Sandbox::start().unwrap();
    let addr = sb.base_url().trim_start_matches("http://").to_owned();
    drop(sb);
    assert!(std::net::TcpStream::connect(&addr).is_err());
}

#[test]
fn an_app_debug_form_hides_its_secret() {
    let app = App {
        provider: "yuvo".into(),
        client_id: "id".into(),
        client_secret: "the-secret-value".into(),
        redirect_uri: None,
        rights: vec![],
    };
    let shown = format!("{app:?}");
    assert!(shown.contains("[redacted]") && !shown.contains("the-secret-value"), "{shown}");
}

#[test]
fn consent_webhook_and_merchant_uninstall_over_http() {
    let sb = Sandbox::start().unwrap();
    let b = sb.base_url().to_owned();
    let send = |path: &str, body: &str| {
        let req = HttpRequest::new(Method::Post, url::Url::parse(&format!("{b}{path}")).unwrap())
            .with_body("application/json", body.as_bytes().to_vec());
        UreqTransport::default().send(&req).unwrap()
    };
    // consent
    assert_eq!(send("/_sandbox/consent", r#"{"mode":"deny"}"#).status(), 200);
    let c = client(sb.profile("yuvo").unwrap());
    let AuthorizationStart { url, .. } = c.authorization_request().unwrap();
    assert!(browse(&url).contains("error=access_denied"));
    assert_eq!(send("/_sandbox/consent", r#"{"mode":"maybe"}"#).status(), 400);
    assert_eq!(send("/_sandbox/consent", r#"{"mode":"approve"}"#).status(), 200);
    // Yotpo: register with a redirect, install, then the merchant disconnects over HTTP.
    let reg = format!(
        r#"{{"provider":"yotpo","client_id":"{SANDBOX_CLIENT_ID}","client_secret":"{SANDBOX_CLIENT_SECRET}","redirect_uri":"{REDIRECT}"}}"#
    );
    assert_eq!(send("/_sandbox/register", &reg).status(), 200);
    let hook = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let hook_url = format!("http://{}/hook", hook.server_addr().to_ip().unwrap());
    assert_eq!(send("/_sandbox/webhook", &format!(r#"{{"url":"{hook_url}"}}"#)).status(), 200);
    let y = Client::new(
        sb.profile("yotpo").unwrap(),
        config(),
        Arc::new(UreqTransport::default()),
        Arc::new(MemoryStore::new()),
        SANDBOX_STORE,
    );
    login(&y);
    let receiver = std::thread::spawn(move || {
        let req = hook.recv_timeout(Duration::from_secs(10)).unwrap().expect("the webhook");
        let _ = req.respond(tiny_http::Response::empty(204));
    });
    let r = send(&format!("/_sandbox/yotpo/uninstall?app_key={SANDBOX_STORE}"), "");
    assert_eq!(r.status(), 200);
    assert_eq!(json(&r)["webhook_delivered"], true);
    receiver.join().unwrap();
    assert_eq!(y.request(Method::Get, "store", None).unwrap().status(), 401);
    assert_eq!(send("/_sandbox/yotpo/uninstall?app_key=nobody", "").status(), 404);
    assert_eq!(sb.counters("yotpo").webhooks, 1);
}

/// `/_sandbox/yotpo/uninstall` without an app key, or with another method than POST.
#[test]
fn the_merchant_uninstall_path_refuses_what_it_cannot_do() {
    let sb = Sandbox::start().unwrap();
    let send = |method: Method, path: &str| {
        let url = url::Url::parse(&format!("{}{path}", sb.base_url())).unwrap();
        sb.transport().send(&HttpRequest::new(method, url)).unwrap()
    };
    let r = send(Method::Post, "/_sandbox/yotpo/uninstall");
    assert_eq!(r.status(), 400);
    assert_eq!(json(&r)["error"], "expected ?app_key=");
    let r = send(Method::Get, &format!("/_sandbox/yotpo/uninstall?app_key={SANDBOX_STORE}"));
    assert_eq!(r.status(), 404);
    assert_eq!(json(&r)["error"], "not_found");
    assert_eq!(send(Method::Post, &format!("/_sandbox/yotpo/uninstall?app_key={SANDBOX_STORE}")).status(), 404);
}
