//! The device authorization grant (RFC 8628) in the Session, driven by hand with canned
//! answers: the code shown, polls at the interval and `slow_down`, the denied, expired and
//! refused endings as typed errors, and the grant with private_key_jwt and DPoP. (Split from
//! `session_specs.rs`, which holds PAR, DPoP and private_key_jwt.)

use scopegate_core::device::{DeviceError, UserCode};
use scopegate_core::prelude::*;
use scopegate_core::profile::JwsAlgorithm;
use scopegate_core::{GrantType, UsageError};

mod specs_common;
use specs_common::*;

fn device_session(p: Provider, c: ClientConfig) -> (Session, UserCode) {
    let mut s = Session::new(p, c);
    s.start_device_authorization(T0, None).unwrap();
    assert_eq!(s.refresh(T0).unwrap_err().kind(), ErrorKind::Busy);
    let (id, req) = s.poll_transmit(T0).unwrap();
    assert_eq!(req.url().as_str(), "https://as.example/device");
    s.handle_response(
        T0,
        id,
        json(
            200,
            r#"{"device_code":"dc-secret-123","user_code":"WDJB-MJHT","verification_uri":"https://as.example/device/verify",
                "verification_uri_complete":"https://as.example/device/verify?user_code=WDJB-MJHT","expires_in":300,"interval":5}"#,
        ),
    )
    .unwrap();
    let code = match events(&mut s).as_slice() {
        [Event::UserCode(code)] => code.clone(),
        other => panic!("{other:?}"),
    };
    assert!(s.is_busy(), "polling is the operation in flight");
    (s, code)
}

