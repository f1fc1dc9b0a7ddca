//! No secret appears in the Debug or Display output of any secret-bearing type.

mod common;

use common::*;
use scopegate_core::low_level::TokenFlow;
use scopegate_core::prelude::*;
use scopegate_core::{AuthorizationCode, AuthorizationRequest, ClientSecret, PkceVerifier, State};

const SECRETS: [&str; 6] =
    [CLIENT_SECRET, "ACCESS-abcdef123", "REFRESH-abcdef123", "CODE-abcdef123", "NEWREFRESH-x1y2z3", "NEWACCESS-x1y2z3"];

fn assert_clean(what: &str, text: &str, extra: &[&str]) {
    for s in SECRETS.iter().chain(extra) {
        assert!(!text.contains(s), "{what} leaks `{s}`:\n{text}");
    }
}

fn check<T: std::fmt::Debug>(what: &str, value: &T, extra: &[&str]) {
    assert_clean(what, &format!("{value:?}"), extra);
    assert_clean(what, &format!("{value:#?}"), extra);
}

fn check_display<T: std::fmt::Display + std::fmt::Debug>(what: &str, value: &T, extra: &[&str]) {
    check(what, value, extra);
    assert_clean(what, &value.to_string(), extra);
}

#[test]
fn secret_newtypes_print_redacted() {
    check_display("ClientSecret", &ClientSecret::new(CLIENT_SECRET), &[]);
    check_display("AccessToken", &AccessToken::new("ACCESS-abcdef123"), &[]);
    check_display("RefreshToken", &RefreshToken::new("REFRESH-abcdef123"), &[]);
    check_display("AuthorizationCode", &AuthorizationCode::new("CODE-abcdef123"), &[]);
    check_display("PkceVerifier", &PkceVerifier::new("VERIFIER-abcdef"), &["VERIFIER-abcdef"]);
    check_display("State", &State::new("STATE-abcdef"), &["STATE-abcdef"]);
    assert_eq!(AccessToken::new("x").to_string(), "[redacted]");
}

