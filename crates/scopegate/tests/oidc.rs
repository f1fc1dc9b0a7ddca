//! The core's pieces of discovery, private_key_jwt, PAR, the device grant and DPoP, with the
//! blocking transport, against node-oidc-provider (an OpenID Certified server we did not write;
//! `tests/oidc/server.mjs`, see `oidc_support` for how it is found, and how a login completes
//! through its own interaction pages with a test account). No `Session` or `Client` here: these
//! tests prove the pieces before they are wired in.

#![allow(clippy::print_stderr)]

mod oidc_support;

use oidc_support::*;
use scopegate_core::client_assertion::{ClientAssertion, JWT_BEARER};
use scopegate_core::device::{
    DeviceAuthorization, DeviceError, DevicePoll, DevicePollStatus, device_authorization_request,
};
use scopegate_core::discovery::{DiscoveryError, DiscoveryFlow};
use scopegate_core::dpop::{self, DpopKey, DpopNonces};
use scopegate_core::jose::SigningKey;
use scopegate_core::low_level::{FlowError, RevocationFlow, TokenErrorCode, TokenFlow, TokenResponseError};
use scopegate_core::par::{ParError, ParFlow};
use scopegate_core::prelude::*;
use scopegate_core::profile::JwsAlgorithm;
use scopegate_core::{AuthorizationRequest, GrantType, Revoked, UsageError};
use url::Url;

const JWT_CLIENTS: [(&str, &str); 4] = [
    ("jwt-es256", "es256.pem"),
    ("jwt-rs256", "rs256.pem"),
    ("jwt-rs256", "rs256-pkcs1.pem"),
    ("jwt-eddsa", "eddsa.pem"),
];

fn jwt_client(id: &str, key: SigningKey) -> ClientConfig {
    ClientConfig::new(id).unwrap().with_client_key(key).with_redirect_uri(REDIRECT_URI).unwrap()
}

fn secret_client(id: &str, secret: &str) -> ClientConfig {
    ClientConfig::new(id).unwrap().with_secret(secret).with_redirect_uri(REDIRECT_URI).unwrap()
}

#[test]
fn discovery_finds_the_server_and_checks_its_issuer() {
    let Some(issuer) = server() else { return };
    let metadata = scopegate::discover(&issuer).expect("discover");
    assert_eq!(metadata.issuer(), issuer);
    assert_eq!(
        metadata.source().unwrap().as_str(),
        format!("{issuer}/.well-known/oauth-authorization-server"),
        "RFC 8414's location first"
    );
    let p = Provider::from_discovery(&issuer, &metadata_json(&issuer)).unwrap();
    assert_eq!(p.token_url().unwrap().as_str(), format!("{issuer}/token"));
    assert_eq!(p.issuer(), Some(issuer.as_str()));
    assert!(p.issuer_in_callback());
    assert_eq!(p.par_url().unwrap().as_str(), format!("{issuer}/request"));
    assert_eq!(p.device_authorization_url().unwrap().as_str(), format!("{issuer}/device/auth"));
    assert!(p.supports(GrantType::DeviceCode) && p.supports(GrantType::ClientCredentials));
    assert_eq!(p.dpop().unwrap().alg, JwsAlgorithm::Es256);
    assert!(!p.dpop_required());
    // RFC 8414 §3.3: the issuer must be identical, a trailing slash included.
    let err = scopegate::discover(&format!("{issuer}/")).unwrap_err();
    assert!(matches!(err, DiscoveryError::IssuerMismatch { .. }), "{err}");
    // An issuer with a path the server does not serve: every location tried, then NotFound.
    let err = scopegate::discover(&format!("{issuer}/tenant")).unwrap_err();
    match err {
        DiscoveryError::NotFound { tried, .. } => assert_eq!(tried.matches("(404)").count(), 3, "{tried}"),
        other => panic!("{other}"),
    }
    // The sans-IO flow through the transport by hand: one request at a time.
    let mut flow = DiscoveryFlow::new(&issuer).unwrap();
    let req = flow.poll_transmit().unwrap();
    flow.handle_response(&send(&req));
    assert_eq!(flow.poll_outcome().unwrap().unwrap().issuer(), issuer);
}

