//! The sans-IO pieces of issue 23 without a server: keys, private_key_jwt in the token flow, the
//! device poll's rules, PAR's browser URL and expiry, discovery into a profile, and the profile
//! keys' validation (a profile without them is unchanged: see the other test files).

use std::path::Path;

use scopegate_core::client_assertion::JWT_BEARER;
use scopegate_core::device::{DeviceAuthorization, DeviceError, DevicePoll, DevicePollStatus};
use scopegate_core::discovery::{DiscoveryError, ServerMetadata, profile_toml};
use scopegate_core::jose::KeyError;
use scopegate_core::jose::SigningKey;
use scopegate_core::jose::verify_compact;
use scopegate_core::low_level::{TokenErrorCode, TokenFlow};
use scopegate_core::par::{ParError, ParFlow};
use scopegate_core::prelude::*;
use scopegate_core::profile::ClientAuth;
use scopegate_core::profile::JwsAlgorithm;
use scopegate_core::{AuthorizationRequest, GrantType, UsageError};

fn pem(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/keys").join(name)).unwrap()
}

const BASE: &str = r#"
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
"#;

fn provider(extra: &str) -> Provider {
    Provider::from_toml_str(BASE, "as.toml").unwrap().with_overrides(extra, "extra").unwrap()
}

#[test]
fn keys_from_pem_fixtures() {
    for (file, alg) in [
        ("es256.pem", JwsAlgorithm::Es256),
        ("rs256.pem", JwsAlgorithm::Rs256),
        ("rs256-pkcs1.pem", JwsAlgorithm::Rs256),
        ("eddsa.pem", JwsAlgorithm::EdDsa),
    ] {
        let key = SigningKey::from_pem(&pem(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(key.algorithm(), alg, "{file}");
        let jws = key.sign_compact(Default::default(), &Default::default()).unwrap();
        assert!(verify_compact(&jws, &key.public_jwk()).is_ok(), "{file}");
        assert!(!key.public_jwk().contains_key("d"), "{file}: no private member");
        let shown = format!("{key:?}");
        assert!(!shown.contains(&pem(file)[28..60]), "{file}: {shown}");
    }
    // The same RSA key in PKCS#8 and PKCS#1: the same public key.
    let a = SigningKey::from_pem(&pem("rs256.pem")).unwrap();
    let b = SigningKey::from_pem(&pem("rs256-pkcs1.pem")).unwrap();
    assert_eq!(a.thumbprint(), b.thumbprint());
    match SigningKey::from_pem(&pem("rsa1024.pem")) {
        Err(KeyError::Rejected { alg: JwsAlgorithm::Rs256, reason }) => {
            assert!(reason.contains("TooSmall"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn profile_keys_validate_with_typed_errors() {
    let p = provider(
        "[token]\nclient_auth = \"private_key_jwt\"\nassertion_audience = \"issuer\"\n[authorization]\npar = true\n[dpop]\nrequired = true\nalg = \"EdDSA\"\n",
    );
    assert_eq!(p.client_auth(), ClientAuth::PrivateKeyJwt);
    assert_eq!(p.assertion_audience(), scopegate_core::client_assertion::AssertionAudience::Issuer);
    assert!(p.uses_par() && p.dpop_required());
    assert_eq!(p.dpop().unwrap().alg, JwsAlgorithm::EdDsa);
    assert!(p.supports(GrantType::DeviceCode));
    assert_eq!(GrantType::DeviceCode.as_str(), "urn:ietf:params:oauth:grant-type:device_code");

    let err = |base: &str, extra: &str| {
        Provider::from_toml_str(base, "as.toml").and_then(|p| p.with_overrides(extra, "extra")).unwrap_err().to_string()
    };
    let cases = [
        ("[token]\nassertion_audience = \"issuer\"\n", "field `token.assertion_audience`: applies only to client_auth"),
        (
            "[token]\nclient_auth = \"private_key_jwt\"\nassertion_audience = \"aud\"\n",
            "must be \"token_endpoint\" or \"issuer\"",
        ),
        ("[dpop]\nalg = \"RS256\"\n", "field `dpop.alg`: RS256 keys are not generated"),
        ("[dpop]\nalg = \"HS256\"\n", "field `dpop.alg`: must be \"ES256\" or \"EdDSA\""),
        ("[dpop]\nnonce = true\n", "unknown field `nonce`"),
        ("[device]\nurl = \"http://as.example/device\"\n", "field `device.url`: plain http"),
    ];
    for (extra, expected) in cases {
        let e = err(BASE, extra);
        assert!(e.contains(expected), "{extra}: {e}");
    }
    let no_par_url = BASE.replace("par_url = \"https://as.example/par\"\n", "");
    assert!(err(&no_par_url, "[authorization]\npar = true\n").contains("field `authorization.par_url` is required"));
    let no_issuer = BASE.replace("issuer = \"https://as.example\"\n", "");
    let e = err(&no_issuer, "[token]\nclient_auth = \"private_key_jwt\"\nassertion_audience = \"issuer\"\n");
    assert!(e.contains("field `authorization.issuer` is required"), "{e}");
    let no_device = BASE.replace("[device]\nurl = \"https://as.example/device\"\n", "");
    assert!(err(&no_device, "").contains("field `device.url` is required"));
    // The built-in profiles use none of them.
    for p in Provider::builtins().unwrap() {
        assert!(!p.uses_par() && p.dpop().is_none() && p.device_authorization_url().is_none() && p.par_url().is_none());
        assert_ne!(p.client_auth(), ClientAuth::PrivateKeyJwt);
    }
}

#[test]
fn private_key_jwt_token_requests_are_signed_when_sent() {
    let p = provider("[token]\nclient_auth = \"private_key_jwt\"\n");
    let key = SigningKey::from_pem(&pem("es256.pem")).unwrap().with_kid("k1");
    let client = ClientConfig::new("c1").unwrap().with_client_key(key.clone());
    let mut flow = TokenFlow::client_credentials(&p, &client, &[]).unwrap();
    let now = Timestamp::from_unix_secs(1_800_000_000);
    let req = flow.poll_transmit(now).unwrap();
    assert_eq!(req.form_value("client_id"), Some("c1"));
    assert_eq!(req.form_value("client_assertion_type"), Some(JWT_BEARER));
    assert!(req.header_value("authorization").is_none() && req.form_value("client_secret").is_none());
    let jwt = req.form_value("client_assertion").unwrap();
    let v = verify_compact(jwt, &key.public_jwk()).unwrap();
    assert_eq!(v.claims["aud"], "https://as.example/token");
    assert_eq!(v.claims["iat"], 1_800_000_000u64);
    assert!(!format!("{req:?}").contains(jwt), "the assertion is redacted in Debug");
    // The issuer as audience; and no key: typed, before any request.
    let p2 = provider("[token]\nclient_auth = \"private_key_jwt\"\nassertion_audience = \"issuer\"\n");
    let req = TokenFlow::client_credentials(&p2, &client, &[]).unwrap().poll_transmit(now).unwrap();
    let v = verify_compact(req.form_value("client_assertion").unwrap(), &key.public_jwk()).unwrap();
    assert_eq!(v.claims["aud"], "https://as.example");
    let keyless = ClientConfig::new("c1").unwrap().with_secret("s");
    assert_eq!(
        TokenFlow::client_credentials(&p, &keyless, &[]).unwrap_err(),
        UsageError::MissingClientKey { provider: "as".into() }
    );
}

fn device_answer(interval: Option<u64>) -> HttpResponse {
    let mut v = serde_json::json!({
        "device_code": "dc-SECRET-123", "user_code": "WDJB-MJHT",
        "verification_uri": "https://as.example/device",
        "verification_uri_complete": "https://as.example/device?user_code=WDJB-MJHT", "expires_in": 60,
    });
    if let Some(i) = interval {
        v["interval"] = i.into();
    }
    HttpResponse::new(200, v.to_string())
}

#[test]
fn device_polling_follows_rfc8628() {
    let p = provider("");
    let client = ClientConfig::new("c1").unwrap().with_secret("s");
    let t0 = Timestamp::from_unix_secs(1_000);
    let auth = DeviceAuthorization::from_response(&device_answer(None), t0, &[]).unwrap();
    assert_eq!(auth.interval_secs(), 5, "RFC 8628 §3.2 default");
    assert_eq!(auth.user_code(), "WDJB-MJHT");
    assert!(!format!("{auth:?}").contains("dc-SECRET-123"));
    let mut poll = DevicePoll::new(auth);
    assert_eq!(poll.poll_timeout(), Some(t0.plus_secs(5)));
    assert!(poll.poll_transmit(&p, &client, t0.plus_secs(4)).unwrap().is_none());
    let t = t0.plus_secs(5);
    let req = poll.poll_transmit(&p, &client, t).unwrap().unwrap();
    assert_eq!(req.form_value("device_code"), Some("dc-SECRET-123"));
    assert!(!format!("{req:?}").contains("dc-SECRET-123"), "device_code redacted in Debug");
    assert!(poll.poll_transmit(&p, &client, t).unwrap().is_none(), "one poll in flight");
    let pending = HttpResponse::new(400, r#"{"error":"authorization_pending"}"#);
    assert_eq!(poll.handle_response(t, pending).unwrap(), DevicePollStatus::Pending);
    assert_eq!(poll.poll_timeout(), Some(t.plus_secs(5)));
    let t = t.plus_secs(5);
    poll.poll_transmit(&p, &client, t).unwrap().unwrap();
    let slow = HttpResponse::new(400, r#"{"error":"slow_down"}"#);
    assert_eq!(poll.handle_response(t, slow).unwrap(), DevicePollStatus::SlowDown { interval_secs: 10 });
    assert_eq!(poll.poll_timeout(), Some(t.plus_secs(10)), "slow_down adds 5 s for good");
    let t = t.plus_secs(10);
    poll.poll_transmit(&p, &client, t).unwrap().unwrap();
    let ok =
        HttpResponse::new(200, r#"{"access_token":"at","token_type":"Bearer","expires_in":60,"refresh_token":"rt"}"#);
    match poll.handle_response(t, ok).unwrap() {
        DevicePollStatus::Tokens(tokens) => assert_eq!(tokens.refresh_token.unwrap().expose_secret(), "rt"),
        other => panic!("{other:?}"),
    }

    for (error, expected) in [("expired_token", DeviceError::Expired), ("access_denied", DeviceError::AccessDenied)] {
        let mut poll = DevicePoll::new(DeviceAuthorization::from_response(&device_answer(Some(2)), t0, &[]).unwrap());
        let t = poll.poll_timeout().unwrap();
        poll.poll_transmit(&p, &client, t).unwrap().unwrap();
        let resp = HttpResponse::new(400, format!(r#"{{"error":"{error}"}}"#));
        assert_eq!(poll.handle_response(t, resp), Err(expected));
        assert_eq!(poll.poll_timeout(), None);
    }
    // The code's own expiry ends it locally, without a request.
    let mut poll = DevicePoll::new(DeviceAuthorization::from_response(&device_answer(Some(2)), t0, &[]).unwrap());
    assert!(matches!(poll.poll_transmit(&p, &client, t0.plus_secs(60)), Err(DeviceError::Expired)));
    // Malformed answers: typed.
    let e = DeviceAuthorization::from_response(&HttpResponse::new(200, r#"{"user_code":"x"}"#), t0, &[]).unwrap_err();
    assert_eq!(e, DeviceError::Malformed("no device_code".into()));
    let e = DeviceAuthorization::from_response(&HttpResponse::new(400, r#"{"error":"invalid_client"}"#), t0, &[]);
    assert!(matches!(e, Err(DeviceError::Refused(_))));
}

#[test]
fn par_pushes_and_hands_the_browser_only_the_reference() {
    let p = provider("[authorization]\npar = true\n");
    let client =
        ClientConfig::new("c1").unwrap().with_secret("s3cret").with_redirect_uri("https://app.example/cb").unwrap();
    let t0 = Timestamp::from_unix_secs(5_000);
    let start = AuthorizationRequest::new(&p, &client).build(t0).unwrap();
    let state = start.pending.state().expose_secret().to_owned();
    let flow = ParFlow::new(&p, &client, start, t0).unwrap();
    let req = flow.request();
    assert_eq!(req.url().as_str(), "https://as.example/par");
    assert!(req.header_value("authorization").unwrap().starts_with("Basic "));
    for k in ["response_type", "client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method"] {
        assert!(req.form_value(k).is_some(), "{k}");
    }
    assert!(!format!("{flow:?}").contains(&state), "state redacted");
    let resp = HttpResponse::new(201, r#"{"request_uri":"urn:ietf:params:oauth:request_uri:abc","expires_in":90}"#);
    let pushed = flow.handle_response(t0, &resp).unwrap();
    let url = pushed.browser_url(t0.plus_secs(89)).unwrap();
    assert_eq!(
        url,
        "https://as.example/authorize?client_id=c1&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc"
    );
    assert_eq!(pushed.browser_url(t0.plus_secs(95)), Err(ParError::Expired { ago_secs: 5, lifetime_secs: 90 }));
    // The callback is checked by the pending authorization as without PAR.
    let mut pending = pushed.pending;
    assert!(
        pending
            .handle_callback(t0, &format!("https://app.example/cb?code=c&state={state}&iss=https%3A%2F%2Fas.example"))
            .is_ok()
    );
    // Refusals and nonsense: typed.
    let start = AuthorizationRequest::new(&p, &client).build(t0).unwrap();
    let flow = ParFlow::new(&p, &client, start, t0).unwrap();
    let refused = flow.handle_response(t0, &HttpResponse::new(401, r#"{"error":"invalid_client"}"#));
    assert!(matches!(refused, Err(ParError::Refused(e)) if e.code == TokenErrorCode::InvalidClient));
    let no_par = Provider::from_toml_str(&BASE.replace("par_url = \"https://as.example/par\"\n", ""), "x").unwrap();
    let start = AuthorizationRequest::new(&no_par, &client).build(t0).unwrap();
    assert!(matches!(ParFlow::new(&no_par, &client, start, t0), Err(UsageError::EndpointNotConfigured { .. })));
}

const METADATA: &str = r#"{
  "issuer": "https://login.example.com/tenant",
  "authorization_endpoint": "https://login.example.com/tenant/authorize",
  "token_endpoint": "https://login.example.com/tenant/token",
  "token_endpoint_auth_methods_supported": ["private_key_jwt", "tls_client_auth"],
  "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256"],
  "grant_types_supported": ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
  "device_authorization_endpoint": "https://login.example.com/tenant/device",
  "pushed_authorization_request_endpoint": "https://login.example.com/tenant/par",
  "require_pushed_authorization_requests": true,
  "dpop_signing_alg_values_supported": ["ES256"],
  "code_challenge_methods_supported": ["S256"],
  "scopes_supported": ["openid", "offline_access", "profile"],
  "revocation_endpoint": "https://login.example.com/tenant/revoke"
}"#;

#[test]
fn discovery_writes_a_profile_that_loads_as_written() {
    let issuer = "https://login.example.com/tenant";
    let p = Provider::from_discovery(issuer, METADATA).unwrap();
    assert_eq!(p.id(), "login-example-com-tenant");
    assert_eq!(p.client_auth(), ClientAuth::PrivateKeyJwt, "the only method of ours it offers");
    assert!(p.uses_par(), "required by the server");
    assert_eq!(p.grants(), [GrantType::AuthorizationCode, GrantType::RefreshToken, GrantType::DeviceCode]);
    assert_eq!(p.issuer(), Some(issuer));
    assert_eq!(p.scopes(), ["openid", "offline_access"]);
    assert!(p.dpop().is_some() && !p.dpop_required());
    let text = profile_toml(&ServerMetadata::parse(issuer, METADATA.as_bytes()).unwrap()).unwrap();
    let again = Provider::from_toml_str(&text, "written.toml").unwrap();
    assert_eq!(again.token_url(), p.token_url());
    assert!(text.contains("# token_endpoint_auth_methods_supported: private_key_jwt, tls_client_auth"), "{text}");
    // The user adds the API part and nothing else changes.
    let with_api = Provider::from_toml_str(&format!("{text}\n[api]\nbase_url = \"https://api.example.com/v1\"\n"), "x");
    assert!(with_api.is_ok(), "{with_api:?}");
    // The issuer check, and a server a profile cannot use.
    assert!(matches!(
        Provider::from_discovery("https://login.example.com/other", METADATA),
        Err(DiscoveryError::IssuerMismatch { .. })
    ));
    let no_auth = r#"{"issuer":"https://a.example","token_endpoint":"https://a.example/t"}"#;
    assert!(matches!(Provider::from_discovery("https://a.example", no_auth), Err(DiscoveryError::Unusable { .. })));
}
