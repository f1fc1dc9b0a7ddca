//! The token from memory, and how soon a change made by another process is seen (issue 21).
//!
//! A client answers a fresh token from memory. What another process does to the key (a
//! `forget`, a revoke, an uninstall, a refresh) reaches it when the in-memory token becomes due,
//! at the next 401 from the API, or at the latest after the client's staleness bound
//! (`Client::with_staleness`, default `DEFAULT_STALENESS`). "Another process" is a second store
//! handle on the same SQLite file or PostgreSQL database (it behaves like one: its own slots, its
//! own lease owner), and, in the last tests, a real child process.
//!
//! PostgreSQL runs when `SCOPEGATE_TEST_PG` names a server (`scripts/pg start`) and the crate is
//! built with the `postgres` feature; `SCOPEGATE_REQUIRE_PG=1` makes its absence a failure.
#![allow(clippy::print_stderr)] // skips are reported

mod support;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use scopegate::{Client, DEFAULT_STALENESS, SqliteStore, TokenStore};
use scopegate_core::prelude::*;
use support::fake::FakeProvider;
use support::{TempDir, pg_url};

const T0: u64 = 1_800_000_000;
const REVOCATION: &str = "[revocation]\nkind = \"rfc7009\"\nurl = \"https://auth.test/oauth/revoke\"\n";
const CHILD_ENV: &str = "SCOPEGATE_STALENESS_CHILD";

fn provider() -> Provider {
    Provider::builtin("yuvo")
        .unwrap()
        .with_overrides(&format!("[token]\nurl = \"https://auth.test/oauth/token\"\n{REVOCATION}"), "test")
        .unwrap()
}

fn config(client_id: &str) -> ClientConfig {
    ClientConfig::new(client_id).unwrap().with_secret("csecret").with_redirect_uri("https://app.test/cb").unwrap()
}

/// A client id no other test, run or process uses (the PostgreSQL database is shared).
fn fresh_client_id(tag: &str) -> String {
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("stale-{tag}-{}-{n}", std::process::id())
}

/// Two handles on one store: what two processes would open. `None` when the kind is not
/// available here (PostgreSQL without a server, or without the feature).
struct Pair {
    kind: &'static str,
    /// The SQLite file or the PostgreSQL URL, for a child process.
    location: String,
    a: Arc<dyn TokenStore>,
    b: Arc<dyn TokenStore>,
    _dir: Option<TempDir>,
}

fn open(kind: &str, location: &str) -> Arc<dyn TokenStore> {
    match kind {
        "sqlite" => Arc::new(SqliteStore::open(location).unwrap()),
        #[cfg(feature = "postgres")]
        "pg" => Arc::new(scopegate::PostgresStore::connect(location).unwrap()),
        other => panic!("no store kind {other}"),
    }
}

fn pairs(tag: &str) -> Vec<Pair> {
    let dir = TempDir::new(&format!("stale-{tag}"));
    let file = dir.0.join("tokens.db").display().to_string();
    let mut out = vec![Pair {
        kind: "sqlite",
        a: open("sqlite", &file),
        b: open("sqlite", &file),
        location: file,
        _dir: Some(dir),
    }];
    if let Some(url) = pg_url() {
        out.push(Pair { kind: "pg", a: open("pg", &url), b: open("pg", &url), location: url, _dir: None });
    }
    out
}

/// This process's client (`a`) and the other process's (`b`), on the same key, the same fake
/// provider and the same clock; `a` logged in and its token answered from memory.
struct Two {
    fake: Arc<FakeProvider>,
    clock: Arc<AtomicU64>,
    a: Client,
    b: Client,
}

fn two(pair: &Pair, tag: &str, staleness: Option<Duration>) -> Two {
    let fake = Arc::new(FakeProvider::default());
    let clock = Arc::new(AtomicU64::new(T0));
    let client_id = fresh_client_id(tag);
    let make = |store: &Arc<dyn TokenStore>| {
        let c = Arc::clone(&clock);
        Client::new(provider(), config(&client_id), fake.clone(), Arc::clone(store), "default")
            .with_clock(move || Timestamp::from_unix_secs(c.load(Ordering::SeqCst)))
    };
    let a = match staleness {
        Some(s) => make(&pair.a).with_staleness(s),
        None => make(&pair.a),
    };
    let b = make(&pair.b);
    let AuthorizationStart { mut pending, .. } = a.authorization_request().unwrap();
    let state = pending.state().expose_secret().to_owned();
    a.exchange(&mut pending, &format!("https://app.test/cb?code=C&state={state}")).unwrap();
    assert_eq!(a.access_token().unwrap().access_token.expose_secret(), "AT1");
    Two { fake, clock, a, b }
}

