//! The blocking client against an in-process fake provider (the transport is pluggable).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use scopegate::{Client, MemoryStore, SqliteStore, TokenStore};
use scopegate_core::low_level::{FlowError, RevocationError};
use scopegate_core::prelude::*;
use scopegate_core::{Revoked, UsageError};

mod support;
use support::fake::FakeProvider;
use support::faulty::Faulty;

const T0: u64 = 1_800_000_000;

fn setup(provider_id: &str, store: Arc<dyn TokenStore>) -> (Arc<FakeProvider>, Arc<Client>, Arc<AtomicUsize>) {
    setup_with(provider_id, "", store)
}

fn setup_with(
    provider_id: &str,
    overrides: &str,
    store: Arc<dyn TokenStore>,
) -> (Arc<FakeProvider>, Arc<Client>, Arc<AtomicUsize>) {
    let provider = Provider::builtin(provider_id)
        .unwrap()
        .with_overrides(&format!("[token]\nurl = \"https://auth.test/oauth/token\"\n{overrides}"), "test")
        .unwrap();
    let fake = Arc::new(FakeProvider::default());
    let config =
        ClientConfig::new("cid").unwrap().with_secret("csecret").with_redirect_uri("https://app.test/cb").unwrap();
    let clock = Arc::new(AtomicUsize::new(T0 as usize));
    let c = Arc::clone(&clock);
    let client = Client::new(provider, config, fake.clone(), store, "default")
        .with_clock(move || Timestamp::from_unix_secs(c.load(Ordering::SeqCst) as u64));
    (fake, Arc::new(client), clock)
}

fn login(client: &Client) -> TokenSet {
    let AuthorizationStart { mut pending, .. } = client.authorization_request().unwrap();
    let state = pending.state().expose_secret().to_owned();
    let extra = if client.provider().id() == "yotpo" { "&app_key=STORE42" } else { "" };
    client.exchange(&mut pending, &format!("https://app.test/cb?code=C&state={state}{extra}")).unwrap()
}

#[test]
fn exchange_stores_and_a_valid_token_needs_no_network() {
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let (fake, client, _) = setup("yuvo", store.clone());
    let t = login(&client);
    assert_eq!(store.load(&client.key()).unwrap(), Some(t.clone()), "stored before returning");
    assert_eq!(client.access_token().unwrap(), t);
    assert_eq!(fake.token_requests.load(Ordering::SeqCst), 1);
}

/// (With a MemoryStore, loads wait behind the refresh in progress; the re-check under the lock
/// is what matters across SQLite handles, see the next test, which fails without it.)
#[test]
fn thirty_two_threads_on_an_expired_token_make_one_refresh() {
    let (fake, client, clock) = setup("yespo", Arc::new(MemoryStore::new()));
    login(&client);
    clock.store((T0 + 172_800) as usize, Ordering::SeqCst); // well past expiry
    let handles: Vec<_> = (0..32)
        .map(|_| {
            let client = Arc::clone(&client);
            thread::spawn(move || client.access_token())
        })
        .collect();
    let tokens: Vec<TokenSet> = handles.into_iter().map(|h| h.join().unwrap().unwrap()).collect();
    assert_eq!(fake.token_requests.load(Ordering::SeqCst), 2, "one exchange + exactly one refresh");
    assert!(tokens.iter().all(|t| t.access_token.expose_secret() == "AT2"));
    assert_eq!(client.stored().unwrap().unwrap().refresh_token.unwrap().expose_secret(), "RT2");
}

#[test]
fn sixteen_threads_on_two_sqlite_handles_make_one_refresh() {
    let dir = std::env::temp_dir().join(format!("scopegate-client-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("t.sqlite3");
    let (fake, a, clock) = setup("yespo", Arc::new(SqliteStore::open(&path).unwrap()));
    login(&a);
    // a second "process": another store handle and client on the same file and provider
    let b = Arc::new(
        Client::new(
            a.provider().clone(),
            ClientConfig::new("cid").unwrap().with_secret("csecret").with_redirect_uri("https://app.test/cb").unwrap(),
            fake.clone(),
            Arc::new(SqliteStore::open(&path).unwrap()),
            "default",
        )
        .with_clock(move || Timestamp::from_unix_secs(T0 + 172_800)),
    );
    clock.store((T0 + 172_800) as usize, Ordering::SeqCst);
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let c = if i % 2 == 0 { Arc::clone(&a) } else { Arc::clone(&b) };
            thread::spawn(move || c.access_token())
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().unwrap().access_token.expose_secret(), "AT2");
    }
    assert_eq!(fake.token_requests.load(Ordering::SeqCst), 2);
}

