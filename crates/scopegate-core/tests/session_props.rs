//! Random sequences of commands, answers and timeouts: the session never panics, never puts the
//! bearer token on a request outside the profile's API, and never reports new tokens of another
//! identity (user or app, account) than the ones it held.

mod common;

use common::*;
use proptest::prelude::*;
use scopegate_core::prelude::*;

const PROFILE: &str = r#"
extends = "yuvo"
id = "prop"
[callback]
keep = ["acct"]
require = ["acct"]
account = "acct"
[revocation]
kind = "rfc7009"
url = "https://api.yuvohub.com/oauth/revoke"
[lifecycle]
reinstall_after_consecutive_401 = 3
refresh_margin_secs = 30
"#;

const PATHS: [&str; 12] = [
    "companies",
    "/companies/7",
    "https://api.yuvohub.com/companies",
    "https://evil.example/companies",
    "//evil.example/x",
    "\\\\evil.example\\x",
    "/\\evil.example/x",
    "https://u:p@api.yuvohub.com/x",
    "http://api.yuvohub.com/x",
    "../../../x",
    "%2e%2e/x",
    "https://api.yuvohub.com:444/x",
];

#[derive(Clone, Debug)]
enum Op {
    Login { good_state: bool, account: u8 },
    ClientCredentials,
    Refresh,
    Revoke,
    Forget,
    Api { path: usize },
    ApiAnswer { status: u16 },
    Transmit { answer: usize },
    Timeout { advance: u64 },
    Reload,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<bool>(), 0u8..3).prop_map(|(good_state, account)| Op::Login { good_state, account }),
        Just(Op::ClientCredentials),
        Just(Op::Refresh),
        Just(Op::Revoke),
        Just(Op::Forget),
        (0..PATHS.len()).prop_map(|path| Op::Api { path }),
        prop_oneof![Just(200u16), Just(401), Just(403), Just(500)].prop_map(|status| Op::ApiAnswer { status }),
        (0..12usize).prop_map(|answer| Op::Transmit { answer }),
        prop_oneof![0u64..120, 3000u64..4000, Just(u64::MAX / 2)].prop_map(|advance| Op::Timeout { advance }),
        Just(Op::Reload),
    ]
}

fn answer(i: usize, n: u32) -> Result<HttpResponse, TransportError> {
    let ok = |body: String| Ok(HttpResponse::new(200, body));
    match i {
        0 => {
            ok(format!(r#"{{"access_token":"AT{n}","token_type":"Bearer","expires_in":3600,"refresh_token":"RT{n}"}}"#))
        }
        1 => ok(format!(r#"{{"access_token":"AT{n}","token_type":"Bearer","expires_in":60}}"#)),
        2 => Ok(HttpResponse::new(400, r#"{"error":"invalid_grant"}"#)),
        3 => Ok(HttpResponse::new(429, "").with_header("Retry-After", "7")),
        4 => Ok(HttpResponse::new(503, "").with_header("Retry-After", "18446744073709551615")),
        5 => Ok(HttpResponse::new(500, "oops")),
        6 => Ok(HttpResponse::new(302, "").with_header("Location", "https://evil.example/")),
        7 => Err(TransportError::Connect { host: "h".into(), reason: "refused".into() }),
        8 => Err(TransportError::Timeout { host: "h".into(), phase: "response" }),
        9 => Ok(HttpResponse::new(200, "not json")),
        10 => Ok(HttpResponse::new(401, r#"{"error":"invalid_client"}"#)),
        _ => ok(format!(r#"{{"access_token":"AT{n}","token_type":"Bearer","scope":"x y"}}"#)),
    }
}

/// Whose tokens: the identity and the account parameter.
type Whose = (Identity, Option<String>);

fn whose(s: &Session) -> Option<Whose> {
    s.tokens().map(|t| (t.identity, t.params.get("acct").cloned()))
}

fn bearer_is_inside(req: &HttpRequest) -> bool {
    let Some(auth) = req.header_value("Authorization") else { return true };
    if !auth.starts_with("Bearer") {
        return true;
    }
    let u = req.url();
    u.scheme() == "https"
        && u.host_str() == Some("api.yuvohub.com")
        && u.port().is_none()
        && u.username().is_empty()
        && u.password().is_none()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_use_keeps_every_rule(ops in proptest::collection::vec(op(), 1..60), named in any::<bool>()) {
        let p = Provider::from_toml_str(PROFILE, "prop").unwrap();
        let mut s = Session::new(p, client());
        if named {
            s = s.with_account("acct0");
        }
        let mut now = T0;
        let mut n = 0u32;
        let mut last_api = None;
        let mut held: Option<Whose> = None;
        for op in ops {
            n += 1;
            match op {
                Op::Login { good_state, account } => {
                    if let Ok(AuthorizationStart { mut pending, .. }) = s.start_authorization(now) {
                        let state = if good_state { pending.state().expose_secret().to_owned() } else { "forged".into() };
                        let cb = format!("{REDIRECT}?code=C{n}&state={state}&acct=acct{account}");
                        let _ = s.handle_callback(now, &mut pending, &cb);
                    }
                }
                Op::ClientCredentials => { let _ = s.client_credentials(&[]); }
                Op::Refresh => { let _ = s.refresh(now); }
                Op::Revoke => { let _ = s.revoke(now); }
                Op::Forget => { let _ = s.forget(); }
                Op::Api { path } => {
                    if let Ok((id, req)) = s.api_request(now, Method::Get, PATHS[path], None) {
                        prop_assert!(bearer_is_inside(&req), "bearer sent outside: {}", req.url());
                        prop_assert!(req.header_value("Authorization").is_some());
                        last_api = Some(id);
                    }
                }
                Op::ApiAnswer { status } => {
                    if let Some(id) = last_api {
                        let _ = s.handle_api_response(id, status);
                    }
                }
                Op::Transmit { answer: i } => {
                    if let Some((id, req)) = s.poll_transmit(now) {
                        prop_assert!(bearer_is_inside(&req), "bearer sent outside: {}", req.url());
                        prop_assert!(!req.follow_redirects());
                        match answer(i, n) {
                            Ok(r) => s.handle_response(now, id, r).unwrap(),
                            Err(e) => s.handle_transport_error(now, id, e).unwrap(),
                        }
                    }
                }
                Op::Timeout { advance } => {
                    now = now.plus_secs(advance);
                    s.handle_timeout(now);
                }
                Op::Reload => {
                    let copy = s.tokens().map(|t| TokenSet::from_json(&t.to_json()).unwrap());
                    prop_assert_eq!(copy.as_ref(), s.tokens());
                    let _ = s.set_tokens(copy);
                }
            }
            while let Some(e) = s.poll_event() {
                if let Event::TokensChanged = e {
                    let now_whose = whose(&s);
                    prop_assert!(now_whose.is_some(), "tokens changed to nothing");
                    if let Some(before) = &held {
                        prop_assert_eq!(Some(before), now_whose.as_ref(), "another identity's tokens");
                    }
                    if let (true, Some((Identity::User, acct))) = (named, &now_whose) {
                        prop_assert_eq!(acct.as_deref(), Some("acct0"), "the named account only");
                    }
                }
            }
            held = whose(&s);
        }
    }
}
