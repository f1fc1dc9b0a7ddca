//! The A/B harness: scopegate against matchit on the same requests, made to hold on a shared,
//! noisy machine, where criterion (seconds of one side, then seconds of the other) does not. It
//! runs inside the criterion bench binary (`matrix.rs`), so both time the same machine code:
//!
//! ```sh
//! cargo bench -p scopegate-benches --bench matrix -- --ab              # every comparison
//! cargo bench -p scopegate-benches --bench matrix -- --ab batch64      # names containing it
//! cargo bench -p scopegate-benches --bench matrix -- --ab --rounds 3000 --slice-us 50
//! ```
//!
//! Each comparison runs `rounds` rounds. A round times short slices of A (scopegate) and B
//! (matchit), about `slice-us` each, in one of four orders taken in turn (ABAB, BAAB, ABBA,
//! BABA), keeps the fastest slice of each side and yields one ratio, B's time over A's: how many
//! times faster scopegate is. The harness prints the median of the per-round ratios, their spread
//! (10th-90th percentile and interquartile range) and each side's median time per check.
//!
//! Why it holds under load: the two sides of a ratio run within a few hundred microseconds of
//! each other, so a change in the neighbour's load or in the clock moves both alike; a slice hit
//! by an interrupt or a preemption loses to its twin of the round, and a round hit on both slices
//! lands in the tail that the median ignores.
//!
//! `--count ID UNITS` runs one side UNITS times and nothing else (no warm-up, no timing), for
//! counting instructions under callgrind: see `benches/callgrind`.
#![allow(clippy::print_stdout)] // a bench program: its output is the figure

use std::hint::black_box;
use std::time::Instant;

use crate::workload::{SINGLE_LONG, SINGLE_SHORT, Yespo};

/// One side: a unit of work of 64 checks, returning how many were allowed.
struct Side<'a> {
    id: &'static str,
    unit: Box<dyn Fn() -> u32 + 'a>,
}

/// Checks per unit.
const CHECKS: f64 = 64.0;
const ORDERS: [&[u8; 4]; 4] = [b"ABAB", b"BAAB", b"ABBA", b"BABA"];
/// The comparisons: (name, A, B).
const PAIRS: &[(&str, &str, &str)] = &[
    ("batch64", "batch64/scopegate", "batch64/matchit"),
    ("batch64_many", "batch64/scopegate_many", "batch64/matchit"),
    ("single_short", "check/single_short", "check/single_short_matchit"),
    ("single_long", "check/single_long", "check/single_long_matchit"),
];

fn sides<'a>(y: &'a Yespo, short: &'a str, long: &'a str) -> Vec<Side<'a>> {
    vec![
        Side { id: "batch64/scopegate", unit: Box::new(|| y.batch_scopegate()) },
        Side { id: "batch64/scopegate_many", unit: Box::new(|| y.batch_many()) },
        Side { id: "batch64/matchit", unit: Box::new(|| y.batch_matchit()) },
        Side { id: "check/single_short", unit: Box::new(|| y.single_scopegate_x64(SINGLE_SHORT)) },
        Side { id: "check/single_long", unit: Box::new(|| y.single_scopegate_x64(SINGLE_LONG)) },
        Side { id: "check/single_short_matchit", unit: Box::new(move || y.single_matchit_x64(short)) },
        Side { id: "check/single_long_matchit", unit: Box::new(move || y.single_matchit_x64(long)) },
    ]
}

/// Nanoseconds per unit over `reps` units.
#[inline(never)]
fn slice(side: &Side<'_>, reps: u32) -> f64 {
    let t = Instant::now();
    let mut sum = 0u32;
    for _ in 0..reps {
        sum = sum.wrapping_add((side.unit)());
    }
    black_box(sum);
    t.elapsed().as_nanos() as f64 / f64::from(reps)
}

/// Warms a side up for `ms` milliseconds; units per slice of `slice_ns`.
fn calibrate(side: &Side<'_>, ms: u64, slice_ns: f64) -> u32 {
    let t = Instant::now();
    let mut best = f64::MAX;
    while t.elapsed().as_millis() < u128::from(ms) {
        best = best.min(slice(side, 16));
    }
    (slice_ns / best).ceil().max(1.0) as u32
}

/// The `q` quantile of sorted values (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

