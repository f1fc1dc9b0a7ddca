//! Authorization requests (URL / install link, state, PKCE) and callback handling.

mod common;

use common::*;
use proptest::prelude::*;
use scopegate_core::authorize::AuthorizationErrorCode;
use scopegate_core::pkce;
use scopegate_core::prelude::*;
use scopegate_core::profile::PkceMode;
use scopegate_core::{AuthorizationError, AuthorizationRequest, CallbackError, UsageError};

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
            T0.plus_secs(1),
            &format!("{REDIRECT}?code=TEMPCODE&app_key=STORE42&state={STATE}&other=ignored"),
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
    let g = pa.handle_callback(T0, &format!("?code=C1&state={STATE}")).unwrap();
    assert_eq!(g.code.expose_secret(), "C1");
    let mut pa = pending(&provider("yuvo"));
    assert!(pa.handle_callback(T0, &format!("code=C2&state={STATE}")).is_ok());
}

#[test]
fn callback_with_wrong_state_is_rejected_and_leaves_pending_usable() {
    let mut pa = pending(&provider("yespo"));
    let e = pa.handle_callback(T0, &format!("{REDIRECT}?code=C&state=forged")).unwrap_err();
    assert_eq!(e, CallbackError::StateMismatch);
    assert_eq!(Error::from(e.clone()).blame(), Blame::Remote);
    assert!(!pa.is_used());
    assert!(pa.handle_callback(T0, &format!("{REDIRECT}?code=C&state={STATE}")).is_ok());
}

#[test]
fn callback_without_state_is_rejected() {
    let mut pa = pending(&provider("yespo"));
    assert_eq!(pa.handle_callback(T0, &format!("{REDIRECT}?code=C")).unwrap_err(), CallbackError::MissingState);
}

#[test]
fn callback_used_twice_is_rejected() {
    let mut pa = pending(&provider("yespo"));
    pa.handle_callback(T0, &format!("{REDIRECT}?code=C&state={STATE}")).unwrap();
    let e = pa.handle_callback(T0, &format!("{REDIRECT}?code=C&state={STATE}")).unwrap_err();
    assert_eq!(e, CallbackError::AlreadyUsed);
    assert_eq!(Error::from(e.clone()).blame(), Blame::Local);
}

#[test]
fn callback_older_than_ten_minutes_is_rejected() {
    let mut pa = pending(&provider("yespo"));
    assert_eq!(pa.expires_at(), T0.plus_secs(600));
    let e = pa.handle_callback(T0.plus_secs(601), &format!("{REDIRECT}?code=C&state={STATE}")).unwrap_err();
    assert_eq!(e, CallbackError::Expired { age_secs: 601, max_age_secs: 600 });
    let mut pa = pending(&provider("yespo"));
    assert!(pa.handle_callback(T0.plus_secs(600), &format!("{REDIRECT}?code=C&state={STATE}")).is_ok());
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
        let e = pa.handle_callback(T0, &format!("{other}?code=C&state={STATE}")).unwrap_err();
        assert!(matches!(e, CallbackError::RedirectUriMismatch { .. }), "{other}: {e:?}");
        assert!(!e.to_string().contains("code=C"), "no query in the message: {e}");
    }
}

#[test]
fn callback_access_denied_is_typed() {
    let mut pa = pending(&provider("yuvo"));
    let e = pa.handle_callback(T0, &format!("{REDIRECT}?error=access_denied&state={STATE}")).unwrap_err();
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
                T0,
                &format!(
                    "?error={code}&error_description=The+user+said+no&error_uri=https%3A%2F%2Fd.example&state={STATE}"
                ),
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
    assert_eq!(pa.handle_callback(T0, &format!("?state={STATE}")).unwrap_err(), CallbackError::MissingCode);
    let mut pa = pending(&provider("yuvo"));
    assert_eq!(pa.handle_callback(T0, &format!("?code=&state={STATE}")).unwrap_err(), CallbackError::MissingCode);
}

#[test]
fn yotpo_callback_without_app_key_is_rejected() {
    let mut pa = pending(&provider("yotpo"));
    let e = pa.handle_callback(T0, &format!("?code=C&state={STATE}")).unwrap_err();
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
        let e = pa.handle_callback(T0, c).unwrap_err();
        assert!(matches!(e, CallbackError::Malformed { .. }), "{c:.60}: {e:?}");
        assert!(!pa.is_used());
    }
}

#[test]
fn provider_error_text_is_sanitized() {
    let mut pa = pending(&provider("yuvo"));
    let long = "x".repeat(1000);
    let e = pa
        .handle_callback(T0, &format!("?error=access_denied&error_description=%07bell{long}&state={STATE}"))
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
        let _ = pa.handle_callback(T0, &text);
        let mut pa = pending(&provider("yotpo"));
        let _ = pa.handle_callback(T0, &format!("{REDIRECT}?state={STATE}&{text}"));
    }

    #[test]
    fn callback_with_any_other_state_is_rejected(state in "[A-Za-z0-9_-]{0,60}") {
        prop_assume!(state != STATE);
        let mut pa = pending(&provider("yespo"));
        let r = pa.handle_callback(T0, &format!("?code=c&state={state}"));
        prop_assert!(matches!(r, Err(CallbackError::StateMismatch)));
    }
}