#[test]
fn invalid_grant_asks_for_reauthorization_and_keeps_the_stored_token() {
    let (fake, client, clock) = setup("yespo", Arc::new(MemoryStore::new()));
    let t = login(&client);
    fake.state.lock().unwrap().live_refresh.clear(); // the provider revoked it
    clock.store((T0 + 172_800) as usize, Ordering::SeqCst);
    match client.access_token() {
        Err(scopegate::Error::ReauthorizationRequired { reason: ReauthorizationReason::InvalidGrant, .. }) => {}
        other => panic!("{other:?}"),
    }
    // Nothing already stored is lost; the dead grant is marked, so later calls fail locally.
    let mut marked = t;
    marked.invalidated = Some(ReauthorizationReason::InvalidGrant);
    assert_eq!(client.stored().unwrap(), Some(marked), "nothing already stored is lost");
}

#[test]
fn permission_pre_check_refuses_locally() {
    let (fake, client, _) = setup("yespo", Arc::new(MemoryStore::new()));
    let rights = client.provider().rights_from_ids(["events"]).unwrap();
    let client = Client::new(
        client.provider().clone(),
        ClientConfig::new("cid").unwrap().with_secret("csecret").with_redirect_uri("https://app.test/cb").unwrap(),
        fake.clone(),
        Arc::new(MemoryStore::new()),
        "default",
    )
    .with_rights(rights)
    .with_clock(|| Timestamp::from_unix_secs(T0));
    login(&client);
    match client.request(Method::Put, "contact/42", None) {
        Err(scopegate::Error::PermissionDenied { would_allow, .. }) => {
            assert_eq!(would_allow, "full_api, events_and_contacts")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(client.request(Method::Get, "contact/../x", None), Err(scopegate::Error::PathRejected(_))));
    assert!(matches!(client.request(Method::Get, "nope", None), Err(scopegate::Error::UnknownEndpoint { .. })));
    assert_eq!(fake.api_requests.load(Ordering::SeqCst), 0, "no network call");
    let ok = client.request(Method::Post, "event", Some(b"{}")).unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.body(), br#"{"path":"/api/v1/event"}"#);
    let v = client.request(Method::Get, "/api/v2/version", None).unwrap();
    assert_eq!(v.body(), br#"{"path":"/api/v2/version"}"#);
}

#[test]
fn a_401_gets_one_refresh_and_one_retry() {
    let (fake, client, _) = setup("yuvo", Arc::new(MemoryStore::new()));
    login(&client);
    fake.api_script.lock().unwrap().push(401);
    let r = client.request(Method::Get, "companies", None).unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(fake.token_requests.load(Ordering::SeqCst), 2, "exchange + one refresh");
    assert_eq!(fake.api_requests.load(Ordering::SeqCst), 2);
    // two 401s in a row: refreshed once, the second 401 is returned
    fake.api_script.lock().unwrap().extend([401, 401]);
    assert_eq!(client.request(Method::Get, "companies", None).unwrap().status(), 401);
    assert_eq!(fake.token_requests.load(Ordering::SeqCst), 3);
}

#[test]
fn yotpo_three_401s_ask_for_reinstall() {
    // The Yotpo document names no API host: the token goes only where a profile's [api] says.
    let (fake, client, _) =
        setup_with("yotpo", "[api]\nbase_url = \"https://api.yotpo.test\"\n", Arc::new(MemoryStore::new()));
    let t = login(&client);
    assert_eq!(t.params.get("app_key").map(String::as_str), Some("STORE42"));
    fake.api_script.lock().unwrap().extend([401, 401, 401]);
    let url = "https://api.yotpo.test/v1/anything";
    assert_eq!(client.request(Method::Get, url, None).unwrap().status(), 401);
    assert_eq!(client.request(Method::Get, url, None).unwrap().status(), 401);
    match client.request(Method::Get, url, None) {
        Err(scopegate::Error::ReauthorizationRequired {
            reason: ReauthorizationReason::RepeatedUnauthorized { count: 3 },
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.token_requests.load(Ordering::SeqCst), 1, "Yotpo has no refresh");
    assert!(client.forget().unwrap());
    assert!(matches!(client.access_token(), Err(scopegate::Error::NotAuthorized { .. })));
}

#[test]
fn only_unsent_failures_and_busy_answers_are_retried() {
    let (fake, client, clock) = setup("yespo", Arc::new(MemoryStore::new()));
    login(&client);
    clock.store((T0 + 172_800) as usize, Ordering::SeqCst);
    // two connection failures (nothing sent), then success
    fake.fail_next.lock().unwrap().extend([false, false]);
    assert_eq!(client.access_token().unwrap().access_token.expose_secret(), "AT2");
    // a timeout after sending: never resent
    clock.store((T0 + 2 * 172_800) as usize, Ordering::SeqCst);
    let before = fake.token_requests.load(Ordering::SeqCst);
    fake.fail_next.lock().unwrap().push(true);
    assert!(matches!(client.access_token(), Err(scopegate::Error::Flow(FlowError::Transport { .. }))));
    assert_eq!(fake.token_requests.load(Ordering::SeqCst), before, "not resent");
    assert!(fake.fail_next.lock().unwrap().is_empty());
    // 503 + Retry-After twice, then served: three tries
    fake.busy.store(2, Ordering::SeqCst);
    let before = fake.token_requests.load(Ordering::SeqCst);
    assert!(client.access_token().is_ok());
    assert_eq!(fake.token_requests.load(Ordering::SeqCst), before + 3);
    // busy three times: gives up after three tries
    clock.store((T0 + 3 * 172_800) as usize, Ordering::SeqCst);
    fake.busy.store(5, Ordering::SeqCst);
    let before = fake.token_requests.load(Ordering::SeqCst);
    assert!(client.access_token().is_err());
    assert_eq!(fake.token_requests.load(Ordering::SeqCst), before + 3);
}

#[test]
fn no_stored_token_is_a_clear_error() {
    let (_fake, client, _) = setup("yuvo", Arc::new(MemoryStore::new()));
    let e = client.access_token().unwrap_err();
    assert_eq!(e.to_string(), "no token stored for yuvo/default: log in first");
}

const REVOCATION: &str = "[revocation]\nkind = \"rfc7009\"\nurl = \"https://auth.test/oauth/revoke\"\n";

#[test]
fn revoke_tells_the_provider_then_forgets() {
    let (fake, client, _) = setup_with("yuvo", REVOCATION, Arc::new(MemoryStore::new()));
    login(&client);
    assert_eq!(client.revoke().unwrap(), Revoked::Done);
    assert_eq!(fake.revoke_requests.load(Ordering::SeqCst), 1);
    assert!(client.stored().unwrap().is_none());
    assert!(fake.state.lock().unwrap().live_refresh.is_empty(), "the refresh token was revoked");
    assert!(matches!(client.revoke(), Err(scopegate::Error::NotAuthorized { .. })));
}

#[test]
fn a_refused_revocation_keeps_the_token() {
    let (fake, client, _) = setup_with("yuvo", REVOCATION, Arc::new(MemoryStore::new()));
    let t = login(&client);
    fake.token_script.lock().unwrap().push(Ok(HttpResponse::new(400, r#"{"error":"unsupported_token_type"}"#)));
    let e = client.revoke().unwrap_err();
    assert!(matches!(e, scopegate::Error::Revocation(RevocationError::Refused(_))), "{e}");
    assert_eq!(client.stored().unwrap(), Some(t.clone()));
    // Not reachable (nothing sent, three times): kept too.
    fake.token_script.lock().unwrap().extend([
        Err(TransportError::Connect { host: "auth.test".into(), reason: "refused".into() }),
        Err(TransportError::Connect { host: "auth.test".into(), reason: "refused".into() }),
        Err(TransportError::Connect { host: "auth.test".into(), reason: "refused".into() }),
    ]);
    assert!(matches!(client.revoke(), Err(scopegate::Error::Transport(TransportError::Connect { .. }))));
    assert_eq!(client.stored().unwrap(), Some(t));
    assert_eq!(fake.revoke_requests.load(Ordering::SeqCst), 4);
}

#[test]
fn revoke_without_an_endpoint_is_a_usage_error_and_keeps_the_token() {
    let (_fake, client, _) = setup("yuvo", Arc::new(MemoryStore::new()));
    login(&client);
    let e = client.revoke().unwrap_err();
    assert!(matches!(e, scopegate::Error::Usage(UsageError::NoRevocationEndpoint { .. })), "{e}");
    assert!(client.stored().unwrap().is_some());
    // Yotpo: the endpoint is documented without a URL; the hint says what to set.
    let (_fake, client, _) = setup("yotpo", Arc::new(MemoryStore::new()));
    login(&client);
    let e = client.revoke().unwrap_err().to_string();
    assert!(e.contains("[revocation] url"), "{e}");
    assert!(client.stored().unwrap().is_some());
}

#[test]
fn yotpo_uninstall_calls_remove_application_and_forgets() {
    let over = "[revocation]\nurl = \"https://api.test/apps/{account}/revoke\"\nmethod = \"DELETE\"\n";
    let (fake, client, _) = setup_with("yotpo", over, Arc::new(MemoryStore::new()));
    login(&client);
    assert_eq!(client.revoke().unwrap(), Revoked::Done);
    assert!(client.stored().unwrap().is_none());
    // Uninstalled from Yotpo's side already: 401 is taken as done.
    login(&client);
    fake.token_script.lock().unwrap().push(Ok(HttpResponse::new(401, "")));
    assert_eq!(client.revoke().unwrap(), Revoked::AlreadyGone);
    assert!(client.stored().unwrap().is_none());
}

/// Every token-endpoint failure maps to a typed error, is not retried once sent, and leaves the
/// stored token as it was.
#[test]
fn token_endpoint_error_paths() {
    let (fake, client, clock) = setup("yespo", Arc::new(MemoryStore::new()));
    let t = login(&client);
    clock.store((T0 + 172_800) as usize, Ordering::SeqCst);
    let host = || "auth.test".to_owned();
    let tls = || Err(TransportError::Tls { host: host(), reason: "invalid peer certificate: UnknownIssuer".into() });
    // (answers in pop order, what the error says, how many requests reach the endpoint)
    type Answer = Result<HttpResponse, TransportError>;
    let cases: Vec<(Vec<Answer>, &str, usize)> = vec![
        (vec![Err(TransportError::Timeout { host: host(), phase: "response" })], "timed out", 1),
        // A failed handshake sent nothing: tried three times, then reported.
        (vec![tls(), tls(), tls()], "tls", 3),
        (vec![Err(TransportError::BodyTooLarge { host: host(), limit: 1 << 20 })], "larger than", 1),
        (vec![Ok(HttpResponse::new(302, "").with_header("Location", "https://evil.test/"))], "redirect", 1),
        (vec![Ok(HttpResponse::new(500, "internal error"))], "500", 1),
        (vec![Ok(HttpResponse::new(502, "<html>bad gateway</html>"))], "502", 1),
        (vec![Ok(HttpResponse::new(401, r#"{"error":"invalid_client"}"#))], "invalid_client", 1),
    ];
    for (canned, expect, sends) in cases {
        let before = fake.token_requests.load(Ordering::SeqCst);
        fake.token_script.lock().unwrap().extend(canned);
        let e = client.access_token().expect_err(expect);
        let text = e.to_string();
        assert!(matches!(e, scopegate::Error::Flow(_)), "{text}");
        assert!(text.to_lowercase().contains(expect), "{expect}: {text}");
        assert_eq!(fake.token_requests.load(Ordering::SeqCst), before + sends, "{expect}: tries");
        assert!(fake.token_script.lock().unwrap().is_empty());
        assert_eq!(client.stored().unwrap(), Some(t.clone()), "{expect}: token kept");
    }
    // Connection refused three times (never sent): three tries, then the error.
    for _ in 0..3 {
        fake.fail_next.lock().unwrap().push(false);
    }
    assert!(matches!(client.access_token(), Err(scopegate::Error::Flow(FlowError::Transport { .. }))));
    // invalid_grant: re-authorization, token kept for inspection.
    fake.token_script.lock().unwrap().push(Ok(HttpResponse::new(400, r#"{"error":"invalid_grant"}"#)));
    assert!(matches!(client.access_token(), Err(scopegate::Error::ReauthorizationRequired { .. })));
    let mut marked = t;
    marked.invalidated = Some(ReauthorizationReason::InvalidGrant);
    assert_eq!(client.stored().unwrap(), Some(marked), "kept, marked dead");
}

/// Finding 3: a 429 with `Retry-After: 1`, then one with `Retry-After: 18446744073709551615`,
/// overflowed `waited + wait` and panicked inside the store transaction. Now the wait is
/// saturating and bounded: the second answer is not waited for, and is reported.
#[test]
fn finding_3_a_huge_retry_after_is_an_error_not_a_panic() {
    let (fake, client, clock) = setup("yespo", Arc::new(MemoryStore::new()));
    let t = login(&client);
    clock.store((T0 + 172_800) as usize, Ordering::SeqCst);
    fake.token_script.lock().unwrap().extend([
        Ok(HttpResponse::new(429, "slow down").with_header("Retry-After", "18446744073709551615")),
        Ok(HttpResponse::new(429, "slow down").with_header("Retry-After", "1")),
    ]);
    let started = std::time::Instant::now();
    let e = client.access_token().expect_err("the provider kept refusing");
    assert!(e.to_string().contains("429"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10), "no endless wait");
    assert_eq!(client.stored().unwrap(), Some(t), "the stored token is untouched");
}

/// Finding 4a: a refresh token past its known lifetime was sent anyway, and the user was told
/// "invalid_grant". Now no request is made and the reason is the expiry.
#[test]
fn finding_4_a_refresh_token_past_its_lifetime_is_not_sent() {
    let (fake, client, clock) = setup("yespo", Arc::new(MemoryStore::new()));
    login(&client);
    clock.store((T0 + 2_592_000) as usize, Ordering::SeqCst); // Yespo: refresh tokens live 30 days
    let before = fake.token_requests.load(Ordering::SeqCst);
    match client.access_token() {
        Err(scopegate::Error::ReauthorizationRequired {
            reason: ReauthorizationReason::RefreshTokenExpired, ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.token_requests.load(Ordering::SeqCst), before, "no request");
}

/// Finding 4b: after invalid_grant the dead token stayed as it was, so every later call made a
/// refresh request sure to fail. Now the grant is marked dead in the store and later calls fail
/// locally, until a new login replaces it.
#[test]
fn finding_4_after_invalid_grant_later_calls_make_no_request() {
    let (fake, client, clock) = setup("yespo", Arc::new(MemoryStore::new()));
    login(&client);
    fake.state.lock().unwrap().live_refresh.clear(); // the provider revoked it
    clock.store((T0 + 172_800) as usize, Ordering::SeqCst);
    assert!(matches!(
        client.access_token(),
        Err(scopegate::Error::ReauthorizationRequired { reason: ReauthorizationReason::InvalidGrant, .. })
    ));
    let before = fake.token_requests.load(Ordering::SeqCst);
    for _ in 0..3 {
        match client.access_token() {
            Err(scopegate::Error::ReauthorizationRequired { reason: ReauthorizationReason::InvalidGrant, .. }) => {}
            other => panic!("{other:?}"),
        }
        assert!(client.request(Method::Get, "contacts", None).is_err());
        assert!(client.refresh().is_err());
    }
    assert_eq!(fake.token_requests.load(Ordering::SeqCst), before, "no request for a known-dead grant");
    assert_eq!(fake.api_requests.load(Ordering::SeqCst), 0);
    // A new login replaces the dead grant.
    login(&client);
    assert!(client.access_token().is_ok());
}

/// If the new token set cannot be stored after a successful refresh, the error carries it: the
/// caller can still use it (the old refresh token may already be spent).
#[test]
fn a_refreshed_token_set_that_cannot_be_stored_is_handed_back() {
    let full = Faulty::new("database or disk is full");
    let (fake, client, clock) = setup("yespo", Arc::new(MemoryStore::new()));
    let t = login(&client);
    full.inner.save(&client.key(), &t).unwrap();
    full.writes_fail.store(true, Ordering::SeqCst);
    let full = Client::new(
        client.provider().clone(),
        ClientConfig::new("cid").unwrap().with_secret("csecret").with_redirect_uri("https://app.test/cb").unwrap(),
        fake.clone(),
        Arc::new(full),
        "default",
    )
    .with_clock(move || Timestamp::from_unix_secs(clock.load(Ordering::SeqCst) as u64 + 172_800));
    let e = full.access_token().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotSaved, "issue 18: its own kind, 24");
    let renewed = e.unsaved_tokens().expect("the renewed tokens");
    assert_eq!(renewed.access_token.expose_secret(), "AT2");
    assert_eq!(renewed.refresh_token.as_ref().unwrap().expose_secret(), "RT2");
    assert!(e.to_string().contains("NOT stored"), "{e}");
    assert!(!e.to_string().contains("RT2"), "{e}");
}
