//! Issue 22: every token operation is visible in `tracing` (spans with a fixed set of outcomes,
//! events for retries, 401s, reauthorization, not-saved), and no secret ever is. A subscriber
//! captures everything while flows run against the sandbox (logins, refreshes, client
//! credentials, 401s, a Retry-After, invalid_grant, a store that cannot write, revocation);
//! the capture is then searched for every token, code, verifier, state and secret the run saw.
#![cfg(feature = "tracing")]

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopegate::{Client, MemoryStore, TokenStore, Transport, UreqTransport};
use scopegate_core::prelude::*;
use scopegate_sandbox::{Consent, Fault, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Sandbox, SandboxOptions};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

mod support;
use support::faulty::Faulty;

/// Everything a subscriber sees, as text.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<String>>>);

struct Text<'a>(&'a mut String);

impl Visit for Text<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Capture {
    fn on_new_span(&self, attrs: &tracing::span::Attributes<'_>, _: &tracing::span::Id, _: Context<'_, S>) {
        let mut line = format!("span {}", attrs.metadata().name());
        attrs.record(&mut Text(&mut line));
        self.0.lock().unwrap().push(line);
    }
    fn on_record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>, _: Context<'_, S>) {
        let mut line = "record".to_owned();
        values.record(&mut Text(&mut line));
        self.0.lock().unwrap().push(line);
    }
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut line = format!("event {} {}", event.metadata().target(), event.metadata().level());
        event.record(&mut Text(&mut line));
        self.0.lock().unwrap().push(line);
    }
}

/// Fails its first request before sending it (a refused connection), then sends through ureq.
struct FailOnce(std::sync::atomic::AtomicBool);

impl Transport for FailOnce {
    fn send(&self, req: &HttpRequest) -> Result<HttpResponse, TransportError> {
        if self.0.swap(false, Ordering::SeqCst) {
            let host = req.url().host_str().unwrap_or("").to_owned();
            return Err(TransportError::Connect { host, reason: "refused (test)".into() });
        }
        UreqTransport::default().send(req)
    }
}

fn secrets_of(t: &TokenSet, into: &mut Vec<String>) {
    into.push(t.access_token.expose_secret().to_owned());
    if let Some(r) = &t.refresh_token {
        into.push(r.expose_secret().to_owned());
    }
    if let Some(c) = &t.authorization_code {
        into.push(c.expose_secret().to_owned());
    }
}

fn login(sb: &Sandbox, client: &Client, seen: &mut Vec<String>) -> TokenSet {
    let start = client.authorization_request().unwrap();
    let mut pending = start.pending;
    seen.push(pending.state().expose_secret().to_owned());
    if let Some(v) = pending.verifier() {
        seen.push(v.expose_secret().to_owned());
    }
    let answer = UreqTransport::default().send(&HttpRequest::new(Method::Get, url::Url::parse(&start.url).unwrap()));
    let location = answer.unwrap().header("location").unwrap().to_owned();
    let code = url::Url::parse(&location).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    seen.push(code);
    let tokens = client.exchange(&mut pending, &location).unwrap();
    secrets_of(&tokens, seen);
    let _ = sb;
    tokens
}

#[test]
fn the_trace_of_every_flow_carries_no_secret() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let sb = Sandbox::start_with(SandboxOptions { port: 0, consent: Consent::AutoApprove, strict: true }).unwrap();
    let mut seen: Vec<String> = vec![SANDBOX_CLIENT_SECRET.to_owned()];
    let config = || {
        ClientConfig::new(SANDBOX_CLIENT_ID)
            .unwrap()
            .with_secret(SANDBOX_CLIENT_SECRET)
            .with_redirect_uri("http://127.0.0.1:9/callback")
            .unwrap()
    };
    let clock = sb.clock();
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let changes: Arc<Mutex<Vec<TokenSet>>> = Arc::default();
    let c = Arc::clone(&changes);
    let yespo =
        Client::new(sb.profile("yespo").unwrap(), config(), Arc::new(UreqTransport::default()), store.clone(), "trace")
            .with_clock(move || clock.now())
            .on_token_change(move |ch| c.lock().unwrap().push(ch.tokens.clone()));

    // Login, calls, a refresh when due, a Retry-After on the next refresh, 401s.
    login(&sb, &yespo, &mut seen);
    assert_eq!(yespo.request(Method::Get, "contacts", None).unwrap().status(), 200);
    sb.advance(3600 * 48);
    yespo.access_token().unwrap();
    sb.inject("yespo", Fault::Status(503));
    yespo.refresh().unwrap_err();
    yespo.refresh().unwrap();
    // The app's own token, a refresh whose first try never left.
    let yuvo_store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let clock = sb.clock();
    let flaky = Arc::new(FailOnce(std::sync::atomic::AtomicBool::new(false)));
    let yuvo = Client::new(sb.profile("yuvo").unwrap(), config(), flaky.clone(), yuvo_store, "app")
        .with_clock(move || clock.now());
    secrets_of(&yuvo.client_credentials(&[]).unwrap(), &mut seen);
    flaky.0.store(true, Ordering::SeqCst); // the refresh is tried again at once
    secrets_of(&yuvo.refresh().unwrap(), &mut seen);
    assert_eq!(yuvo.request(Method::Get, "companies", None).unwrap().status(), 200);
    // A store that cannot write after a refresh.
    let faulty = Arc::new(Faulty::new("disk full"));
    let clock = sb.clock();
    let f =
        Client::new(sb.profile("yuvo").unwrap(), config(), Arc::new(UreqTransport::default()), faulty.clone(), "user")
            .with_clock(move || clock.now());
    login(&sb, &f, &mut seen);
    faulty.writes_fail.store(true, Ordering::SeqCst);
    let e = f.refresh().unwrap_err();
    secrets_of(e.unsaved_tokens().unwrap(), &mut seen);
    faulty.writes_fail.store(false, Ordering::SeqCst);
    // Revocation.
    assert!(yespo.revoke().is_err(), "yespo has no revocation endpoint: the span says so");
    std::thread::sleep(Duration::from_millis(50));

    for t in changes.lock().unwrap().iter() {
        secrets_of(t, &mut seen);
    }
    let text = capture.0.lock().unwrap().join("\n");
    for secret in seen.iter().filter(|s| s.len() >= 6) {
        assert!(!text.contains(secret.as_str()), "a secret is in the trace:\n{text}");
    }
    // And the trace says what happened (the test would pass on an empty trace otherwise).
    for expected in [
        "span scopegate.exchange",
        "span scopegate.refresh",
        "span scopegate.client_credentials",
        "span scopegate.revoke",
        "span scopegate.api",
        "outcome=\"ok\"",
        "outcome=\"provider_5xx\"",
        "outcome=\"not_saved\"",
        "event scopegate.retry",
        "event scopegate.not_saved ERROR",
    ] {
        assert!(text.contains(expected), "no `{expected}` in the trace:\n{text}");
    }
    let stats = yespo.stats();
    assert_eq!(stats.exchanges, 1);
    assert!(stats.refreshes_ok >= 2 && stats.refreshes_provider_5xx == 1, "{stats:?}");
    assert_eq!(f.stats().refreshes_not_saved, 1);
}
