//! The rules a Session owns, one by one: identities, where the token may go, back-off bounds,
//! known expiry, accounts, extra authorization parameters, narrowed scopes, serialization, the
//! error surface.

mod common;

use common::*;
use scopegate_core::low_level::{TokenErrorCode, TokenResponseError};
use scopegate_core::prelude::*;
use scopegate_core::{AuthorizationCode, CallbackError, OAuthError, SerialError, UsageError};

fn token_json(identity: &str, refresh: Option<&str>, expires_at: Option<u64>, provider: &str) -> String {
    serde_json::json!({
        "format": "scopegate.token_set", "version": 1, "provider": provider, "identity": identity,
        "access_token": "AT-1234567890", "refresh_token": refresh, "token_type": "Bearer",
        "scopes": [], "issued_at": T0.as_unix_secs(), "expires_at": expires_at,
        "params": {}, "consecutive_401": 0,
    })
    .to_string()
}

fn session_with(p: Provider, tokens: &str) -> Session {
    let mut s = Session::new(p, client());
    s.set_tokens(Some(TokenSet::from_json(tokens).unwrap())).unwrap();
    s
}

fn events(s: &mut Session) -> Vec<String> {
    std::iter::from_fn(|| s.poll_event())
        .map(|e| match e {
            Event::Failed(e) => format!("failed {}", e.kind()),
            Event::ReauthorizationRequired(r) => format!("reauthorization-required {}", r.name()),
            other => format!("{other:?}"),
        })
        .collect()
}

const HOUR_LATER: Timestamp = Timestamp::from_unix_secs(T0.as_unix_secs() + 3600);

#[test]
fn a_users_expired_token_without_refresh_token_needs_the_user_not_the_app() {
    // Yuvo lists client_credentials too: the old client fell back to it.
    let mut s = session_with(provider("yuvo"), &token_json("user", None, Some(HOUR_LATER.as_unix_secs()), "yuvo"));
    assert!(!s.needs_refresh(T0), "valid and not renewable: nothing to do");
    let e = s.refresh(T0).unwrap_err();
    assert!(matches!(e, Error::Usage(UsageError::NoRefreshToken)), "still valid: {e}");
    assert!(s.needs_refresh(HOUR_LATER));
    let e = s.refresh(HOUR_LATER).unwrap_err();
    assert_eq!(e.reauthorization_reason(), Some(ReauthorizationReason::NoRefreshToken));
    assert!(s.poll_transmit(HOUR_LATER).is_none(), "no request");
    assert_eq!(events(&mut s), ["TokensChanged", "reauthorization-required no_refresh_token"]);
    assert_eq!(s.tokens().unwrap().access_token.expose_secret(), "AT-1234567890", "kept");
    assert_eq!(s.client_credentials(&[]).unwrap_err().kind(), ErrorKind::IdentityMismatch);
    assert_eq!(s.poll_timeout(), None);

    // The same, found by the timer.
    let mut s = session_with(provider("yuvo"), &token_json("user", None, Some(HOUR_LATER.as_unix_secs()), "yuvo"));
    assert_eq!(s.poll_timeout(), Some(HOUR_LATER), "the expiry, not a refresh margin");
    s.handle_timeout(HOUR_LATER);
    assert!(s.poll_transmit(HOUR_LATER).is_none());
    assert_eq!(events(&mut s), ["TokensChanged", "reauthorization-required no_refresh_token"]);
}