fn not_authorized(r: Result<TokenSet, scopegate::Error>, what: &str) {
    match r {
        Err(scopegate::Error::NotAuthorized { .. }) => {}
        other => panic!("{what}: expected NotAuthorized, got {other:?}"),
    }
}

/// Within the bound the token comes from memory (the forget is not seen: a long bound shows it);
/// once the bound has passed since the client last read the store, the next call reads it.
#[test]
fn a_forget_elsewhere_is_seen_once_the_bound_has_passed() {
    for pair in pairs("bound") {
        let kind = pair.kind;
        // A bound that cannot pass during the test: the other process's forget stays unseen.
        let long = two(&pair, "long", Some(Duration::from_secs(600)));
        assert!(long.b.forget().unwrap(), "{kind}: the other process had the token");
        assert_eq!(long.b.stored().unwrap(), None, "{kind}");
        assert_eq!(long.a.access_token().unwrap().access_token.expose_secret(), "AT1", "{kind}: from memory");

        let bound = Duration::from_millis(300);
        let t = two(&pair, "short", Some(bound));
        // `a` last read the store before this instant (at its login), so once `bound` has passed
        // from here, its next call must read the store.
        let forgotten = Instant::now();
        assert!(t.b.forget().unwrap(), "{kind}");
        std::thread::sleep(bound.saturating_sub(forgotten.elapsed()) + Duration::from_millis(20));
        not_authorized(t.a.access_token(), kind);
        assert_eq!(t.fake.token_requests.load(Ordering::SeqCst), 1, "{kind}: no refresh was tried");
    }
}

/// `Duration::ZERO`: every call reads the store.
#[test]
fn a_zero_bound_reads_the_store_on_every_call() {
    for pair in pairs("zero") {
        let t = two(&pair, "zero", Some(Duration::ZERO));
        assert!(t.b.forget().unwrap(), "{}", pair.kind);
        not_authorized(t.a.access_token(), pair.kind);
    }
}

/// A revoke by the other process (the provider ends the grant, the row is deleted) is seen at
/// this client's next 401: it reads the store before it refreshes, finds no token, and says so;
/// no refresh is sent with a revoked refresh token.
#[test]
fn a_revoke_elsewhere_is_seen_at_the_next_401() {
    for pair in pairs("revoke") {
        let kind = pair.kind;
        let t = two(&pair, "revoke", Some(Duration::from_secs(600)));
        assert_eq!(t.b.revoke().unwrap(), scopegate_core::Revoked::Done, "{kind}");
        assert_eq!(t.a.access_token().unwrap().access_token.expose_secret(), "AT1", "{kind}: from memory");
        match t.a.request(Method::Get, "companies", None) {
            Err(scopegate::Error::NotAuthorized { .. }) => {}
            other => panic!("{kind}: expected NotAuthorized after the 401, got {other:?}"),
        }
        assert_eq!(t.fake.api_requests.load(Ordering::SeqCst), 1, "{kind}: one call, answered 401, not retried");
        assert_eq!(t.fake.token_requests.load(Ordering::SeqCst), 1, "{kind}: the exchange only, no refresh");
        assert_eq!(t.fake.invalid_grants.load(Ordering::SeqCst), 0, "{kind}");
        not_authorized(t.a.access_token(), kind);
    }
}