/// RFC 9700 §2.1.1: a profile that says nothing about PKCE gets S256; the built-in profiles say
/// what their documents support, in writing.
#[test]
fn pkce_is_on_unless_the_profile_says_otherwise() {
    let p = Provider::from_toml_str(
        "id = \"mine\"\n[authorization]\nurl = \"https://as.example/authorize\"\n[token]\nurl = \"https://as.example/token\"\n",
        "mine.toml",
    )
    .unwrap();
    assert_eq!(p.pkce(), PkceMode::S256);
    let off = p.with_overrides("[authorization]\npkce = \"off\"\n", "t").unwrap();
    assert_eq!(off.pkce(), PkceMode::Off);
    for id in Provider::builtin_ids() {
        let text = Provider::builtin_source(id).unwrap();
        let explicit = text.lines().any(|l| l.trim_start().starts_with("pkce ="));
        assert!(explicit || text.contains("extends = "), "{id} states its PKCE support");
    }
}

fn issuer_provider(required: bool) -> Provider {
    provider("yuvo")
        .with_overrides(
            &format!("[authorization]\nissuer = \"https://api.yuvohub.com\"\nissuer_in_callback = {required}\n"),
            "t",
        )
        .unwrap()
}

/// RFC 9207: the callback's `iss` must be the profile's issuer; a missing one is refused when the
/// profile says the provider sends it. A callback from another provider is refused either way.
#[test]
fn the_callback_must_come_from_the_profiles_issuer() {
    for required in [true, false] {
        let p = issuer_provider(required);
        let from_other = |s: &mut AuthorizationStart| {
            let st = state_of(s);
            s.pending.handle_callback(T0, &format!("{REDIRECT}?code=C&state={st}&iss=https%3A%2F%2Fevil.example"))
        };
        let mut s = start(&p);
        match from_other(&mut s) {
            Err(CallbackError::IssuerMismatch { expected, got }) => {
                assert_eq!((expected.as_str(), got.as_str()), ("https://api.yuvohub.com", "https://evil.example"));
            }
            other => panic!("{other:?}"),
        }
        let mut s = start(&p);
        let st = state_of(&s);
        let missing = s.pending.handle_callback(T0, &format!("{REDIRECT}?code=C&state={st}"));
        if required {
            assert_eq!(missing.unwrap_err(), CallbackError::MissingIssuer);
        } else {
            assert!(missing.is_ok());
        }
        let mut s = start(&p);
        let st = state_of(&s);
        let ok = s.pending.handle_callback(T0, &format!("{REDIRECT}?code=C&state={st}&iss=https://api.yuvohub.com"));
        assert!(ok.is_ok(), "{ok:?}");
        // The pending authorization remembers the rule through serialization.
        let s = start(&p);
        let mut copy = PendingAuthorization::from_json(&s.pending.to_json()).unwrap();
        let st = state_of(&s);
        assert!(copy.handle_callback(T0, &format!("{REDIRECT}?code=C&state={st}&iss=https://x.example")).is_err());
    }
    let e = provider("yuvo").with_overrides("[authorization]\nissuer_in_callback = true\n", "t").unwrap_err();
    assert!(e.to_string().contains("authorization.issuer"), "{e}");
}

/// A pending authorization is single use even when copied.
#[test]
fn a_copy_of_a_used_pending_authorization_is_refused() {
    let p = provider("yuvo");
    let s = start(&p);
    let st = state_of(&s);
    let mut a = s.pending.clone();
    let mut b = s.pending;
    let callback = format!("{REDIRECT}?code=C&state={st}");
    assert!(a.handle_callback(T0, &callback).is_ok());
    assert_eq!(b.handle_callback(T0, &callback).unwrap_err(), CallbackError::AlreadyUsed);
    assert!(b.is_used());
}

/// What a loopback listener asks before it lets a request end the login.
#[test]
fn own_callback_needs_the_state_in_a_well_formed_query() {
    let p = provider("yuvo");
    let s = start(&p);
    let st = state_of(&s);
    assert!(s.pending.is_own_callback(&format!("code=C&state={st}")));
    assert!(s.pending.is_own_callback(&format!("{REDIRECT}?error=access_denied&state={st}")));
    for other in [
        "code=C&state=wrong".to_owned(),
        "code=C".to_owned(),
        format!("code=C&state={st}&state={st}"),
        format!("code=C&code=D&state={st}"),
        format!("https://evil.example/cb?code=C&state={st}"),
        format!("code=C&state={st}\n"),
        "a&a".to_owned(),
    ] {
        assert!(!s.pending.is_own_callback(&other), "{other}");
    }
    assert!(!s.pending.is_used(), "asking uses nothing up");
}

/// The provider's error description may echo a secret of the request: it is cut out.
#[test]
fn a_refusal_that_echoes_the_state_does_not_show_it() {
    let p = provider("yuvo");
    let mut s = start(&p);
    let st = state_of(&s);
    let e = s
        .pending
        .handle_callback(T0, &format!("{REDIRECT}?error=access_denied&error_description=bad+state+{st}&state={st}"))
        .unwrap_err();
    let text = format!("{e} {e:?}");
    assert!(!text.contains(&st), "{text}");
    assert!(text.contains("bad state [redacted]"), "{text}");
}