#[test]
fn private_key_jwt_client_credentials_with_es256_rs256_and_eddsa() {
    let Some(issuer) = server() else { return };
    for audience in ["token_endpoint", "issuer"] {
        let p = provider(
            &issuer,
            &format!("[token]\nclient_auth = \"private_key_jwt\"\nassertion_audience = \"{audience}\"\n"),
        );
        for (id, file) in JWT_CLIENTS {
            let client = jwt_client(id, key(file));
            let tokens = run_flow(TokenFlow::client_credentials(&p, &client, &[]).unwrap())
                .unwrap_or_else(|e| panic!("{id} {file} aud={audience}: {e}"));
            assert_eq!(tokens.identity, Identity::App);
            let me = me_bearer(&issuer, &tokens.access_token);
            assert_eq!(me.status(), 200, "{}", body(&me));
            assert!(body(&me).contains(&format!("\"client_id\":\"{id}\"")), "{}", body(&me));
        }
    }
    let p = provider(&issuer, "[token]\nclient_auth = \"private_key_jwt\"\n");
    // The wrong key for the client: invalid_client, typed.
    let err = run_flow(TokenFlow::client_credentials(&p, &jwt_client("jwt-rs256", key("es256.pem")), &[]).unwrap())
        .unwrap_err();
    assert!(
        matches!(&err, FlowError::Response(TokenResponseError::Refused(e)) if e.code == TokenErrorCode::InvalidClient),
        "{err}"
    );
    // No key at all: refused locally before any request.
    let err = TokenFlow::client_credentials(&p, &ClientConfig::new("jwt-es256").unwrap(), &[]).unwrap_err();
    assert_eq!(err, UsageError::MissingClientKey { provider: p.id().to_owned() });
    // An assertion for another audience, and one replayed (same jti): refused by the server.
    let es256 = key("es256.pem");
    let form = |assertion: &ClientAssertion| {
        HttpRequest::new(Method::Post, p.token_url().unwrap().clone())
            .with_form_param("grant_type", "client_credentials")
            .with_form_param("client_id", "jwt-es256")
            .with_form_param("client_assertion_type", JWT_BEARER)
            .with_form_param("client_assertion", assertion.expose_secret())
    };
    let wrong_aud = ClientAssertion::new("jwt-es256", &es256, "https://elsewhere.example/token", now()).unwrap();
    let resp = send(&form(&wrong_aud));
    assert_eq!(resp.status(), 401, "{}", body(&resp));
    assert!(body(&resp).contains("invalid_client"), "{}", body(&resp));
    let once =
        ClientAssertion::with_jti("jwt-es256", &es256, p.token_url().unwrap().as_str(), now(), "jti-1-replay", 60)
            .unwrap();
    assert_eq!(send(&form(&once)).status(), 200);
    let replayed = send(&form(&once));
    assert_eq!(replayed.status(), 401, "a replayed jti is refused: {}", body(&replayed));
}

#[test]
fn private_key_jwt_login_refresh_and_revocation() {
    let Some(issuer) = server() else { return };
    let p = provider(&issuer, "[token]\nclient_auth = \"private_key_jwt\"\n");
    let client = jwt_client("jwt-es256", key("es256.pem"));
    let AuthorizationStart { url, mut pending } = AuthorizationRequest::new(&p, &client).build(now()).unwrap();
    let mut browser = Browser::default();
    let callback = browser.authorize(&url);
    let grant = pending.handle_callback(now(), &callback).expect("callback with state and iss");
    let first = run_flow(TokenFlow::authorization_code(&p, &client, grant).unwrap()).expect("code exchange");
    let rt1 = first.refresh_token.clone().expect("a refresh token (offline_access with consent)");
    assert!(first.scopes.contains(&"openid".to_string()), "{:?}", first.scopes);
    let second = run_flow(TokenFlow::refresh(&p, &client, &first).unwrap()).expect("refresh");
    assert_ne!(second.refresh_token.as_ref(), Some(&rt1), "rotated");
    let me = me_bearer(&issuer, &second.access_token);
    assert_eq!(me.status(), 200, "{}", body(&me));
    // The rotated-out refresh token is dead, and presenting it again revokes the grant
    // (RFC 9700 §4.14.2): the new access token stops working too.
    let again = run_flow(TokenFlow::refresh(&p, &client, &first).unwrap()).unwrap_err();
    assert!(again.is_invalid_grant(), "{again}");
    assert_eq!(me_bearer(&issuer, &second.access_token).status(), 401);

    // RFC 7009 with a private_key_jwt assertion (signed at `now`), on a new login.
    let AuthorizationStart { url, mut pending } = AuthorizationRequest::new(&p, &client).build(now()).unwrap();
    let grant = pending.handle_callback(now(), &Browser::default().authorize(&url)).unwrap();
    let third = run_flow(TokenFlow::authorization_code(&p, &client, grant).unwrap()).expect("code exchange");
    let revoke = RevocationFlow::new_at(&p, &client, &third, "default", now()).unwrap();
    let resp = send(revoke.request());
    assert_eq!(revoke.handle_response(&resp).unwrap(), Revoked::Done);
    assert!(run_flow(TokenFlow::refresh(&p, &client, &third).unwrap()).unwrap_err().is_invalid_grant());
    assert_eq!(
        RevocationFlow::new(&p, &client, &third, "default").unwrap_err(),
        UsageError::NeedsTime { what: "a private_key_jwt revocation request" }
    );
    // A wrong password is refused by the provider's login page.
    let AuthorizationStart { url, .. } = AuthorizationRequest::new(&p, &client).build(now()).unwrap();
    match Browser::default().walk(&url, REDIRECT_URI, "not-the-password") {
        Step::Page { status, .. } => assert_eq!(status, 401),
        Step::Redirected(to) => panic!("logged in with a wrong password: {to}"),
    }
}

