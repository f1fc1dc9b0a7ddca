//! The batch form of the check: [`Policy::allows_many`] decides several calls in one call.

use super::hop::Greedy;
use super::{PermissionMatrix, Policy, Rights};
use crate::method::Method;

impl PermissionMatrix {
    /// [`allows`](Self::allows) for each call, methods parsed: `out[i]` is whether `rights`
    /// allow `calls[i]`. Allocation-free.
    ///
    /// # Panics
    ///
    /// When `calls` and `out` differ in length.
    pub fn allows_many(&self, rights: Rights, calls: &[(Method, &str)], out: &mut [bool]) {
        assert_eq!(calls.len(), out.len(), "allows_many: one answer per call");
        // One walk after the other: the loop keeps the matrix's tables in registers and pays no
        // call per request. (Walks interleaved two to four at a time cost more instructions
        // than they saved in waiting: benches/README.md.)
        for ((m, path), o) in calls.iter().zip(out.iter_mut()) {
            *o = self.allows_method(rights, *m, path);
        }
    }

    /// [`allows`](Self::allows) with a parsed method (as [`check_method`](Self::check_method) is
    /// [`check`](Self::check)). Allocation-free. Inlined where it is called: the batch loops
    /// (this one, and the C library's over its callers' strings) keep the matrix's tables in
    /// registers across calls.
    #[inline(always)]
    pub fn allows_method(&self, rights: Rights, m: Method, path: &str) -> bool {
        self.allows_path::<false>(rights, m, path.as_bytes())
    }

    /// [`allows_method`](Self::allows_method) on a path given as bytes, for callers whose text
    /// is not known to be UTF-8 (the C library's): bytes that are not UTF-8 are never allowed,
    /// and checking costs next to nothing, since the path rules reject every byte above 0x7f
    /// before a `?` or `#`: only a query or fragment is left to check. Allocation-free, inlined
    /// where it is called.
    #[inline(always)]
    pub fn allows_method_bytes(&self, rights: Rights, m: Method, path: &[u8]) -> bool {
        self.allows_path::<true>(rights, m, path)
    }

    /// The check on a path's bytes; with `BYTES`, they may not be UTF-8 (then it is not allowed).
    #[inline(always)]
    fn allows_path<const BYTES: bool>(&self, rights: Rights, m: Method, path: &[u8]) -> bool {
        let Ok(rel) = self.relative(path) else { return false };
        match self.walk_fast(&self.hop_roots[m.index()], rel) {
            // The segments (up to `end`) are ASCII: the walk accepted each byte.
            Greedy::Found(hop, end) => {
                (hop.open || hop.allowed_by & rights.bits() != 0) && (!BYTES || is_utf8(&rel[end..]))
            }
            // No endpoint matches (rejected or unknown, either way not allowed).
            Greedy::Unknown | Greedy::DeadEnd(_) => false,
            Greedy::Unsure => self.allows_thorough(rights, m, rel) && (!BYTES || is_utf8(rel)),
        }
    }
}

/// Whether `b` is UTF-8 (the word-at-a-time ASCII test first).
#[inline(always)]
fn is_utf8(b: &[u8]) -> bool {
    b.is_ascii() || std::str::from_utf8(b).is_ok()
}

impl Policy {
    /// [`allows`](Self::allows) for several calls at once, with their methods parsed:
    /// `out[i]` is whether `calls[i]` is allowed. Allocation-free. One call for many requests
    /// saves the per-call work (and for C and Python callers, the crossing per call).
    ///
    /// ```
    /// use scopegate_core::prelude::*;
    ///
    /// let yespo = Provider::builtin("yespo")?;
    /// let policy = yespo.policy(yespo.rights_from_ids(["events_and_contacts"])?);
    /// let calls = [(Method::Put, "contact/12345/subscriptions"), (Method::Post, "message/email")];
    /// let mut out = [false; 2];
    /// policy.allows_many(&calls, &mut out);
    /// assert_eq!(out, [true, false]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Panics
    ///
    /// When `calls` and `out` differ in length.
    #[inline]
    pub fn allows_many(&self, calls: &[(Method, &str)], out: &mut [bool]) {
        self.matrix.allows_many(self.rights, calls, out);
    }
}
