//! A lease holder killed (SIGKILL) mid-refresh, on SQLite and PostgreSQL (issue 21).
//!
//! A child process claims the key's lease and sends its refresh to a token endpoint of this
//! test, which holds the request unanswered; the test kills the child there. Then a client of
//! this process asks for a token:
//!
//! - the holder named another host (`LeaseOwner::on_other_host`: nothing here can tell whether
//!   it lives), so its lease must **expire**: the survivor waits (checked halfway through the
//!   lease's time to live), then refreshes once;
//! - the holder was a `Client` of this host, so its death is seen (`LeaseOwner::is_dead_here`)
//!   and its lease is **taken over at once**, long before its time to live.
//!
//! Either way the store is as consistent as before: one refresh after the holder's (which never
//! got an answer), with the refresh token the store held, the new token set written, the lease
//! released, and a late write by a holder whose lease ended refused by the row version.
//!
//! PostgreSQL runs when `SCOPEGATE_TEST_PG` names a server (`scripts/pg start`) and the crate is
//! built with the `postgres` feature; `SCOPEGATE_REQUIRE_PG=1` makes its absence a failure.
#![allow(clippy::print_stderr)]

mod support;

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use scopegate::{
    Claim, Client, LeaseOwner, SqliteStore, StoreKey, TokenStore, Transport, Update, UreqTransport, Written,
};
use scopegate_core::prelude::*;
use support::{TempDir, pg_url};

const T0: u64 = 1_800_000_000;
/// Both processes' clock: the stored access token (an hour from T0) has expired.
const LATER: u64 = T0 + 7200;
const CHILD_ENV: &str = "SCOPEGATE_LEASE_KILL_CHILD";

fn provider(token_url: &str) -> Provider {
    Provider::builtin("yuvo").unwrap().with_overrides(&format!("[token]\nurl = \"{token_url}\"\n"), "test").unwrap()
}

fn config() -> ClientConfig {
    ClientConfig::new("lease-kill").unwrap().with_secret("csecret")
}

fn initial_tokens() -> TokenSet {
    TokenSet::from_json(&format!(
        r#"{{"format":"scopegate.token_set","version":1,"provider":"yuvo","identity":"user","access_token":"AT-0","refresh_token":"RT-0","issued_at":{T0},"expires_at":{}}}"#,
        T0 + 3600
    ))
    .unwrap()
}

fn open(kind: &str, location: &str) -> Arc<dyn TokenStore> {
    match kind {
        "sqlite" => Arc::new(SqliteStore::open(location).unwrap()),
        #[cfg(feature = "postgres")]
        "pg" => Arc::new(scopegate::PostgresStore::connect(location).unwrap()),
        other => panic!("no store kind {other}"),
    }
}

/// The stores to run on: (kind, SQLite file or PostgreSQL URL, the directory to remove).
fn stores(tag: &str) -> Vec<(&'static str, String, Option<TempDir>)> {
    let dir = TempDir::new(&format!("lease-{tag}"));
    let mut out = vec![("sqlite", dir.0.join("tokens.db").display().to_string(), Some(dir))];
    if let Some(url) = pg_url() {
        out.push(("pg", url, None));
    }
    out
}

