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
//! The timed work is `scopegate_benches::workload`, which the A/B harness (`ab.rs`) times too.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scopegate_benches::synthetic_profile;
use scopegate_benches::workload::{SINGLE_LONG, SINGLE_SHORT, Yespo};

fn check(c: &mut Criterion) {
    let y = Yespo::new();
    let (short, long) = (format!("/{SINGLE_SHORT}"), format!("/{SINGLE_LONG}"));
    let mut g = c.benchmark_group("check");
    g.bench_function("single_short", |b| b.iter(|| black_box(y.single_scopegate(SINGLE_SHORT))));
    g.bench_function("single_long", |b| b.iter(|| black_box(y.single_scopegate(SINGLE_LONG))));
    g.bench_function("single_short_matchit", |b| b.iter(|| black_box(y.single_matchit(&short))));
    g.bench_function("single_long_matchit", |b| b.iter(|| black_box(y.single_matchit(&long))));
    g.finish();
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
criterion_main!(benches);
