//! Walks every built-in provider through its documented flows, sans IO: the "server" is a
//! scripted in-memory peer that checks each request the core builds and answers it as the
//! provider's document says. Exits non-zero if any step does not go as documented.
//!
//! Run: `cargo run -p scopegate-core --example walkthrough`
#![allow(clippy::print_stdout)]

use std::process::ExitCode;

use scopegate_core::prelude::*;

/// A scripted token endpoint: checks client authentication and answers per grant.
struct Peer {
    counter: u32,
    omit_refresh_token: bool,
}

impl Peer {
    fn answer(&mut self, req: &HttpRequest, client_id: &str, secret: &str) -> HttpResponse {
        let basic = scopegate_core::basic_authorization(client_id, secret);
        let authed = req.header_value("authorization") == Some(basic.as_str())
            || (req.form_value("client_id") == Some(client_id) && req.form_value("client_secret") == Some(secret));
        if !authed {
            return HttpResponse::new(401, r#"{"error":"invalid_client"}"#);
        }
        self.counter += 1;
        let n = self.counter;
        let body = match req.form_value("grant_type") {
            Some("refresh_token") if self.omit_refresh_token => {
                format!(r#"{{"access_token":"at-{n}","token_type":"Bearer","expires_in":3600}}"#)
            }
            Some(_) => {
                format!(
                    r#"{{"access_token":"at-{n}","token_type":"bearer","refresh_token":"rt-{n}","scope":"UseRestApi"}}"#
                )
            }
            None => return HttpResponse::new(400, r#"{"error":"invalid_request"}"#),
        };
        HttpResponse::new(200, body)
    }
}

fn run_flow(flow: &mut TokenFlow, peer: &mut Peer, now: Timestamp) -> Result<TokenSet, String> {
    let req = flow.poll_transmit(now).ok_or("flow yielded no request")?;
    if req.follow_redirects() {
        return Err("a token request must not follow redirects".into());
    }
    let answer = peer.answer(&req, "demo-client", "demo-secret");
    flow.handle_response(now, answer).map_err(|e| e.to_string())?;
    flow.poll_outcome().ok_or("no outcome")?.map_err(|e| e.to_string())
}

struct Steps {
    failed: u32,
}

impl Steps {
    fn check(&mut self, provider: &str, step: &str, outcome: Result<String, String>) {
        match outcome {
            Ok(detail) => println!("  [ok]   {provider:<7} {step}: {detail}"),
            Err(e) => {
                self.failed += 1;
                println!("  [FAIL] {provider:<7} {step}: {e}");
            }
        }
    }
}

fn login(
    provider: &Provider,
    client: &ClientConfig,
    now: Timestamp,
    extra: &str,
) -> Result<(String, AuthorizationGrant), String> {
    let AuthorizationStart { url, mut pending } =
        AuthorizationRequest::new(provider, client).build(now).map_err(|e| e.to_string())?;
    let callback = format!(
        "{}?code=demo-code&state={}{extra}",
        client.redirect_uri().unwrap_or_default(),
        pending.state().expose_secret()
    );
    let grant = pending.handle_callback(&callback, now.plus_secs(20)).map_err(|e| e.to_string())?;
    Ok((url, grant))
}

fn main() -> ExitCode {
    let mut steps = Steps { failed: 0 };
    let t0 = Timestamp::from_unix_secs(1_800_000_000);
    let client = ClientConfig::new("demo-client")
        .and_then(|c| c.with_redirect_uri("http://127.0.0.1:8081/test/callback"))
        .map(|c| c.with_secret("demo-secret"))
        .expect("valid client");

    for id in Provider::builtin_ids() {
        let mut provider = match Provider::builtin(id) {
            Ok(p) => p,
            Err(e) => {
                steps.check(id, "load profile", Err(e.to_string()));
                continue;
            }
        };
        println!("{} ({})", provider.name(), provider.origin());
        let mut peer = Peer { counter: 0, omit_refresh_token: id == "yuvo" };

        let extra =
            if provider.require_callback_params().iter().any(|p| p == "app_key") { "&app_key=store-42" } else { "" };
        let (url, grant) = match login(&provider, &client, t0, extra) {
            Ok(x) => x,
            Err(e) => {
                steps.check(id, "authorize + callback", Err(e));
                continue;
            }
        };
        steps.check(
            id,
            "authorization url",
            Ok(url.split("state=").next().unwrap_or_default().to_owned() + "state=..."),
        );
        if provider.token_url().is_none() {
            // Yotpo: the document does not publish the token endpoint. Show the error, then
            // configure it the way a user would (an override).
            match TokenFlow::authorization_code(&provider, &client, grant.clone()) {
                Err(e @ UsageError::TokenEndpointNotConfigured { .. }) => {
                    steps.check(id, "token endpoint", Ok(format!("not configured: {e}")))
                }
                other => {
                    steps.check(id, "token endpoint", Err(format!("expected a configuration error, got {other:?}")))
                }
            }
            match provider.with_overrides("[token]\nurl = \"http://127.0.0.1:9/oauth/token\"\n", "walkthrough override")
            {
                Ok(p) => provider = p,
                Err(e) => steps.check(id, "override token url", Err(e.to_string())),
            }
        }
        let mut flow = match TokenFlow::authorization_code(&provider, &client, grant) {
            Ok(f) => f,
            Err(e) => {
                steps.check(id, "code exchange", Err(e.to_string()));
                continue;
            }
        };
        let tokens = match run_flow(&mut flow, &mut peer, t0.plus_secs(21)) {
            Ok(t) => t,
            Err(e) => {
                steps.check(id, "code exchange", Err(e));
                continue;
            }
        };
        let expiry = match tokens.expires_at {
            Some(at) => format!("expires in {} s", at.secs_since(t0.plus_secs(21))),
            None => "never expires".to_owned(),
        };
        steps.check(id, "code exchange", Ok(format!("{expiry}, params {:?}", tokens.params)));
        let mut conn = Connection::new(&provider, tokens);

        if provider.supports(GrantType::RefreshToken) {
            let later = t0.plus_secs(21 + provider_access_secs(&conn));
            let needs = conn.needs_refresh(later);
            let outcome = TokenFlow::refresh(&provider, &client, conn.tokens())
                .map_err(|e| e.to_string())
                .and_then(|mut f| run_flow(&mut f, &mut peer, later));
            let kept = outcome.as_ref().map(|t| t.refresh_token == conn.tokens().refresh_token).unwrap_or(false);
            let applied = outcome.as_ref().map_err(|e| FlowError::Transport { reason: e.clone() }).cloned();
            conn.apply_refresh(&applied);
            steps.check(
                id,
                "refresh",
                outcome.map(|_| format!("due={needs}, refresh token {}", if kept { "kept" } else { "rotated" })),
            );
        }
        if provider.supports(GrantType::ClientCredentials) {
            let outcome = TokenFlow::client_credentials(&provider, &client, &[])
                .map_err(|e| e.to_string())
                .and_then(|mut f| run_flow(&mut f, &mut peer, t0));
            steps.check(id, "client credentials", outcome.map(|t| format!("scopes {:?}", t.scopes)));
        }
        if let Some(limit) = provider.lifecycle().reinstall_after_consecutive_401 {
            let verdicts: Vec<ApiVerdict> = (0..limit).map(|_| conn.record_api_status(401)).collect();
            let state = conn.state(t0);
            let ok = matches!(state, TokenState::ReauthorizationRequired(_));
            steps.check(
                id,
                "repeated 401",
                if ok { Ok(format!("{limit} x 401 -> {state:?}")) } else { Err(format!("{verdicts:?} -> {state:?}")) },
            );
        }
        // The permission matrix: may a token with these rights call this endpoint?
        if provider.has_matrix() {
            let m = provider.matrix();
            let outcome = provider.rights_from_ids(["events_and_contacts"]).map_err(|e| e.to_string()).and_then(|ec| {
                let allowed = m.check(ec, "PUT", "contact/12345/subscriptions");
                let denied = m.check(ec, "POST", "message/email");
                let least = m.least_rights(&[("PUT", "contact/1"), ("POST", "event")]);
                match (allowed, denied, least) {
                    (Decision::Allowed(a), Decision::Denied { would_allow, .. }, Ok(least)) => Ok(format!(
                        "PUT contact/12345/subscriptions allowed ({}), POST message/email denied (needs one of {:?}), least rights for PUT contact/1 + POST event: {:?}",
                        m.groups()[a.group].id,
                        m.right_ids(would_allow),
                        m.right_ids(least)
                    )),
                    other => Err(format!("unexpected decisions {other:?}")),
                }
            });
            steps.check(id, "permission check", outcome);
        }
        // The user refusing consent.
        let mut pending = match AuthorizationRequest::new(&provider, &client).build(t0) {
            Ok(s) => s.pending,
            Err(e) => {
                steps.check(id, "consent refused", Err(e.to_string()));
                continue;
            }
        };
        let refused =
            pending.handle_callback(&format!("?error=access_denied&state={}", pending.state().expose_secret()), t0);
        steps.check(
            id,
            "consent refused",
            match refused {
                Err(e @ CallbackError::Denied(_)) => Ok(e.to_string()),
                other => Err(format!("expected a denial, got {other:?}")),
            },
        );
    }
    if steps.failed == 0 {
        println!("all steps passed");
        ExitCode::SUCCESS
    } else {
        println!("{} step(s) failed", steps.failed);
        ExitCode::FAILURE
    }
}

fn provider_access_secs(conn: &Connection) -> u64 {
    conn.tokens().expires_at.map_or(0, |at| at.secs_since(conn.tokens().issued_at))
}