#[test]
fn par_required_client_logs_in_through_a_pushed_request() {
    let Some(issuer) = server() else { return };
    let p = provider(&issuer, "[authorization]\npar = true\n");
    assert!(p.uses_par());
    let client = secret_client("par-client", "par-secret");
    // Without PAR the server refuses this client's authorization request.
    let AuthorizationStart { url, .. } = AuthorizationRequest::new(&p, &client).build(now()).unwrap();
    match Browser::default().walk(&url, REDIRECT_URI, ACCOUNT.1) {
        Step::Redirected(to) => assert!(to.contains("error=invalid_request"), "{to}"),
        Step::Page { status, html, .. } => assert!(status >= 400 && html.contains("invalid_request"), "{html}"),
    }
    // Pushed: the browser gets only client_id and request_uri.
    let start = AuthorizationRequest::new(&p, &client).build(now()).unwrap();
    let flow = ParFlow::new(&p, &client, start, now()).unwrap();
    assert!(flow.request().form_value("code_challenge").is_some());
    let resp = send(flow.request());
    let pushed = flow.handle_response(now(), &resp).unwrap_or_else(|e| panic!("{e}: {}", body(&resp)));
    assert!(pushed.request_uri().starts_with("urn:ietf:params:oauth:request_uri:"), "{}", pushed.request_uri());
    let browser_url = pushed.browser_url(now()).unwrap();
    let query: Vec<(String, String)> =
        Url::parse(&browser_url).unwrap().query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    assert_eq!(query.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["client_id", "request_uri"]);
    let callback = Browser::default().authorize(&browser_url);
    let mut pending = pushed.pending;
    let grant = pending.handle_callback(now(), &callback).unwrap();
    let tokens = run_flow(TokenFlow::authorization_code(&p, &client, grant).unwrap()).expect("code exchange");
    assert_eq!(me_bearer(&issuer, &tokens.access_token).status(), 200);
    // The request_uri's expires_in is respected (60 s on this server).
    let start = AuthorizationRequest::new(&p, &client).build(now()).unwrap();
    let flow = ParFlow::new(&p, &client, start, now()).unwrap();
    let resp = send(flow.request());
    let pushed = flow.handle_response(now(), &resp).unwrap();
    let later = pushed.expires_at().plus_secs(1);
    assert!(matches!(pushed.browser_url(later), Err(ParError::Expired { ago_secs: 1, lifetime_secs: 60 })));
    // A wrong secret: the push is refused, typed.
    let bad = secret_client("par-client", "wrong");
    let start = AuthorizationRequest::new(&p, &bad).build(now()).unwrap();
    let flow = ParFlow::new(&p, &bad, start, now()).unwrap();
    let resp = send(flow.request());
    assert!(
        matches!(flow.handle_response(now(), &resp), Err(ParError::Refused(e)) if e.code == TokenErrorCode::InvalidClient)
    );
}