#[test]
fn every_secret_bearing_value_of_a_whole_login_is_clean() {
    let p = pkce_provider();
    let c = client();
    check("ClientConfig", &c, &[]);
    let start = AuthorizationRequest::new(&p, &c).build(T0).unwrap();
    let state = start.pending.state().expose_secret().to_owned();
    let verifier = start.pending.verifier().unwrap().expose_secret().to_owned();
    let secrets = [state.as_str(), verifier.as_str()];
    check("AuthorizationStart", &start, &secrets);
    let mut pending = start.pending;
    check("PendingAuthorization", &pending, &secrets);

    // a rejected callback carrying a code
    let e = pending.handle_callback(T0, &format!("{REDIRECT}?code=CODE-abcdef123&state=nope")).unwrap_err();
    check_display("CallbackError", &e, &secrets);
    let e =
        pending.handle_callback(T0, &format!("https://evil.example/cb?code=CODE-abcdef123&state={state}")).unwrap_err();
    check_display("CallbackError", &e, &secrets);

    let grant = pending.handle_callback(T0, &format!("{REDIRECT}?code=CODE-abcdef123&state={state}")).unwrap();
    check("AuthorizationGrant", &grant, &secrets);

    let mut flow = TokenFlow::authorization_code(&p, &c, grant).unwrap();
    check("TokenFlow (ready)", &flow, &secrets);
    let req = flow.poll_transmit(T0).unwrap();
    check("HttpRequest", &req, &secrets);
    check("TokenFlow (sent)", &flow, &secrets);
    let resp =
        json(200, r#"{"access_token":"ACCESS-abcdef123","token_type":"bearer","refresh_token":"REFRESH-abcdef123"}"#);
    check("HttpResponse", &resp, &secrets);
    flow.handle_response(T0, resp).unwrap();
    let tokens = flow.poll_outcome().unwrap().unwrap();
    check("TokenSet", &tokens, &secrets);

    // (Issue 19: the session holds the token set; its Debug is what a log shows.)
    let mut conn = Session::new(p.clone(), c.clone());
    conn.set_tokens(Some(tokens.clone())).unwrap();
    check("Session", &conn, &secrets);

    // refresh: request, rotated result, and an error echoing secrets back
    let mut flow = TokenFlow::refresh(&p, &c, &tokens).unwrap();
    let req = flow.poll_transmit(T0).unwrap();
    check("HttpRequest (refresh)", &req, &secrets);
    flow.handle_response(
        T0,
        json(200, r#"{"access_token":"NEWACCESS-x1y2z3","token_type":"bearer","refresh_token":"NEWREFRESH-x1y2z3"}"#),
    )
    .unwrap();
    let outcome = flow.poll_outcome().unwrap();
    check("refresh outcome", &outcome, &secrets);
    conn.set_tokens(Some(outcome.clone().unwrap())).unwrap();
    check("Session (refreshed)", &conn, &secrets);

    let mut flow = TokenFlow::refresh(&p, &c, conn.tokens().unwrap()).unwrap();
    flow.poll_transmit(T0).unwrap();
    flow.handle_response(
        T0,
        HttpResponse::new(500, format!("<pre>bad refresh_token NEWREFRESH-x1y2z3 for {CLIENT_SECRET}</pre>")),
    )
    .unwrap();
    let err = flow.poll_outcome().unwrap().unwrap_err();
    check_display("FlowError (echo)", &err, &secrets);
    let mut flow = TokenFlow::refresh(&p, &c, conn.tokens().unwrap()).unwrap();
    flow.poll_transmit(T0).unwrap();
    flow.handle_response(T0, HttpResponse::new(200, "access_token=NEWACCESS-x1y2z3&refresh_token=NEWREFRESH-x1y2z3"))
        .unwrap();
    let err = flow.poll_outcome().unwrap().unwrap_err();
    check_display("FlowError (form body)", &err, &secrets);
}

#[test]
fn body_auth_request_is_clean() {
    let p = yotpo();
    let mut flow = TokenFlow::authorization_code(&p, &client(), grant(&p, "CODE-abcdef123")).unwrap();
    let req = flow.poll_transmit(T0).unwrap();
    assert_eq!(req.form_value("client_secret"), Some(CLIENT_SECRET), "sent, but...");
    check("HttpRequest (body auth)", &req, &[]);
}

/// Spring Security OAuth says `"Invalid refresh token: <the token>"`; others echo the code, the
/// verifier or the client secret. Every text quoted from the answer has them cut out.
#[test]
fn error_descriptions_that_echo_the_requests_secrets_are_cut() {
    let p = pkce_provider();
    let c = client();
    let mut s = AuthorizationRequest::new(&p, &c).build(T0).unwrap();
    let state = s.pending.state().expose_secret().to_owned();
    let verifier = s.pending.verifier().unwrap().expose_secret().to_owned();
    let grant = s.pending.handle_callback(T0, &format!("{REDIRECT}?code=CODE-abcdef123&state={state}")).unwrap();
    let mut flow = TokenFlow::authorization_code(&p, &c, grant).unwrap();
    flow.poll_transmit(T0).unwrap();
    let echo = format!(
        r#"{{"error":"invalid_grant","error_description":"Invalid authorization code: CODE-abcdef123 (verifier {verifier}, client {CLIENT_SECRET})","error_uri":"https://as.example/e?code=CODE-abcdef123"}}"#
    );
    flow.handle_response(T0, json(400, &echo)).unwrap();
    let err = flow.poll_outcome().unwrap().unwrap_err();
    check_display("FlowError (code echoed)", &err, &[&verifier]);
    let tokens = TokenSet::from_json(&format!(
        r#"{{"format":"scopegate.token_set","version":1,"provider":"{}","identity":"user","access_token":"ACCESS-abcdef123","refresh_token":"REFRESH-abcdef123","issued_at":1}}"#,
        p.id()
    ))
    .unwrap();
    let mut flow = TokenFlow::refresh(&p, &c, &tokens).unwrap();
    flow.poll_transmit(T0).unwrap();
    let spring = r#"{"error":"invalid_grant","error_description":"Invalid refresh token: REFRESH-abcdef123"}"#;
    flow.handle_response(T0, json(400, spring)).unwrap();
    let err = flow.poll_outcome().unwrap().unwrap_err();
    check_display("FlowError (Spring)", &err, &[]);
    assert!(err.to_string().contains("Invalid refresh token: [redacted]"), "{err}");
}

proptest::proptest! {
    /// Quoting arbitrary bytes from a response never panics and stays short.
    #[test]
    fn snippets_of_arbitrary_bodies(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
        let mut flow = TokenFlow::client_credentials(&provider("yuvo"), &client(), &[]).unwrap();
        flow.poll_transmit(T0).unwrap();
        flow.handle_response(T0, HttpResponse::new(500, body)).unwrap();
        let err = flow.poll_outcome().unwrap().unwrap_err();
        proptest::prop_assert!(err.to_string().chars().count() < 200);
    }
}

/// Issue 18: a request built by the caller with user info in its URL does not show it in Debug.
#[test]
fn request_debug_hides_user_info() {
    let url = url::Url::parse("https://u:S3CRETPW@api.example/x?client_secret=S3CRETQ&page=2").unwrap();
    let req = HttpRequest::new(Method::Get, url);
    let shown = format!("{req:?}");
    assert_clean("HttpRequest", &shown, &["S3CRETPW", "S3CRETQ"]);
    assert!(shown.contains("api.example/x") && shown.contains("page=2"), "{shown}");
    let url = url::Url::parse("https://u:S3CRETPW@api.example/x").unwrap();
    assert_clean("HttpRequest", &format!("{:?}", HttpRequest::new(Method::Get, url)), &["S3CRETPW"]);
}
