//! Helpers of the Session's spec tests (`session_specs.rs`, `session_device.rs`): a profile
//! with every spec's endpoint, clients, canned answers, and readers of proofs and assertions.
#![allow(dead_code, unreachable_pub)]

use std::path::Path;

use scopegate_core::jose::{SigningKey, peek_header, verify_compact};
use scopegate_core::prelude::*;
use serde_json::{Map, Value};

pub const T0: Timestamp = Timestamp::from_unix_secs(1_800_000_000);
pub const REDIRECT: &str = "http://127.0.0.1:9000/callback";

pub const BASE: &str = r#"
id = "as"
[authorization]
url = "https://as.example/authorize"
issuer = "https://as.example"
par_url = "https://as.example/par"
[token]
url = "https://as.example/token"
grants = ["authorization_code", "refresh_token", "client_credentials", "device_code"]
[device]
url = "https://as.example/device"
[api]
base_url = "https://rs.example/api/"
[revocation]
kind = "rfc7009"
url = "https://as.example/revoke"
"#;

pub fn provider(extra: &str) -> Provider {
    Provider::from_toml_str(BASE, "as.toml").unwrap().with_overrides(extra, "extra").unwrap()
}

pub fn client() -> ClientConfig {
    ClientConfig::new("client-1").unwrap().with_secret("s3cret-value").with_redirect_uri(REDIRECT).unwrap()
}

pub fn jwt_client() -> ClientConfig {
    let pem = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/keys/es256.pem")).unwrap();
    ClientConfig::new("client-1")
        .unwrap()
        .with_client_key(SigningKey::from_pem(&pem).unwrap())
        .with_redirect_uri(REDIRECT)
        .unwrap()
}

pub fn json(status: u16, body: &str) -> HttpResponse {
    HttpResponse::new(status, body.as_bytes().to_vec()).with_header("Content-Type", "application/json")
}

pub fn events(s: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

/// The claims of the DPoP proof a request carries, verified with the key in its header; and
/// that key's header.
pub fn proof(req: &HttpRequest) -> (Map<String, Value>, Map<String, Value>) {
    let jws = req.header_value("DPoP").expect("a DPoP proof");
    let header = peek_header(jws).unwrap();
    assert_eq!(header["typ"], "dpop+jwt");
    let jwk = header["jwk"].as_object().unwrap().clone();
    assert!(!jwk.contains_key("d"), "no private member in a proof");
    (verify_compact(jws, &jwk).expect("signed by the key in its header").claims, jwk)
}

/// The claims of a request's client assertion.
pub fn assertion(req: &HttpRequest) -> Map<String, Value> {
    let jws = req.form_value("client_assertion").expect("a client assertion");
    let pem = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/keys/es256.pem")).unwrap();
    let key = SigningKey::from_pem(&pem).unwrap();
    verify_compact(jws, &key.public_jwk()).unwrap().claims
}

pub const DPOP_TOKENS: &str =
    r#"{"access_token":"at-dpop-1","token_type":"DPoP","expires_in":3600,"refresh_token":"rt-dpop-1"}"#;

/// A DPoP-required session that got its tokens by client credentials, with the nonce round
/// trip at the token endpoint.
pub fn dpop_session() -> Session {
    let mut s = Session::new(provider("[dpop]\nrequired = true\n"), client());
    s.client_credentials(&[]).unwrap();
    let (id, req) = s.poll_transmit(T0).unwrap();
    let (claims, jwk) = proof(&req);
    assert_eq!((claims["htm"].as_str(), claims["htu"].as_str()), (Some("POST"), Some("https://as.example/token")));
    assert_eq!(claims["iat"], T0.as_unix_secs());
    assert!(claims.get("nonce").is_none() && claims.get("ath").is_none());
    let first_jti = claims["jti"].clone();
    // The token endpoint wants its nonce: the session sends the request again, once, with it.
    let challenge = json(400, r#"{"error":"use_dpop_nonce","error_description":"nonce please"}"#)
        .with_header("DPoP-Nonce", "as-nonce-1");
    s.handle_response(T0, id, challenge).unwrap();
    assert!(events(&mut s).is_empty(), "a nonce challenge is not a failure");
    let (id, req) = s.poll_transmit(T0.plus_secs(1)).expect("sent again");
    let (claims, jwk2) = proof(&req);
    assert_eq!(claims["nonce"], "as-nonce-1");
    assert_ne!(claims["jti"], first_jti, "a fresh jti");
    assert_eq!(jwk, jwk2, "the same key");
    s.handle_response(T0.plus_secs(1), id, json(200, DPOP_TOKENS)).unwrap();
    assert!(matches!(events(&mut s).as_slice(), [Event::TokensChanged]));
    let t = s.tokens().unwrap();
    assert_eq!(t.token_type, "DPoP");
    assert!(t.is_dpop_bound());
    assert_eq!(t.dpop_key.as_ref().unwrap().public_jwk(), jwk, "the token set keeps the key it was bound to");
    s
}
