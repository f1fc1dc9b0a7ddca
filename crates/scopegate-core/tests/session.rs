//! The Session, quinn-style: driven by hand on a virtual clock against a scripted peer, no
//! sockets. The long tests assert the exact sequence of requests, events and timeouts.

mod common;

use std::collections::{HashMap, HashSet, VecDeque};

use common::*;
use scopegate_core::prelude::*;

/// A scripted authorization server and API: rotation (a used refresh token is dead), codes
/// single use, bearer tokens checked; `script` overrides the next token answers in order.
#[derive(Default)]
struct Peer {
    issued: u32,
    codes: HashSet<String>,
    live_refresh: HashSet<String>,
    live_access: HashSet<String>,
    script: VecDeque<Scripted>,
    api_script: VecDeque<u16>,
    app_key: Option<String>,
}

enum Scripted {
    Status(u16, Option<&'static str>),
    Unsent,
    Revoked,
}

impl Peer {
    fn authorize(&mut self, url: &str) -> String {
        let url = url::Url::parse(url).unwrap();
        let mut q: HashMap<String, String> = url.query_pairs().into_owned().collect();
        if let Some((_, query)) = url.fragment().and_then(|f| f.split_once('?')) {
            // Yotpo's install link: the state is in the fragment, the redirect URI registered.
            q.extend(url::form_urlencoded::parse(query.as_bytes()).into_owned());
            q.insert("redirect_uri".into(), REDIRECT.into());
        }
        self.issued += 1;
        let code = format!("code{}", self.issued);
        self.codes.insert(code.clone());
        let extra = self.app_key.as_ref().map(|k| format!("&app_key={k}")).unwrap_or_default();
        format!("{}?code={code}&state={}{extra}", q["redirect_uri"], q["state"])
    }