/// A forget elsewhere, with the provider still accepting the token: unseen while the token works
/// (within the bound), seen at the first 401.
#[test]
fn a_forget_elsewhere_is_seen_at_the_next_401() {
    for pair in pairs("forget401") {
        let kind = pair.kind;
        let t = two(&pair, "forget401", Some(Duration::from_secs(600)));
        assert!(t.b.forget().unwrap(), "{kind}");
        assert_eq!(t.a.request(Method::Get, "companies", None).unwrap().status(), 200, "{kind}: from memory");
        t.fake.api_script.lock().unwrap().push(401);
        match t.a.request(Method::Get, "companies", None) {
            Err(scopegate::Error::NotAuthorized { .. }) => {}
            other => panic!("{kind}: expected NotAuthorized after the 401, got {other:?}"),
        }
        assert_eq!(t.fake.token_requests.load(Ordering::SeqCst), 1, "{kind}: no refresh");
    }
}

/// When the token in memory becomes due, the client reads the store before refreshing: the
/// other process's refresh is found and used, and no second refresh is sent.
#[test]
fn a_refresh_elsewhere_is_found_when_the_token_becomes_due() {
    for pair in pairs("due") {
        let kind = pair.kind;
        let t = two(&pair, "due", Some(Duration::from_secs(600)));
        // Half an hour later the other process refreshes (AT1 is not due yet: 60 s before its
        // hour is up); AT2 lives an hour from then.
        t.clock.store(T0 + 1800, Ordering::SeqCst);
        assert_eq!(t.b.refresh().unwrap().access_token.expose_secret(), "AT2", "{kind}");
        assert_eq!(t.fake.token_requests.load(Ordering::SeqCst), 2, "{kind}");
        // Within the bound and not due: memory.
        assert_eq!(t.a.access_token().unwrap().access_token.expose_secret(), "AT1", "{kind}");
        // AT1 becomes due; AT2 is not.
        t.clock.store(T0 + 3590, Ordering::SeqCst);
        let got = t.a.access_token().unwrap();
        assert_eq!(got.access_token.expose_secret(), "AT2", "{kind}: the other process's token");
        assert_eq!(t.fake.token_requests.load(Ordering::SeqCst), 2, "{kind}: no second refresh");
        assert_eq!(t.fake.invalid_grants.load(Ordering::SeqCst), 0, "{kind}");
    }
}

/// The other process is a real one: a child process forgets the key (its own `Client`, its own
/// store handle). This client, with the default bound, sees it at most `DEFAULT_STALENESS` after
/// its last read of the store.
#[test]
fn a_forget_by_a_child_process_is_seen_within_the_default_bound() {
    for pair in pairs("child") {
        let kind = pair.kind;
        let client_id = fresh_client_id("child");
        let fake = Arc::new(FakeProvider::default());
        let a = Client::new(provider(), config(&client_id), fake.clone(), Arc::clone(&pair.a), "default")
            .with_clock(|| Timestamp::from_unix_secs(T0));
        let AuthorizationStart { mut pending, .. } = a.authorization_request().unwrap();
        let state = pending.state().expose_secret().to_owned();
        a.exchange(&mut pending, &format!("https://app.test/cb?code=C&state={state}")).unwrap();
        let read = Instant::now(); // `a` read (wrote) the store before this
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "child_forgets", "--nocapture", "--test-threads", "1"])
            .env(CHILD_ENV, "1")
            .env("SG_KIND", kind)
            .env("SG_STORE", &pair.location)
            .env("SG_CLIENT_ID", &client_id)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains("FORGOTTEN true"), "{kind}: child: {text}");
        if read.elapsed() < DEFAULT_STALENESS {
            // Within the bound: unseen (answered from memory).
            assert_eq!(a.access_token().unwrap().access_token.expose_secret(), "AT1", "{kind}");
        }
        std::thread::sleep(DEFAULT_STALENESS.saturating_sub(read.elapsed()) + Duration::from_millis(20));
        not_authorized(a.access_token(), kind);
    }
}

/// The child process of the test above: forgets the key through a client of its own.
#[test]
#[ignore = "run by a_forget_by_a_child_process_is_seen_within_the_default_bound as a child process"]
fn child_forgets() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k}"));
    let store = open(&var("SG_KIND"), &var("SG_STORE"));
    let c = Client::new(provider(), config(&var("SG_CLIENT_ID")), Arc::new(FakeProvider::default()), store, "default");
    let forgotten = c.forget().unwrap();
    #[allow(clippy::print_stdout)]
    {
        println!("FORGOTTEN {forgotten}");
    }
}
