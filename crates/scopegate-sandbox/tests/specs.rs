//! The sandbox's `/specs` server with the core's pieces, in-process and on the sandbox's clock:
//! discovery, private_key_jwt (and a wrong `aud`), DPoP (and a missing nonce), the device grant
//! (and `slow_down`), PAR (and an expired `request_uri`).

mod specs_support;

use scopegate::Transport as _;
use scopegate::discover_with;
use scopegate_core::client_assertion::{ClientAssertion, JWT_BEARER};
use scopegate_core::device::{
    DeviceAuthorization, DeviceError, DevicePoll, DevicePollStatus, device_authorization_request,
};
use scopegate_core::dpop::{self, DpopKey, DpopNonces};
use scopegate_core::jose::SigningKey;
use scopegate_core::low_level::{FlowError, TokenFlow, TokenResponseError};
use scopegate_core::par::{ParError, ParFlow};
use scopegate_core::prelude::*;
use scopegate_core::profile::JwsAlgorithm;
use scopegate_core::{AuthorizationRequest, GrantType};
use scopegate_sandbox::{Consent, Sandbox};
use specs_support::{client, discovered, sandbox};
use url::Url;

fn provider(sb: &Sandbox, overrides: &str) -> Provider {
    let p = discovered(sb);
    if overrides.is_empty() { p } else { p.with_overrides(overrides, "test").unwrap() }
}

fn run(sb: &Sandbox, mut flow: TokenFlow) -> Result<TokenSet, FlowError> {
    let now = sb.now();
    let req = flow.poll_transmit(now).unwrap();
    flow.handle_response(now, sb.transport().send(&req).unwrap()).unwrap();
    flow.poll_outcome().unwrap()
}

#[test]
fn discovery_of_the_specs_server() {
    let sb = sandbox();
    let p = provider(&sb, "");
    assert_eq!(p.issuer(), Some(sb.specs_issuer().as_str()));
    assert_eq!(p.token_url().unwrap().as_str(), format!("{}/token", sb.specs_issuer()));
    assert!(p.supports(GrantType::DeviceCode) && p.par_url().is_some() && p.dpop().is_some());
    // Wrong issuer: refused.
    let err = discover_with(&sb.transport(), &format!("{}/other", sb.base_url())).unwrap_err();
    assert!(matches!(err, scopegate_core::discovery::DiscoveryError::NotFound { .. }), "{err}");
}

#[test]
fn private_key_jwt_and_a_wrong_aud() {
    let sb = sandbox();
    let p = provider(&sb, "[token]\nclient_auth = \"private_key_jwt\"\n");
    let c = ClientConfig::new("specs-jwt").unwrap().with_client_key(sb.specs_client_key());
    let tokens = run(&sb, TokenFlow::client_credentials(&p, &c, &[]).unwrap()).expect("assertion accepted");
    assert_eq!(tokens.token_type, "Bearer");
    // The issuer as audience works too.
    let p_iss = provider(&sb, "[token]\nclient_auth = \"private_key_jwt\"\nassertion_audience = \"issuer\"\n");
    run(&sb, TokenFlow::client_credentials(&p_iss, &c, &[]).unwrap()).expect("aud = issuer");
    // A wrong aud, an expired assertion, a replayed jti, another key: invalid_client.
    let key = sb.specs_client_key();
    let send = |a: &ClientAssertion| {
        let req = HttpRequest::new(Method::Post, p.token_url().unwrap().clone())
            .with_form_param("grant_type", "client_credentials")
            .with_form_param("client_assertion_type", JWT_BEARER)
            .with_form_param("client_assertion", a.expose_secret());
        sb.transport().send(&req).unwrap()
    };
    let wrong_aud = ClientAssertion::new("specs-jwt", &key, "https://elsewhere.example/token", sb.now()).unwrap();
    let resp = send(&wrong_aud);
    assert_eq!(resp.status(), 401);
    assert!(String::from_utf8_lossy(resp.body()).contains("aud must be"), "{:?}", resp);
    let token_url = p.token_url().unwrap().to_string();
    let old = ClientAssertion::with_jti("specs-jwt", &key, &token_url, sb.now(), "j-old", 60).unwrap();
    sb.advance(61);
    assert_eq!(send(&old).status(), 401, "expired");
    let once = ClientAssertion::with_jti("specs-jwt", &key, &token_url, sb.now(), "j-once", 60).unwrap();
    assert_eq!(send(&once).status(), 200);
    assert_eq!(send(&once).status(), 401, "replayed");
    let other = SigningKey::generate(JwsAlgorithm::Es256).unwrap();
    assert_eq!(send(&ClientAssertion::new("specs-jwt", &other, &token_url, sb.now()).unwrap()).status(), 401);
    assert_eq!(sb.specs_counters().assertions_refused, 4);
    // A client registered with its own key (EdDSA).
    let ed = SigningKey::generate(JwsAlgorithm::EdDsa).unwrap();
    sb.register_jwt_client("my-jwt", ed.public_jwks_entry());
    let mine = ClientConfig::new("my-jwt").unwrap().with_client_key(ed);
    run(&sb, TokenFlow::client_credentials(&p, &mine, &[]).unwrap()).expect("registered key");
}

