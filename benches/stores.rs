//! Token stores under load: `Client::access_token()` on a fresh token (no refresh: the store's
//! read path) through MemoryStore, SqliteStore and PostgresStore at 1, 8 and 64 callers, and
//! refreshes per second across keys (the store's locked update path; the token endpoint is an
//! in-process fake that answers at once).
//!
//! The stores are measured in alternating rounds (A B C, B C A, C A B, ...) and the median of
//! the rounds is reported, so a neighbour's load lands on every store alike. PostgreSQL is
//! included when `SCOPEGATE_BENCH_PG` (or `SCOPEGATE_TEST_PG`) holds a connection string
//! (`scripts/pg start` prints one).
//!
//! ```sh
//! scripts/pg start   # optional: adds PostgresStore
//! SCOPEGATE_BENCH_PG="$(scripts/pg url)" cargo bench -p scopegate-benches --bench stores
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use scopegate::Transport;
use scopegate::{Client, MemoryStore, PostgresOptions, PostgresStore, SqliteStore, TokenStore};
use scopegate_core::{ClientConfig, HttpRequest, HttpResponse, Provider, Timestamp, TokenSet, TransportError};

const ROUNDS: usize = 5;
const ROUND: Duration = Duration::from_millis(400);
const CALLERS: [usize; 3] = [1, 8, 64];
const REFRESH_KEYS: usize = 64;
const REFRESH_THREADS: usize = 8;

/// A token endpoint that answers every refresh at once with a new token pair.
struct InstantEndpoint(AtomicU64);

impl Transport for InstantEndpoint {
    fn send(&self, _req: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        Ok(HttpResponse::new(
            200,
            format!(r#"{{"access_token":"AT{n}","token_type":"Bearer","expires_in":3600,"refresh_token":"RT{n}"}}"#),
        ))
    }
}

fn provider() -> Provider {
    Provider::builtin("yuvo").unwrap()
}

fn fresh_tokens(n: usize) -> TokenSet {
    TokenSet::from_json(&format!(
        r#"{{"format":"scopegate.token_set","version":1,"provider":"yuvo","identity":"user","access_token":"AT-{n}","refresh_token":"RT-{n}","issued_at":1800000000,"expires_at":4000000000}}"#
    ))
    .unwrap()
}

fn client(store: Arc<dyn TokenStore>, account: &str, endpoint: Arc<InstantEndpoint>) -> Client {
    let config = ClientConfig::new("bench-client").unwrap().with_secret("bench-secret");
    Client::new(provider(), config, endpoint, store, account).with_clock(|| Timestamp::from_unix_secs(1_800_000_100))
}

/// Calls `op` from `threads` threads for one round; calls per second.
fn throughput(threads: usize, op: Arc<dyn Fn(usize) + Send + Sync>) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (stop, count, op) = (Arc::clone(&stop), Arc::clone(&count), Arc::clone(&op));
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    op(t);
                    n += 1;
                }
                count.fetch_add(n, Ordering::Relaxed);
            })
        })
        .collect();
    let started = Instant::now();
    std::thread::sleep(ROUND);
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().unwrap();
    }
    count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn stores() -> Vec<(&'static str, Arc<dyn TokenStore>)> {
    let dir = std::env::temp_dir().join(format!("scopegate-bench-stores-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut out: Vec<(&'static str, Arc<dyn TokenStore>)> = vec![
        ("memory", Arc::new(MemoryStore::new())),
        ("sqlite", Arc::new(SqliteStore::open(dir.join("tokens.db")).unwrap())),
    ];
    match std::env::var("SCOPEGATE_BENCH_PG").or_else(|_| std::env::var("SCOPEGATE_TEST_PG")) {
        Ok(url) => {
            let opts = PostgresOptions { pool_size: 16, ..PostgresOptions::default() };
            out.push(("postgres", Arc::new(PostgresStore::connect_with(&url, opts).unwrap())));
        }
        Err(_) => eprintln!("(no SCOPEGATE_BENCH_PG: PostgresStore left out)"),
    }
    out
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` asks for a list; nothing to list or test here
    }
    let stores = stores();
    let run = std::process::id();
    let endpoint = Arc::new(InstantEndpoint(AtomicU64::new(0)));
    // access_token() on a fresh token: one account per store.
    let readers: Vec<Arc<Client>> = stores
        .iter()
        .map(|(name, s)| {
            let account = format!("fresh-{name}-{run}");
            let c = client(Arc::clone(s), &account, Arc::clone(&endpoint));
            s.save(&c.key(), &fresh_tokens(0)).unwrap();
            Arc::new(c)
        })
        .collect();
    println!("access_token() on a fresh token, calls/s (median of {ROUNDS} alternating rounds of {ROUND:?}):");
    for callers in CALLERS {
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); stores.len()];
        for round in 0..ROUNDS {
            for k in 0..stores.len() {
                let i = (k + round) % stores.len();
                let c = Arc::clone(&readers[i]);
                samples[i].push(throughput(
                    callers,
                    Arc::new(move |_| {
                        std::hint::black_box(c.access_token().unwrap());
                    }),
                ));
            }
        }
        let line: Vec<String> =
            stores.iter().zip(&samples).map(|((name, _), s)| format!("{name} {:.0}", median(s.clone()))).collect();
        println!("  {callers:>2} callers: {}", line.join(", "));
    }
    // Refreshes per second across keys: each thread refreshes its own keys in turn.
    println!("refresh() across {REFRESH_KEYS} keys by {REFRESH_THREADS} threads, refreshes/s:");
    let refreshers: Vec<Vec<Arc<Client>>> = stores
        .iter()
        .map(|(name, s)| {
            (0..REFRESH_KEYS)
                .map(|k| {
                    let c = client(Arc::clone(s), &format!("refresh-{name}-{run}-{k}"), Arc::clone(&endpoint));
                    s.save(&c.key(), &fresh_tokens(k)).unwrap();
                    Arc::new(c)
                })
                .collect()
        })
        .collect();
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); stores.len()];
    for round in 0..ROUNDS {
        for k in 0..stores.len() {
            let i = (k + round) % stores.len();
            let clients = refreshers[i].clone();
            let turn = Arc::new(AtomicU64::new(0));
            samples[i].push(throughput(
                REFRESH_THREADS,
                Arc::new(move |t| {
                    let n = turn.fetch_add(1, Ordering::Relaxed) as usize;
                    let c = &clients[(t + n * REFRESH_THREADS) % clients.len()];
                    std::hint::black_box(c.refresh().unwrap());
                }),
            ));
        }
    }
    let line: Vec<String> =
        stores.iter().zip(&samples).map(|((name, _), s)| format!("{name} {:.0}", median(s.clone()))).collect();
    println!("  {}", line.join(", "));
}
