//! quinn-style: the core against a scripted authorization server over two days of virtual time,
//! no sockets. The server checks PKCE, makes codes single-use and rotates refresh tokens (a used
//! refresh token is dead), as the documents and RFC 6749 §10.4 describe.

use std::collections::{HashMap, HashSet};

use super::common::*;
use super::rules::{Connection, TokenState};
use scopegate_core::low_level::{FlowError, TokenFlow};
use scopegate_core::pkce::s256_challenge;
use scopegate_core::prelude::*;
use scopegate_core::{AuthorizationRequest, PkceVerifier};

#[derive(Default)]
struct AuthServer {
    /// code -> (code_challenge, redirect_uri)
    codes: HashMap<String, (Option<String>, String)>,
    live_refresh: HashSet<String>,
    issued: u32,
    token_requests: u32,
}

impl AuthServer {
    /// The user approves: the server remembers the challenge and redirects with a code.
    fn authorize(&mut self, url: &str) -> String {
        let url = url::Url::parse(url).unwrap();
        let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], CLIENT_ID);
        self.issued += 1;
        let code = format!("code{}", self.issued);
        self.codes.insert(code.clone(), (q.get("code_challenge").cloned(), q["redirect_uri"].clone()));
        format!("{}?code={code}&state={}", q["redirect_uri"], q["state"])
    }

    fn token(&mut self, req: &HttpRequest) -> HttpResponse {
        self.token_requests += 1;
        let basic = scopegate_core::low_level::basic_authorization(CLIENT_ID, CLIENT_SECRET);
        if req.header_value("Authorization") != Some(basic.as_str()) {
            return HttpResponse::new(401, r#"{"error":"invalid_client"}"#);
        }
        let form: HashMap<String, String> = url::form_urlencoded::parse(&req.body()).into_owned().collect();
        match form.get("grant_type").map(String::as_str) {
            Some("authorization_code") => {
                let Some((challenge, redirect)) = self.codes.remove(&form["code"]) else {
                    return HttpResponse::new(400, r#"{"error":"invalid_grant"}"#);
                };
                if form.get("redirect_uri") != Some(&redirect) {
                    return HttpResponse::new(400, r#"{"error":"invalid_grant"}"#);
                }
                if let Some(ch) = challenge {
                    let v = PkceVerifier::new(form.get("code_verifier").cloned().unwrap_or_default());
                    if s256_challenge(&v) != ch {
                        return HttpResponse::new(400, r#"{"error":"invalid_grant","error_description":"pkce"}"#);
                    }
                }
                self.issue()
            }
            Some("refresh_token") => {
                if !self.live_refresh.remove(&form["refresh_token"]) {
                    return HttpResponse::new(400, r#"{"error":"invalid_grant"}"#);
                }
                self.issue()
            }
            _ => HttpResponse::new(400, r#"{"error":"unsupported_grant_type"}"#),
        }
    }

    fn issue(&mut self) -> HttpResponse {
        self.issued += 1;
        let rt = format!("rt{}", self.issued);
        self.live_refresh.insert(rt.clone());
        HttpResponse::new(
            200,
            format!(
                r#"{{"access_token":"at{}","token_type":"Bearer","expires_in":3600,"refresh_token":"{rt}"}}"#,
                self.issued
            ),
        )
    }
}

fn run(flow: &mut TokenFlow, server: &mut AuthServer, now: Timestamp) -> Result<TokenSet, FlowError> {
    let req = flow.poll_transmit(now).unwrap();
    let resp = server.token(&req);
    flow.handle_response(now, resp).unwrap();
    flow.poll_outcome().unwrap()
}

#[test]
fn two_days_of_refreshes_with_rotation_and_pkce() {
    let p = pkce_provider();
    let c = client();
    let mut server = AuthServer::default();
    let mut now = T0;

    let AuthorizationStart { url, mut pending } = AuthorizationRequest::new(&p, &c).build(now).unwrap();
    let callback = server.authorize(&url);
    now = now.plus_secs(15);
    let grant = pending.handle_callback(now, &callback).unwrap();
    let mut flow = TokenFlow::authorization_code(&p, &c, grant.clone()).unwrap();
    let tokens = run(&mut flow, &mut server, now).unwrap();
    let mut conn = Connection::new(&p, tokens);

    // The same code again is refused: codes are single use.
    let mut again = TokenFlow::authorization_code(&p, &c, grant).unwrap();
    assert!(run(&mut again, &mut server, now).unwrap_err().is_invalid_grant());

    let mut refreshes = 0;
    let mut first_refresh_token = None;
    let end = now.plus_secs(48 * 3600);
    while now < end {
        now = now.plus_secs(60);
        assert_ne!(conn.state(now), TokenState::Expired, "refreshed before expiry at {now}");
        if conn.needs_refresh(now, 60) {
            first_refresh_token.get_or_insert_with(|| conn.tokens().refresh_token.clone().unwrap());
            let mut flow = TokenFlow::refresh(&p, &c, conn.tokens()).unwrap();
            let outcome = run(&mut flow, &mut server, now);
            assert!(outcome.is_ok(), "{outcome:?}");
            conn.apply_refresh(&outcome);
            refreshes += 1;
        }
        assert_eq!(conn.state(now), TokenState::Active);
    }
    // One refresh per hour of token life (3600 s, due 60 s early), checked every minute.
    assert!((48..=50).contains(&refreshes), "{refreshes} refreshes");
    assert_eq!(server.token_requests, 2 + refreshes);
    assert_eq!(server.live_refresh.len(), 1, "every rotated refresh token was used exactly once");

    // Replaying a rotated-away refresh token: the server says invalid_grant and the connection
    // asks for re-authorization.
    let mut stale = conn.tokens().clone();
    stale.refresh_token = first_refresh_token;
    let mut flow = TokenFlow::refresh(&p, &c, &stale).unwrap();
    let outcome = run(&mut flow, &mut server, now);
    conn.apply_refresh(&outcome);
    assert_eq!(conn.state(now), TokenState::ReauthorizationRequired(ReauthorizationReason::InvalidGrant));
}

#[test]
fn wrong_pkce_verifier_is_refused_by_the_server() {
    let p = pkce_provider();
    let c = client();
    let mut server = AuthServer::default();
    let AuthorizationStart { url, mut pending } = AuthorizationRequest::new(&p, &c).build(T0).unwrap();
    let callback = server.authorize(&url);
    let mut grant = pending.handle_callback(T0, &callback).unwrap();
    grant.pkce_verifier = Some(PkceVerifier::new("x".repeat(43)));
    let mut flow = TokenFlow::authorization_code(&p, &c, grant).unwrap();
    assert!(run(&mut flow, &mut server, T0).unwrap_err().is_invalid_grant());
}
