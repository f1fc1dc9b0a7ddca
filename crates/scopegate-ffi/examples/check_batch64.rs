//! The Rust side of the C-vs-Rust permission-check bench (`bench/run`): the batch64 requests of
//! `benches/requests.rs` through `PermissionMatrix::check` on the Yespo matrix, rights
//! `events_and_contacts`, the same check `scopegate_check` makes from C.
//!
//! - `check_batch64 requests`: prints the 64 requests, `METHOD path` per line (the C side reads
//!   them, so both time the same set);
//! - `check_batch64 time [ITERATIONS] [SAMPLES]`: times them; prints the median ns per check.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a bench program: its output is the figure

use std::hint::black_box;
use std::time::Instant;

use scopegate_benches::requests::yespo_batch64;
use scopegate_core::{Decision, Provider};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let batch = yespo_batch64();
    match args.get(1).map(String::as_str) {
        Some("requests") => {
            for (m, p) in &batch {
                println!("{m} {p}");
            }
        }
        Some("time") => {
            let iterations: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20_000);
            let samples: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5);
            let yespo = Provider::builtin("yespo").expect("built-in profile");
            let rights = yespo.rights_from_ids(["events_and_contacts"]).expect("right");
            let matrix = yespo.matrix();
            let round = || {
                let mut allowed = 0u32;
                for (m, p) in &batch {
                    allowed += u32::from(matches!(
                        matrix.check(black_box(rights), black_box(m), black_box(p)),
                        Decision::Allowed(_)
                    ));
                }
                black_box(allowed)
            };
            for _ in 0..iterations / 4 {
                round();
            }
            let mut ns: Vec<f64> = (0..samples)
                .map(|_| {
                    let start = Instant::now();
                    for _ in 0..iterations {
                        round();
                    }
                    start.elapsed().as_nanos() as f64 / (f64::from(iterations) * batch.len() as f64)
                })
                .collect();
            ns.sort_by(f64::total_cmp);
            println!("rust {:.2} ns/check (allowed {} of {})", ns[ns.len() / 2], round(), batch.len());
        }
        _ => {
            eprintln!("usage: check_batch64 requests | time [ITERATIONS] [SAMPLES]");
            std::process::exit(2);
        }
    }
}