#[test]
fn device_grant_polls_with_the_interval_and_slow_down() {
    let (mut s, code) = device_session(provider(""), client());
    assert_eq!(code.user_code, "WDJB-MJHT");
    assert_eq!(code.uri().as_str(), "https://as.example/device/verify?user_code=WDJB-MJHT");
    assert_eq!(code.expires_at, T0.plus_secs(300));
    assert!(!format!("{code:?}").contains("dc-secret-123"), "the device code is not in the event");
    // Nothing before the interval; then a poll.
    assert!(s.poll_transmit(T0.plus_secs(4)).is_none());
    assert_eq!(s.poll_timeout(), Some(T0.plus_secs(5)));
    s.handle_timeout(T0.plus_secs(5));
    let (id, req) = s.poll_transmit(T0.plus_secs(5)).unwrap();
    assert_eq!(req.form_value("grant_type"), Some("urn:ietf:params:oauth:grant-type:device_code"));
    assert_eq!(req.form_value("device_code"), Some("dc-secret-123"));
    s.handle_response(T0.plus_secs(5), id, json(400, r#"{"error":"authorization_pending"}"#)).unwrap();
    assert!(events(&mut s).is_empty());
    assert_eq!(s.poll_timeout(), Some(T0.plus_secs(10)));
    s.handle_timeout(T0.plus_secs(10));
    let (id, _) = s.poll_transmit(T0.plus_secs(10)).unwrap();
    s.handle_response(T0.plus_secs(10), id, json(400, r#"{"error":"slow_down"}"#)).unwrap();
    assert_eq!(s.poll_timeout(), Some(T0.plus_secs(20)), "slow_down adds 5 s to the interval");
    s.handle_timeout(T0.plus_secs(20));
    let (id, _) = s.poll_transmit(T0.plus_secs(20)).unwrap();
    s.handle_response(T0.plus_secs(20), id, json(400, r#"{"error":"authorization_pending"}"#)).unwrap();
    assert_eq!(s.poll_timeout(), Some(T0.plus_secs(30)), "for good");
    // A lost poll: polling goes on.
    s.handle_timeout(T0.plus_secs(30));
    let (id, _) = s.poll_transmit(T0.plus_secs(30)).unwrap();
    s.handle_transport_error(
        T0.plus_secs(30),
        id,
        TransportError::Io { host: "as.example".into(), reason: "reset".into() },
    )
    .unwrap();
    assert_eq!(s.poll_timeout(), Some(T0.plus_secs(40)));
    s.handle_timeout(T0.plus_secs(40));
    let (id, _) = s.poll_transmit(T0.plus_secs(40)).unwrap();
    let tokens =
        r#"{"access_token":"at-d","token_type":"Bearer","expires_in":600,"refresh_token":"rt-d","scope":"openid"}"#;
    s.handle_response(T0.plus_secs(40), id, json(200, tokens)).unwrap();
    assert!(matches!(events(&mut s).as_slice(), [Event::TokensChanged]));
    assert!(!s.is_busy());
    let t = s.tokens().unwrap();
    assert_eq!(t.identity, Identity::User);
    assert_eq!(t.access_token.expose_secret(), "at-d");
    assert_eq!(s.poll_timeout(), t.refresh_due_at(60), "the timer is the refresh's again");
}

#[test]
fn device_grant_denied_expired_and_refused_are_typed() {
    let (mut s, _) = device_session(provider(""), client());
    s.handle_timeout(T0.plus_secs(5));
    let (id, _) = s.poll_transmit(T0.plus_secs(5)).unwrap();
    s.handle_response(T0.plus_secs(5), id, json(400, r#"{"error":"access_denied"}"#)).unwrap();
    match events(&mut s).as_slice() {
        [Event::Failed(e)] => {
            assert!(matches!(e, Error::Device(DeviceError::AccessDenied)), "{e}");
            assert_eq!(e.kind(), ErrorKind::AuthorizationDenied);
        }
        other => panic!("{other:?}"),
    }
    assert!(!s.is_busy() && s.tokens().is_none());

    let (mut s, _) = device_session(provider(""), client());
    s.handle_timeout(T0.plus_secs(5));
    let (id, _) = s.poll_transmit(T0.plus_secs(5)).unwrap();
    s.handle_response(T0.plus_secs(5), id, json(400, r#"{"error":"expired_token"}"#)).unwrap();
    match events(&mut s).as_slice() {
        [Event::Failed(e)] => {
            assert!(matches!(e, Error::Device(DeviceError::Expired)), "{e}");
            assert_eq!(e.kind(), ErrorKind::AuthorizationExpired);
            assert_eq!(e.blame(), Blame::Remote);
        }
        other => panic!("{other:?}"),
    }

    // The code's own expiry ends it without a request.
    let (mut s, _) = device_session(provider(""), client());
    s.handle_timeout(T0.plus_secs(300));
    assert!(s.poll_transmit(T0.plus_secs(300)).is_none());
    assert!(matches!(events(&mut s).as_slice(), [Event::Failed(Error::Device(DeviceError::Expired))]));
    assert!(!s.is_busy());

    // The device authorization endpoint refuses: typed, with the OAuth error.
    let mut s = Session::new(provider(""), client());
    s.start_device_authorization(T0, Some(&["api:read".to_string()])).unwrap();
    let (id, req) = s.poll_transmit(T0).unwrap();
    assert_eq!(req.form_value("scope"), Some("api:read"));
    s.handle_response(T0, id, json(400, r#"{"error":"invalid_scope"}"#)).unwrap();
    match events(&mut s).as_slice() {
        [Event::Failed(e)] => {
            assert!(matches!(e, Error::Device(DeviceError::Refused(_))), "{e}");
            assert_eq!(e.kind(), ErrorKind::TokenRefused);
        }
        other => panic!("{other:?}"),
    }

    // A profile without the device grant, or a session holding the app's token: refused.
    let p = provider("[token]\ngrants = [\"authorization_code\"]\n");
    let mut s = Session::new(p, client());
    assert!(matches!(
        s.start_device_authorization(T0, None),
        Err(Error::Usage(UsageError::GrantNotSupported { grant: GrantType::DeviceCode, .. }))
    ));
}

#[test]
fn device_grant_with_private_key_jwt_and_dpop() {
    let p = provider("[token]\nclient_auth = \"private_key_jwt\"\n[dpop]\nrequired = true\nalg = \"EdDSA\"\n");
    let mut s = Session::new(p.clone(), jwt_client());
    s.start_device_authorization(T0, None).unwrap();
    let (id, req) = s.poll_transmit(T0).unwrap();
    assert_eq!(assertion(&req)["aud"], "https://as.example/token");
    assert!(req.header_value("DPoP").is_none(), "RFC 9449 defines no proof for the device authorization request");
    s.handle_response(
        T0,
        id,
        json(
            200,
            r#"{"device_code":"dc","user_code":"AB-CD","verification_uri":"https://as.example/v","expires_in":60}"#,
        ),
    )
    .unwrap();
    match events(&mut s).as_slice() {
        [Event::UserCode(c)] => {
            assert_eq!(c.interval_secs, 5, "RFC 8628 §3.2's default");
            assert_eq!(c.uri().as_str(), "https://as.example/v", "no complete URI: the plain one");
        }
        other => panic!("{other:?}"),
    }
    s.handle_timeout(T0.plus_secs(5));
    let (id, req) = s.poll_transmit(T0.plus_secs(5)).unwrap();
    let first_jti = assertion(&req)["jti"].clone();
    let (claims, jwk) = proof(&req);
    assert_eq!(jwk["crv"], "Ed25519");
    assert_eq!(claims["htu"], "https://as.example/token");
    // A nonce challenge on a poll: sent again at once with the nonce and a fresh assertion.
    s.handle_response(T0.plus_secs(5), id, json(400, r#"{"error":"use_dpop_nonce"}"#).with_header("DPoP-Nonce", "dn"))
        .unwrap();
    let (id, req) = s.poll_transmit(T0.plus_secs(5)).expect("at once");
    assert_eq!(proof(&req).0["nonce"], "dn");
    assert_ne!(assertion(&req)["jti"], first_jti);
    s.handle_response(T0.plus_secs(5), id, json(200, DPOP_TOKENS)).unwrap();
    assert!(matches!(events(&mut s).as_slice(), [Event::TokensChanged]));
    assert_eq!(s.tokens().unwrap().dpop_key.as_ref().unwrap().algorithm(), JwsAlgorithm::EdDsa);
}