#[test]
fn device_authorization_completes_through_the_server_pages() {
    let Some(issuer) = server() else { return };
    let p = provider(&issuer, "");
    let client = secret_client("device-client", "device-secret");
    let scopes = vec!["openid".to_string(), "offline_access".to_string()];
    let start = now();
    let resp = send(&device_authorization_request(&p, &client, &scopes, start).unwrap());
    let auth =
        DeviceAuthorization::from_response(&resp, start, &scopes).unwrap_or_else(|e| panic!("{e}: {}", body(&resp)));
    assert!(!auth.user_code().is_empty());
    let complete = auth.verification_uri_complete().expect("verification_uri_complete").to_string();
    assert!(complete.contains("user_code="), "{complete}");
    assert!(!format!("{auth:?}").contains(auth.device_code().expose_secret()), "device_code redacted");

    // Time is an input: the polls happen at the times the poller asks for (the server does not
    // throttle), so the test does not sleep through the intervals.
    let mut poll = DevicePoll::new(auth.clone());
    let at = poll.poll_timeout().unwrap();
    assert_eq!(at, start.plus_secs(auth.interval_secs()));
    assert!(poll.poll_transmit(&p, &client, start).unwrap().is_none(), "not before the interval");
    let req = poll.poll_transmit(&p, &client, at).unwrap().unwrap();
    assert_eq!(req.form_value("grant_type"), Some("urn:ietf:params:oauth:grant-type:device_code"));
    assert_eq!(poll.handle_response(at, send(&req)).unwrap(), DevicePollStatus::Pending);

    // The user approves on "another device": the provider's user-code pages, login, consent.
    match Browser::default().walk(&complete, "http://never.example", ACCOUNT.1) {
        Step::Page { status: 200, html, .. } => assert!(html.contains("Device approved"), "{html}"),
        other => panic!("{other:?}"),
    }
    let at = poll.poll_timeout().unwrap();
    let req = poll.poll_transmit(&p, &client, at).unwrap().unwrap();
    let tokens = match poll.handle_response(at, send(&req)).unwrap() {
        DevicePollStatus::Tokens(t) => t,
        other => panic!("{other:?}"),
    };
    assert!(tokens.refresh_token.is_some());
    assert_eq!(tokens.identity, Identity::User);
    assert_eq!(me_bearer(&issuer, &tokens.access_token).status(), 200);
    assert!(poll.poll_timeout().is_none(), "done");

    // Refused on the device pages (abort): access_denied, typed.
    let resp = send(&device_authorization_request(&p, &client, &scopes, start).unwrap());
    let auth = DeviceAuthorization::from_response(&resp, start, &scopes).unwrap();
    let mut browser = Browser::default();
    let Step::Page { url, html, .. } =
        browser.navigate(Method::Get, auth.verification_uri_complete().unwrap().as_str(), None, "http://never.example")
    else {
        panic!("a page")
    };
    let form = first_form(&html).unwrap();
    let mut fields = form.fields.clone();
    fields.push(("abort".into(), "yes".into()));
    browser.navigate(Method::Post, url.join(&form.action).unwrap().as_str(), Some(&fields), "http://never.example");
    let mut poll = DevicePoll::new(auth);
    let at = poll.poll_timeout().unwrap();
    let req = poll.poll_transmit(&p, &client, at).unwrap().unwrap();
    assert_eq!(poll.handle_response(at, send(&req)), Err(DeviceError::AccessDenied));
}

