//! No secret appears in the Debug or Display output of any secret-bearing type.

mod common;

use common::*;
use scopegate_core::prelude::*;

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
    let e = pending.handle_callback(&format!("{REDIRECT}?code=CODE-abcdef123&state=nope"), T0).unwrap_err();
    check_display("CallbackError", &e, &secrets);
    let e =
        pending.handle_callback(&format!("https://evil.example/cb?code=CODE-abcdef123&state={state}"), T0).unwrap_err();
    check_display("CallbackError", &e, &secrets);

    let grant = pending.handle_callback(&format!("{REDIRECT}?code=CODE-abcdef123&state={state}"), T0).unwrap();
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

    let mut conn = Connection::new(&p, tokens.clone());
    check("Connection", &conn, &secrets);

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
    conn.apply_refresh(&outcome);
    check("Connection (refreshed)", &conn, &secrets);

    let mut flow = TokenFlow::refresh(&p, &c, conn.tokens()).unwrap();
    flow.poll_transmit(T0).unwrap();
    flow.handle_response(
        T0,
        HttpResponse::new(500, format!("<pre>bad refresh_token NEWREFRESH-x1y2z3 for {CLIENT_SECRET}</pre>")),
    )
    .unwrap();
    let err = flow.poll_outcome().unwrap().unwrap_err();
    check_display("FlowError (echo)", &err, &secrets);
    let mut flow = TokenFlow::refresh(&p, &c, conn.tokens()).unwrap();
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
