//! The work both the criterion benches (`matrix.rs`) and the A/B harness (`harness.rs`, in the
//! same binary) time: the same functions, so that their figures can be compared.

use std::hint::black_box;

use scopegate_core::prelude::*;
use scopegate_core::{Decision, PermissionMatrix, Rights};

use crate::baseline::MatchitChecker;
use crate::requests::yespo_batch64;

/// `check/single_short`: one request of the batch.
pub const SINGLE_SHORT: &str = "contact/12345/subscriptions";
/// `check/single_long`: the longest request of the batch.
pub const SINGLE_LONG: &str = "contact/token/activated/3f2a9c1e-7b4d-4e8a-9f00-1234567890ab/884422";

/// The Yespo matrix with rights `events_and_contacts`, the 64 requests, and matchit over the
/// same endpoints.
#[derive(Debug)]
pub struct Yespo {
    /// The built-in Yespo profile.
    pub provider: Provider,
    /// `events_and_contacts`.
    pub rights: Rights,
    /// The policy of those rights.
    pub policy: Policy,
    /// The 64 requests (`requests.rs`).
    pub batch: Vec<(&'static str, &'static str)>,
    /// The same requests for matchit: method parsed, path with a leading `/`.
    pub parsed: Vec<(Method, String)>,
    /// The same requests for `Policy::allows_many`: method parsed.
    pub calls: Vec<(Method, &'static str)>,
    /// matchit doing the same job.
    pub matchit: MatchitChecker,
}

impl Default for Yespo {
    fn default() -> Self {
        Self::new()
    }
}

impl Yespo {
    /// Builds everything and checks that scopegate and matchit agree on every request.
    pub fn new() -> Self {
        let provider = Provider::builtin("yespo").expect("built-in profile");
        let rights = provider.rights_from_ids(["events_and_contacts"]).expect("right");
        let policy = provider.policy(rights);
        let batch = yespo_batch64();
        assert_eq!(batch.len(), 64);
        let parsed: Vec<(Method, String)> =
            batch.iter().map(|(m, path)| (m.parse().expect("method"), format!("/{path}"))).collect();
        let calls: Vec<(Method, &'static str)> =
            batch.iter().map(|(m, path)| (m.parse().expect("method"), *path)).collect();
        let matchit = MatchitChecker::new(&provider);
        let y = Self { provider, rights, policy, batch, parsed, calls, matchit };
        for ((m, path), (pm, ppath)) in y.batch.iter().zip(&y.parsed) {
            assert_eq!(y.policy.allows(m, path), y.matchit.allows(rights.bits(), *pm, ppath), "{m} {path}");
        }
        let mut out = [false; 64];
        y.policy.allows_many(&y.calls, &mut out);
        for (i, (m, path)) in y.batch.iter().enumerate() {
            assert_eq!(out[i], y.policy.allows(m, path), "allows_many: {m} {path}");
        }
        for path in [SINGLE_SHORT, SINGLE_LONG] {
            assert!(y.policy.allows("PUT", path) && y.matchit.allows(rights.bits(), Method::Put, &format!("/{path}")));
        }
        y
    }

    /// The matrix.
    pub fn matrix(&self) -> &PermissionMatrix {
        self.provider.matrix()
    }

    /// `batch64/scopegate`: the 64 requests through `Policy::allows`, one at a time; the number
    /// allowed.
    #[inline(never)]
    pub fn batch_scopegate(&self) -> u32 {
        let mut n = 0u32;
        for (m, path) in &self.batch {
            n += u32::from(self.policy.allows(black_box(m), black_box(path)));
        }
        n
    }

    /// `batch64/scopegate_many`: the 64 requests in one `Policy::allows_many` call.
    #[inline(never)]
    pub fn batch_many(&self) -> u32 {
        let mut out = [false; 64];
        self.policy.allows_many(black_box(&self.calls), &mut out);
        out.iter().map(|&b| u32::from(b)).sum()
    }

    /// `batch64/matchit`: the same requests through matchit.
    #[inline(never)]
    pub fn batch_matchit(&self) -> u32 {
        let mut n = 0u32;
        for (m, path) in &self.parsed {
            n += u32::from(self.matchit.allows(black_box(self.rights.bits()), black_box(*m), black_box(path)));
        }
        n
    }

    /// `check/single_*`: one full decision (`PermissionMatrix::check`) of `PUT path`.
    #[inline(always)]
    pub fn single_scopegate(&self, path: &str) -> Decision<'_> {
        self.matrix().check(black_box(self.rights), black_box("PUT"), black_box(path))
    }

    /// matchit on the same request (`path` with its leading `/`).
    #[inline(always)]
    pub fn single_matchit(&self, path: &str) -> bool {
        self.matchit.allows(black_box(self.rights.bits()), black_box(Method::Put), black_box(path))
    }

    /// [`single_scopegate`](Self::single_scopegate) 64 times (the harness's unit); how many were
    /// allowed.
    #[inline(never)]
    pub fn single_scopegate_x64(&self, path: &str) -> u32 {
        (0..64).map(|_| u32::from(self.single_scopegate(path).is_allowed())).sum()
    }

    /// [`single_matchit`](Self::single_matchit) 64 times.
    #[inline(never)]
    pub fn single_matchit_x64(&self, path: &str) -> u32 {
        (0..64).map(|_| u32::from(self.single_matchit(path))).sum()
    }
}