#[test]
fn dpop_bound_tokens_with_nonce_round_trips() {
    let Some(issuer) = server() else { return };
    let p = provider(&issuer, "[dpop]\nrequired = true\nalg = \"ES256\"\n");
    assert!(p.dpop_required());
    let client = secret_client("dpop-client", "dpop-secret");
    let key = DpopKey::generate(p.dpop().unwrap().alg).unwrap();
    let token_url = p.token_url().unwrap().clone();
    let mut nonces = DpopNonces::new();

    // Log in; the code exchange carries a proof, is refused once for a nonce, then succeeds.
    let AuthorizationStart { url, mut pending } = AuthorizationRequest::new(&p, &client).build(now()).unwrap();
    let callback = Browser::default().authorize(&url);
    let grant = pending.handle_callback(now(), &callback).unwrap();
    let (first, challenged) = token_with_nonce(&token_url, &key, &mut nonces, || {
        TokenFlow::authorization_code(&p, &client, grant.clone()).unwrap()
    });
    let first = first.expect("a DPoP-bound token");
    assert!(challenged, "the token endpoint asked for a nonce (use_dpop_nonce) and the retry carried it");
    assert_eq!(first.token_type, "DPoP");

    // The resource: a nonce round trip too, then 200; as a Bearer token it is refused.
    let api = Url::parse(&format!("{issuer}/api/me")).unwrap();
    let before = stats(&issuer);
    let (resp, challenged) = call_api(&api, &key, &first.access_token, &mut nonces);
    assert_eq!(resp.status(), 200, "{}", body(&resp));
    assert!(challenged);
    let me: serde_json::Value = serde_json::from_slice(resp.body()).unwrap();
    assert_eq!(me["token_type"], "DPoP");
    assert_eq!(me["jkt"], key.thumbprint());
    let after = stats(&issuer);
    assert_eq!(after["api_nonce_challenges"].as_u64().unwrap(), before["api_nonce_challenges"].as_u64().unwrap() + 1);
    let (resp, challenged) = call_api(&api, &key, &first.access_token, &mut nonces);
    assert_eq!((resp.status(), challenged), (200, false), "the kept nonce is reused");
    assert_eq!(me_bearer(&issuer, &first.access_token).status(), 401, "never accepted as Bearer");
    // Another key cannot use the token.
    let thief = DpopKey::generate(JwsAlgorithm::Es256).unwrap();
    let req = dpop::authorize(
        HttpRequest::new(Method::Get, api.clone()),
        &thief,
        &first.access_token,
        now(),
        nonces.get(&api),
    )
    .unwrap();
    assert_eq!(send(&req).status(), 401);

    // Refresh with a proof: a new DPoP-bound token for the same key.
    let (second, _) =
        token_with_nonce(&token_url, &key, &mut nonces, || TokenFlow::refresh(&p, &client, &first).unwrap());
    let second = second.expect("refresh");
    assert_eq!(second.token_type, "DPoP");
    assert_ne!(second.access_token, first.access_token);
    let (resp, _) = call_api(&api, &key, &second.access_token, &mut nonces);
    assert_eq!(resp.status(), 200, "{}", body(&resp));

    // The key survives storage: a new process with the stored key calls the API.
    let reloaded = DpopKey::from_json(&key.to_json()).unwrap();
    let (resp, _) = call_api(&api, &reloaded, &second.access_token, &mut nonces);
    assert_eq!(resp.status(), 200);

    // Without a proof the DPoP-required client gets no token.
    let err = run_flow(TokenFlow::client_credentials(&p, &client, &[]).unwrap()).unwrap_err();
    assert!(matches!(err, FlowError::Response(TokenResponseError::Refused(_))), "{err}");
    // Client credentials with a proof (EdDSA key this time).
    let ed = DpopKey::generate(JwsAlgorithm::EdDsa).unwrap();
    let (cc, _) =
        token_with_nonce(&token_url, &ed, &mut nonces, || TokenFlow::client_credentials(&p, &client, &[]).unwrap());
    let cc = cc.expect("client credentials with DPoP");
    assert_eq!(cc.token_type, "DPoP");
    let (resp, _) = call_api(&api, &ed, &cc.access_token, &mut nonces);
    assert_eq!(resp.status(), 200, "{}", body(&resp));
}

/// A token request with a proof; on `use_dpop_nonce`, once more with the nonce.
fn token_with_nonce(
    token_url: &Url,
    key: &DpopKey,
    nonces: &mut DpopNonces,
    build: impl Fn() -> TokenFlow,
) -> (Result<TokenSet, FlowError>, bool) {
    let mut challenged = false;
    loop {
        let mut flow = build();
        let now = now();
        let nonce = nonces.get(token_url).map(str::to_owned);
        let req = flow.poll_transmit_with_dpop(now, key, nonce.as_deref()).expect("a request");
        assert!(req.header_value("DPoP").is_some());
        let resp = send(&req);
        let retry = nonces.learn(token_url, &resp);
        flow.handle_response(now, resp).unwrap();
        let outcome = flow.poll_outcome().unwrap();
        if retry && !challenged {
            assert!(
                matches!(&outcome, Err(FlowError::Response(TokenResponseError::Refused(e))) if e.code.as_str() == "use_dpop_nonce")
            );
            challenged = true;
            continue;
        }
        return (outcome, challenged);
    }
}

/// `GET` the resource with a DPoP-bound token; on `use_dpop_nonce`, once more with the nonce.
fn call_api(api: &Url, key: &DpopKey, token: &AccessToken, nonces: &mut DpopNonces) -> (HttpResponse, bool) {
    let mut challenged = false;
    loop {
        let req =
            dpop::authorize(HttpRequest::new(Method::Get, api.clone()), key, token, now(), nonces.get(api)).unwrap();
        assert_eq!(req.header_value("authorization").map(|a| a.starts_with("DPoP ")), Some(true));
        let resp = send(&req);
        if nonces.learn(api, &resp) && !challenged {
            challenged = true;
            continue;
        }
        return (resp, challenged);
    }
}