#[test]
fn the_apps_token_is_obtained_again_by_client_credentials() {
    let mut s = session_with(provider("yuvo"), &token_json("app", None, Some(HOUR_LATER.as_unix_secs()), "yuvo"));
    assert_eq!(s.poll_timeout(), Some(HOUR_LATER.minus_secs(60)));
    s.handle_timeout(HOUR_LATER.minus_secs(60));
    let (id, req) = s.poll_transmit(HOUR_LATER.minus_secs(60)).unwrap();
    assert_eq!(req.form_value("grant_type"), Some("client_credentials"));
    s.handle_response(HOUR_LATER, id, json(200, r#"{"access_token":"APP2","token_type":"bearer","expires_in":60}"#))
        .unwrap();
    assert_eq!(events(&mut s), ["TokensChanged"]);
    assert_eq!(s.tokens().unwrap().identity, Identity::App);
    // A user's login on the app's account is refused.
    assert_eq!(s.start_authorization(HOUR_LATER).unwrap_err().kind(), ErrorKind::IdentityMismatch);
}

#[test]
fn the_token_goes_only_to_the_profiles_api() {
    let yespo = provider("yespo");
    let tokens = token_json("user", Some("RT"), None, "yespo");
    let rights = yespo.rights_from_ids(["full_api"]).unwrap();
    for with_rights in [false, true] {
        let mut s = session_with(yespo.clone(), &tokens);
        if with_rights {
            s = s.with_rights(rights);
            s.set_tokens(Some(TokenSet::from_json(&tokens).unwrap())).unwrap();
        }
        for path in [
            "http://other.example/x",
            "https://other.example/api/v1/contacts",
            "//evil.example/x",
            "\\\\evil.example\\x",
            "/\\evil.example/x",
            "https://user:pw@yespo.io/api/v1/contacts",
            "https://yespo.io@evil.example/api/v1/contacts",
            "http://yespo.io/api/v1/contacts",
            "https://yespo.io:8443/api/v1/contacts",
            "ftp://yespo.io/api/v1/contacts",
            "javascript:alert(1)",
            "https://yespo.io/admin",
            "/admin",
            "../../admin",
            "%2e%2e/%2e%2e/admin",
            "contacts\r\nX-Injected: 1",
        ] {
            let e = s.api_request(T0, Method::Get, path, None).expect_err(path);
            assert!(
                matches!(e.kind(), ErrorKind::OriginRefused | ErrorKind::PathRejected | ErrorKind::UnknownEndpoint),
                "{path} (rights: {with_rights}): {e}"
            );
            if !with_rights {
                assert_eq!(e.kind(), ErrorKind::OriginRefused, "{path}: {e}");
            }
            assert_eq!(e.blame(), Blame::Local);
            assert!(!e.to_string().contains("pw"), "no user info quoted: {e}");
        }
        for (path, url) in [
            ("contacts", "https://yespo.io/api/v1/contacts"),
            ("/api/v2/version", "https://yespo.io/api/v2/version"),
            ("https://yespo.io/api/v1/contacts?limit=5", "https://yespo.io/api/v1/contacts?limit=5"),
            ("contacts#part", "https://yespo.io/api/v1/contacts"),
        ] {
            let (_, req) = s.api_request(T0, Method::Get, path, None).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(req.url().as_str(), url);
            assert_eq!(req.header_value("Authorization"), Some("Bearer AT-1234567890"));
        }
    }
    // An explicit opt-in sends it to one more origin, any path.
    let opted = yespo.with_overrides("[api]\nsend_token_to = [\"https://files.yespo.test\"]\n", "t").unwrap();
    let mut s = session_with(opted, &tokens);
    assert!(s.api_request(T0, Method::Get, "https://files.yespo.test/export/1.csv", None).is_ok());
    assert!(s.api_request(T0, Method::Get, "https://files.yespo.test:444/x", None).is_err());
    let e = yespo.with_overrides("[api]\nsend_token_to = [\"https://files.yespo.test/path\"]\n", "t").unwrap_err();
    assert!(e.to_string().contains("api.send_token_to[0]"), "{e}");
    // No [api] table: nowhere.
    let mut s = session_with(yotpo(), &token_json("user", None, None, "yotpo"));
    let e = s.api_request(T0, Method::Get, "https://api.yotpo.com/x", None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
}

fn drive_refresh(s: &mut Session, now: Timestamp, answers: &mut Vec<Result<HttpResponse, TransportError>>) -> usize {
    let mut sent = 0;
    let mut now = now;
    loop {
        while let Some((id, _)) = s.poll_transmit(now) {
            sent += 1;
            match answers.remove(0) {
                Ok(r) => s.handle_response(now, id, r).unwrap(),
                Err(e) => s.handle_transport_error(now, id, e).unwrap(),
            }
        }
        match s.poll_timeout() {
            Some(t) if s.is_busy() => {
                now = t;
                s.handle_timeout(now);
            }
            _ => return sent,
        }
    }
}

#[test]
fn retries_are_bounded_and_saturating() {
    let tokens = token_json("user", Some("RT"), Some(HOUR_LATER.as_unix_secs()), "yuvo");
    let busy = |ra: &str| Ok(HttpResponse::new(429, "busy").with_header("Retry-After", ra));
    let ok = || Ok(json(200, r#"{"access_token":"NEW","token_type":"bearer"}"#));
    let unsent = || Err(TransportError::Connect { host: "h".into(), reason: "refused".into() });
    let sent = || Err(TransportError::Timeout { host: "h".into(), phase: "response" });
    type Answers = Vec<Result<HttpResponse, TransportError>>;
    let cases: Vec<(Answers, usize, &str)> = vec![
        (vec![busy("1"), busy("18446744073709551615")], 2, "failed protocol"),
        (vec![busy("99999999999999999999999"), ok()], 1, "failed protocol"),
        (vec![busy("20"), busy("20")], 2, "failed protocol"),
        (vec![busy("10"), busy("10"), ok()], 3, "TokensChanged"),
        (vec![busy("0"), busy("0"), busy("0")], 3, "failed protocol"),
        (vec![busy("soon"), ok()], 1, "failed protocol"),
        (vec![unsent(), unsent(), ok()], 3, "TokensChanged"),
        (vec![unsent(), unsent(), unsent()], 3, "failed transport"),
        (vec![sent(), ok()], 1, "failed transport"),
    ];
    for (mut answers, tries, outcome) in cases {
        let shown = format!("{answers:?}");
        let mut s = session_with(provider("yuvo"), &tokens);
        s.refresh(T0).unwrap();
        assert_eq!(s.refresh(T0).unwrap_err().kind(), ErrorKind::Busy);
        assert_eq!(drive_refresh(&mut s, T0, &mut answers), tries, "{shown}");
        assert_eq!(events(&mut s), [outcome], "{shown}");
        assert!(!s.is_busy());
    }
}

#[test]
fn answers_are_matched_to_their_request() {
    let mut s = session_with(provider("yuvo"), &token_json("user", Some("RT"), None, "yuvo"));
    s.refresh(T0).unwrap();
    let (id, _) = s.poll_transmit(T0).unwrap();
    assert!(s.poll_transmit(T0).is_none(), "one request in flight");
    // An id this session never gave: another session's second request.
    let mut t = session_with(provider("yuvo"), &token_json("user", Some("RT"), None, "yuvo"));
    t.refresh(T0).unwrap();
    let (first, _) = t.poll_transmit(T0).unwrap();
    t.handle_transport_error(T0, first, TransportError::Connect { host: "h".into(), reason: "x".into() }).unwrap();
    let (other, _) = t.poll_transmit(T0).unwrap();
    assert_ne!(id, other);
    let e = s.handle_response(T0, other, HttpResponse::new(200, "")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    s.handle_response(T0, id, json(200, r#"{"access_token":"NEW","token_type":"bearer"}"#)).unwrap();
    assert_eq!(s.handle_response(T0, id, HttpResponse::new(200, "")).unwrap_err().kind(), ErrorKind::Usage);
}

#[test]
fn a_refresh_token_past_its_lifetime_is_not_sent() {
    let mut t = TokenSet::from_json(&token_json("user", Some("RT"), Some(HOUR_LATER.as_unix_secs()), "yespo")).unwrap();
    t.refresh_expires_at = Some(HOUR_LATER.minus_secs(10));
    let mut s = Session::new(provider("yespo"), client());
    s.set_tokens(Some(t)).unwrap();
    let e = s.api_request(HOUR_LATER, Method::Get, "contacts", None).unwrap_err();
    assert_eq!(e.reauthorization_reason(), Some(ReauthorizationReason::RefreshTokenExpired), "{e}");
    assert!(e.to_string().contains("the refresh token has passed its lifetime"), "{e}");
    assert_eq!(s.refresh(HOUR_LATER).unwrap_err().kind(), ErrorKind::ReauthorizationRequired);
    assert!(s.poll_transmit(HOUR_LATER).is_none());
    assert_eq!(events(&mut s), ["TokensChanged", "reauthorization-required refresh_token_expired"]);
}

#[test]
fn a_session_for_one_store_refuses_anothers_install_and_tokens() {
    let p = yotpo();
    let mut s = Session::new(p.clone(), client()).with_account("STORE1");
    let AuthorizationStart { pending, .. } = s.start_authorization(T0).unwrap();
    let mut copy = PendingAuthorization::from_json(&pending.to_json()).unwrap();
    let state = copy.state().expose_secret().to_owned();
    let e = s.handle_callback(T0, &mut copy, &format!("{REDIRECT}?code=C&state={state}&app_key=STORE2")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::IdentityMismatch, "{e}");
    assert!(e.to_string().contains("STORE2") && e.to_string().contains("STORE1"), "{e}");
    assert!(s.poll_transmit(T0).is_none(), "the code was not exchanged");
    let mut other = TokenSet::from_json(&token_json("user", None, None, "yotpo")).unwrap();
    other.params.insert("app_key".into(), "STORE2".into());
    assert_eq!(s.set_tokens(Some(other)).unwrap_err().kind(), ErrorKind::IdentityMismatch);
    let mut yuvo = TokenSet::from_json(&token_json("user", None, None, "yuvo")).unwrap();
    yuvo.params.clear();
    assert_eq!(s.set_tokens(Some(yuvo)).unwrap_err().kind(), ErrorKind::Usage, "another provider's");
}

#[test]
fn extra_authorization_parameters_are_sent() {
    let p = provider("yuvo")
        .with_overrides(
            "[authorization.extra_params]\nprompt = \"consent\"\nresource = \"https://api.example/\"\n",
            "t",
        )
        .unwrap();
    let mut s = Session::new(p.clone(), client());
    let url = url::Url::parse(&s.start_authorization(T0).unwrap().url).unwrap();
    let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert!(q.contains(&("prompt".into(), "consent".into())), "{q:?}");
    assert!(q.contains(&("resource".into(), "https://api.example/".into())), "{q:?}");
    for (over, field) in [
        ("[authorization.extra_params]\nstate = \"x\"\n", "authorization.extra_params.state"),
        ("[authorization.extra_params]\n\"bad name\" = \"x\"\n", "authorization.extra_params.bad name"),
    ] {
        let e = p.with_overrides(over, "t").unwrap_err().to_string();
        assert!(e.contains(field), "{e}");
    }
    let e = yotpo().with_overrides("[authorization.extra_params]\nprompt = \"consent\"\n", "t").unwrap_err();
    assert!(e.to_string().contains("install link"), "{e}");
}

#[test]
fn fewer_scopes_than_asked_are_reported_and_kept() {
    let p = provider("yuvo").with_overrides("[authorization]\nscopes = [\"read\", \"write\"]\n", "t").unwrap();
    let mut s = Session::new(p, client());
    let AuthorizationStart { mut pending, .. } = s.start_authorization(T0).unwrap();
    let state = pending.state().expose_secret().to_owned();
    s.handle_callback(T0, &mut pending, &format!("{REDIRECT}?code=C&state={state}")).unwrap();
    let (id, _) = s.poll_transmit(T0).unwrap();
    s.handle_response(T0, id, json(200, r#"{"access_token":"A","token_type":"bearer","scope":"read"}"#)).unwrap();
    match (s.poll_event(), s.poll_event()) {
        (Some(Event::TokensChanged), Some(Event::ScopesNarrowed { requested, granted })) => {
            assert_eq!(requested, ["read", "write"]);
            assert_eq!(granted, ["read"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.tokens().unwrap().scopes, ["read"]);
}

#[test]
fn token_sets_and_pending_authorizations_round_trip_and_refuse_newer_versions() {
    let mut t = TokenSet::from_json(&token_json("app", Some("RT-abcdef"), Some(5), "yespo")).unwrap();
    t.invalidated = Some(ReauthorizationReason::RepeatedUnauthorized { count: 3 });
    t.consecutive_401 = 3;
    t.params.insert("app_key".into(), "S1".into());
    t.authorization_code = Some(AuthorizationCode::new("CODE"));
    assert_eq!(TokenSet::from_json(&t.to_json()).unwrap(), t);

    let mut s = Session::new(provider("yuvo"), client());
    let AuthorizationStart { pending, .. } = s.start_authorization(T0).unwrap();
    let text = pending.to_json();
    let mut restored = PendingAuthorization::from_json(&text).unwrap();
    assert_eq!(restored.to_json(), text);
    let state = restored.state().expose_secret().to_owned();
    s.handle_callback(T0.plus_secs(5), &mut restored, &format!("{REDIRECT}?code=C&state={state}")).unwrap();
    let mut used = PendingAuthorization::from_json(&restored.to_json()).unwrap();
    assert!(used.is_used());
    let e = used.handle_callback(T0, &format!("{REDIRECT}?code=C&state={state}")).unwrap_err();
    assert_eq!(e, CallbackError::AlreadyUsed);

    let newer = t.to_json().replace("\"version\":1", "\"version\":2");
    let e = TokenSet::from_json(&newer).unwrap_err();
    assert!(matches!(e, SerialError::NewerVersion { found: 2, supported: 1, .. }), "{e}");
    assert!(e.to_string().contains("upgrade scopegate"), "{e}");
    assert_eq!(Error::from(e).kind(), ErrorKind::Serialization);
    let e = PendingAuthorization::from_json(&t.to_json()).unwrap_err();
    assert!(matches!(e, SerialError::WrongFormat { .. }), "{e}");
    assert!(matches!(TokenSet::from_json("not json").unwrap_err(), SerialError::NotJson { .. }));
    let bad = t.to_json().replace("\"issued_at\":1800000000", "\"issued_at\":\"SECRET-IN-A-FIELD\"");
    let e = TokenSet::from_json(&bad).unwrap_err();
    assert!(!e.to_string().contains("SECRET-IN-A-FIELD"), "values are never quoted: {e}");
    assert!(e.to_string().contains("issued_at"), "{e}");
}

#[test]
fn errors_have_stable_kinds_blame_and_no_secret() {
    let mut s = session_with(provider("yuvo"), &token_json("user", Some("RT-echoed-back-9"), None, "yuvo"));
    s.refresh(T0).unwrap();
    let (id, _) = s.poll_transmit(T0).unwrap();
    let echo = r#"{"error":"invalid_grant","error_description":"Invalid refresh token: RT-echoed-back-9"}"#;
    s.handle_response(T0, id, json(400, echo)).unwrap();
    let failed = std::iter::from_fn(|| s.poll_event()).find_map(|e| match e {
        Event::Failed(e) => Some(e),
        _ => None,
    });
    let e = failed.unwrap();
    assert_eq!(e.kind(), ErrorKind::ReauthorizationRequired);
    assert_eq!(e.kind().code(), 7);
    assert_eq!(e.blame(), Blame::Remote);
    let oauth = e.oauth().unwrap();
    assert_eq!((oauth.code.as_str(), oauth.status), ("invalid_grant", 400));
    let description = oauth.description.as_deref().unwrap();
    assert_eq!(description, "Invalid refresh token: [redacted]");
    assert!(!format!("{e} {e:?}").contains("RT-echoed-back-9"));
    assert_eq!(e.http_status(), Some(400));

    let e = Error::from(UsageError::MissingClientSecret { provider: "x".into() });
    assert_eq!((e.kind(), e.blame()), (ErrorKind::Config, Blame::Local));
    let e = Error::from(TransportError::Connect { host: "h".into(), reason: "r".into() });
    assert_eq!((e.kind(), e.blame()), (ErrorKind::Transport, Blame::Environment));
    let e = Error::from(CallbackError::StateMismatch);
    assert_eq!((e.kind(), e.blame()), (ErrorKind::Callback, Blame::Remote));
    let refused = TokenResponseError::Refused(OAuthError {
        status: 401,
        code: TokenErrorCode::InvalidClient,
        description: None,
        uri: None,
    });
    let e = Error::from(refused);
    assert_eq!((e.kind(), e.blame()), (ErrorKind::TokenRefused, Blame::Local), "invalid_client: our credentials");
}

#[test]
fn revocation_ends_the_session_or_keeps_the_token() {
    let p = provider("yuvo")
        .with_overrides("[revocation]\nkind = \"rfc7009\"\nurl = \"https://api.yuvohub.com/oauth/revoke\"\n", "t")
        .unwrap();
    let tokens = token_json("user", Some("RT"), None, "yuvo");
    let mut s = session_with(p.clone(), &tokens);
    s.revoke(T0).unwrap();
    let (id, req) = s.poll_transmit(T0).unwrap();
    assert_eq!(req.form_value("token"), Some("RT"));
    s.handle_response(T0, id, HttpResponse::new(400, r#"{"error":"unsupported_token_type"}"#)).unwrap();
    assert_eq!(events(&mut s), ["failed revocation_refused"]);
    assert!(s.tokens().is_some(), "kept");
    s.revoke(T0).unwrap();
    let (id, _) = s.poll_transmit(T0).unwrap();
    s.handle_response(T0, id, HttpResponse::new(200, "")).unwrap();
    assert_eq!(events(&mut s), ["Revoked(Done)"]);
    assert!(s.tokens().is_none());
    assert_eq!(s.api_request(T0, Method::Get, "companies", None).unwrap_err().kind(), ErrorKind::NotAuthorized);
}

/// Issue "nothing lost", finding 1: a token whose whole lifetime is shorter than the margin was
/// due the moment it arrived, so `poll_timeout` was in the past right after every refresh and a
/// driver following the timer refreshed in a tight loop. The effective margin is
/// min(margin, lifetime / 2).
#[test]
fn a_token_shorter_than_the_margin_is_due_at_half_its_lifetime() {
    let p = provider("yuvo"); // margin 60 s
    let mut s = Session::new(p, client());
    let issued_30s = token_json("user", Some("RT-1234567890"), Some(T0.as_unix_secs() + 30), "yuvo");
    s.set_tokens(Some(TokenSet::from_json(&issued_30s).unwrap())).unwrap();
    assert!(!s.needs_refresh(T0), "not due when it arrives");
    assert!(!s.needs_refresh(T0.plus_secs(14)));
    assert!(s.needs_refresh(T0.plus_secs(15)), "due at half its lifetime");
    assert_eq!(s.poll_timeout(), Some(T0.plus_secs(15)));
    // Right after a successful refresh the timer is ahead, never in the past.
    let now = T0.plus_secs(15);
    s.handle_timeout(now);
    let (id, _) = s.poll_transmit(now).unwrap_or_else(|| panic!("the refresh: {:?}", events(&mut s)));
    let answer =
        r#"{"access_token":"AT-next-123456","token_type":"Bearer","expires_in":30,"refresh_token":"RT-next-123456"}"#;
    s.handle_response(now, id, HttpResponse::new(200, answer)).unwrap();
    assert!(s.poll_timeout().unwrap() > now, "{:?} is not after {now:?}", s.poll_timeout());
    assert_eq!(s.poll_timeout(), Some(now.plus_secs(15)));
    // A long-lived token keeps the full margin.
    let hour = token_json("user", Some("RT-1234567890"), Some(T0.as_unix_secs() + 3600), "yuvo");
    s.set_tokens(Some(TokenSet::from_json(&hour).unwrap())).unwrap();
    assert_eq!(s.poll_timeout(), Some(T0.plus_secs(3600 - 60)));
}

/// Issue 18: `forget` while a refresh is in flight is refused like `set_tokens`; the answer that
/// comes back afterwards must not bring a forgotten token set back.
#[test]
fn forget_is_refused_while_a_request_is_in_flight() {
    let tokens = token_json("user", Some("RT"), Some(HOUR_LATER.as_unix_secs()), "yuvo");
    let mut s = session_with(provider("yuvo"), &tokens);
    s.refresh(T0).unwrap();
    let (id, _) = s.poll_transmit(T0).unwrap();
    let e = s.forget().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Busy, "{e}");
    assert_eq!(s.tokens().unwrap().access_token.expose_secret(), "AT-1234567890", "still held");
    s.handle_response(T0, id, json(200, r#"{"access_token":"NEW","token_type":"bearer","refresh_token":"RT2"}"#))
        .unwrap();
    assert_eq!(events(&mut s), ["TokensChanged"]);
    assert_eq!(s.tokens().unwrap().access_token.expose_secret(), "NEW");
    // Idle again: forgotten for good, and nothing comes back.
    assert!(s.forget().unwrap());
    assert!(s.tokens().is_none());
    assert!(!s.forget().unwrap(), "nothing left to forget");
    assert!(s.poll_transmit(T0).is_none());
    assert!(events(&mut s).is_empty());
    // A refused login's pending operation (an exchange in flight) is refused the same way.
    let mut s = session_with(provider("yuvo"), &tokens);
    let AuthorizationStart { mut pending, .. } = s.start_authorization(T0).unwrap();
    let state = pending.state().expose_secret().to_owned();
    s.handle_callback(T0, &mut pending, &format!("?code=C&state={state}")).unwrap();
    assert_eq!(s.forget().unwrap_err().kind(), ErrorKind::Busy);
}

/// Issue 18: no error quotes the user info of a URL the caller gave, whichever check refuses it
/// (a backslash, a space, a parse failure, the origin, the rights matrix).
#[test]
fn errors_never_quote_user_info() {
    let yespo = provider("yespo");
    let tokens = token_json("user", Some("RT"), None, "yespo");
    let rights = yespo.rights_from_ids(["full_api"]).unwrap();
    for with_rights in [false, true] {
        let mut s = session_with(yespo.clone(), &tokens);
        if with_rights {
            s = s.with_rights(rights);
            s.set_tokens(Some(TokenSet::from_json(&tokens).unwrap())).unwrap();
        }
        for path in [
            "https://u:S3CRETPW@h\\x",
            "https:\\\\u:S3CRETPW@yespo.io\\api",
            "https://u:S3CRETPW@yespo.io/api/v1/contacts x",
            "https://u:S3CRETPW@[bad/api/v1/contacts",
            "https://u:S3CRETPW@yespo.io:99999/api/v1/contacts",
            "//u:S3CRETPW@yespo.io/api/v1/contacts",
            "https://S3CRETPW@yespo.io/api/v1/contacts",
            "https://u:S3CRETPW@yespo.io/api/v1/nowhere",
            "https://a@b:S3CRETPW@yespo.io/api/v1/contacts",
        ] {
            let e = s.api_request(T0, Method::Get, path, None).expect_err(path);
            let text = format!("{e} {e:?}");
            assert!(!text.contains("S3CRETPW"), "{path} (rights: {with_rights}) quoted: {text}");
        }
    }
    // The rest of the URL is still quoted, to say what was refused.
    let mut s = session_with(yespo, &tokens);
    let e = s.api_request(T0, Method::Get, "https://u:S3CRETPW@h\\x", None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OriginRefused);
    assert!(e.to_string().contains("https://h\\x"), "{e}");
}
