//! The exact token request of each provider for each grant it supports, and flow misuse.

mod common;

use common::*;
use scopegate_core::low_level::basic_authorization;
use scopegate_core::low_level::{FlowError, TokenFlow};
use scopegate_core::prelude::*;
use scopegate_core::{GrantType, UsageError};

const BASIC: &str =
    "Basic ZGFmNGJhMzEwZmU0NDk2MWZhYmM4MGNlMmQxZjY3Y2Q6NmM1NzM2NTRmNDNiYzA1YzEzYzZiMGQwYmM2NWQ2YTYtU0VDUkVU";
const REDIRECT_ENC: &str = "https%3A%2F%2Fapp.example%2Fyotpo_integration%2Fcallback";

fn headers(req: &HttpRequest) -> Vec<(String, String)> {
    req.headers().map(|(n, v)| (n.to_owned(), v.to_owned())).collect()
}

fn basic_headers() -> Vec<(String, String)> {
    vec![
        ("Authorization".into(), BASIC.into()),
        ("Content-Type".into(), "application/x-www-form-urlencoded".into()),
        ("Accept".into(), "application/json".into()),
    ]
}

fn body_headers() -> Vec<(String, String)> {
    basic_headers().into_iter().skip(1).collect()
}

fn first_request(flow: &mut TokenFlow) -> HttpRequest {
    let req = flow.poll_transmit(T0).expect("request");
    assert!(flow.poll_transmit(T0).is_none(), "a flow yields its request once");
    assert_eq!(req.method(), Method::Post);
    assert!(!req.follow_redirects(), "token requests never follow redirects");
    assert_eq!(req.max_response_bytes(), 1024 * 1024);
    req
}

