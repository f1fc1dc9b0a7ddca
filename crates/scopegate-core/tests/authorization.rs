//! Authorization requests (URL / install link, state, PKCE) and callback handling.

mod common;

use common::*;
use proptest::prelude::*;
use scopegate_core::pkce;
use scopegate_core::prelude::*;

const STATE: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc"; // base64url of [7; 32]

#[test]
fn state_is_base64url_of_32_bytes() {
    assert_eq!(pkce::state_from_bytes(&STATE_BYTES).expose_secret(), STATE);
}

#[test]
fn yespo_authorization_url() {
    let s = start(&provider("yespo"));
    assert_eq!(
        s.url,
        format!(
            "https://uaa.yespo.io/uaa/oauth/authorize?response_type=code&client_id={CLIENT_ID}\
             &redirect_uri=https%3A%2F%2Fapp.example%2Fyotpo_integration%2Fcallback&state={STATE}"
        )
    );
    assert!(s.pending.verifier().is_none(), "PKCE is off for Yespo");
}

#[test]
fn reteno_authorization_url() {
    let s = start(&provider("reteno"));
    assert!(s.url.starts_with(&format!(
        "https://uaa.reteno.com/uaa/oauth/authorize?response_type=code&client_id={CLIENT_ID}&redirect_uri="
    )));
    assert!(s.url.ends_with(&format!("&state={STATE}")));
}

#[test]
fn yuvo_authorization_url_keeps_trailing_slash() {
    let s = start(&provider("yuvo"));
    assert_eq!(
        s.url,
        format!(
            "https://api.yuvohub.com/oauth/authorize/?response_type=code&client_id={CLIENT_ID}\
             &redirect_uri=https%3A%2F%2Fapp.example%2Fyotpo_integration%2Fcallback&state={STATE}"
        )
    );
}

#[test]
fn yotpo_install_link_keeps_its_fragment_route() {
    let s = start(&provider("yotpo"));
    assert_eq!(
        s.url,
        format!("https://integrations-center.yotpo.com/app/#/install/applications/{CLIENT_ID}?state={STATE}")
    );
    let parsed = url::Url::parse(&s.url).unwrap();
    assert_eq!(parsed.query(), None, "the state lives inside the fragment route");
    assert_eq!(parsed.fragment(), Some(format!("/install/applications/{CLIENT_ID}?state={STATE}").as_str()));
}

#[test]
fn install_link_values_are_percent_encoded() {
    let p = provider("yotpo");
    let c = ClientConfig::new("a/b?c#d").unwrap().with_secret("s").with_redirect_uri(REDIRECT).unwrap();
    let s = AuthorizationRequest::new(&p, &c).build_with_entropy(T0, &STATE_BYTES, &VERIFIER_BYTES).unwrap();
    assert!(s.url.contains("/applications/a%2Fb%3Fc%23d?state="), "{}", s.url);
}

#[test]
fn pkce_adds_an_s256_challenge() {
    let p = pkce_provider();
    let s = start(&p);
    let verifier = s.pending.verifier().expect("PKCE on");
    assert_eq!(verifier.expose_secret(), pkce::base64url(&VERIFIER_BYTES));
    let challenge = pkce::s256_challenge(verifier);
    assert!(
        s.url.ends_with(&format!("&state={STATE}&code_challenge={challenge}&code_challenge_method=S256")),
        "{}",
        s.url
    );
    assert!(!s.url.contains(verifier.expose_secret()), "the verifier never leaves in the URL");
}

#[test]
fn scopes_are_space_separated() {
    let p = provider("yuvo");
    let c = client();
    let s = AuthorizationRequest::new(&p, &c).scopes(["a", "b"]).build(T0).unwrap();
    assert!(s.url.contains("&scope=a+b&state="), "{}", s.url);
    let bad = AuthorizationRequest::new(&p, &c).scopes(["a b"]).build(T0).unwrap_err();
    assert!(matches!(bad, UsageError::InvalidScope { .. }));
}

#[test]
fn os_entropy_gives_distinct_states() {
    let p = provider("yespo");
    let c = client();
    let a = AuthorizationRequest::new(&p, &c).build(T0).unwrap();
    let b = AuthorizationRequest::new(&p, &c).build(T0).unwrap();
    assert_ne!(a.pending.state(), b.pending.state());
    assert_eq!(a.pending.state().len(), 43);
}

#[test]
fn endpoint_flow_needs_a_redirect_uri() {
    let p = provider("yespo");
    let c = ClientConfig::new(CLIENT_ID).unwrap();
    let e = AuthorizationRequest::new(&p, &c).build(T0).unwrap_err();
    assert_eq!(e, UsageError::MissingRedirectUri { provider: "yespo".into() });
}

