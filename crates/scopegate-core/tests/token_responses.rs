//! Token response parsing (RFC 6749 §5.1, §5.2): one test per rule.

mod common;

use common::*;
use proptest::prelude::*;
use scopegate_core::http::MAX_RESPONSE_BYTES;
use scopegate_core::low_level::ParseRules;
use scopegate_core::low_level::parse_token_response;
use scopegate_core::low_level::{FlowError, TokenErrorCode, TokenFlow, TokenResponseError};
use scopegate_core::prelude::*;

fn exchange(p: &Provider, answer: HttpResponse) -> Result<TokenSet, FlowError> {
    let mut flow = TokenFlow::authorization_code(p, &client(), grant(p, "CODE")).unwrap();
    drive(&mut flow, T0, answer)
}

fn yuvo_ok(body: &str) -> TokenSet {
    exchange(&provider("yuvo"), json(200, body)).unwrap()
}

fn yuvo_err(status: u16, body: &str) -> TokenResponseError {
    match exchange(&provider("yuvo"), json(status, body)) {
        Err(FlowError::Response(e)) => e,
        other => panic!("expected a response error, got {other:?}"),
    }
}

#[test]
fn documented_yespo_response_parses() {
    let t = exchange(
        &provider("yespo"),
        json(200, r#"{"access_token":"YOUR_TOKEN","token_type":"bearer","refresh_token":"YOUR_REFRESH_TOKEN","scope":"UseRestApi","expires_in":172541}"#),
    )
    .unwrap();
    assert_eq!(t.access_token.expose_secret(), "YOUR_TOKEN");
    assert_eq!(t.refresh_token.as_ref().unwrap().expose_secret(), "YOUR_REFRESH_TOKEN");
    assert_eq!(t.token_type, "Bearer");
    assert_eq!(t.scopes, ["UseRestApi"]);
    assert_eq!(t.issued_at, T0, "validity counted from when the request was sent");
    assert_eq!(t.expires_at, Some(T0.plus_secs(172_541)));
    assert_eq!(t.refresh_expires_at, Some(T0.plus_secs(2_592_000)), "Yespo's documented refresh lifetime");
}

#[test]
fn token_type_in_any_case() {
    for tt in ["bearer", "Bearer", "BEARER", "bEaReR"] {
        let t = yuvo_ok(&format!(r#"{{"access_token":"a","token_type":"{tt}"}}"#));
        assert_eq!(t.token_type, "Bearer");
    }
}

#[test]
fn non_bearer_token_type_is_rejected() {
    let e = yuvo_err(200, r#"{"access_token":"a","token_type":"mac"}"#);
    assert_eq!(e, TokenResponseError::UnsupportedTokenType { token_type: "mac".into() });
}

#[test]
fn missing_token_type_is_rejected_unless_the_profile_allows_it() {
    assert_eq!(yuvo_err(200, r#"{"access_token":"a"}"#), TokenResponseError::MissingField { field: "token_type" });
    let lenient = provider("yuvo").with_overrides("[token]\ntoken_type_required = false", "t").unwrap();
    assert_eq!(exchange(&lenient, json(200, r#"{"access_token":"a"}"#)).unwrap().token_type, "Bearer");
}

#[test]
fn expires_in_as_number_or_numeric_string() {
    for v in ["3600", "\"3600\"", "\" 3600 \"", "3600.0"] {
        let t = yuvo_ok(&format!(r#"{{"access_token":"a","token_type":"bearer","expires_in":{v}}}"#));
        assert_eq!(t.expires_at, Some(T0.plus_secs(3600)), "{v}");
    }
    for bad in ["-1", "\"-1\"", "\"soon\"", "\"\"", "1.5", "true", "[1]", "\"99999999999999999999999\""] {
        let e = yuvo_err(200, &format!(r#"{{"access_token":"a","token_type":"bearer","expires_in":{bad}}}"#));
        assert!(matches!(e, TokenResponseError::InvalidField { field: "expires_in", .. }), "{bad}: {e:?}");
    }
}

#[test]
fn absent_expires_in_takes_the_profile_default() {
    let t =
        exchange(&provider("yespo"), json(200, r#"{"access_token":"a","token_type":"bearer","refresh_token":"r"}"#))
            .unwrap();
    assert_eq!(t.expires_at, Some(T0.plus_secs(172_800)));
    let t = yuvo_ok(r#"{"access_token":"a","token_type":"bearer","expires_in":null}"#);
    assert_eq!(t.expires_at, Some(T0.plus_secs(3600)), "null is absent");
}

#[test]
fn yotpo_tokens_never_expire() {
    let t = exchange(&yotpo(), json(200, r#"{"access_token":"a","token_type":"bearer"}"#)).unwrap();
    assert_eq!(t.expires_at, None);
    assert!(!t.is_expired(Timestamp::from_unix_secs(u64::MAX)));
    assert_eq!(t.params.get("app_key").map(String::as_str), Some("STORE42"));
}

#[test]
fn unknown_fields_are_ignored() {
    let t = yuvo_ok(r#"{"access_token":"a","token_type":"bearer","id":7,"nested":{"x":[1,2]},"jti":"j"}"#);
    assert_eq!(t.access_token.expose_secret(), "a");
}

#[test]
fn http_200_carrying_error_is_rejected() {
    let e = yuvo_err(200, r#"{"error":"invalid_grant","error_description":"Invalid authorization code"}"#);
    let TokenResponseError::Refused(oe) = &e else { panic!("{e:?}") };
    assert_eq!((oe.status, &oe.code), (200, &TokenErrorCode::InvalidGrant));
    assert_eq!(oe.description.as_deref(), Some("Invalid authorization code"));
    assert!(e.is_invalid_grant());
}

#[test]
fn every_rfc6749_token_error_is_mapped() {
    for (code, expected) in [
        ("invalid_request", TokenErrorCode::InvalidRequest),
        ("invalid_client", TokenErrorCode::InvalidClient),
        ("invalid_grant", TokenErrorCode::InvalidGrant),
        ("unauthorized_client", TokenErrorCode::UnauthorizedClient),
        ("unsupported_grant_type", TokenErrorCode::UnsupportedGrantType),
        ("invalid_scope", TokenErrorCode::InvalidScope),
        ("slow_down", TokenErrorCode::Other("slow_down".into())),
    ] {
        let status = if code == "invalid_client" { 401 } else { 400 };
        let e = yuvo_err(status, &format!(r#"{{"error":"{code}","error_uri":"https://e.example"}}"#));
        let TokenResponseError::Refused(oe) = e else { panic!() };
        assert_eq!((oe.status, oe.code), (status, expected));
        assert_eq!(oe.uri.as_deref(), Some("https://e.example"));
    }
}

#[test]
fn missing_access_token_is_rejected() {
    assert_eq!(yuvo_err(200, r#"{"token_type":"bearer"}"#), TokenResponseError::MissingField { field: "access_token" });
    assert_eq!(
        yuvo_err(200, r#"{"access_token":null,"token_type":"bearer"}"#),
        TokenResponseError::MissingField { field: "access_token" }
    );
    assert!(matches!(
        yuvo_err(200, r#"{"access_token":"","token_type":"bearer"}"#),
        TokenResponseError::InvalidField { field: "access_token", .. }
    ));
    assert!(matches!(
        yuvo_err(200, r#"{"access_token":42,"token_type":"bearer"}"#),
        TokenResponseError::InvalidField { field: "access_token", .. }
    ));
}

#[test]
fn non_json_body_is_rejected_with_a_redacted_snippet() {
    let body = "<html><body>Bad gateway; token=SECRETSECRETSECRETSECRET client_secret=hunter2</body></html>";
    let e = yuvo_err(200, body);
    let TokenResponseError::NotJson { snippet } = &e else { panic!("{e:?}") };
    assert!(snippet.starts_with("<html><body>Bad gateway"), "{snippet}");
    for secret in ["SECRETSECRETSECRETSECRET", "hunter2"] {
        assert!(!e.to_string().contains(secret), "{e}");
    }
    // Our own secrets echoed back by a broken server are cut out even when short.
    let e = yuvo_err(200, &format!("oops {CLIENT_SECRET} CODE"));
    assert!(!e.to_string().contains(CLIENT_SECRET), "{e}");
    assert!(!e.to_string().contains("CODE"), "the code sent is a known secret: {e}");
    assert_eq!(yuvo_err(200, "[1,2]"), TokenResponseError::NotObject);
}

#[test]
fn body_over_one_mib_is_rejected() {
    let mut body = String::from(r#"{"access_token":"a","token_type":"bearer","pad":""#);
    body.push_str(&"x".repeat(MAX_RESPONSE_BYTES));
    body.push_str("\"}");
    let e = yuvo_err(200, &body);
    assert_eq!(e, TokenResponseError::TooLarge { len: body.len(), limit: MAX_RESPONSE_BYTES });
}

#[test]
fn non_2xx_without_oauth_error_reports_the_status() {
    let e = yuvo_err(503, "Service Unavailable");
    assert_eq!(e, TokenResponseError::HttpStatus { status: 503, snippet: "Service Unavailable".into() });
}

#[test]
fn redirect_answer_is_reported_not_followed() {
    let answer =
        HttpResponse::new(302, Vec::new()).with_header("Location", "https://elsewhere.example/login?code=leak");
    let e = match exchange(&provider("yuvo"), answer) {
        Err(FlowError::Response(e)) => e,
        other => panic!("{other:?}"),
    };
    assert_eq!(e, TokenResponseError::Redirect { status: 302, location: "https://elsewhere.example/login".into() });
}

#[test]
fn refresh_without_refresh_token_keeps_the_old_one() {
    let p = provider("yuvo");
    let first =
        yuvo_ok(r#"{"access_token":"AT1","token_type":"Bearer","refresh_token":"RT1","expires_in":3600,"scope":"s1"}"#);
    let mut flow = TokenFlow::refresh(&p, &client(), &first).unwrap();
    let later = T0.plus_secs(3000);
    let second =
        drive(&mut flow, later, json(200, r#"{"access_token":"AT2","token_type":"Bearer","expires_in":3600}"#))
            .unwrap();
    assert_eq!(second.access_token.expose_secret(), "AT2");
    assert_eq!(second.refresh_token, first.refresh_token, "kept (RFC 6749 §6)");
    assert_eq!(second.refresh_expires_at, first.refresh_expires_at);
    assert_eq!(second.expires_at, Some(later.plus_secs(3600)));
    assert_eq!(second.scopes, ["s1"], "scope unchanged when the response omits it");
}

#[test]
fn refresh_with_refresh_token_replaces_the_old_one() {
    let p = provider("yespo");
    let mut flow = TokenFlow::authorization_code(&p, &client(), grant(&p, "C")).unwrap();
    let first =
        drive(&mut flow, T0, json(200, r#"{"access_token":"AT1","token_type":"bearer","refresh_token":"RT1"}"#))
            .unwrap();
    let mut flow = TokenFlow::refresh(&p, &client(), &first).unwrap();
    let second = drive(
        &mut flow,
        T0.plus_secs(10),
        json(200, r#"{"access_token":"AT2","token_type":"bearer","refresh_token":"RT2"}"#),
    )
    .unwrap();
    assert_eq!(second.refresh_token.as_ref().unwrap().expose_secret(), "RT2");
    assert_eq!(second.refresh_expires_at, Some(T0.plus_secs(10 + 2_592_000)));
    assert_eq!(second.authorization_code, first.authorization_code, "Yespo's next refresh needs it again");
    // The next refresh sends the new one.
    let mut flow = TokenFlow::refresh(&p, &client(), &second).unwrap();
    let req = flow.poll_transmit(T0).unwrap();
    assert_eq!(req.form_value("refresh_token"), Some("RT2"));
}

#[test]
fn refresh_invalid_grant_is_reported() {
    let p = provider("yuvo");
    let first = yuvo_ok(r#"{"access_token":"AT1","token_type":"Bearer","refresh_token":"RT1"}"#);
    let mut flow = TokenFlow::refresh(&p, &client(), &first).unwrap();
    let e = drive(&mut flow, T0, json(400, r#"{"error":"invalid_grant"}"#)).unwrap_err();
    assert!(e.is_invalid_grant());
    assert_eq!(Error::from(e).blame(), Blame::Remote);
}

#[test]
fn refresh_expires_in_from_the_response_wins() {
    let t = yuvo_ok(r#"{"access_token":"a","token_type":"bearer","refresh_token":"r","refresh_expires_in":"7200"}"#);
    assert_eq!(t.refresh_expires_at, Some(T0.plus_secs(7200)));
}

#[test]
fn tokens_must_be_visible_ascii() {
    let e = yuvo_err(200, "{\"access_token\":\"a\\u0000b\",\"token_type\":\"bearer\"}");
    assert!(matches!(e, TokenResponseError::InvalidField { field: "access_token", .. }), "{e:?}");
    let e = yuvo_err(200, r#"{"access_token":"a","token_type":"bearer","refresh_token":"é"}"#);
    assert!(matches!(e, TokenResponseError::InvalidField { field: "refresh_token", .. }), "{e:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn token_parser_never_panics(status in 0u16..1000, bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_token_response(&HttpResponse::new(status, bytes), ParseRules::default(), &["secret"]);
    }

    #[test]
    fn token_parser_never_panics_on_json_shapes(
        at in prop_oneof![Just("\"a\"".to_owned()), Just("1".to_owned()), Just("null".to_owned()), "\"[ -~]{0,12}\""],
        ei in prop_oneof![Just("3600".to_owned()), Just("-5".to_owned()), Just("1e400".to_owned()), Just("\"12\"".to_owned()), "[0-9.e+-]{1,12}"],
        tt in "[A-Za-z]{0,8}",
    ) {
        let body = format!(r#"{{"access_token":{at},"token_type":"{tt}","expires_in":{ei}}}"#);
        let _ = parse_token_response(&HttpResponse::new(200, body), ParseRules::default(), &[]);
    }
}
