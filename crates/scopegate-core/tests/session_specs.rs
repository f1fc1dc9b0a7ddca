//! The Session with issue 23's specs wired in, driven by hand with canned answers: PAR inside
//! `start_authorization`, the device grant as commands and events, DPoP (the key in the token
//! set, proofs on token requests and API calls, nonces, never Bearer), private_key_jwt wherever
//! the session authenticates. The interop tests against real servers are in the `scopegate`
//! crate (node-oidc-provider) and the sandbox's (`/specs`).

use scopegate_core::UsageError;
use scopegate_core::dpop::DpopKey;
use scopegate_core::par::ParError;
use scopegate_core::prelude::*;
use serde_json::Value;

mod specs_common;
use specs_common::*;

#[test]
fn dpop_token_requests_carry_proofs_and_the_key_is_kept_in_the_token_set() {
    let s = dpop_session();
    let t = s.tokens().unwrap().clone();
    let key = t.dpop_key.clone().unwrap();
    // Stored with the tokens (the versioned JSON), read back whole; never printed.
    let text = t.to_json();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["dpop_key"]["format"], "scopegate.dpop_key");
    assert_eq!(v["version"], 1, "no new token set version: dpop_key is an optional field");
    let back = TokenSet::from_json(&text).unwrap();
    assert_eq!(back, t);
    assert_eq!(back.dpop_key.as_ref().unwrap().thumbprint(), key.thumbprint());
    let shown = format!("{t:?} {s:?}");
    assert!(!shown.contains(v["dpop_key"]["pkcs8"].as_str().unwrap()), "{shown}");
    assert!(!shown.contains("at-dpop-1") && !shown.contains("rt-dpop-1"));
    // A token set without DPoP writes exactly the fields it wrote before.
    let mut plain = t.clone();
    plain.dpop_key = None;
    plain.token_type = "Bearer".into();
    let v: Value = serde_json::from_str(&plain.to_json()).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "access_token",
            "authorization_code",
            "consecutive_401",
            "expires_at",
            "format",
            "identity",
            "invalidated",
            "issued_at",
            "params",
            "provider",
            "redirect_uri",
            "refresh_expires_at",
            "refresh_token",
            "scopes",
            "token_type",
            "version"
        ]
    );
    // A broken key is a typed serialization error naming the field.
    let broken = text.replace("scopegate.dpop_key", "something-else");
    let err = Error::from(TokenSet::from_json(&broken).unwrap_err());
    assert_eq!(err.kind(), ErrorKind::Serialization);
    assert!(err.to_string().contains("dpop_key"), "{err}");
}