#[test]
fn client_config_rejects_bad_values() {
    assert_eq!(ClientConfig::new("").unwrap_err(), UsageError::InvalidClientId);
    assert_eq!(ClientConfig::new("a\nb").unwrap_err(), UsageError::InvalidClientId);
    for bad in ["not a url", "http://app.example/cb", "https://app.example/cb#frag", "ftp://x/"] {
        assert!(
            matches!(
                ClientConfig::new("c").unwrap().with_redirect_uri(bad),
                Err(UsageError::InvalidRedirectUri { .. })
            ),
            "{bad}"
        );
    }
    assert!(ClientConfig::new("c").unwrap().with_redirect_uri("http://127.0.0.1:8081/test/callback").is_ok());
}

// ----- callbacks

fn pending(p: &Provider) -> PendingAuthorization {
    start(p).pending
}

#[test]
fn callback_returns_code_and_kept_params() {
    let p = provider("yotpo");
    let mut pa = pending(&p);
    // The document's example, with its formatting debris removed.
    let g = pa
        .handle_callback(
            &format!("{REDIRECT}?code=TEMPCODE&app_key=STORE42&state={STATE}&other=ignored"),
            T0.plus_secs(1),
        )
        .unwrap();
    assert_eq!(g.code.expose_secret(), "TEMPCODE");
    assert_eq!(g.params.get("app_key").map(String::as_str), Some("STORE42"));
    assert_eq!(g.params.len(), 1, "only the profile's kept parameters");
    assert_eq!(g.redirect_uri.as_deref(), Some(REDIRECT));
    assert!(pa.is_used());
}

#[test]
fn callback_accepts_a_bare_query() {
    let mut pa = pending(&provider("yuvo"));
    let g = pa.handle_callback(&format!("?code=C1&state={STATE}"), T0).unwrap();
    assert_eq!(g.code.expose_secret(), "C1");
    let mut pa = pending(&provider("yuvo"));
    assert!(pa.handle_callback(&format!("code=C2&state={STATE}"), T0).is_ok());
}

#[test]
fn callback_with_wrong_state_is_rejected_and_leaves_pending_usable() {
    let mut pa = pending(&provider("yespo"));
    let e = pa.handle_callback(&format!("{REDIRECT}?code=C&state=forged"), T0).unwrap_err();
    assert_eq!(e, CallbackError::StateMismatch);
    assert_eq!(e.blame(), Blame::Remote);
    assert!(!pa.is_used());
    assert!(pa.handle_callback(&format!("{REDIRECT}?code=C&state={STATE}"), T0).is_ok());
}

#[test]
fn callback_without_state_is_rejected() {
    let mut pa = pending(&provider("yespo"));
    assert_eq!(pa.handle_callback(&format!("{REDIRECT}?code=C"), T0).unwrap_err(), CallbackError::MissingState);
}

#[test]
fn callback_used_twice_is_rejected() {
    let mut pa = pending(&provider("yespo"));
    pa.handle_callback(&format!("{REDIRECT}?code=C&state={STATE}"), T0).unwrap();
    let e = pa.handle_callback(&format!("{REDIRECT}?code=C&state={STATE}"), T0).unwrap_err();
    assert_eq!(e, CallbackError::AlreadyUsed);
    assert_eq!(e.blame(), Blame::Local);
}

#[test]
fn callback_older_than_ten_minutes_is_rejected() {
    let mut pa = pending(&provider("yespo"));
    assert_eq!(pa.expires_at(), T0.plus_secs(600));
    let e = pa.handle_callback(&format!("{REDIRECT}?code=C&state={STATE}"), T0.plus_secs(601)).unwrap_err();
    assert_eq!(e, CallbackError::Expired { age_secs: 601, max_age_secs: 600 });
    let mut pa = pending(&provider("yespo"));
    assert!(pa.handle_callback(&format!("{REDIRECT}?code=C&state={STATE}"), T0.plus_secs(600)).is_ok());
}

#[test]
fn callback_on_another_redirect_uri_is_rejected() {
    for other in [
        "https://evil.example/yotpo_integration/callback",
        "https://app.example/other",
        "http://app.example/yotpo_integration/callback",
        "https://app.example:8443/yotpo_integration/callback",
    ] {
        let mut pa = pending(&provider("yespo"));
        let e = pa.handle_callback(&format!("{other}?code=C&state={STATE}"), T0).unwrap_err();
        assert!(matches!(e, CallbackError::RedirectUriMismatch { .. }), "{other}: {e:?}");
        assert!(!e.to_string().contains("code=C"), "no query in the message: {e}");
    }
}