/// A token endpoint on loopback: the first refresh (the child's) is held, never answered; the
/// later ones get a new token pair at once. Records the refresh tokens presented.
struct Endpoint {
    server: Arc<tiny_http::Server>,
    url: String,
    presented: Arc<Mutex<Vec<String>>>,
    first: Receiver<Instant>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Endpoint {
    fn start() -> Endpoint {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind loopback"));
        let port = server.server_addr().to_ip().unwrap().port();
        let presented = Arc::new(Mutex::new(Vec::new()));
        let (tx, first) = channel();
        let thread = {
            let (server, presented) = (Arc::clone(&server), Arc::clone(&presented));
            std::thread::spawn(move || {
                let mut held = Vec::new();
                for mut req in server.incoming_requests() {
                    let mut body = String::new();
                    let _ = req.as_reader().read_to_string(&mut body);
                    let rt = url::form_urlencoded::parse(body.as_bytes())
                        .find(|(k, _)| k == "refresh_token")
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default();
                    let n = {
                        let mut p = presented.lock().unwrap();
                        p.push(rt);
                        p.len()
                    };
                    if n == 1 {
                        held.push(req); // the holder's refresh: in flight until it is killed
                        let _ = tx.send(Instant::now());
                        continue;
                    }
                    let json = format!(
                        r#"{{"access_token":"AT-{n}","token_type":"Bearer","expires_in":3600,"refresh_token":"RT-{n}"}}"#
                    );
                    let header = "Content-Type: application/json".parse::<tiny_http::Header>().unwrap();
                    let _ = req.respond(tiny_http::Response::from_string(json).with_header(header));
                }
            })
        };
        Endpoint { server, url: format!("http://127.0.0.1:{port}/token"), presented, first, thread: Some(thread) }
    }

    fn presented(&self) -> Vec<String> {
        self.presented.lock().unwrap().clone()
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Kills the child on drop (a failed assertion must not leave it behind).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the holder, waits until its refresh is in flight at the endpoint, and kills it there
/// (SIGKILL); the instant its refresh arrived.
fn hold_and_kill(mode: &str, kind: &str, location: &str, account: &str, ttl: Duration, endpoint: &Endpoint) -> Instant {
    let mut child = Killed(
        Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "holder", "--nocapture", "--test-threads", "1"])
            .env(CHILD_ENV, "1")
            .env("SG_MODE", mode)
            .env("SG_KIND", kind)
            .env("SG_STORE", location)
            .env("SG_ACCOUNT", account)
            .env("SG_TOKEN_URL", &endpoint.url)
            .env("SG_TTL_MS", ttl.as_millis().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let arrived = match endpoint.first.recv_timeout(Duration::from_secs(60)) {
        Ok(at) => at,
        Err(_) => {
            let _ = child.0.kill();
            let mut out = String::new();
            let _ = child.0.stdout.take().unwrap().read_to_string(&mut out);
            let _ = child.0.stderr.take().unwrap().read_to_string(&mut out);
            panic!("{kind}/{mode}: the holder's refresh never arrived:\n{out}");
        }
    };
    // The holder printed that it holds the lease before it sent the refresh.
    let mut line = String::new();
    let mut reader = BufReader::new(child.0.stdout.take().unwrap());
    while !line.contains("HOLDING") {
        line.clear();
        assert!(reader.read_line(&mut line).unwrap() > 0, "{kind}/{mode}: the holder did not say it holds the lease");
    }
    child.0.kill().unwrap(); // SIGKILL
    let status = child.0.wait().unwrap();
    assert!(!status.success(), "{kind}/{mode}: killed, not ended: {status:?}");
    arrived
}

fn survivor(kind: &str, location: &str, account: &str, endpoint: &Endpoint) -> Client {
    Client::new(provider(&endpoint.url), config(), Arc::new(UreqTransport::default()), open(kind, location), account)
        .with_clock(|| Timestamp::from_unix_secs(LATER))
        // Its own lease time bounds its wait for another's (35 s): a lease that never ends fails
        // the test within a minute.
        .with_lease_ttl(Duration::from_secs(5))
}

/// What both cases leave: one more refresh, with the refresh token the store held, its tokens
/// stored, the lease free, and a write by an owner whose lease ended refused.
fn check_consistent(kind: &str, location: &str, account: &str, endpoint: &Endpoint, got: &TokenSet) {
    assert_eq!(endpoint.presented(), ["RT-0", "RT-0"], "{kind}: the holder's refresh, then exactly one more");
    assert_eq!(got.access_token.expose_secret(), "AT-2", "{kind}");
    let store = open(kind, location);
    let key = StoreKey::new("yuvo", "lease-kill", account);
    let row = store.read(&key).unwrap();
    assert_eq!(row.tokens.as_ref().map(|t| t.access_token.expose_secret().to_owned()).as_deref(), Some("AT-2"));
    assert_eq!(row.tokens.unwrap().refresh_token.unwrap().expose_secret(), "RT-2", "{kind}: the rotated token kept");
    // A holder whose lease ended and who comes back late writes over the version it read (1,
    // the login's): refused, the newer row stays.
    let late = LeaseOwner::on_other_host("late-host");
    match store.write(&key, &late, 1, &Update::Put(Box::new(initial_tokens()))).unwrap() {
        Written::Conflict(now) => assert_eq!(now.version, row.version, "{kind}"),
        Written::Done(v) => panic!("{kind}: a stale write went through (version {v})"),
    }
    // The survivor's write ended its lease: anybody may claim the key now.
    let next = LeaseOwner::new();
    assert!(
        matches!(store.try_claim(&key, &next, Duration::from_secs(5)).unwrap(), Claim::Granted(_)),
        "{kind}: the lease is free"
    );
    store.release(&key, &next).unwrap();
}

fn fresh_account(tag: &str) -> String {
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{tag}-{}-{n}", std::process::id())
}

/// The holder names another host: its lease (4 s) must expire before anybody refreshes.
#[test]
fn a_foreign_holder_killed_mid_refresh_leaves_a_lease_that_expires() {
    let ttl = Duration::from_secs(4);
    for (kind, location, _dir) in stores("foreign") {
        let endpoint = Endpoint::start();
        let account = fresh_account("foreign");
        open(kind, &location).save(&StoreKey::new("yuvo", "lease-kill", &account), &initial_tokens()).unwrap();
        let arrived = hold_and_kill("foreign", kind, &location, &account, ttl, &endpoint);
        let c = survivor(kind, &location, &account, &endpoint);
        let waiter = std::thread::spawn(move || c.access_token());
        // Halfway through the lease's life the survivor is still waiting: no second refresh.
        std::thread::sleep((arrived + ttl / 2).saturating_duration_since(Instant::now()));
        assert_eq!(endpoint.presented().len(), 1, "{kind}: nobody refreshed while the lease lived");
        assert!(!waiter.is_finished(), "{kind}: the survivor waits for the lease");
        let got = waiter.join().unwrap().expect("the survivor refreshes once the lease has expired");
        let waited = arrived.elapsed();
        assert!(waited < ttl + Duration::from_secs(30), "{kind}: waited {waited:?} for a {ttl:?} lease");
        eprintln!("{kind}: foreign holder killed; the survivor refreshed {waited:?} after the holder's refresh");
        check_consistent(kind, &location, &account, &endpoint, &got);
    }
}

/// The holder was a client of this host: its death is seen and its lease (a long one, 120 s)
/// taken over at once.
#[test]
fn a_holder_of_this_host_killed_mid_refresh_is_taken_over_at_once() {
    let ttl = Duration::from_secs(120);
    for (kind, location, _dir) in stores("here") {
        let endpoint = Endpoint::start();
        let account = fresh_account("here");
        open(kind, &location).save(&StoreKey::new("yuvo", "lease-kill", &account), &initial_tokens()).unwrap();
        let arrived = hold_and_kill("client", kind, &location, &account, ttl, &endpoint);
        let got = survivor(kind, &location, &account, &endpoint).access_token().expect("the survivor refreshes");
        let waited = arrived.elapsed();
        assert!(waited < ttl / 4, "{kind}: waited {waited:?}: the dead holder's lease was not taken over");
        eprintln!("{kind}: holder of this host killed; the survivor refreshed {waited:?} after the holder's refresh");
        check_consistent(kind, &location, &account, &endpoint, &got);
    }
}

/// The holder: claims the key's lease and refreshes; the test kills it while its refresh is in
/// flight. `SG_MODE=client`: through a `Client` (an owner of this host); `foreign`: the store's
/// lease protocol by hand with an owner that names another host, then the session's refresh.
#[test]
#[ignore = "run by the tests above as a child process"]
fn holder() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k}"));
    let store = open(&var("SG_KIND"), &var("SG_STORE"));
    let account = var("SG_ACCOUNT");
    let profile = provider(&var("SG_TOKEN_URL"));
    let ttl = Duration::from_millis(var("SG_TTL_MS").parse().unwrap());
    let now = Timestamp::from_unix_secs(LATER);
    let say = |what: &str| {
        #[allow(clippy::print_stdout)]
        {
            println!("{what}");
        }
    };
    match var("SG_MODE").as_str() {
        "client" => {
            let c = Client::new(profile, config(), Arc::new(UreqTransport::default()), store, account)
                .with_lease_ttl(ttl)
                .with_clock(move || now);
            // The client claims the lease inside access_token(), before it sends the refresh
            // (the test waits for the refresh, then for this line, before it kills).
            say("HOLDING");
            let r = c.access_token();
            say(&format!("ENDED {}", r.is_ok()));
        }
        "foreign" => {
            let key = StoreKey::new("yuvo", "lease-kill", account);
            let owner = LeaseOwner::on_other_host("another-host");
            let Claim::Granted(row) = store.try_claim(&key, &owner, ttl).unwrap() else { panic!("lease held") };
            say("HOLDING");
            let mut s = Session::new(profile, config());
            s.set_tokens(row.tokens).unwrap();
            s.refresh(now).unwrap();
            let (_, request) = s.poll_transmit(now).expect("the refresh request");
            let r = UreqTransport::default().send(&request);
            say(&format!("ENDED {}", r.is_ok()));
        }
        other => panic!("unknown mode {other}"),
    }
}
