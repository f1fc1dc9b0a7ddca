//! A `scopegate_core::Session` driven by hand against the strict sandbox (PKCE required, a
//! replayed refresh token revokes its grant), in process and on the sandbox's virtual clock: no
//! sockets, no waiting.

use scopegate::Transport as _;
use scopegate_core::low_level::TokenFlow;
use scopegate_core::prelude::*;
use scopegate_sandbox::{Consent, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Sandbox, SandboxOptions, SandboxTransport};

const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn config() -> ClientConfig {
    ClientConfig::new(SANDBOX_CLIENT_ID)
        .unwrap()
        .with_secret(SANDBOX_CLIENT_SECRET)
        .with_redirect_uri(REDIRECT)
        .unwrap()
}

/// Sends what the session has to send; returns the events.
fn pump(s: &mut Session, t: &SandboxTransport, now: Timestamp) -> Vec<Event> {
    while let Some((id, req)) = s.poll_transmit(now) {
        match t.send(&req) {
            Ok(r) => s.handle_response(now, id, r).unwrap(),
            Err(e) => s.handle_transport_error(now, id, e).unwrap(),
        }
    }
    std::iter::from_fn(|| s.poll_event()).collect()
}

/// An API call as a driver makes it: refresh and retry once on a 401.
fn api(s: &mut Session, t: &SandboxTransport, now: Timestamp, path: &str) -> Result<u16, Error> {
    let mut retried = false;
    loop {
        let (id, req) = s.api_request(now, Method::Get, path, None)?;
        let status = t.send(&req).unwrap().status();
        match s.handle_api_response(id, status) {
            NextStep::RefreshAndRetry if !retried => {
                retried = true;
                s.refresh(now)?;
                for e in pump(s, t, now) {
                    if let Event::Failed(e) = e {
                        return Err(e);
                    }
                }
            }
            _ => return Ok(status),
        }
    }
}

#[test]
fn two_days_on_the_strict_sandbox_then_a_replayed_refresh_token() {
    let sb = Sandbox::start_with(SandboxOptions { port: 0, consent: Consent::AutoApprove, strict: true }).unwrap();
    let t = sb.transport();
    let p = sb.profile("yuvo").unwrap();
    assert_eq!(p.pkce(), scopegate_core::profile::PkceMode::S256, "the strict profile asks for PKCE");
    let mut s = Session::new(p.clone(), config());

    // Login: the browser follows the URL; the sandbox checks the PKCE challenge at the exchange.
    let AuthorizationStart { url, mut pending } = s.start_authorization(sb.now()).unwrap();
    let location = t.send(&HttpRequest::new(Method::Get, url::Url::parse(&url).unwrap())).unwrap();
    let callback = location.header("location").unwrap().to_owned();
    s.handle_callback(sb.now(), &mut pending, &callback).unwrap();
    let events = pump(&mut s, &t, sb.now());
    assert!(matches!(events.as_slice(), [Event::TokensChanged]), "{events:?}");
    let first = s.tokens().unwrap().clone();

    // Two days: the session's timer says when to refresh; an API call every 2 hours.
    let start = sb.now();
    let mut refreshes = 0;
    let mut next_call = start;
    while sb.now() < start.plus_secs(2 * 86_400) {
        let due = s.poll_timeout().expect("a refresh is always ahead");
        if next_call <= due {
            sb.advance(next_call.secs_since(sb.now()));
            assert_eq!(api(&mut s, &t, sb.now(), "companies").unwrap(), 200);
            next_call = next_call.plus_secs(7200);
            continue;
        }
        sb.advance(due.secs_since(sb.now()));
        s.handle_timeout(sb.now());
        let events = pump(&mut s, &t, sb.now());
        assert!(matches!(events.as_slice(), [Event::TokensChanged]), "{events:?}");
        refreshes += 1;
    }
    assert!((47..=49).contains(&refreshes), "{refreshes} refreshes in two days of one-hour tokens");
    assert_eq!(sb.counters("yuvo").reuse_detected, 0, "every refresh token was used once");

    // Someone replays the first refresh token (a leaked copy): the sandbox revokes the grant.
    let mut replay = TokenFlow::refresh(&p, &config(), &first).unwrap();
    let req = replay.poll_transmit(sb.now()).unwrap();
    let refused = t.send(&req).unwrap();
    assert_eq!(refused.status(), 400);
    assert!(String::from_utf8_lossy(refused.body()).contains("reuse detected"));
    assert_eq!(sb.counters("yuvo").reuse_detected, 1);
    // Our next call gets 401, the refresh gets invalid_grant: re-authorization, no retries.
    let e = api(&mut s, &t, sb.now(), "companies").unwrap_err();
    assert_eq!(e.reauthorization_reason(), Some(ReauthorizationReason::InvalidGrant), "{e}");
    assert_eq!(e.oauth().unwrap().code.as_str(), "invalid_grant", "{e}");
    assert_eq!(
        s.api_request(sb.now(), Method::Get, "companies", None).unwrap_err().kind(),
        ErrorKind::ReauthorizationRequired
    );
    assert_eq!(s.poll_timeout(), None);
}
