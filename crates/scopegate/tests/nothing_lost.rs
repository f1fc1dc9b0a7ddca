//! Issue "nothing lost, one refresh": short-lived tokens, coalesced refreshes, and a renewed
//! token set that the store failed to write, against the in-process fake provider (rotation with
//! reuse detection: a spent refresh token presented again revokes the whole grant).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use scopegate::{Client, MemoryStore, TokenStore};
use scopegate_core::prelude::*;

mod support;
use support::fake::FakeProvider;
use support::faulty::Faulty;

const T0: u64 = 1_800_000_000;

fn client_on(fake: &Arc<FakeProvider>, store: Arc<dyn TokenStore>, clock: &Arc<AtomicUsize>) -> Client {
    let provider = Provider::builtin("yespo")
        .unwrap()
        .with_overrides("[token]\nurl = \"https://auth.test/oauth/token\"\n", "test")
        .unwrap();
    let config =
        ClientConfig::new("cid").unwrap().with_secret("csecret").with_redirect_uri("https://app.test/cb").unwrap();
    let c = Arc::clone(clock);
    Client::new(provider, config, fake.clone(), store, "default")
        .with_clock(move || Timestamp::from_unix_secs(c.load(Ordering::SeqCst) as u64))
}

fn login(client: &Client) -> TokenSet {
    let AuthorizationStart { mut pending, .. } = client.authorization_request().unwrap();
    let state = pending.state().expose_secret().to_owned();
    client.exchange(&mut pending, &format!("https://app.test/cb?code=C&state={state}")).unwrap()
}

fn refreshes(fake: &FakeProvider) -> usize {
    // every token request after the login's exchange
    fake.token_requests.load(Ordering::SeqCst) - 1
}

/// Finding 1: a provider issuing 30 s access tokens, the default 60 s margin: every call used to
/// refresh (12 refreshes for 12 calls). Now a token is not due before half its lifetime.
#[test]
fn a_token_shorter_than_the_margin_is_not_refreshed_on_every_call() {
    let fake = Arc::new(FakeProvider::default());
    fake.expires_in.store(30, Ordering::SeqCst);
    fake.reuse_revokes_grant.store(true, Ordering::SeqCst);
    let clock = Arc::new(AtomicUsize::new(T0 as usize));
    let client = client_on(&fake, Arc::new(MemoryStore::new()), &clock);
    login(&client);
    for i in 0..10 {
        clock.store((T0 + i / 4) as usize, Ordering::SeqCst); // about 3 seconds
        client.access_token().unwrap();
    }
    for _ in 0..2 {
        assert_eq!(client.request(Method::Get, "version", None).unwrap().status(), 200);
    }
    assert_eq!(refreshes(&fake), 0, "12 calls within the first seconds of a 30 s token");
    clock.store((T0 + 15) as usize, Ordering::SeqCst); // half its lifetime: due
    client.access_token().unwrap();
    assert_eq!(refreshes(&fake), 1);
    for _ in 0..5 {
        client.access_token().unwrap();
    }
    assert_eq!(refreshes(&fake), 1, "the renewed token is not due either");
    assert_eq!(fake.invalid_grants.load(Ordering::SeqCst), 0);
}

/// Finding 2: 8 threads calling `refresh()` at once against a slowed token endpoint sent 8
/// refresh requests, each rotating the token. Now they coalesce: one request, one new token
/// set for all.
#[test]
fn eight_threads_calling_refresh_make_one_request() {
    let fake = Arc::new(FakeProvider::default());
    fake.reuse_revokes_grant.store(true, Ordering::SeqCst);
    let clock = Arc::new(AtomicUsize::new(T0 as usize));
    let client = Arc::new(client_on(&fake, Arc::new(MemoryStore::new()), &clock));
    login(&client);
    client.access_token().unwrap(); // every thread has read the current set
    fake.token_delay_ms.store(500, Ordering::SeqCst);
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (client, barrier) = (Arc::clone(&client), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                client.refresh()
            })
        })
        .collect();
    let tokens: Vec<TokenSet> = handles.into_iter().map(|h| h.join().unwrap().unwrap()).collect();
    assert_eq!(refreshes(&fake), 1, "one refresh request for 8 threads");
    assert!(tokens.iter().all(|t| t.access_token == tokens[0].access_token));
    assert_eq!(fake.invalid_grants.load(Ordering::SeqCst), 0);
}

/// Finding 3: the store failed after the provider rotated the token; the Client forgot the
/// renewed set, and the next call refreshed with the spent refresh token: `invalid_grant`, the
/// grant revoked. Now the Client keeps the renewed set, uses it, and writes it once it can.
#[test]
fn a_renewed_token_set_survives_a_store_that_fails_mid_refresh() {
    let fake = Arc::new(FakeProvider::default());
    fake.reuse_revokes_grant.store(true, Ordering::SeqCst);
    let clock = Arc::new(AtomicUsize::new(T0 as usize));
    let store = Arc::new(Faulty::new("server closed the connection"));
    let client = client_on(&fake, store.clone(), &clock);
    let first = login(&client);
    clock.store((T0 + 7200) as usize, Ordering::SeqCst); // expired
    store.writes_fail.store(true, Ordering::SeqCst);
    let e = client.access_token().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotSaved, "{e}");
    let renewed = e.unsaved_tokens().expect("the renewed set comes with the error").clone();
    assert_ne!(renewed.refresh_token, first.refresh_token);
    assert_eq!(refreshes(&fake), 1);
    // Still down: the Client uses the renewed set for calls, and sends no refresh.
    assert_eq!(client.access_token().unwrap().access_token, renewed.access_token);
    assert_eq!(client.request(Method::Get, "version", None).unwrap().status(), 200);
    // Back: the next call writes the renewed set, before anything else.
    store.writes_fail.store(false, Ordering::SeqCst);
    assert_eq!(client.access_token().unwrap().access_token, renewed.access_token);
    assert_eq!(store.inner.load(&client.key()).unwrap().unwrap().refresh_token, renewed.refresh_token);
    // Later refreshes go on from the renewed refresh token.
    clock.store((T0 + 7200 * 2) as usize, Ordering::SeqCst);
    client.access_token().unwrap();
    assert_eq!(refreshes(&fake), 2);
    assert_eq!(fake.invalid_grants.load(Ordering::SeqCst), 0, "no invalid_grant, the grant lives");
}
