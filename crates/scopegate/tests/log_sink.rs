//! Issue 22: scopegate's events as log records (what Python's `logging` and C's log callback
//! receive): logger names per span, levels by kind, the minimum level kept, no secret.
#![cfg(feature = "tracing")]

use std::sync::{Arc, Mutex};

use scopegate::embed::{LogLevel, set_log_sink};
use scopegate::{Client, MemoryStore, Transport, UreqTransport};
use scopegate_core::prelude::*;
use scopegate_sandbox::{Fault, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Sandbox};

#[test]
fn records_name_their_span_and_keep_the_minimum_level() {
    let records: Arc<Mutex<Vec<(LogLevel, String, String)>>> = Arc::default();
    let r = Arc::clone(&records);
    let sink = Arc::new(move |rec: &scopegate::embed::LogRecord<'_>| {
        r.lock().unwrap().push((rec.level, rec.target.to_owned(), rec.message.to_owned()))
    });
    set_log_sink(Some(sink.clone()), LogLevel::Debug).unwrap();
    let sb = Sandbox::start().unwrap();
    let config = ClientConfig::new(SANDBOX_CLIENT_ID)
        .unwrap()
        .with_secret(SANDBOX_CLIENT_SECRET)
        .with_redirect_uri("http://127.0.0.1:9/callback")
        .unwrap();
    let clock = sb.clock();
    let c = Client::new(
        sb.profile("yespo").unwrap(),
        config,
        Arc::new(UreqTransport::default()),
        Arc::new(MemoryStore::new()),
        "logs",
    )
    .with_clock(move || clock.now());
    let start = c.authorization_request().unwrap();
    let mut pending = start.pending;
    let get = HttpRequest::new(Method::Get, url::Url::parse(&start.url).unwrap());
    let location = UreqTransport::default().send(&get).unwrap().header("location").unwrap().to_owned();
    let tokens = c.exchange(&mut pending, &location).unwrap();
    sb.inject("yespo", Fault::Status(503));
    c.refresh().unwrap_err();
    let renewed = c.refresh().unwrap();
    let all = records.lock().unwrap().clone();
    let text = format!("{all:?}");
    for secret in [tokens.access_token.expose_secret(), renewed.access_token.expose_secret(), SANDBOX_CLIENT_SECRET] {
        assert!(!text.contains(secret), "{text}");
    }
    assert!(
        all.iter().any(|(l, t, m)| *l == LogLevel::Debug
            && t == "scopegate.exchange"
            && m.contains("done")
            && m.contains("provider=yespo")
            && m.contains("account=logs")),
        "{all:#?}"
    );
    assert!(
        all.iter()
            .any(|(l, t, m)| *l == LogLevel::Warn && t == "scopegate.refresh" && m.contains("outcome=provider_5xx")),
        "{all:#?}"
    );
    // Only warnings and errors now.
    records.lock().unwrap().clear();
    set_log_sink(Some(sink), LogLevel::Warn).unwrap();
    c.refresh().unwrap();
    sb.inject("yespo", Fault::Status(503));
    c.refresh().unwrap_err();
    let all = records.lock().unwrap().clone();
    assert!(!all.is_empty() && all.iter().all(|(l, _, _)| *l <= LogLevel::Warn), "{all:#?}");
    set_log_sink(None, LogLevel::Trace).unwrap();
}
