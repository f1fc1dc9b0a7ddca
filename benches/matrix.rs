//! Permission-check benchmarks. The group and id names are a contract: tooling reads
//! `target/criterion/<group>/<id>/new/estimates.json`.
//!
//! - `check/single_short`, `check/single_long`: one check on the Yespo matrix;
//!   `check/single_short_matchit`, `check/single_long_matchit`: matchit on the same requests;
//! - `batch64/scopegate`, `batch64/matchit`: the same 64 requests (every Yespo route once plus
//!   unknown ones); matchit does route lookup + a rights-bit test, one router per method;
//!   `batch64/scopegate_many`: the same requests in one `Policy::allows_many` call;
//! - `scale/60`, `scale/600`, `scale/6000`: synthetic matrices of that many templates.
//!
//! The timed work is `scopegate_benches::workload`. With `--ab` this binary runs the A/B harness
//! instead (`scopegate_benches::harness`), on the same functions.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use scopegate_benches::synthetic_profile;
use scopegate_benches::workload::{SINGLE_LONG, SINGLE_SHORT, Yespo};

fn check(c: &mut Criterion) {
    let y = Yespo::new();
    let (short, long) = (format!("/{SINGLE_SHORT}"), format!("/{SINGLE_LONG}"));
    let mut g = c.benchmark_group("check");
    // One check per iteration, timed as the harness times it: 64 at a time (one call of the
    // same function), the time divided among them.
    g.bench_function("single_short", |b| b.iter_custom(|n| per_check(n, || y.single_scopegate_x64(SINGLE_SHORT))));
    g.bench_function("single_long", |b| b.iter_custom(|n| per_check(n, || y.single_scopegate_x64(SINGLE_LONG))));
    g.bench_function("single_short_matchit", |b| b.iter_custom(|n| per_check(n, || y.single_matchit_x64(&short))));
    g.bench_function("single_long_matchit", |b| b.iter_custom(|n| per_check(n, || y.single_matchit_x64(&long))));
    g.finish();
}

/// The time of `iters` checks, run 64 at a time by `x64`.
fn per_check(iters: u64, x64: impl Fn() -> u32) -> Duration {
    let units = iters.div_ceil(64).max(1);
    let t = Instant::now();
    for _ in 0..units {
        black_box(x64());
    }
    t.elapsed().mul_f64(iters as f64 / (units * 64) as f64)
}

fn batch64(c: &mut Criterion) {
    let y = Yespo::new();
    let mut g = c.benchmark_group("batch64");
    g.throughput(Throughput::Elements(64));
    g.bench_function("scopegate", |b| b.iter(|| black_box(y.batch_scopegate())));
    g.bench_function("scopegate_many", |b| b.iter(|| black_box(y.batch_many())));
    g.bench_function("matchit", |b| b.iter(|| black_box(y.batch_matchit())));
    g.finish();
}

fn scale(c: &mut Criterion) {
    let mut g = c.benchmark_group("scale");
    for n in [60usize, 600, 6000] {
        let p = scopegate_core::prelude::Provider::from_toml_str(&synthetic_profile(n), "synthetic")
            .expect("synthetic profile");
        let rights = p.rights_from_ids(["r1"]).expect("right");
        let m = p.matrix();
        let path = format!("res{}/12345/subscriptions", n / 2 + 3);
        assert!(matches!(
            m.check(rights, "PUT", &path),
            scopegate_core::Decision::Allowed(_) | scopegate_core::Decision::Denied { .. }
        ));
        g.bench_function(n.to_string(), |b| {
            b.iter(|| black_box(m.check(black_box(rights), black_box("PUT"), black_box(&path))))
        });
    }
    g.finish();
}

criterion_group!(benches, check, batch64, scale);

fn main() {
    if std::env::args().any(|a| a == "--ab") {
        scopegate_benches::harness::run(std::env::args().skip(1));
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
