//! Walks every built-in provider through its documented flows with a [`Session`], sans IO: the
//! "server" is a scripted in-memory peer that checks each request the session builds and answers
//! it as the provider's document says. Exits non-zero if any step does not go as documented.
//!
//! Run: `cargo run -p scopegate-core --example walkthrough`
#![allow(clippy::print_stdout)]

use std::process::ExitCode;

use scopegate_core::low_level::basic_authorization;
use scopegate_core::prelude::*;
use scopegate_core::{GrantType, UsageError};

/// A scripted provider: checks client authentication at the token endpoint and answers per
/// grant; answers API calls with a fixed status.
struct Peer {
    counter: u32,
    omit_refresh_token: bool,
    api_status: u16,
}

impl Peer {
    fn answer(&mut self, req: &HttpRequest) -> HttpResponse {
        if req.form_value("grant_type").is_none() {
            return HttpResponse::new(self.api_status, "{}");
        }
        let basic = basic_authorization("demo-client", "demo-secret");
        let authed = req.header_value("authorization") == Some(basic.as_str())
            || (req.form_value("client_id") == Some("demo-client")
                && req.form_value("client_secret") == Some("demo-secret"));
        if !authed {
            return HttpResponse::new(401, r#"{"error":"invalid_client"}"#);
        }
        self.counter += 1;
        let n = self.counter;
        let body = match req.form_value("grant_type") {
            Some("refresh_token") if self.omit_refresh_token => {
                format!(r#"{{"access_token":"at-{n}","token_type":"Bearer","expires_in":3600}}"#)
            }
            _ => format!(
                r#"{{"access_token":"at-{n}","token_type":"bearer","refresh_token":"rt-{n}","scope":"UseRestApi"}}"#
            ),
        };
        HttpResponse::new(200, body)
    }
}

/// Sends what the session asks for until its operation ends; the token set it produced.
fn drive(s: &mut Session, peer: &mut Peer, now: Timestamp) -> Result<TokenSet, String> {
    while let Some((id, req)) = s.poll_transmit(now) {
        if req.follow_redirects() {
            return Err("a token request must not follow redirects".into());
        }
        s.handle_response(now, id, peer.answer(&req)).map_err(|e| e.to_string())?;
    }
    let mut changed = false;
    while let Some(e) = s.poll_event() {
        match e {
            Event::Failed(e) => return Err(e.to_string()),
            Event::TokensChanged => changed = true,
            _ => {}
        }
    }
    match (changed, s.tokens()) {
        (true, Some(t)) => Ok(t.clone()),
        _ => Err("the session produced no token set".into()),
    }
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

/// The user approves: the callback URL the browser comes back to.
fn approve(client: &ClientConfig, pending: &PendingAuthorization, extra: &str) -> String {
    format!(
        "{}?code=demo-code&state={}{extra}",
        client.redirect_uri().unwrap_or_default(),
        pending.state().expose_secret()
    )
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
        let mut peer = Peer { counter: 0, omit_refresh_token: id == "yuvo", api_status: 200 };
        let extra =
            if provider.require_callback_params().iter().any(|p| p == "app_key") { "&app_key=store-42" } else { "" };

        if provider.token_url().is_none() {
            // Yotpo: the document does not publish the token endpoint. The session says so when
            // the callback comes; configure it the way a user would (an override).
            let mut s = Session::new(provider.clone(), client.clone());
            let outcome = s.start_authorization(t0).map_err(|e| e.to_string()).and_then(|mut start| {
                let callback = approve(&client, &start.pending, extra);
                match s.handle_callback(t0.plus_secs(20), &mut start.pending, &callback) {
                    Err(Error::Usage(e @ UsageError::TokenEndpointNotConfigured { .. })) => {
                        Ok(format!("not configured: {e}"))
                    }
                    other => Err(format!("expected a configuration error, got {other:?}")),
                }
            });
            steps.check(id, "token endpoint", outcome);
            // (The document names no API host either: the override gives one for the 401 step.)
            let overrides =
                "[token]\nurl = \"http://127.0.0.1:9/oauth/token\"\n[api]\nbase_url = \"http://127.0.0.1:9/api/\"\n";
            match provider.with_overrides(overrides, "walkthrough override") {
                Ok(p) => provider = p,
                Err(e) => steps.check(id, "override token url", Err(e.to_string())),
            }
        }

        // Login: the authorization URL, the callback, the code exchange.
        let mut s = Session::new(provider.clone(), client.clone());
        let tokens = s.start_authorization(t0).map_err(|e| e.to_string()).and_then(|mut start| {
            let shown = start.url.split("state=").next().unwrap_or_default().to_owned() + "state=...";
            steps.check(id, "authorization url", Ok(shown));
            let callback = approve(&client, &start.pending, extra);
            s.handle_callback(t0.plus_secs(20), &mut start.pending, &callback).map_err(|e| e.to_string())?;
            drive(&mut s, &mut peer, t0.plus_secs(21))
        });
        let tokens = match tokens {
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

        // Refresh: the session's timer says when; it starts the refresh itself.
        if provider.supports(GrantType::RefreshToken) {
            let outcome = match s.poll_timeout() {
                Some(due) => {
                    s.handle_timeout(due);
                    drive(&mut s, &mut peer, due).map(|t| {
                        let kept = t.refresh_token == tokens.refresh_token;
                        format!(
                            "due {} s after the exchange, refresh token {}",
                            due.secs_since(t0.plus_secs(21)),
                            if kept { "kept" } else { "rotated" }
                        )
                    })
                }
                None => Err("no refresh timer".into()),
            };
            steps.check(id, "refresh", outcome);
        }

        // Client credentials: the app's own token, in an account of its own.
        if provider.supports(GrantType::ClientCredentials) {
            let mut app = Session::new(provider.clone(), client.clone()).with_account("app");
            let outcome = app
                .client_credentials(&[])
                .map_err(|e| e.to_string())
                .and_then(|()| drive(&mut app, &mut peer, t0))
                .map(|t| format!("{:?} token, scopes {:?}", t.identity, t.scopes));
            steps.check(id, "client credentials", outcome);
        }

        // Yotpo's rule: repeated 401s mean the app must be installed again.
        if let Some(limit) = provider.lifecycle().reinstall_after_consecutive_401 {
            peer.api_status = 401;
            let path = "orders";
            let mut last = NextStep::Done;
            for _ in 0..limit {
                let Ok((call, req)) = s.api_request(t0.plus_secs(30), Method::Get, path, None) else { break };
                last = s.handle_api_response(call, peer.answer(&req).status());
            }
            steps.check(
                id,
                "repeated 401",
                match last {
                    NextStep::Reauthorize(reason) => Ok(format!("{limit} x 401 -> {reason}")),
                    other => Err(format!("after {limit} x 401: {other:?}")),
                },
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
        let mut s = Session::new(provider.clone(), client.clone());
        let refused = s.start_authorization(t0).map_err(|e| e.to_string()).map(|mut start| {
            let callback = format!("?error=access_denied&state={}", start.pending.state().expose_secret());
            s.handle_callback(t0, &mut start.pending, &callback)
        });
        steps.check(
            id,
            "consent refused",
            match refused {
                Ok(Err(e)) if e.kind() == ErrorKind::AuthorizationDenied => Ok(e.to_string()),
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
