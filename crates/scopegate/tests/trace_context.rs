//! Issue 22: the caller's W3C trace context goes on token requests, when the caller opts in
//! (`Client::with_trace_context`), and only a well-formed `traceparent` is sent.

use std::sync::{Arc, Mutex};

use scopegate::{Client, MemoryStore, Transport, UreqTransport};
use scopegate_core::prelude::*;
use scopegate_sandbox::{SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Sandbox};

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Sends through ureq and notes each request's path and `traceparent`.
#[derive(Default)]
struct Recording(Mutex<Vec<(String, Option<String>)>>);

impl Transport for Recording {
    fn send(&self, r: &HttpRequest) -> Result<HttpResponse, TransportError> {
        self.0.lock().unwrap().push((r.url().path().to_owned(), r.header_value("traceparent").map(str::to_owned)));
        UreqTransport::default().send(r)
    }
}

fn client(sb: &Sandbox, t: Arc<Recording>) -> Client {
    let config = ClientConfig::new(SANDBOX_CLIENT_ID)
        .unwrap()
        .with_secret(SANDBOX_CLIENT_SECRET)
        .with_redirect_uri("http://127.0.0.1:9/callback")
        .unwrap();
    let clock = sb.clock();
    Client::new(sb.profile("yespo").unwrap(), config, t, Arc::new(MemoryStore::new()), "traced")
        .with_clock(move || clock.now())
}

fn login(c: &Client) {
    let start = c.authorization_request().unwrap();
    let mut pending = start.pending;
    let get = HttpRequest::new(Method::Get, url::Url::parse(&start.url).unwrap());
    let location = UreqTransport::default().send(&get).unwrap().header("location").unwrap().to_owned();
    c.exchange(&mut pending, &location).unwrap();
}

#[test]
fn token_requests_carry_the_callers_traceparent_when_asked() {
    let sb = Sandbox::start().unwrap();
    let t = Arc::new(Recording::default());
    let value = Arc::new(Mutex::new(Some(PARENT.to_owned())));
    let v = Arc::clone(&value);
    let c = client(&sb, t.clone()).with_trace_context(move || v.lock().unwrap().clone());
    login(&c);
    c.request(Method::Get, "contacts", None).unwrap();
    c.refresh().unwrap();
    // Not a traceparent: not sent (a header injection attempt included).
    *value.lock().unwrap() = Some(format!("{PARENT}\r\nx-evil: 1"));
    c.refresh().unwrap();
    *value.lock().unwrap() = None;
    c.refresh().unwrap();
    let seen = t.0.lock().unwrap().clone();
    let token: Vec<_> = seen.iter().filter(|(p, _)| p.ends_with("/token")).map(|(_, h)| h.clone()).collect();
    assert_eq!(token, [Some(PARENT.to_owned()), Some(PARENT.to_owned()), None, None], "{seen:?}");
    assert!(seen.iter().filter(|(p, _)| !p.ends_with("/token")).all(|(_, h)| h.is_none()), "{seen:?}");
}

#[test]
fn without_opting_in_no_request_carries_one() {
    let sb = Sandbox::start().unwrap();
    let t = Arc::new(Recording::default());
    let c = client(&sb, t.clone());
    login(&c);
    c.refresh().unwrap();
    let seen = t.0.lock().unwrap().clone();
    assert!(seen.len() >= 2 && seen.iter().all(|(_, h)| h.is_none()), "{seen:?}");
}