    fn issue(&mut self, refresh: bool) -> (HttpResponse, String) {
        self.issued += 1;
        let (at, rt) = (format!("AT{}", self.issued), format!("RT{}", self.issued));
        self.live_access.insert(at.clone());
        let body = if refresh {
            self.live_refresh.insert(rt.clone());
            format!(r#"{{"access_token":"{at}","token_type":"Bearer","expires_in":3600,"refresh_token":"{rt}"}}"#)
        } else {
            format!(r#"{{"access_token":"{at}","token_type":"Bearer"}}"#)
        };
        let shown = if refresh { format!("200 {at} {rt}") } else { format!("200 {at}") };
        (HttpResponse::new(200, body), shown)
    }

    /// The answer to a token request, and how the transcript shows the exchange.
    fn token(&mut self, req: &HttpRequest) -> (Result<HttpResponse, TransportError>, String) {
        let form: HashMap<String, String> = url::form_urlencoded::parse(&req.body()).into_owned().collect();
        let grant = form["grant_type"].clone();
        let what = match grant.as_str() {
            "refresh_token" => format!("POST token refresh_token {}", form["refresh_token"]),
            other => format!("POST token {other}"),
        };
        match self.script.pop_front() {
            Some(Scripted::Status(status, retry_after)) => {
                let mut r = HttpResponse::new(status, "busy");
                if let Some(ra) = retry_after {
                    r = r.with_header("Retry-After", ra);
                }
                let shown = match retry_after {
                    Some(ra) => format!("{status} retry-after {ra}"),
                    None => status.to_string(),
                };
                return (Ok(r), format!("{what} -> {shown}"));
            }
            Some(Scripted::Unsent) => {
                let e = TransportError::Connect { host: "peer".into(), reason: "refused".into() };
                return (Err(e), format!("{what} -> connect error"));
            }
            Some(Scripted::Revoked) => {
                self.live_refresh.clear();
                self.live_access.clear();
            }
            None => {}
        }
        let (resp, shown) = match grant.as_str() {
            "authorization_code" if self.codes.remove(&form["code"]) => self.issue(self.app_key.is_none()),
            "refresh_token" if self.live_refresh.remove(&form["refresh_token"]) => self.issue(true),
            "client_credentials" => self.issue(false),
            _ => (HttpResponse::new(400, r#"{"error":"invalid_grant"}"#), "400 invalid_grant".to_owned()),
        };
        (Ok(resp), format!("{what} -> {shown}"))
    }

    fn api(&mut self, req: &HttpRequest) -> (u16, String) {
        let bearer = req.header_value("Authorization").unwrap().trim_start_matches("Bearer ").to_owned();
        let status = match self.api_script.pop_front() {
            Some(s) => {
                if s == 401 {
                    self.live_access.remove(&bearer); // the server ended the token early
                }
                s
            }
            None if self.live_access.contains(&bearer) => 200,
            None => 401,
        };
        (status, format!("{} {} {bearer} -> {status}", req.method().as_str(), req.url().path()))
    }
}

/// A session, its peer, the virtual clock and the transcript.
struct Run {
    s: Session,
    peer: Peer,
    now: Timestamp,
    log: Vec<String>,
    timeout: Option<Timestamp>,
}

fn event_text(e: &Event) -> String {
    match e {
        Event::TokensChanged => "event tokens-changed".into(),
        Event::ReauthorizationRequired(r) => format!("event reauthorization-required {}", r.name()),
        Event::Revoked(r) => format!("event revoked {r:?}"),
        Event::ScopesNarrowed { requested, granted } => format!("event scopes-narrowed {requested:?} {granted:?}"),
        Event::Failed(e) => format!("event failed {}", e.kind()),
        other => format!("event {other:?}"),
    }
}

impl Run {
    fn new(s: Session, peer: Peer) -> Run {
        Run { s, peer, now: T0, log: Vec::new(), timeout: None }
    }

    fn note(&mut self, what: impl Into<String>) {
        let line = format!("{} {}", self.now.secs_since(T0), what.into());
        self.log.push(line);
    }

    /// Sends what the session has to send, drains its events, notes a changed timer.
    fn pump(&mut self) {
        while let Some((id, req)) = self.s.poll_transmit(self.now) {
            assert!(!req.follow_redirects());
            assert!(req.header_value("Authorization").is_none_or(|v| !v.starts_with("Bearer")), "no bearer to {req:?}");
            let (reply, shown) = self.peer.token(&req);
            self.note(shown);
            match reply {
                Ok(r) => self.s.handle_response(self.now, id, r).unwrap(),
                Err(e) => self.s.handle_transport_error(self.now, id, e).unwrap(),
            }
        }
        while let Some(e) = self.s.poll_event() {
            let line = event_text(&e);
            self.note(line);
        }
        let t = self.s.poll_timeout();
        if t != self.timeout {
            self.timeout = t;
            let shown = t.map_or("none".to_owned(), |t| t.secs_since(T0).to_string());
            self.note(format!("timeout {shown}"));
        }
    }

    /// Moves the clock to `until`, firing every timer on the way.
    fn advance(&mut self, until: Timestamp) {
        while let Some(t) = self.s.poll_timeout().filter(|t| *t <= until) {
            self.now = t.max(self.now);
            self.s.handle_timeout(self.now);
            self.pump();
        }
        self.now = until;
    }

    fn login(&mut self) {
        let AuthorizationStart { url, mut pending } = self.s.start_authorization(self.now).unwrap();
        let callback = self.peer.authorize(&url);
        self.now = self.now.plus_secs(10);
        self.s.handle_callback(self.now, &mut pending, &callback).unwrap();
        self.pump();
    }

    /// An API call as a driver makes it: refresh-and-retry once on a 401.
    fn api(&mut self, path: &str) -> Result<u16, ErrorKind> {
        let mut retried = false;
        loop {
            let (id, req) = match self.s.api_request(self.now, Method::Get, path, None) {
                Ok(r) => r,
                Err(e) => {
                    self.note(format!("api {path} refused: {}", e.kind()));
                    self.pump();
                    return Err(e.kind());
                }
            };
            let (status, shown) = self.peer.api(&req);
            self.note(shown);
            let step = self.s.handle_api_response(id, status);
            self.pump();
            match step {
                NextStep::RefreshAndRetry if !retried => {
                    retried = true;
                    self.s.refresh(self.now).unwrap();
                    self.pump();
                }
                NextStep::Retry if !retried => retried = true,
                NextStep::Reauthorize(r) => {
                    self.note(format!("reauthorize {}", r.name()));
                    return Ok(status);
                }
                _ => return Ok(status),
            }
        }
    }
}

fn yuvo_session() -> Session {
    Session::new(provider("yuvo"), client())
}

fn lines(items: &[(u64, &str)]) -> Vec<String> {
    items.iter().map(|(t, w)| format!("{t} {w}")).collect()
}

fn assert_transcript(got: &[String], want: &[String]) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g, w, "line {i} differs; transcript so far:\n{}", got[..=i].join("\n"));
    }
    assert_eq!(got.len(), want.len(), "transcript:\n{}", got.join("\n"));
}

/// Two days of a Yuvo connection: rotation, 429 + Retry-After, early expiry (a 401 before the
/// token's time), a 5xx, a failure before sending, then the provider revokes the grant.
#[test]
fn two_days_against_a_scripted_peer() {
    let mut run = Run::new(yuvo_session(), Peer::default());
    run.login();
    // The first refresh meets a 429 with Retry-After: 5.
    run.peer.script.push_back(Scripted::Status(429, Some("5")));
    run.advance(T0.plus_secs(4000));
    // The server ends the access token early: 401, refresh, retry.
    run.peer.api_script.push_back(401);
    assert_eq!(run.api("companies"), Ok(200));
    // The next refresh meets a 500 (retried 30 s later), then a connection that never opened.
    run.peer.script.extend([Scripted::Status(500, None), Scripted::Unsent]);
    run.advance(T0.plus_secs(170_000));
    // The provider revokes the grant; the next refresh finds out.
    run.peer.script.push_back(Scripted::Revoked);
    run.advance(T0.plus_secs(2 * 86_400));
    assert_eq!(run.api("companies"), Err(ErrorKind::ReauthorizationRequired));
    assert_eq!(run.s.refresh(run.now).unwrap_err().kind(), ErrorKind::ReauthorizationRequired);
    assert!(run.s.poll_transmit(run.now).is_none(), "a dead grant sends nothing");

    let mut want = lines(&[
        (10, "POST token authorization_code -> 200 AT2 RT2"),
        (10, "event tokens-changed"),
        (10, "timeout 3550"),
        (3550, "POST token refresh_token RT2 -> 429 retry-after 5"),
        (3550, "timeout 3555"),
        (3555, "POST token refresh_token RT2 -> 200 AT3 RT3"),
        (3555, "event tokens-changed"),
        // Lifetime counts from the first send (3550), conservatively.
        (3555, "timeout 7090"),
        (4000, "GET /companies AT3 -> 401"),
        (4000, "event tokens-changed"),
        (4000, "POST token refresh_token RT3 -> 200 AT4 RT4"),
        (4000, "event tokens-changed"),
        (4000, "timeout 7540"),
        (4000, "GET /companies AT4 -> 200"),
        (7540, "POST token refresh_token RT4 -> 500"),
        (7540, "event failed protocol"),
        (7540, "timeout 7570"),
        (7570, "POST token refresh_token RT4 -> connect error"),
        (7570, "POST token refresh_token RT4 -> 200 AT5 RT5"),
        (7570, "event tokens-changed"),
        (7570, "timeout 11110"),
    ])
    .into_iter()
    .collect::<Vec<_>>();
    // Then one refresh every 3540 s (an hour's token, due 60 s early), each rotating.
    let (mut t, mut n) = (11_110u64, 5u32);
    while t <= 170_000 {
        want.push(format!("{t} POST token refresh_token RT{n} -> 200 AT{} RT{}", n + 1, n + 1));
        want.push(format!("{t} event tokens-changed"));
        want.push(format!("{t} timeout {}", t + 3540));
        t += 3540;
        n += 1;
    }
    want.extend(lines(&[
        (t, &format!("POST token refresh_token RT{n} -> 400 invalid_grant")),
        (t, "event tokens-changed"),
        (t, "event reauthorization-required invalid_grant"),
        (t, "event failed reauthorization_required"),
        (t, "timeout none"),
        (172_800, "api companies refused: reauthorization_required"),
    ]));
    assert_transcript(&run.log, &want);
    assert_eq!(run.s.tokens().unwrap().invalidated, Some(ReauthorizationReason::InvalidGrant));
}

/// Yotpo: a token that never expires, no refresh; after the merchant uninstalls in Yotpo every
/// call gets 401, and the third in a row means re-install. A re-install for the same store
/// replaces the dead grant; one for another store is refused before its code is used.
#[test]
fn yotpo_401s_after_uninstall_then_reinstall() {
    let p = yotpo().with_overrides("[api]\nbase_url = \"https://api.yotpo.test/v1\"\n", "t").unwrap();
    let peer = Peer { app_key: Some("STORE42".into()), ..Peer::default() };
    let mut run = Run::new(Session::new(p, client()), peer);
    run.login();
    assert_eq!(run.s.account(), "STORE42");
    assert_eq!(run.api("reviews"), Ok(200));
    run.peer.live_access.clear(); // the merchant removed the app in Yotpo
    run.now = run.now.plus_secs(86_400);
    for _ in 0..3 {
        assert_eq!(run.api("reviews"), Ok(401));
    }
    assert_eq!(run.api("reviews"), Err(ErrorKind::ReauthorizationRequired));
    run.login();
    assert_eq!(run.api("reviews"), Ok(200));
    assert_transcript(
        &run.log,
        &lines(&[
            (10, "POST token authorization_code -> 200 AT2"),
            (10, "event tokens-changed"),
            (10, "GET /v1/reviews AT2 -> 200"),
            (86_410, "GET /v1/reviews AT2 -> 401"),
            (86_410, "event tokens-changed"),
            (86_410, "GET /v1/reviews AT2 -> 401"),
            (86_410, "event tokens-changed"),
            (86_410, "GET /v1/reviews AT2 -> 401"),
            (86_410, "event tokens-changed"),
            (86_410, "event reauthorization-required repeated_unauthorized"),
            (86_410, "reauthorize repeated_unauthorized"),
            (86_410, "api reviews refused: reauthorization_required"),
            (86_420, "POST token authorization_code -> 200 AT4"),
            (86_420, "event tokens-changed"),
            (86_420, "GET /v1/reviews AT4 -> 200"),
        ]),
    );
    // Another store's install is refused before its code is exchanged.
    run.peer.app_key = Some("OTHER".into());
    let AuthorizationStart { url, mut pending } = run.s.start_authorization(run.now).unwrap();
    let callback = run.peer.authorize(&url);
    let e = run.s.handle_callback(run.now, &mut pending, &callback).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::IdentityMismatch, "{e}");
    assert!(run.s.poll_transmit(run.now).is_none());
    assert_eq!(run.s.account(), "STORE42");
}