#[test]
fn dpop_with_a_missing_nonce_then_the_round_trip() {
    let sb = sandbox();
    let p = provider(&sb, "[dpop]\nrequired = true\n");
    let c = client("specs-dpop");
    let key = DpopKey::generate(JwsAlgorithm::Es256).unwrap();
    // No proof: refused.
    let err = run(&sb, TokenFlow::client_credentials(&p, &c, &[]).unwrap()).unwrap_err();
    assert!(
        matches!(&err, FlowError::Response(TokenResponseError::Refused(e)) if e.code.as_str() == "invalid_dpop_proof")
    );
    // A proof without the nonce: use_dpop_nonce with a DPoP-Nonce header; then with it: a DPoP token.
    let token_url = p.token_url().unwrap().clone();
    let mut nonces = DpopNonces::new();
    let mut flow = TokenFlow::client_credentials(&p, &c, &[]).unwrap();
    let req = flow.poll_transmit_with_dpop(sb.now(), &key, None).unwrap();
    let resp = sb.transport().send(&req).unwrap();
    assert_eq!(resp.status(), 400);
    assert!(nonces.learn(&token_url, &resp), "a nonce challenge");
    flow.handle_response(sb.now(), resp).unwrap();
    assert!(
        matches!(flow.poll_outcome(), Some(Err(FlowError::Response(TokenResponseError::Refused(e)))) if e.code.as_str() == "use_dpop_nonce")
    );
    let mut flow = TokenFlow::client_credentials(&p, &c, &[]).unwrap();
    let req = flow.poll_transmit_with_dpop(sb.now(), &key, nonces.get(&token_url)).unwrap();
    flow.handle_response(sb.now(), sb.transport().send(&req).unwrap()).unwrap();
    let tokens = flow.poll_outcome().unwrap().expect("a DPoP-bound token");
    assert_eq!(tokens.token_type, "DPoP");
    assert_eq!(sb.specs_counters().token_nonce_challenges, 1);

    // The resource: the missing nonce again, then 200; as Bearer: refused.
    let api = Url::parse(&format!("{}/api/me", sb.specs_issuer())).unwrap();
    let call = |nonce: Option<&str>| {
        let req =
            dpop::authorize(HttpRequest::new(Method::Get, api.clone()), &key, &tokens.access_token, sb.now(), nonce)
                .unwrap();
        sb.transport().send(&req).unwrap()
    };
    let first = call(None);
    assert_eq!(first.status(), 401);
    assert!(dpop::nonce_challenge(&first).is_some());
    assert!(nonces.learn(&api, &first));
    assert_eq!(call(nonces.get(&api)).status(), 200);
    let bearer = HttpRequest::new(Method::Get, api.clone()).with_bearer(&tokens.access_token);
    assert_eq!(sb.transport().send(&bearer).unwrap().status(), 401);
    assert_eq!(sb.specs_counters().resource_nonce_challenges, 1);
    assert_eq!(sb.specs_counters().api_ok, 1);
}

