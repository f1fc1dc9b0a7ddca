//! The Rust side of the C-vs-Rust permission-check bench (`bench/run`): the batch64 requests of
//! `benches/requests.rs` through `PermissionMatrix::check` on the Yespo matrix, rights
//! `events_and_contacts`, the same check `scopegate_check` makes from C.
//!
//! - `check_batch64 requests`: prints the 64 requests, `METHOD path` per line (the C side reads
//!   them, so both time the same set);
//! - `check_batch64 time [ITERATIONS] [SAMPLES]`: times them; prints the median ns per check;
//! - `check_batch64 many [ITERATIONS] [SAMPLES]`: the same through `PermissionMatrix::allows_many`
//!   (methods parsed beforehand), what `scopegate_policy_allows_many` makes from C.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a bench program: its output is the figure

use std::hint::black_box;
use std::time::Instant;

use scopegate_benches::requests::yespo_batch64;
use scopegate_core::{Decision, Method, Provider};

/// Times `round` (one pass over the 64 requests); the median ns per check.
fn time(iterations: u32, samples: usize, checks: usize, mut round: impl FnMut() -> u32) -> f64 {
    for _ in 0..iterations / 4 {
        round();
    }
    let mut ns: Vec<f64> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iterations {
                round();
            }
            start.elapsed().as_nanos() as f64 / (f64::from(iterations) * checks as f64)
        })
        .collect();
    ns.sort_by(f64::total_cmp);
    ns[ns.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let batch = yespo_batch64();
    match args.get(1).map(String::as_str) {
        Some("requests") => {
            for (m, p) in &batch {
                println!("{m} {p}");
            }
        }
        Some(mode @ ("time" | "many")) => {
            let iterations: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20_000);
            let samples: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5);
            let yespo = Provider::builtin("yespo").expect("built-in profile");
            let rights = yespo.rights_from_ids(["events_and_contacts"]).expect("right");
            let matrix = yespo.matrix();
            let check = || {
                let mut allowed = 0u32;
                for (m, p) in &batch {
                    allowed += u32::from(matches!(
                        matrix.check(black_box(rights), black_box(m), black_box(p)),
                        Decision::Allowed(_)
                    ));
                }
                black_box(allowed)
            };
            let calls: Vec<(Method, &str)> = batch.iter().map(|(m, p)| (m.parse().expect("method"), *p)).collect();
            let mut out = vec![false; calls.len()];
            let mut many = || {
                matrix.allows_many(black_box(rights), black_box(&calls), &mut out);
                black_box(out.iter().map(|a| u32::from(*a)).sum::<u32>())
            };
            assert_eq!(check(), many(), "allows_many and check disagree");
            let (ns, allowed) = if mode == "many" {
                (time(iterations, samples, batch.len(), &mut many), many())
            } else {
                (time(iterations, samples, batch.len(), check), check())
            };
            println!("rust {ns:.2} ns/check (allowed {allowed} of {})", batch.len());
        }
        _ => {
            eprintln!("usage: check_batch64 requests | time [ITERATIONS] [SAMPLES] | many [ITERATIONS] [SAMPLES]");
            std::process::exit(2);
        }
    }
}
