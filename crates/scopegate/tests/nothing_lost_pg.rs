//! Issue "nothing lost": PostgreSQL is stopped while a refresh is in flight (a slowed token
//! endpoint on the sandbox in strict mode, where a rotated-out refresh token presented again
//! revokes the whole grant). The renewed token set comes back with the error and through the
//! hook, the client keeps using it, and once the server is back the next call writes it: no
//! `invalid_grant`, the grant lives. A test binary of its own (it stops the server).
#![cfg(feature = "postgres")]
#![allow(clippy::print_stderr)]

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopegate::Transport;
use scopegate::{Client, PostgresOptions, PostgresStore, TokenStore, UreqTransport};
use scopegate_core::prelude::*;
use scopegate_sandbox::{Consent, Fault, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Sandbox, SandboxOptions};
use support::{pg_script, pg_url};

/// Sends through ureq; when armed, a refresh request stops PostgreSQL while it is in flight.
struct StopsTheDatabase {
    inner: UreqTransport,
    armed: AtomicBool,
}

impl Transport for StopsTheDatabase {
    fn send(&self, req: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let refresh = req.form_value("grant_type") == Some("refresh_token");
        if refresh && self.armed.swap(false, Ordering::SeqCst) {
            let stopper = std::thread::spawn(|| pg_script("stop"));
            let answer = self.inner.send(req); // the sandbox sleeps 1.5 s on it
            stopper.join().unwrap();
            return answer;
        }
        self.inner.send(req)
    }
}

#[test]
fn the_database_stops_mid_refresh_and_nothing_is_lost() {
    let Some(url) = pg_url() else { return };
    let sb = Sandbox::start_with(SandboxOptions { port: 0, consent: Consent::AutoApprove, strict: true }).unwrap();
    let opts = PostgresOptions { connect_timeout: Duration::from_secs(2), ..PostgresOptions::default() };
    let store: Arc<dyn TokenStore> = Arc::new(PostgresStore::connect_with(&url, opts.clone()).unwrap());
    let transport = Arc::new(StopsTheDatabase { inner: UreqTransport::default(), armed: AtomicBool::new(false) });
    let config = ClientConfig::new(SANDBOX_CLIENT_ID)
        .unwrap()
        .with_secret(SANDBOX_CLIENT_SECRET)
        .with_redirect_uri("http://127.0.0.1:9/callback")
        .unwrap();
    let account = format!("store-down-{}", std::process::id());
    let changes: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
    let seen = Arc::clone(&changes);
    let clock = sb.clock();
    let client = Client::new(sb.profile("yuvo").unwrap(), config, transport.clone(), store.clone(), account)
        .with_clock(move || clock.now())
        .on_token_change(move |c| {
            seen.lock().unwrap().push((c.tokens.refresh_token.as_ref().unwrap().expose_secret().to_owned(), c.saved))
        });

    // Log in (the sandbox approves), as a browser would.
    let start = client.authorization_request().unwrap();
    let mut pending = start.pending;
    let answer = UreqTransport::default().send(&HttpRequest::new(Method::Get, url::Url::parse(&start.url).unwrap()));
    let location = answer.unwrap().header("location").unwrap().to_owned();
    let first = client.exchange(&mut pending, &location).unwrap();

    // Expired; the refresh is slow, and the database stops while it is in flight.
    sb.advance(3600 * 2);
    sb.inject("yuvo", Fault::Slow(Duration::from_millis(1500)));
    transport.armed.store(true, Ordering::SeqCst);
    let e = client.access_token().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotSaved, "{e}");
    assert_eq!(e.blame(), Blame::Environment);
    let renewed = e.unsaved_tokens().expect("the renewed set comes with the error").clone();
    assert_ne!(renewed.refresh_token, first.refresh_token, "rotated");
    assert!(!format!("{e} {e:?}").contains(renewed.refresh_token.as_ref().unwrap().expose_secret()));
    let rt = renewed.refresh_token.as_ref().unwrap().expose_secret().to_owned();
    assert_eq!(changes.lock().unwrap().last(), Some(&(rt.clone(), false)), "the hook saw it, not saved");
    assert_eq!(sb.counters("yuvo").grant("refresh_token"), 1);

    // Still down: the renewed set is used for calls, and nothing is refreshed.
    assert_eq!(client.access_token().unwrap().access_token, renewed.access_token);
    assert_eq!(client.request(Method::Get, "companies", None).unwrap().status(), 200);
    assert_eq!(sb.counters("yuvo").grant("refresh_token"), 1);

    // Back: the next call writes the renewed set (no refresh, no invalid_grant).
    pg_script("start");
    assert_eq!(client.access_token().unwrap().access_token, renewed.access_token);
    assert_eq!(changes.lock().unwrap().last(), Some(&(rt, true)), "the hook saw it stored");
    let fresh: Arc<dyn TokenStore> = Arc::new(PostgresStore::connect_with(&url, opts).unwrap());
    assert_eq!(fresh.load(&client.key()).unwrap().unwrap().refresh_token, renewed.refresh_token, "stored");

    // The grant lives: the next refresh goes on from the renewed refresh token.
    sb.advance(3600 * 2);
    let next = client.access_token().unwrap();
    assert_ne!(next.access_token, renewed.access_token);
    let c = sb.counters("yuvo");
    assert_eq!(c.grant("refresh_token"), 2);
    assert_eq!(c.reuse_detected, 0, "no spent refresh token was sent");
    assert_eq!(c.token_errors, 0, "no invalid_grant");
    eprintln!("refresh requests at the server: {}; invalid_grant: {}", c.grant("refresh_token"), c.token_errors);
}
