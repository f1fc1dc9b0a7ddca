//! Shared test helpers.
#![allow(dead_code, unreachable_pub)]

use scopegate_core::AuthorizationRequest;
use scopegate_core::authorize::AuthorizationGrant;
use scopegate_core::low_level::{FlowError, TokenFlow};
use scopegate_core::prelude::*;

pub const T0: Timestamp = Timestamp::from_unix_secs(1_800_000_000);
pub const CLIENT_ID: &str = "daf4ba310fe44961fabc80ce2d1f67cd";
pub const CLIENT_SECRET: &str = "6c573654f43bc05c13c6b0d0bc65d6a6-SECRET";
pub const REDIRECT: &str = "https://app.example/yotpo_integration/callback";
pub const STATE_BYTES: [u8; 32] = [7; 32];
pub const VERIFIER_BYTES: [u8; 32] = [9; 32];

pub fn provider(id: &str) -> Provider {
    Provider::builtin(id).unwrap_or_else(|e| panic!("builtin {id}: {e}"))
}

pub fn client() -> ClientConfig {
    ClientConfig::new(CLIENT_ID).unwrap().with_secret(CLIENT_SECRET).with_redirect_uri(REDIRECT).unwrap()
}

/// A Yotpo profile with a token endpoint configured (the document has none).
pub fn yotpo() -> Provider {
    provider("yotpo").with_overrides("[token]\nurl = \"https://api.yotpo.test/oauth/token\"\n", "test").unwrap()
}

/// A provider with PKCE on, built on Yuvo.
pub fn pkce_provider() -> Provider {
    provider("yuvo").with_overrides("id = \"pkce-test\"\n[authorization]\npkce = \"S256\"\n", "test").unwrap()
}

pub fn start(p: &Provider) -> AuthorizationStart {
    AuthorizationRequest::new(p, &client()).build_with_entropy(T0, &STATE_BYTES, &VERIFIER_BYTES).unwrap()
}

pub fn state_of(s: &AuthorizationStart) -> String {
    s.pending.state().expose_secret().to_owned()
}

/// A grant from a callback with `code` (and Yotpo's app_key when the profile requires it).
pub fn grant(p: &Provider, code: &str) -> AuthorizationGrant {
    let mut s = start(p);
    let st = state_of(&s);
    let extra = if p.require_callback_params().iter().any(|x| x == "app_key") { "&app_key=STORE42" } else { "" };
    s.pending.handle_callback(T0.plus_secs(5), &format!("{REDIRECT}?code={code}&state={st}{extra}")).unwrap()
}

/// Drives a flow with one canned answer.
pub fn drive(flow: &mut TokenFlow, sent_at: Timestamp, answer: HttpResponse) -> Result<TokenSet, FlowError> {
    flow.poll_transmit(sent_at).expect("a request");
    flow.handle_response(sent_at.plus_secs(1), answer).unwrap();
    flow.poll_outcome().expect("an outcome")
}

pub fn json(status: u16, body: &str) -> HttpResponse {
    HttpResponse::new(status, body.as_bytes().to_vec()).with_header("Content-Type", "application/json")
}

pub fn body_string(req: &HttpRequest) -> String {
    String::from_utf8(req.body().to_vec()).unwrap()
}
