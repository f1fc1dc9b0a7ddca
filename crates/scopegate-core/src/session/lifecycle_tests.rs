//! Token lifecycle: refresh margin, states, invalid_grant, Yotpo's repeated-401 rule, revocation.

use super::common::*;
use super::rules::{ApiVerdict, Connection, TokenState};
use scopegate_core::low_level::TokenFlow;
use scopegate_core::prelude::*;

fn yuvo_connection(expires_in: u64) -> Connection {
    let p = provider("yuvo");
    let mut flow = TokenFlow::authorization_code(&p, &client(), grant(&p, "C")).unwrap();
    let body =
        format!(r#"{{"access_token":"AT","token_type":"bearer","refresh_token":"RT","expires_in":{expires_in}}}"#);
    let tokens = drive(&mut flow, T0, json(200, &body)).unwrap();
    Connection::new(&p, tokens)
}

fn yotpo_connection() -> Connection {
    let p = yotpo();
    let mut flow = TokenFlow::authorization_code(&p, &client(), grant(&p, "C")).unwrap();
    let tokens = drive(&mut flow, T0, json(200, r#"{"access_token":"AT","token_type":"bearer"}"#)).unwrap();
    Connection::new(&p, tokens)
}

#[test]
fn needs_refresh_with_the_default_60_second_margin() {
    let c = yuvo_connection(3600);
    assert!(!c.needs_refresh(T0, 60));
    assert!(!c.needs_refresh(T0.plus_secs(3539), 60));
    assert!(c.needs_refresh(T0.plus_secs(3540), 60), "60 s before expiry");
    assert_eq!(c.state(T0.plus_secs(3540)), TokenState::Active, "still valid, only due");
    assert!(c.needs_refresh(T0.plus_secs(99_999), 60));
    assert_eq!(c.state(T0.plus_secs(3600)), TokenState::Expired);
}

#[test]
fn refresh_margin_is_configurable() {
    // Issue 19: the margin is the session's alone, passed to the rule.
    let c = yuvo_connection(3600);
    assert!(!c.needs_refresh(T0.plus_secs(2999), 600));
    assert!(c.needs_refresh(T0.plus_secs(3000), 600));
    let p = provider("yuvo").with_overrides("[lifecycle]\nrefresh_margin_secs = 0", "t").unwrap();
    let c = Connection::new(&p, c.tokens().clone());
    let margin = p.lifecycle().refresh_margin_secs;
    assert!(!c.needs_refresh(T0.plus_secs(3599), margin));
    assert!(c.needs_refresh(T0.plus_secs(3600), margin));
}

#[test]
fn successful_refresh_replaces_the_tokens() {
    let p = provider("yuvo");
    let mut c = yuvo_connection(3600);
    let at = T0.plus_secs(3590);
    let mut flow = TokenFlow::refresh(&p, &client(), c.tokens()).unwrap();
    let outcome = drive(&mut flow, at, json(200, r#"{"access_token":"AT2","token_type":"bearer","expires_in":3600}"#));
    c.apply_refresh(&outcome);
    assert_eq!(c.tokens().access_token.expose_secret(), "AT2");
    assert_eq!(c.tokens().refresh_token.as_ref().unwrap().expose_secret(), "RT");
    assert_eq!(c.state(at), TokenState::Active);
    assert!(!c.needs_refresh(at, 60));
}

#[test]
fn invalid_grant_requires_reauthorization() {
    let p = provider("yuvo");
    let mut c = yuvo_connection(3600);
    let mut flow = TokenFlow::refresh(&p, &client(), c.tokens()).unwrap();
    let outcome = drive(&mut flow, T0, json(400, r#"{"error":"invalid_grant"}"#));
    c.apply_refresh(&outcome);
    assert_eq!(c.state(T0), TokenState::ReauthorizationRequired(ReauthorizationReason::InvalidGrant));
    assert!(!c.needs_refresh(T0.plus_secs(99_999), 60), "refreshing again cannot help");
}

#[test]
fn other_refresh_failures_leave_the_connection_as_it_was() {
    let p = provider("yuvo");
    let mut c = yuvo_connection(3600);
    let mut flow = TokenFlow::refresh(&p, &client(), c.tokens()).unwrap();
    let outcome = drive(&mut flow, T0, json(503, "down"));
    c.apply_refresh(&outcome);
    assert_eq!(c.state(T0), TokenState::Active);
    assert_eq!(c.tokens().access_token.expose_secret(), "AT");
}

#[test]
fn expired_refresh_token_requires_reauthorization() {
    let p = provider("yespo");
    let mut flow = TokenFlow::authorization_code(&p, &client(), grant(&p, "C")).unwrap();
    let tokens =
        drive(&mut flow, T0, json(200, r#"{"access_token":"a","token_type":"bearer","refresh_token":"r"}"#)).unwrap();
    let c = Connection::new(&p, tokens);
    assert_eq!(c.state(T0.plus_secs(172_800)), TokenState::Expired);
    assert_eq!(
        c.state(T0.plus_secs(2_592_000)),
        TokenState::ReauthorizationRequired(ReauthorizationReason::RefreshTokenExpired)
    );
}

#[test]
fn yotpo_three_consecutive_401s_require_reinstall() {
    let mut c = yotpo_connection();
    assert_eq!(c.record_api_status(401), ApiVerdict::Unauthorized { consecutive: 1 });
    assert_eq!(c.record_api_status(401), ApiVerdict::Unauthorized { consecutive: 2 });
    assert_eq!(c.state(T0), TokenState::Active);
    assert_eq!(c.record_api_status(401), ApiVerdict::ReauthorizationRequired);
    assert_eq!(
        c.state(T0),
        TokenState::ReauthorizationRequired(ReauthorizationReason::RepeatedUnauthorized { count: 3 })
    );
    // stays so: a later success does not silently revive a connection marked for re-install
    assert_eq!(c.record_api_status(200), ApiVerdict::ReauthorizationRequired);
}

#[test]
fn yotpo_any_success_resets_the_count() {
    let mut c = yotpo_connection();
    c.record_api_status(401);
    c.record_api_status(401);
    assert_eq!(c.record_api_status(200), ApiVerdict::Ok);
    assert_eq!(c.tokens().consecutive_401, 0);
    c.record_api_status(401);
    c.record_api_status(401);
    assert_eq!(c.record_api_status(204), ApiVerdict::Ok);
    assert_eq!(c.record_api_status(401), ApiVerdict::Unauthorized { consecutive: 1 });
    // other errors neither count nor reset
    assert_eq!(c.record_api_status(500), ApiVerdict::Ok);
    assert_eq!(c.record_api_status(403), ApiVerdict::Ok);
    assert_eq!(c.record_api_status(401), ApiVerdict::Unauthorized { consecutive: 2 });
    assert_eq!(c.state(T0), TokenState::Active);
}

#[test]
fn providers_without_the_rule_never_flip_on_401s() {
    let mut c = yuvo_connection(3600);
    for i in 1..=10 {
        assert_eq!(c.record_api_status(401), ApiVerdict::Unauthorized { consecutive: i });
    }
    assert_eq!(c.state(T0), TokenState::Active);
}

#[test]
fn yotpo_token_never_needs_refresh() {
    let c = yotpo_connection();
    assert!(!c.needs_refresh(Timestamp::from_unix_secs(u64::MAX - 1), 60));
    assert_eq!(c.state(Timestamp::from_unix_secs(u64::MAX - 1)), TokenState::Active);
}