#[test]
fn callback_access_denied_is_typed() {
    let mut pa = pending(&provider("yuvo"));
    let e = pa.handle_callback(&format!("{REDIRECT}?error=access_denied&state={STATE}"), T0).unwrap_err();
    match e {
        CallbackError::Denied(AuthorizationError {
            code: AuthorizationErrorCode::AccessDenied,
            description: None,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert!(pa.is_used(), "a genuine answer uses the authorization up");
}

#[test]
fn every_rfc6749_authorization_error_is_mapped_with_its_description() {
    let cases = [
        ("invalid_request", AuthorizationErrorCode::InvalidRequest),
        ("unauthorized_client", AuthorizationErrorCode::UnauthorizedClient),
        ("access_denied", AuthorizationErrorCode::AccessDenied),
        ("unsupported_response_type", AuthorizationErrorCode::UnsupportedResponseType),
        ("invalid_scope", AuthorizationErrorCode::InvalidScope),
        ("server_error", AuthorizationErrorCode::ServerError),
        ("temporarily_unavailable", AuthorizationErrorCode::TemporarilyUnavailable),
        ("something_else", AuthorizationErrorCode::Other("something_else".into())),
    ];
    for (code, expected) in cases {
        let mut pa = pending(&provider("yuvo"));
        let e = pa
            .handle_callback(
                &format!(
                    "?error={code}&error_description=The+user+said+no&error_uri=https%3A%2F%2Fd.example&state={STATE}"
                ),
                T0,
            )
            .unwrap_err();
        let CallbackError::Denied(ae) = e else { panic!("{code}: {e:?}") };
        assert_eq!(ae.code, expected);
        assert_eq!(ae.code.as_str(), code);
        assert_eq!(ae.description.as_deref(), Some("The user said no"));
        assert_eq!(ae.uri.as_deref(), Some("https://d.example"));
    }
}

#[test]
fn callback_without_code_is_rejected() {
    let mut pa = pending(&provider("yuvo"));
    assert_eq!(pa.handle_callback(&format!("?state={STATE}"), T0).unwrap_err(), CallbackError::MissingCode);
    let mut pa = pending(&provider("yuvo"));
    assert_eq!(pa.handle_callback(&format!("?code=&state={STATE}"), T0).unwrap_err(), CallbackError::MissingCode);
}

#[test]
fn yotpo_callback_without_app_key_is_rejected() {
    let mut pa = pending(&provider("yotpo"));
    let e = pa.handle_callback(&format!("?code=C&state={STATE}"), T0).unwrap_err();
    assert_eq!(e, CallbackError::MissingParameter { name: "app_key".into() });
}

#[test]
fn malformed_callbacks_are_rejected() {
    let cases = [
        format!("?code=a&code=b&state={STATE}"),
        format!("?code=a&state={STATE}&state={STATE}"),
        format!("?code=a\n&state={STATE}"),
        format!("?code={}&state={STATE}", "x".repeat(20_000)),
        "https://[::1/cb?code=a".to_owned(),
    ];
    for c in &cases {
        let mut pa = pending(&provider("yuvo"));
        let e = pa.handle_callback(c, T0).unwrap_err();
        assert!(matches!(e, CallbackError::Malformed { .. }), "{c:.60}: {e:?}");
        assert!(!pa.is_used());
    }
}

#[test]
fn provider_error_text_is_sanitized() {
    let mut pa = pending(&provider("yuvo"));
    let long = "x".repeat(1000);
    let e = pa
        .handle_callback(&format!("?error=access_denied&error_description=%07bell{long}&state={STATE}"), T0)
        .unwrap_err();
    let CallbackError::Denied(ae) = e else { panic!() };
    let d = ae.description.unwrap();
    assert!(!d.contains('\u{7}'));
    assert!(d.len() <= 260);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn callback_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let text = String::from_utf8_lossy(&bytes);
        let mut pa = pending(&provider("yotpo"));
        let _ = pa.handle_callback(&text, T0);
        let mut pa = pending(&provider("yotpo"));
        let _ = pa.handle_callback(&format!("{REDIRECT}?state={STATE}&{text}"), T0);
    }

    #[test]
    fn callback_with_any_other_state_is_rejected(state in "[A-Za-z0-9_-]{0,60}") {
        prop_assume!(state != STATE);
        let mut pa = pending(&provider("yespo"));
        let r = pa.handle_callback(&format!("?code=c&state={state}"), T0);
        prop_assert!(matches!(r, Err(CallbackError::StateMismatch)));
    }
}
