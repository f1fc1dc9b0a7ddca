//! Permission-check benchmarks. The group and id names are a contract: tooling reads
//! `target/criterion/<group>/<id>/new/estimates.json`.
//!
//! - `check/single_short`, `check/single_long`: one check on the Yespo matrix;
//! - `batch64/scopegate`, `batch64/matchit`: the same 64 requests (every Yespo route once plus
//!   unknown ones); matchit does route lookup + a rights-bit test, one router per method;
//! - `scale/60`, `scale/600`, `scale/6000`: synthetic matrices of that many templates.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scopegate_benches::{requests::yespo_batch64, synthetic_profile};
use scopegate_core::Rights;
use scopegate_core::prelude::*;

fn yespo() -> (Provider, Rights) {
    let p = Provider::builtin("yespo").expect("built-in profile");
    let r = p.rights_from_ids(["events_and_contacts"]).expect("right");
    (p, r)
}

fn check(c: &mut Criterion) {
    let (p, rights) = yespo();
    let m = p.matrix();
    let mut g = c.benchmark_group("check");
    g.bench_function("single_short", |b| {
        b.iter(|| black_box(m.check(black_box(rights), black_box("PUT"), black_box("contact/12345/subscriptions"))))
    });
    g.bench_function("single_long", |b| {
        b.iter(|| {
            black_box(m.check(
                black_box(rights),
                black_box("PUT"),
                black_box("contact/token/activated/3f2a9c1e-7b4d-4e8a-9f00-1234567890ab/884422"),
            ))
        })
    });
    g.finish();
}

/// matchit doing the same job: one router per method, the value is the rights mask that opens
/// the route (`u64::MAX` for open groups).
struct MatchitChecker {
    routers: Vec<(Method, matchit::Router<u64>)>,
}

impl MatchitChecker {
    fn new(p: &Provider) -> Self {
        let mut routers: Vec<(Method, matchit::Router<u64>)> = Vec::new();
        for e in p.matrix().endpoints() {
            let mask = if e.open { u64::MAX } else { e.allowed_by.bits() };
            let idx = match routers.iter().position(|(m, _)| *m == e.method) {
                Some(i) => i,
                None => {
                    routers.push((e.method, matchit::Router::new()));
                    routers.len() - 1
                }
            };
            routers[idx].1.insert(format!("/{}", e.template), mask).expect("route");
        }
        Self { routers }
    }

    #[inline]
    fn allows(&self, rights: u64, method: Method, path: &str) -> bool {
        for (m, r) in &self.routers {
            if *m == method {
                return r.at(path).is_ok_and(|hit| hit.value & rights != 0);
            }
        }
        false
    }
}

fn batch64(c: &mut Criterion) {
    let (p, rights) = yespo();
    let policy = p.policy(rights);
    let batch = yespo_batch64();
    assert_eq!(batch.len(), 64);
    let parsed: Vec<(Method, String)> =
        batch.iter().map(|(m, path)| (m.parse().expect("method"), format!("/{path}"))).collect();
    let mi = MatchitChecker::new(&p);
    // Both must agree before we time them.
    for ((m, path), (pm, ppath)) in batch.iter().zip(&parsed) {
        assert_eq!(policy.allows(m, path), mi.allows(rights.bits(), *pm, ppath), "{m} {path}");
    }
    let mut g = c.benchmark_group("batch64");
    g.throughput(Throughput::Elements(64));
    g.bench_function("scopegate", |b| {
        b.iter(|| {
            let mut n = 0u32;
            for (m, path) in &batch {
                n += u32::from(policy.allows(black_box(m), black_box(path)));
            }
            black_box(n)
        })
    });
    g.bench_function("matchit", |b| {
        b.iter(|| {
            let mut n = 0u32;
            for (m, path) in &parsed {
                n += u32::from(mi.allows(black_box(rights.bits()), black_box(*m), black_box(path)));
            }
            black_box(n)
        })
    });
    g.finish();
}

fn scale(c: &mut Criterion) {
    let mut g = c.benchmark_group("scale");
    for n in [60usize, 600, 6000] {
        let p = Provider::from_toml_str(&synthetic_profile(n), "synthetic").expect("synthetic profile");
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