#[test]
fn device_grant_with_slow_down_denial_and_expiry() {
    let sb = sandbox();
    let p = provider(&sb, "");
    let c = client("specs-client");
    let start = sb.now();
    let req = device_authorization_request(&p, &c, &[], start).unwrap();
    let auth = DeviceAuthorization::from_response(&sb.transport().send(&req).unwrap(), start, &[]).unwrap();
    let mut poll = DevicePoll::new(auth.clone());
    // Our clock runs 5 s ahead of the server's: its first poll comes too soon for the server.
    let at = poll.poll_timeout().unwrap();
    let req = poll.poll_transmit(&p, &c, at).unwrap().unwrap();
    let status = poll.handle_response(at, sb.transport().send(&req).unwrap()).unwrap();
    assert_eq!(status, DevicePollStatus::SlowDown { interval_secs: 10 });
    assert_eq!(sb.specs_counters().slow_downs, 1);
    sb.advance(10);
    let at = poll.poll_timeout().unwrap();
    let req = poll.poll_transmit(&p, &c, at).unwrap().unwrap();
    assert_eq!(poll.handle_response(at, sb.transport().send(&req).unwrap()).unwrap(), DevicePollStatus::Pending);
    // The user approves at verification_uri_complete.
    let page =
        sb.transport().send(&HttpRequest::new(Method::Get, auth.verification_uri_complete().unwrap().clone())).unwrap();
    assert_eq!(page.status(), 200);
    sb.advance(10);
    let at = poll.poll_timeout().unwrap();
    let req = poll.poll_transmit(&p, &c, at).unwrap().unwrap();
    match poll.handle_response(at, sb.transport().send(&req).unwrap()).unwrap() {
        DevicePollStatus::Tokens(t) => assert!(t.refresh_token.is_some()),
        other => panic!("{other:?}"),
    }
    // Refused.
    sb.set_consent(Consent::AutoDeny);
    let now = sb.now();
    let req = device_authorization_request(&p, &c, &[], now).unwrap();
    let auth = DeviceAuthorization::from_response(&sb.transport().send(&req).unwrap(), now, &[]).unwrap();
    sb.transport().send(&HttpRequest::new(Method::Get, auth.verification_uri_complete().unwrap().clone())).unwrap();
    sb.advance(5);
    let mut poll = DevicePoll::new(auth);
    let at = poll.poll_timeout().unwrap();
    let req = poll.poll_transmit(&p, &c, at).unwrap().unwrap();
    assert_eq!(poll.handle_response(at, sb.transport().send(&req).unwrap()), Err(DeviceError::AccessDenied));
    // Expired: the server says expired_token.
    let now = sb.now();
    let req = device_authorization_request(&p, &c, &[], now).unwrap();
    let auth = DeviceAuthorization::from_response(&sb.transport().send(&req).unwrap(), now, &[]).unwrap();
    let mut poll = DevicePoll::new(auth);
    sb.advance(301);
    let at = poll.poll_timeout().unwrap();
    let req = poll.poll_transmit(&p, &c, at).unwrap().unwrap();
    assert_eq!(poll.handle_response(at, sb.transport().send(&req).unwrap()), Err(DeviceError::Expired));
}