/// A token set as the refresh tests start from: what a code exchange produced.
fn tokens_after_exchange(p: &Provider) -> TokenSet {
    let mut flow = TokenFlow::authorization_code(p, &client(), grant(p, "CODE1")).unwrap();
    drive(&mut flow, T0, json(200, r#"{"access_token":"AT1","token_type":"bearer","refresh_token":"RT1"}"#)).unwrap()
}

#[test]
fn basic_authorization_form_encodes_id_and_secret() {
    // RFC 6749 §2.3.1 / Appendix B: form-urlencode, then join with ':', then base64. A space is
    // written %20 (form decoding reads it as a space; plain percent-decoding servers too).
    assert_eq!(basic_authorization(CLIENT_ID, CLIENT_SECRET), BASIC);
    // base64 of "my%3Aclient%20id:p%40ss%20word%2B%2F%C3%A9"
    assert_eq!(
        basic_authorization("my:client id", "p@ss word+/é"),
        "Basic bXklM0FjbGllbnQlMjBpZDpwJTQwc3MlMjB3b3JkJTJCJTJGJUMzJUE5"
    );
    assert_eq!(basic_authorization("a*b-c.d_e~f", "x"), "Basic YSpiLWMuZF9lJTdFZjp4");
}

#[test]
fn yespo_code_exchange_request() {
    let p = provider("yespo");
    let mut flow = TokenFlow::authorization_code(&p, &client(), grant(&p, "THE_CODE")).unwrap();
    let req = first_request(&mut flow);
    assert_eq!(req.url().as_str(), "https://uaa.yespo.io/uaa/oauth/token");
    assert_eq!(headers(&req), basic_headers());
    assert_eq!(body_string(&req), format!("grant_type=authorization_code&code=THE_CODE&redirect_uri={REDIRECT_ENC}"));
}

#[test]
fn yespo_refresh_request_sends_code_and_redirect_uri_as_documented() {
    let p = provider("yespo");
    let tokens = tokens_after_exchange(&p);
    assert_eq!(tokens.authorization_code.as_ref().unwrap().expose_secret(), "CODE1", "kept for the refresh");
    let mut flow = TokenFlow::refresh(&p, &client(), &tokens).unwrap();
    let req = first_request(&mut flow);
    assert_eq!(req.url().as_str(), "https://uaa.yespo.io/uaa/oauth/token");
    assert_eq!(headers(&req), basic_headers());
    assert_eq!(
        body_string(&req),
        format!("grant_type=refresh_token&refresh_token=RT1&code=CODE1&redirect_uri={REDIRECT_ENC}")
    );
}

#[test]
fn reteno_requests_go_to_retenos_token_endpoint() {
    let p = provider("reteno");
    let mut flow = TokenFlow::authorization_code(&p, &client(), grant(&p, "C")).unwrap();
    let req = first_request(&mut flow);
    assert_eq!(req.url().as_str(), "https://uaa.reteno.com/uaa/oauth/token");
    assert_eq!(headers(&req), basic_headers());
    assert_eq!(body_string(&req), format!("grant_type=authorization_code&code=C&redirect_uri={REDIRECT_ENC}"));
    let tokens = tokens_after_exchange(&p);
    let mut flow = TokenFlow::refresh(&p, &client(), &tokens).unwrap();
    let req = first_request(&mut flow);
    assert_eq!(req.url().as_str(), "https://uaa.reteno.com/uaa/oauth/token");
    assert_eq!(
        body_string(&req),
        format!("grant_type=refresh_token&refresh_token=RT1&code=CODE1&redirect_uri={REDIRECT_ENC}")
    );
}

#[test]
fn yotpo_code_exchange_sends_credentials_in_the_body() {
    let p = yotpo();
    let mut flow = TokenFlow::authorization_code(&p, &client(), grant(&p, "TEMP")).unwrap();
    let req = first_request(&mut flow);
    assert_eq!(req.url().as_str(), "https://api.yotpo.test/oauth/token");
    assert_eq!(headers(&req), body_headers());
    assert_eq!(
        body_string(&req),
        format!(
            "client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}&grant_type=authorization_code&code=TEMP&redirect_uri={REDIRECT_ENC}"
        )
    );
}

#[test]
fn yotpo_without_token_url_fails_with_a_clear_error() {
    let p = provider("yotpo");
    let e = TokenFlow::authorization_code(&p, &client(), grant(&p, "TEMP")).unwrap_err();
    let UsageError::TokenEndpointNotConfigured { provider, hint } = &e else { panic!("{e:?}") };
    assert_eq!(provider, "yotpo");
    assert!(hint.contains("[token] url"), "{hint}");
    assert_eq!(Error::from(FlowError::from(e)).blame(), Blame::Local);
}

#[test]
fn yotpo_supports_neither_refresh_nor_client_credentials() {
    let p = yotpo();
    let e = TokenFlow::client_credentials(&p, &client(), &[]).unwrap_err();
    assert_eq!(e, UsageError::GrantNotSupported { provider: "yotpo".into(), grant: GrantType::ClientCredentials });
    let tokens = tokens_after_exchange(&p);
    let e = TokenFlow::refresh(&p, &client(), &tokens).unwrap_err();
    assert_eq!(e, UsageError::GrantNotSupported { provider: "yotpo".into(), grant: GrantType::RefreshToken });
}

#[test]
fn yuvo_requests_for_each_grant() {
    let p = provider("yuvo");
    let mut flow = TokenFlow::authorization_code(&p, &client(), grant(&p, "MQCbtKe")).unwrap();
    let req = first_request(&mut flow);
    assert_eq!(req.url().as_str(), "https://api.yuvohub.com/oauth/token/");
    assert_eq!(headers(&req), basic_headers());
    assert_eq!(body_string(&req), format!("grant_type=authorization_code&code=MQCbtKe&redirect_uri={REDIRECT_ENC}"));

    let tokens = tokens_after_exchange(&p);
    assert!(tokens.authorization_code.is_none(), "the code is kept only when the refresh needs it");
    let mut flow = TokenFlow::refresh(&p, &client(), &tokens).unwrap();
    let req = first_request(&mut flow);
    assert_eq!(req.url().as_str(), "https://api.yuvohub.com/oauth/token/");
    assert_eq!(headers(&req), basic_headers());
    assert_eq!(body_string(&req), "grant_type=refresh_token&refresh_token=RT1");

    let mut flow = TokenFlow::client_credentials(&p, &client(), &[]).unwrap();
    let req = first_request(&mut flow);
    assert_eq!(req.url().as_str(), "https://api.yuvohub.com/oauth/token/");
    assert_eq!(headers(&req), basic_headers());
    assert_eq!(body_string(&req), "grant_type=client_credentials");

    let mut flow = TokenFlow::client_credentials(&p, &client(), &["a".into(), "b".into()]).unwrap();
    assert_eq!(body_string(&first_request(&mut flow)), "grant_type=client_credentials&scope=a+b");
}

#[test]
fn pkce_verifier_is_sent_with_the_code() {
    let p = pkce_provider();
    let g = grant(&p, "C");
    let verifier = g.pkce_verifier.clone().unwrap();
    let mut flow = TokenFlow::authorization_code(&p, &client(), g).unwrap();
    let req = first_request(&mut flow);
    assert_eq!(
        body_string(&req),
        format!(
            "grant_type=authorization_code&code=C&redirect_uri={REDIRECT_ENC}&code_verifier={}",
            verifier.expose_secret()
        )
    );
}

#[test]
fn query_unsafe_puts_credentials_in_the_url_only_when_opted_in() {
    let p = provider("yuvo").with_overrides("[token]\nclient_auth = \"query_unsafe\"", "t").unwrap();
    let mut flow = TokenFlow::client_credentials(&p, &client(), &[]).unwrap();
    let req = first_request(&mut flow);
    assert_eq!(
        req.url().as_str(),
        format!("https://api.yuvohub.com/oauth/token/?client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}")
    );
    assert_eq!(headers(&req), body_headers());
    let shown = format!("{req:?}");
    assert!(!shown.contains(CLIENT_SECRET), "{shown}");
}

#[test]
fn literal_and_client_id_extra_params() {
    let p = provider("yuvo")
        .with_overrides("[token.extra_params.client_credentials]\naudience = \"api\"\ncid = \"{client_id}\"", "t")
        .unwrap();
    let mut flow = TokenFlow::client_credentials(&p, &client(), &[]).unwrap();
    assert_eq!(
        body_string(&first_request(&mut flow)),
        format!("grant_type=client_credentials&audience=api&cid={CLIENT_ID}")
    );
}

#[test]
fn flow_misuse_is_a_local_error() {
    let p = provider("yuvo");
    // handle_response before poll_transmit
    let mut flow = TokenFlow::client_credentials(&p, &client(), &[]).unwrap();
    assert_eq!(flow.handle_response(T0, json(200, "{}")).unwrap_err(), UsageError::NotWaitingForResponse);
    assert_eq!(flow.handle_transport_error(T0, "x").unwrap_err(), UsageError::NotWaitingForResponse);
    // twice
    let mut flow = TokenFlow::client_credentials(&p, &client(), &[]).unwrap();
    flow.poll_transmit(T0).unwrap();
    flow.handle_response(T0, json(200, r#"{"access_token":"a","token_type":"bearer"}"#)).unwrap();
    assert_eq!(flow.handle_response(T0, json(200, "{}")).unwrap_err(), UsageError::NotWaitingForResponse);
    assert!(flow.poll_outcome().unwrap().is_ok());
    assert!(flow.poll_outcome().is_none(), "the outcome is yielded once");
    // no secret
    let c = ClientConfig::new("c").unwrap();
    assert_eq!(
        TokenFlow::client_credentials(&p, &c, &[]).unwrap_err(),
        UsageError::MissingClientSecret { provider: "yuvo".into() }
    );
    // a grant of another provider
    let g = grant(&provider("yespo"), "C");
    assert_eq!(
        TokenFlow::authorization_code(&p, &client(), g).unwrap_err(),
        UsageError::ProviderMismatch { expected: "yuvo".into(), got: "yespo".into() }
    );
    // refresh without refresh token
    let mut tokens = tokens_after_exchange(&p);
    tokens.refresh_token = None;
    assert_eq!(TokenFlow::refresh(&p, &client(), &tokens).unwrap_err(), UsageError::NoRefreshToken);
    // Yespo refresh without the original code (e.g. tokens imported from elsewhere)
    let y = provider("yespo");
    let mut tokens = tokens_after_exchange(&y);
    tokens.authorization_code = None;
    assert_eq!(
        TokenFlow::refresh(&y, &client(), &tokens).unwrap_err(),
        UsageError::MissingAuthorizationCode { provider: "yespo".into() }
    );
}

#[test]
fn transport_failure_is_a_remote_outcome() {
    let p = provider("yuvo");
    let mut flow = TokenFlow::client_credentials(&p, &client(), &[]).unwrap();
    flow.poll_transmit(T0).unwrap();
    flow.handle_transport_error(T0, "connection refused").unwrap();
    let e = flow.poll_outcome().unwrap().unwrap_err();
    assert_eq!(e, FlowError::Transport { reason: "connection refused".into() });
    // Issue 19: one blame (Error::blame); a transport failure is the environment's.
    assert_eq!(Error::from(e).blame(), Blame::Environment);
}