struct Outcome {
    ratios: Vec<f64>,
    a_ns: Vec<f64>,
    b_ns: Vec<f64>,
}

fn compare(a: &Side<'_>, b: &Side<'_>, rounds: usize, slice_ns: f64) -> Outcome {
    let (ra, rb) = (calibrate(a, 100, slice_ns), calibrate(b, 100, slice_ns));
    let mut out = Outcome { ratios: Vec::with_capacity(rounds), a_ns: Vec::new(), b_ns: Vec::new() };
    for r in 0..rounds {
        let (mut ta, mut tb) = (f64::MAX, f64::MAX);
        for &s in ORDERS[r % ORDERS.len()] {
            if s == b'A' {
                ta = ta.min(slice(a, ra));
            } else {
                tb = tb.min(slice(b, rb));
            }
        }
        out.ratios.push(tb / ta);
        out.a_ns.push(ta / CHECKS);
        out.b_ns.push(tb / CHECKS);
    }
    for v in [&mut out.ratios, &mut out.a_ns, &mut out.b_ns] {
        v.sort_by(f64::total_cmp);
    }
    out
}

fn first_line(path: &str, key: &str) -> String {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| {
            t.lines().find(|l| l.starts_with(key)).map(|l| l.split(':').nth(1).unwrap_or(l).trim().to_owned())
        })
        .unwrap_or_else(|| "?".to_owned())
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map_or_else(|_| "?".to_owned(), |t| t.split(' ').take(3).collect::<Vec<_>>().join(" "))
}

fn count(sides: &[Side<'_>], id: &str, units: u64) {
    let side = sides.iter().find(|s| s.id == id).unwrap_or_else(|| {
        let ids: Vec<_> = sides.iter().map(|s| s.id).collect();
        panic!("unknown id {id}; one of {}", ids.join(", "))
    });
    let mut sum = 0u64;
    for _ in 0..units {
        sum += u64::from((side.unit)());
    }
    println!("{id}: {units} units of 64 checks, {sum} allowed");
}

/// Runs the harness with these arguments (`--ab` and `--bench` are ignored).
pub fn run(args: impl IntoIterator<Item = String>) {
    let mut args = args.into_iter();
    let (mut rounds, mut slice_us, mut filter) = (1000usize, 50.0f64, Vec::new());
    let mut count_of: Option<(String, u64)> = None;
    while let Some(a) = args.next() {
        let mut value = || args.next().expect("a value after the option");
        match a.as_str() {
            "--rounds" => rounds = value().parse().expect("--rounds N"),
            "--slice-us" => slice_us = value().parse().expect("--slice-us N"),
            "--count" => {
                let id = value();
                count_of = Some((id, value().parse().expect("--count ID UNITS")));
            }
            "--bench" | "--ab" => {}
            other if other.starts_with('-') => panic!("unknown option {other}"),
            other => filter.push(other.to_owned()),
        }
    }
    let y = Yespo::new();
    let (short, long) = (format!("/{SINGLE_SHORT}"), format!("/{SINGLE_LONG}"));
    let sides = sides(&y, &short, &long);
    if let Some((id, units)) = count_of {
        count(&sides, &id, units);
        return;
    }
    let side = |id: &str| sides.iter().find(|s| s.id == id).expect("side");
    println!(
        "machine: {}, {} cores; load average {}; {rounds} rounds of ~{slice_us} us slices per side",
        first_line("/proc/cpuinfo", "model name"),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load()
    );
    println!(
        "{:<14} {:>14} {:>14} {:>8} {:>17} {:>17}",
        "comparison", "scopegate", "matchit", "ratio", "p10-p90", "IQR"
    );
    for (name, a, b) in PAIRS {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let o = compare(side(a), side(b), rounds, slice_us * 1000.0);
        let r = &o.ratios;
        println!(
            "{name:<14} {:>8.2} ns/ck {:>8.2} ns/ck {:>8.3} {:>8.3}-{:<8.3} {:>8.3}-{:<8.3}",
            quantile(&o.a_ns, 0.5),
            quantile(&o.b_ns, 0.5),
            quantile(r, 0.5),
            quantile(r, 0.1),
            quantile(r, 0.9),
            quantile(r, 0.25),
            quantile(r, 0.75),
        );
    }
    println!("ratio: matchit's time / scopegate's, median of per-round ratios; load average now {}", load());
}