#[test]
fn a_dpop_bound_token_is_never_sent_as_bearer() {
    let mut s = dpop_session();
    let (id, req) = s.api_request(T0.plus_secs(2), Method::Get, "me?fields=x#frag", None).unwrap();
    assert_eq!(req.header_value("Authorization"), Some("DPoP at-dpop-1"));
    let (claims, _) = proof(&req);
    assert_eq!(claims["htm"], "GET");
    assert_eq!(claims["htu"], "https://rs.example/api/me", "htu without query or fragment");
    assert_eq!(claims["iat"], T0.plus_secs(2).as_unix_secs());
    assert!(claims["ath"].is_string(), "bound to the access token");
    assert!(claims.get("nonce").is_none(), "the token endpoint's nonce is not the resource's");
    // The resource asks for its nonce: retry once with it; not a 401 of the token.
    let challenge = HttpResponse::new(401, "")
        .with_header("WWW-Authenticate", r#"DPoP error="use_dpop_nonce", error_description="nonce""#)
        .with_header("DPoP-Nonce", "rs-nonce-1");
    assert_eq!(s.handle_api_answer(id, &req, &challenge), NextStep::RetryWithNonce);
    assert_eq!(s.tokens().unwrap().consecutive_401, 0);
    let (id, again) = s.api_request(T0.plus_secs(2), Method::Get, "me", None).unwrap();
    let (claims, _) = proof(&again);
    assert_eq!(claims["nonce"], "rs-nonce-1");
    // The same challenge for a request that carried that nonce: no endless retries.
    assert_eq!(s.handle_api_answer(id, &again, &challenge), NextStep::Done);
    let ok = HttpResponse::new(200, "{}").with_header("DPoP-Nonce", "rs-nonce-2");
    let (id, third) = s.api_request(T0.plus_secs(3), Method::Get, "me", None).unwrap();
    assert_eq!(s.handle_api_answer(id, &third, &ok), NextStep::Done);
    assert_eq!(s.dpop_nonces().resources.get(third.url()), Some("rs-nonce-2"), "a nonce on a success is kept too");

    // A DPoP-bound token set that lost its key (written by something else): refused, never
    // sent as Bearer.
    let mut lost = s.tokens().unwrap().clone();
    lost.dpop_key = None;
    let mut other = Session::new(provider(""), client());
    other.set_tokens(Some(lost)).unwrap();
    let err = other.api_request(T0.plus_secs(2), Method::Get, "me", None).unwrap_err();
    assert!(matches!(err, Error::Usage(UsageError::DpopKeyMissing { .. })), "{err}");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(other.refresh(T0).is_err_and(|e| matches!(e, Error::Usage(UsageError::DpopKeyMissing { .. }))));
    // A Bearer token of the same profile stays a Bearer token.
    let mut bearer = s.tokens().unwrap().clone();
    bearer.token_type = "Bearer".into();
    bearer.dpop_key = None;
    let mut b = Session::new(provider("[dpop]\nrequired = true\n"), client());
    b.set_tokens(Some(bearer)).unwrap();
    let (_, req) = b.api_request(T0.plus_secs(2), Method::Get, "me", None).unwrap();
    assert_eq!(req.header_value("Authorization"), Some("Bearer at-dpop-1"));
    assert!(req.header_value("DPoP").is_none());
}

#[test]
fn dpop_refresh_proves_the_same_key_and_a_bearer_answer_is_refused() {
    let mut s = dpop_session();
    let key = s.tokens().unwrap().dpop_key.clone().unwrap();
    s.refresh(T0.plus_secs(10)).unwrap();
    let (id, req) = s.poll_transmit(T0.plus_secs(10)).unwrap();
    let (claims, jwk) = proof(&req);
    assert_eq!(jwk, key.public_jwk(), "the account's key");
    assert_eq!(claims["nonce"], "as-nonce-1", "the token endpoint's nonce, kept");
    assert_eq!(req.form_value("grant_type"), Some("refresh_token"));
    let renewed = r#"{"access_token":"at-dpop-2","token_type":"DPoP","expires_in":3600,"refresh_token":"rt-dpop-2"}"#;
    s.handle_response(T0.plus_secs(10), id, json(200, renewed).with_header("DPoP-Nonce", "as-nonce-2")).unwrap();
    assert!(matches!(events(&mut s).as_slice(), [Event::TokensChanged]));
    assert_eq!(s.tokens().unwrap().dpop_key.as_ref(), Some(&key));
    assert_eq!(s.dpop_nonces().authorization_server.get(req.url()), Some("as-nonce-2"));
    // A server that answers a proof with a Bearer token: refused, the tokens held stay.
    s.refresh(T0.plus_secs(20)).unwrap();
    let (id, _) = s.poll_transmit(T0.plus_secs(20)).unwrap();
    let bearer = r#"{"access_token":"at-3","token_type":"Bearer","expires_in":3600}"#;
    s.handle_response(T0.plus_secs(20), id, json(200, bearer)).unwrap();
    match events(&mut s).as_slice() {
        [Event::Failed(e)] => assert_eq!(e.kind(), ErrorKind::Protocol, "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.tokens().unwrap().access_token.expose_secret(), "at-dpop-2");
    // A second nonce challenge in one operation is not retried again: it is the answer.
    s.refresh(T0.plus_secs(30)).unwrap();
    for _ in 0..2 {
        let (id, _) = s.poll_transmit(T0.plus_secs(30)).expect("a request");
        let challenge = json(400, r#"{"error":"use_dpop_nonce"}"#).with_header("DPoP-Nonce", "as-nonce-9");
        s.handle_response(T0.plus_secs(30), id, challenge).unwrap();
    }
    assert!(s.poll_transmit(T0.plus_secs(30)).is_none());
    match events(&mut s).as_slice() {
        [Event::Failed(e)] => assert_eq!(e.oauth().unwrap().code.as_str(), "use_dpop_nonce"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn profiles_without_dpop_send_no_proof() {
    let mut s = Session::new(provider(""), client());
    s.client_credentials(&[]).unwrap();
    let (id, req) = s.poll_transmit(T0).unwrap();
    assert!(req.header_value("DPoP").is_none());
    s.handle_response(T0, id, json(200, r#"{"access_token":"a","token_type":"Bearer","expires_in":60}"#)).unwrap();
    assert!(s.tokens().unwrap().dpop_key.is_none());
    assert!(!s.tokens().unwrap().to_json().contains("dpop_key"));
    let start = s.start_authorization(T0).err().map(|e| e.kind());
    assert_eq!(start, Some(ErrorKind::IdentityMismatch), "the app's token is not replaced by a login");
}

fn par_session(extra: &str, c: ClientConfig) -> (Session, AuthorizationStart) {
    let mut s = Session::new(provider(&format!("[authorization]\npar = true\n{extra}")), c);
    let start = s.start_authorization(T0).unwrap();
    assert!(start.url.is_empty(), "the browser URL comes with the push's answer");
    assert!(s.is_busy());
    assert_eq!(s.start_authorization(T0).unwrap_err().kind(), ErrorKind::Busy);
    (s, start)
}

#[test]
fn par_pushes_inside_start_authorization() {
    let (mut s, mut start) = par_session("", client());
    assert_eq!(s.authorization_url(T0).unwrap_err().kind(), ErrorKind::Usage, "nothing pushed yet");
    let (id, req) = s.poll_transmit(T0).unwrap();
    assert_eq!(req.method(), Method::Post);
    assert_eq!(req.url().as_str(), "https://as.example/par");
    assert!(
        req.header_value("Authorization").unwrap().starts_with("Basic "),
        "authenticated like at the token endpoint"
    );
    assert_eq!(req.form_value("response_type"), Some("code"));
    assert_eq!(req.form_value("redirect_uri"), Some(REDIRECT));
    assert_eq!(req.form_value("state"), Some(start.pending.state().expose_secret()));
    s.handle_response(T0, id, json(201, r#"{"request_uri":"urn:ietf:params:oauth:request_uri:abc","expires_in":60}"#))
        .unwrap();
    assert!(!s.is_busy());
    let url = match events(&mut s).as_slice() {
        [Event::AuthorizationReady { url, expires_at }] => {
            assert_eq!(*expires_at, T0.plus_secs(60));
            url.clone()
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        url,
        "https://as.example/authorize?client_id=client-1&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc"
    );
    assert_eq!(s.authorization_url(T0.plus_secs(59)).unwrap(), url);
    assert_eq!(s.authorization_expires_at(), Some(T0.plus_secs(60)));
    // expires_in is respected: the URL is refused once the request_uri has expired.
    let err = s.authorization_url(T0.plus_secs(61)).unwrap_err();
    assert!(matches!(err, Error::Par(ParError::Expired { ago_secs: 1, lifetime_secs: 60 })), "{err}");
    assert_eq!(err.kind(), ErrorKind::AuthorizationExpired);
    assert_eq!(err.blame(), Blame::Local);
    // The callback is checked against the pending authorization as without PAR.
    let state = start.pending.state().expose_secret().to_owned();
    let cb = format!("{REDIRECT}?code=c1&state={state}&iss=https%3A%2F%2Fas.example");
    s.handle_callback(T0.plus_secs(30), &mut start.pending, &cb).unwrap();
    let (id, req) = s.poll_transmit(T0.plus_secs(30)).unwrap();
    assert_eq!(req.form_value("code"), Some("c1"));
    assert!(req.form_value("code_verifier").is_some());
    s.handle_response(T0.plus_secs(30), id, json(200, r#"{"access_token":"a","token_type":"Bearer"}"#)).unwrap();
    assert!(matches!(events(&mut s).as_slice(), [Event::TokensChanged]));
    assert_eq!(s.authorization_url(T0.plus_secs(30)).unwrap_err().kind(), ErrorKind::Usage, "used up");
}

#[test]
fn par_refused_is_a_typed_failure_and_private_key_jwt_signs_the_push() {
    let (mut s, _start) = par_session("[token]\nclient_auth = \"private_key_jwt\"\n", jwt_client());
    let (id, req) = s.poll_transmit(T0).unwrap();
    assert!(req.header_value("Authorization").is_none());
    let claims = assertion(&req);
    assert_eq!(claims["aud"], "https://as.example/token");
    assert_eq!((claims["iss"].as_str(), claims["sub"].as_str()), (Some("client-1"), Some("client-1")));
    assert_eq!(claims["iat"], T0.as_unix_secs());
    s.handle_response(T0, id, json(401, r#"{"error":"invalid_client","error_description":"bad assertion"}"#)).unwrap();
    match events(&mut s).as_slice() {
        [Event::Failed(e)] => {
            assert!(matches!(e, Error::Par(ParError::Refused(_))), "{e}");
            assert_eq!(e.kind(), ErrorKind::TokenRefused);
            assert_eq!(e.blame(), Blame::Local, "invalid_client is the caller's configuration");
            assert_eq!(e.oauth().unwrap().code.as_str(), "invalid_client");
        }
        other => panic!("{other:?}"),
    }
    assert!(!s.is_busy());
}

#[test]
fn par_with_dpop_proves_the_push_and_exchanges_with_the_same_key() {
    let (mut s, mut start) = par_session("[dpop]\nrequired = true\n", client());
    let key = start.pending.dpop_key().cloned().expect("the pending authorization carries the key");
    // The pending authorization's JSON keeps it (a web app exchanges the code in another process).
    let back = PendingAuthorization::from_json(&start.pending.to_json()).unwrap();
    assert_eq!(back.dpop_key(), Some(&key));
    assert!(!format!("{:?}", start.pending).contains(&key.to_json()[60..90]));
    let (id, req) = s.poll_transmit(T0).unwrap();
    let (claims, jwk) = proof(&req);
    assert_eq!(jwk, key.public_jwk());
    assert_eq!(claims["htu"], "https://as.example/par");
    let challenge = json(400, r#"{"error":"use_dpop_nonce"}"#).with_header("DPoP-Nonce", "n-par");
    s.handle_response(T0, id, challenge).unwrap();
    let (id, req) = s.poll_transmit(T0).unwrap();
    assert_eq!(proof(&req).0["nonce"], "n-par");
    s.handle_response(T0, id, json(201, r#"{"request_uri":"urn:x","expires_in":30}"#)).unwrap();
    assert!(matches!(events(&mut s).as_slice(), [Event::AuthorizationReady { .. }]));
    // The code exchange in a new session, from the stored pending authorization: same key.
    let mut later = Session::new(provider("[authorization]\npar = true\n[dpop]\nrequired = true\n"), client());
    let mut pending = PendingAuthorization::from_json(&start.pending.to_json()).unwrap();
    let state = start.pending.state().expose_secret().to_owned();
    later
        .handle_callback(
            T0.plus_secs(5),
            &mut pending,
            &format!("{REDIRECT}?code=c&state={state}&iss=https%3A%2F%2Fas.example"),
        )
        .unwrap();
    let (id, req) = later.poll_transmit(T0.plus_secs(5)).unwrap();
    assert_eq!(proof(&req).1, key.public_jwk());
    later.handle_response(T0.plus_secs(5), id, json(200, DPOP_TOKENS)).unwrap();
    assert_eq!(later.tokens().unwrap().dpop_key.as_ref(), Some(&key));
    let _ = &mut start;
}

/// A session that started a device authorization and got its answer.
#[test]
fn private_key_jwt_wherever_the_session_authenticates() {
    let p = provider("[token]\nclient_auth = \"private_key_jwt\"\n");
    let mut s = Session::new(p, jwt_client());
    s.client_credentials(&[]).unwrap();
    let (id, req) = s.poll_transmit(T0).unwrap();
    assert_eq!(assertion(&req)["iat"], T0.as_unix_secs());
    s.handle_response(
        T0,
        id,
        json(200, r#"{"access_token":"a","token_type":"Bearer","expires_in":60,"refresh_token":"r"}"#),
    )
    .unwrap();
    // Refresh: a fresh assertion, signed when it leaves; and again after a Retry-After.
    s.refresh(T0.plus_secs(40)).unwrap();
    let (id, req) = s.poll_transmit(T0.plus_secs(40)).unwrap();
    let first = assertion(&req);
    assert_eq!(first["iat"], T0.plus_secs(40).as_unix_secs());
    s.handle_response(T0.plus_secs(40), id, HttpResponse::new(503, "").with_header("Retry-After", "2")).unwrap();
    s.handle_timeout(T0.plus_secs(42));
    let (id, req) = s.poll_transmit(T0.plus_secs(42)).unwrap();
    let second = assertion(&req);
    assert_ne!(second["jti"], first["jti"], "a request that may have arrived is not replayed with its jti");
    assert_eq!(second["iat"], T0.plus_secs(42).as_unix_secs());
    s.handle_response(T0.plus_secs(42), id, json(200, r#"{"access_token":"b","token_type":"Bearer","expires_in":60}"#))
        .unwrap();
    // Revocation.
    s.revoke(T0.plus_secs(50)).unwrap();
    let (_, req) = s.poll_transmit(T0.plus_secs(50)).unwrap();
    assert_eq!(req.url().as_str(), "https://as.example/revoke");
    assert_eq!(assertion(&req)["iat"], T0.plus_secs(50).as_unix_secs());
    // Without the key: refused locally before any request.
    let mut s =
        Session::new(provider("[token]\nclient_auth = \"private_key_jwt\"\n"), ClientConfig::new("client-1").unwrap());
    assert!(matches!(s.client_credentials(&[]), Err(Error::Usage(UsageError::MissingClientKey { .. }))));
    assert!(matches!(s.start_device_authorization(T0, None), Err(Error::Usage(UsageError::MissingClientKey { .. }))));
    assert!(!s.is_busy());
}

#[test]
fn generated_dpop_keys_are_per_account_and_reused() {
    // A new login for an account that holds a DPoP key keeps it.
    let s = dpop_session();
    let held = s.tokens().unwrap().clone();
    let mut s = Session::new(provider("[dpop]\nrequired = true\n"), client());
    let mut user = held.clone();
    user.identity = Identity::User;
    s.set_tokens(Some(user)).unwrap();
    let start = s.start_authorization(T0).unwrap();
    assert_eq!(start.pending.dpop_key(), held.dpop_key.as_ref());
    // A fresh account gets a fresh key.
    let mut fresh = Session::new(provider("[dpop]\nrequired = true\n"), client());
    let other = fresh.start_authorization(T0).unwrap();
    let k = other.pending.dpop_key().unwrap();
    assert_ne!(Some(k.thumbprint()), held.dpop_key.as_ref().map(DpopKey::thumbprint));
    // Without DPoP, nothing is generated.
    let mut plain = Session::new(provider(""), client());
    assert!(plain.start_authorization(T0).unwrap().pending.dpop_key().is_none());
}