#[test]
fn par_and_an_expired_request_uri() {
    let sb = sandbox();
    let p = provider(&sb, "[authorization]\npar = true\n");
    let c = client("specs-par");
    // Not pushed: refused on the redirect URI.
    let AuthorizationStart { url, .. } = AuthorizationRequest::new(&p, &c).build(sb.now()).unwrap();
    let resp = sb.transport().send(&HttpRequest::new(Method::Get, Url::parse(&url).unwrap())).unwrap();
    assert!(resp.header("location").unwrap().contains("error=invalid_request"));
    // Pushed: the browser gets client_id and request_uri; the code comes back as usual.
    let push = |sb: &Sandbox| {
        let start = AuthorizationRequest::new(&p, &c).build(sb.now()).unwrap();
        let flow = ParFlow::new(&p, &c, start, sb.now()).unwrap();
        let resp = sb.transport().send(flow.request()).unwrap();
        flow.handle_response(sb.now(), &resp).unwrap()
    };
    let pushed = push(&sb);
    let browser = pushed.browser_url(sb.now()).unwrap();
    let resp = sb.transport().send(&HttpRequest::new(Method::Get, Url::parse(&browser).unwrap())).unwrap();
    let callback = resp.header("location").unwrap().to_owned();
    let mut pending = pushed.pending;
    let grant = pending.handle_callback(sb.now(), &callback).expect("code, state and iss");
    run(&sb, TokenFlow::authorization_code(&p, &c, grant).unwrap()).expect("code exchange");
    assert_eq!(sb.specs_counters().pushed, 1);
    // Expired: refused locally; and by the server, with invalid_request_uri on the redirect URI.
    let pushed = push(&sb);
    let url = pushed.browser_url(sb.now()).unwrap();
    assert!(matches!(pushed.browser_url(sb.now().plus_secs(61)), Err(ParError::Expired { .. })));
    sb.advance(61);
    let resp = sb.transport().send(&HttpRequest::new(Method::Get, Url::parse(&url).unwrap())).unwrap();
    let location = resp.header("location").unwrap();
    assert!(location.contains("error=invalid_request_uri"), "{location}");
    assert!(location.contains(&format!("state={}", pushed.pending.state().expose_secret())), "{location}");
    assert_eq!(sb.specs_counters().expired_request_uris, 1);
}

/// The paths of the `/specs` server outside `/specs/`: its control path registers a client, and
/// what it does not answer goes on to the rest of the sandbox; its authorization endpoint
/// follows the sandbox's consent mode as it is when the request arrives.
#[test]
fn the_control_path_and_the_consent_mode_of_the_specs_server() {
    let sb = sandbox();
    let control = sb.base_url().to_owned() + "/_sandbox/specs/jwt_client";
    let post = |body: String| {
        let req = HttpRequest::new(Method::Post, Url::parse(&control).unwrap())
            .with_body("application/json", body.into_bytes());
        sb.transport().send(&req).unwrap()
    };
    let ed = SigningKey::generate(JwsAlgorithm::EdDsa).unwrap();
    let jwk = serde_json::Value::Object(ed.public_jwks_entry());
    let resp = post(serde_json::json!({"client_id": "http-jwt", "jwk": jwk}).to_string());
    assert_eq!(resp.status(), 200, "{resp:?}");
    let p = provider(&sb, "[token]\nclient_auth = \"private_key_jwt\"\n");
    let mine = ClientConfig::new("http-jwt").unwrap().with_client_key(ed);
    run(&sb, TokenFlow::client_credentials(&p, &mine, &[]).unwrap()).expect("the key registered over http");
    assert_eq!(post(r#"{"client_id": "no-key"}"#.to_owned()).status(), 400);
    // Another method on that path is not the specs server's: the control endpoints answer 404.
    let get = sb.transport().send(&HttpRequest::new(Method::Get, Url::parse(&control).unwrap())).unwrap();
    assert_eq!(get.status(), 404);
    // Consent: refused while the sandbox denies, given again once it approves.
    let p = provider(&sb, "");
    let c = client("specs-client");
    let location = |sb: &Sandbox| {
        let AuthorizationStart { url, .. } = AuthorizationRequest::new(&p, &c).build(sb.now()).unwrap();
        let resp = sb.transport().send(&HttpRequest::new(Method::Get, Url::parse(&url).unwrap())).unwrap();
        resp.header("location").unwrap().to_owned()
    };
    sb.set_consent(Consent::AutoDeny);
    assert!(location(&sb).contains("error=access_denied"));
    sb.set_consent(Consent::AutoApprove);
    assert!(location(&sb).contains("code="));
}
