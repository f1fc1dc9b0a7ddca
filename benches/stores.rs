//! Token stores under load: `Client::access_token()` on a fresh token (answered from memory: no
//! store read, no refresh) through MemoryStore, SqliteStore and PostgresStore at 1, 2, 8 and 64
//! callers, on one key and on a key per caller, and refreshes per second across keys (the store's
//! lease, write and release; the token endpoint is an in-process fake that answers at once).
//!
//! Every figure is measured in rounds, and in each round every store and every caller count
//! takes its turn (the stores in rotation: A B C, B C A, C A B, ...), so a neighbour's load lands
//! on all of them alike. Reported: the median round, and ratios taken inside each round (a store
//! against MemoryStore, N callers against one), then their median; a ratio of two figures
//! measured a second apart holds on a shared machine where the figures themselves do not.
//! PostgreSQL is included when `SCOPEGATE_BENCH_PG` (or `SCOPEGATE_TEST_PG`) holds a connection
//! string (`scripts/pg start` prints one).
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

const ROUNDS: usize = 7;
const ROUND: Duration = Duration::from_millis(250);
const CALLERS: [usize; 4] = [1, 2, 8, 64];
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

/// Calls `op` (given the caller's index) from `threads` threads for one round; calls per second.
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

/// `samples[store][callers][round]`, calls/s.
type Samples = Vec<Vec<Vec<f64>>>;

/// `access_token()` on a fresh token, every store at every caller count in every round. With
/// `own_key`, caller `t` uses client `t` (its own key); else all share client 0.
fn fresh_rounds(names: &[&str], clients: &[Vec<Arc<Client>>], own_key: bool) -> Samples {
    let mut samples: Samples = vec![vec![Vec::new(); CALLERS.len()]; names.len()];
    for round in 0..ROUNDS {
        for (ci, callers) in CALLERS.iter().enumerate() {
            for k in 0..names.len() {
                let i = (k + round) % names.len();
                let list = clients[i].clone();
                samples[i][ci].push(throughput(
                    *callers,
                    Arc::new(move |t| {
                        let c = &list[if own_key { t } else { 0 }];
                        std::hint::black_box(c.access_token().unwrap());
                    }),
                ));
            }
        }
    }
    samples
}

/// Median over rounds of `f(round)`.
fn median_of(f: impl Fn(usize) -> f64) -> f64 {
    median((0..ROUNDS).map(f).collect())
}

fn report_fresh(title: &str, names: &[&str], s: &Samples) {
    println!("{title}");
    println!("  calls/s, median round:");
    for (ci, callers) in CALLERS.iter().enumerate() {
        let line: Vec<String> =
            names.iter().zip(s).map(|(name, per)| format!("{name} {:.0}", median(per[ci].clone()))).collect();
        println!("    {callers:>2} callers: {}", line.join(", "));
    }
    println!("  store / memory, median of the per-round ratios:");
    for (ci, callers) in CALLERS.iter().enumerate() {
        let line: Vec<String> = names
            .iter()
            .zip(s)
            .skip(1)
            .map(|(name, per)| format!("{name} {:.2}", median_of(|r| per[ci][r] / s[0][ci][r])))
            .collect();
        println!("    {callers:>2} callers: {}", line.join(", "));
    }
    println!("  N callers / 1 caller, median of the per-round ratios:");
    for (ci, callers) in CALLERS.iter().enumerate().skip(1) {
        let line: Vec<String> = names
            .iter()
            .zip(s)
            .map(|(name, per)| format!("{name} {:.2}", median_of(|r| per[ci][r] / per[0][r])))
            .collect();
        println!("    {callers:>2} callers: {}", line.join(", "));
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` asks for a list; nothing to list or test here
    }
    let stores = stores();
    let names: Vec<&str> = stores.iter().map(|(n, _)| *n).collect();
    let run = std::process::id();
    let endpoint = Arc::new(InstantEndpoint(AtomicU64::new(0)));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{cores} cores; {ROUNDS} rounds of {ROUND:?} per figure, stores and caller counts alternated in each round"
    );
    // access_token() on a fresh token: a client per caller, on one key or a key each.
    let most = CALLERS[CALLERS.len() - 1];
    let clients = |shared: bool| -> Vec<Vec<Arc<Client>>> {
        stores
            .iter()
            .map(|(name, s)| {
                (0..if shared { 1 } else { most })
                    .map(|t| {
                        let account =
                            if shared { format!("fresh-{name}-{run}") } else { format!("fresh-{name}-{run}-{t}") };
                        let c = client(Arc::clone(s), &account, Arc::clone(&endpoint));
                        s.save(&c.key(), &fresh_tokens(t)).unwrap();
                        Arc::new(c)
                    })
                    .collect()
            })
            .collect()
    };
    let one_key = clients(true);
    let samples = fresh_rounds(&names, &one_key, false);
    report_fresh("access_token() on a fresh token, one key (one client shared by every caller):", &names, &samples);
    let own_keys = clients(false);
    let samples = fresh_rounds(&names, &own_keys, true);
    report_fresh("access_token() on a fresh token, a key (and a client) per caller:", &names, &samples);

    // Refreshes per second across keys: each thread refreshes its own keys in turn.
    println!("refresh() across {REFRESH_KEYS} keys by {REFRESH_THREADS} threads, refreshes/s, median round:");
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
