//! The sandbox's `/specs` server with its failures, through the `Session` (driven by hand on the
//! sandbox's clock) and the blocking `Client`: a wrong `aud`, a missing DPoP nonce (token
//! endpoint and resource), `slow_down`, an expired `request_uri`; and the flows that work.

mod specs_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use scopegate::Transport as _;
use scopegate::{Client, MemoryStore};
use scopegate_core::device::DeviceError;
use scopegate_core::par::ParError;
use scopegate_core::prelude::*;
use scopegate_sandbox::{Consent, Sandbox};
use specs_support::{client, discovered, sandbox};
use url::Url;

fn provider(sb: &Sandbox, overrides: &str) -> Provider {
    let p = discovered(sb);
    let api = format!("[api]\nbase_url = \"{}/api/\"\n", sb.specs_issuer());
    p.with_overrides(&format!("{api}{overrides}"), "test").unwrap()
}

/// Sends what the session asks for at `now` until it asks for nothing; returns the events.
fn run(sb: &Sandbox, s: &mut Session, now: Timestamp) -> Vec<Event> {
    while let Some((id, req)) = s.poll_transmit(now) {
        let resp = sb.transport().send(&req).unwrap();
        s.handle_response(now, id, resp).unwrap();
    }
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn failure(events: &[Event]) -> &Error {
    match events {
        [.., Event::Failed(e)] => e,
        other => panic!("no failure: {other:?}"),
    }
}

#[test]
fn a_wrong_aud_is_refused_as_the_callers_configuration() {
    let sb = sandbox();
    // The profile names another issuer as the assertion's audience: the server refuses it.
    let p = provider(
        &sb,
        "[authorization]\nissuer = \"https://elsewhere.example\"\n[token]\nclient_auth = \"private_key_jwt\"\nassertion_audience = \"issuer\"\n",
    );
    let c = ClientConfig::new("specs-jwt").unwrap().with_client_key(sb.specs_client_key());
    let mut s = Session::new(p, c.clone());
    s.client_credentials(&[]).unwrap();
    let events = run(&sb, &mut s, sb.now());
    let e = failure(&events);
    assert_eq!(e.kind(), ErrorKind::TokenRefused, "{e}");
    assert_eq!(e.oauth().unwrap().code.as_str(), "invalid_client");
    assert_eq!(e.blame(), Blame::Local);
    assert!(s.tokens().is_none());
    assert_eq!(sb.specs_counters().assertions_refused, 1);
    // The token endpoint as audience: accepted, and every refresh signs a fresh assertion.
    let mut s = Session::new(provider(&sb, "[token]\nclient_auth = \"private_key_jwt\"\n"), c);
    s.client_credentials(&[]).unwrap();
    assert!(matches!(run(&sb, &mut s, sb.now()).as_slice(), [Event::TokensChanged]));
    s.refresh(sb.now()).unwrap();
    assert!(matches!(run(&sb, &mut s, sb.now()).as_slice(), [Event::TokensChanged]), "a new jti, not a replay");
}

#[test]
fn a_missing_dpop_nonce_is_answered_once_at_the_token_endpoint_and_the_resource() {
    let sb = sandbox();
    let p = provider(&sb, "[dpop]\nrequired = true\n");
    let mut s = Session::new(p.clone(), client("specs-dpop"));
    s.client_credentials(&[]).unwrap();
    assert!(matches!(run(&sb, &mut s, sb.now()).as_slice(), [Event::TokensChanged]));
    assert_eq!(sb.specs_counters().token_nonce_challenges, 1);
    let t = s.tokens().unwrap().clone();
    assert_eq!(t.token_type, "DPoP");
    // The resource: the nonce round trip, then 200.
    let now = sb.now();
    let (id, req) = s.api_request(now, Method::Get, "me", None).unwrap();
    assert!(req.header_value("Authorization").unwrap().starts_with("DPoP "));
    let resp = sb.transport().send(&req).unwrap();
    assert_eq!(s.handle_api_answer(id, &req, &resp), NextStep::RetryWithNonce);
    let (id, req) = s.api_request(now, Method::Get, "me", None).unwrap();
    let resp = sb.transport().send(&req).unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(s.handle_api_answer(id, &req, &resp), NextStep::Done);
    assert_eq!(sb.specs_counters().resource_nonce_challenges, 1);
    // As Bearer the server would refuse it; the session never sends it so.
    let bearer = HttpRequest::new(Method::Get, req.url().clone()).with_bearer(&t.access_token);
    assert_eq!(sb.transport().send(&bearer).unwrap().status(), 401);
    // A refresh proves the same key, with the nonce kept: no new challenge.
    s.refresh(sb.now()).unwrap();
    assert!(matches!(run(&sb, &mut s, sb.now()).as_slice(), [Event::TokensChanged]));
    assert_eq!(s.tokens().unwrap().dpop_key, t.dpop_key);
    assert_eq!(sb.specs_counters().token_nonce_challenges, 1);
}

#[test]
fn slow_down_widens_the_interval_then_the_device_login_completes() {
    let sb = sandbox();
    let p = provider(&sb, "");
    let mut s = Session::new(p, client("specs-client"));
    s.start_device_authorization(sb.now(), None).unwrap();
    let events = run(&sb, &mut s, sb.now());
    let code = match events.as_slice() {
        [Event::UserCode(c)] => c.clone(),
        other => panic!("{other:?}"),
    };
    // The session polls at the interval of its clock; the server's stands still (a session
    // clock running ahead): the poll is too soon for the server, which says slow_down.
    let first = s.poll_timeout().unwrap();
    s.handle_timeout(first);
    assert!(run(&sb, &mut s, first).is_empty(), "slow_down: polling goes on");
    assert_eq!(sb.specs_counters().slow_downs, 1);
    let next = s.poll_timeout().unwrap();
    assert_eq!(next.secs_since(first), 10, "the interval grew from 5 to 10 s");
    // The user approves on the other device; the next poll gets the tokens.
    let page = sb.transport().send(&HttpRequest::new(Method::Get, code.uri().clone())).unwrap();
    assert_eq!(page.status(), 200);
    sb.advance(15);
    s.handle_timeout(next);
    assert!(matches!(run(&sb, &mut s, next).as_slice(), [Event::TokensChanged]));
    assert!(s.tokens().unwrap().refresh_token.is_some());
    // Refused on the other device: access_denied, typed.
    sb.set_consent(Consent::AutoDeny);
    let mut s = Session::new(provider(&sb, ""), client("specs-client"));
    s.start_device_authorization(sb.now(), None).unwrap();
    let code = match run(&sb, &mut s, sb.now()).as_slice() {
        [Event::UserCode(c)] => c.clone(),
        other => panic!("{other:?}"),
    };
    sb.transport().send(&HttpRequest::new(Method::Get, code.uri().clone())).unwrap();
    sb.advance(5);
    let at = s.poll_timeout().unwrap();
    s.handle_timeout(at);
    let events = run(&sb, &mut s, at);
    assert!(matches!(failure(&events), Error::Device(DeviceError::AccessDenied)));
    // Nobody approves in time: expired_token from the server, typed (the answer was handed in
    // 10 s after the server made it, so the session's own expiry comes later than the server's).
    let mut s = Session::new(provider(&sb, ""), client("specs-client"));
    s.start_device_authorization(sb.now(), None).unwrap();
    run(&sb, &mut s, sb.now().plus_secs(10));
    sb.advance(301);
    let at = sb.now();
    s.handle_timeout(at);
    let events = run(&sb, &mut s, at);
    assert_eq!(failure(&events).kind(), ErrorKind::AuthorizationExpired, "{events:?}");
    assert!(!s.is_busy());
}

#[test]
fn an_expired_request_uri_is_refused_locally_and_by_the_server() {
    let sb = sandbox();
    let p = provider(&sb, "[authorization]\npar = true\n");
    let mut s = Session::new(p.clone(), client("specs-par"));
    let start = s.start_authorization(sb.now()).unwrap();
    let url = match run(&sb, &mut s, sb.now()).as_slice() {
        [Event::AuthorizationReady { url, .. }] => url.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(sb.specs_counters().pushed, 1);
    sb.advance(61);
    let err = s.authorization_url(sb.now()).unwrap_err();
    assert!(matches!(err, Error::Par(ParError::Expired { .. })), "{err}");
    assert_eq!(err.kind(), ErrorKind::AuthorizationExpired);
    // A browser that goes there anyway comes back with the server's refusal.
    let resp = sb.transport().send(&HttpRequest::new(Method::Get, Url::parse(&url).unwrap())).unwrap();
    let callback = resp.header("location").unwrap().to_owned();
    let mut pending = start.pending;
    let err = s.handle_callback(sb.now(), &mut pending, &callback).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthorizationDenied, "{err}");
    assert_eq!(err.authorization_error().unwrap().code.as_str(), "invalid_request_uri");
    assert_eq!(sb.specs_counters().expired_request_uris, 1);
}

fn sandbox_client(sb: &Sandbox, p: Provider, c: ClientConfig) -> Client {
    let clock = sb.clock();
    Client::new(p, c, Arc::new(sb.transport()), Arc::new(MemoryStore::new()), "default").with_clock(move || clock.now())
}

#[test]
fn the_client_pushes_logs_in_and_calls_with_dpop() {
    let sb = sandbox();
    // PAR: the URL the client hands out carries only client_id and request_uri.
    let c = sandbox_client(&sb, provider(&sb, "[authorization]\npar = true\n"), client("specs-par"));
    let AuthorizationStart { url, mut pending } = c.authorization_request().unwrap();
    let query: Vec<String> = Url::parse(&url).unwrap().query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(query, ["client_id", "request_uri"]);
    let resp = sb.transport().send(&HttpRequest::new(Method::Get, Url::parse(&url).unwrap())).unwrap();
    let tokens = c.exchange(&mut pending, resp.header("location").unwrap()).unwrap();
    assert_eq!(tokens.token_type, "Bearer");

    // DPoP: login, the API with a nonce round trip, a refresh; the store keeps the key.
    let store = Arc::new(MemoryStore::new());
    let clock = sb.clock();
    let c = Client::new(
        provider(&sb, "[dpop]\nrequired = true\n"),
        client("specs-dpop"),
        Arc::new(sb.transport()),
        store.clone(),
        "default",
    )
    .with_clock(move || clock.now());
    let AuthorizationStart { url, mut pending } = c.authorization_request().unwrap();
    let resp = sb.transport().send(&HttpRequest::new(Method::Get, Url::parse(&url).unwrap())).unwrap();
    let tokens = c.exchange(&mut pending, resp.header("location").unwrap()).unwrap();
    assert_eq!(tokens.token_type, "DPoP");
    let resp = c.request(Method::Get, "me", None).unwrap();
    assert_eq!(resp.status(), 200, "{resp:?}");
    let resp = c.request(Method::Get, "me", None).unwrap();
    assert_eq!(resp.status(), 200);
    let counters = sb.specs_counters();
    assert_eq!((counters.resource_nonce_challenges, counters.api_ok), (1, 2), "the nonce is kept between calls");
    let renewed = c.refresh().unwrap();
    assert_eq!(renewed.dpop_key, tokens.dpop_key);
    assert_eq!(sb.specs_counters().token_nonce_challenges, 1, "the token endpoint's nonce is kept too");
    let stored = scopegate::TokenStore::load(&*store, &c.key()).unwrap().unwrap();
    assert_eq!(stored.dpop_key, tokens.dpop_key, "the store keeps the key with the tokens");
}

#[test]
fn the_client_device_login_shows_the_code_and_waits() {
    let sb = sandbox();
    let c = sandbox_client(&sb, provider(&sb, "[dpop]\nrequired = true\n"), client("specs-dpop"));
    let shown = AtomicUsize::new(0);
    let tokens = c
        .device_login(|code| {
            shown.fetch_add(1, Ordering::SeqCst);
            assert!(code.uri().as_str().contains("user_code="), "{code:?}");
            // The user approves on another device.
            let page = sb.transport().send(&HttpRequest::new(Method::Get, code.uri().clone())).unwrap();
            assert_eq!(page.status(), 200);
        })
        .expect("device login");
    assert_eq!(shown.load(Ordering::SeqCst), 1);
    assert_eq!(tokens.token_type, "DPoP");
    assert_eq!(c.stored().unwrap().unwrap(), tokens);
    assert_eq!(c.request(Method::Get, "me", None).unwrap().status(), 200);
}
