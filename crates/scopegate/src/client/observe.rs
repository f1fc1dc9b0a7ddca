//! What a client lets an operator see: `tracing` spans and events for every token operation
//! (cargo feature `tracing`, on by default), and counters since start ([`ClientStats`]).
//!
//! Spans: `scopegate.refresh`, `scopegate.exchange`, `scopegate.client_credentials`,
//! `scopegate.revoke`, `scopegate.api` and `scopegate.store.wait` (waiting for another process's
//! refresh), with the fields `provider`, `account`, `outcome` (a fixed set: [`Outcome`]),
//! `http_status`, `tries`, `duration_ms` (and `wait_ms` for the wait). Events (target
//! `scopegate.<span>`): a retry and its back-off, the 401 count, reauthorization required, a
//! renewed token set not saved, scopes narrowed. Nothing here carries a secret: the values put
//! in fields are provider ids, account names, numbers and the fixed outcome names.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use scopegate_core::low_level::FlowError;
use scopegate_core::{Error, ReauthorizationReason};

use crate::store::StoreKey;

/// How an operation ended, from a fixed set of names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// It succeeded.
    Ok,
    /// The refresh token (or code) was refused: the grant is dead.
    InvalidGrant,
    /// The request could not be completed (network).
    Transport,
    /// The provider answered 5xx.
    Provider5xx,
    /// The provider answered 429 (and kept answering it past the retries).
    RateLimited,
    /// The provider renewed the tokens and the store could not write them.
    NotSaved,
    /// Another failure (refused, unusable answer, configuration).
    Error,
}

impl Outcome {
    /// `ok`, `invalid_grant`, `transport`, `provider_5xx`, `rate_limited`, `not_saved`, `error`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::InvalidGrant => "invalid_grant",
            Outcome::Transport => "transport",
            Outcome::Provider5xx => "provider_5xx",
            Outcome::RateLimited => "rate_limited",
            Outcome::NotSaved => "not_saved",
            Outcome::Error => "error",
        }
    }

    /// The outcome of an operation's result.
    pub fn of<T>(result: &Result<T, Error>) -> Outcome {
        let Err(e) = result else { return Outcome::Ok };
        if e.is_invalid_grant() {
            return Outcome::InvalidGrant;
        }
        match e {
            Error::NotSaved { .. } => Outcome::NotSaved,
            Error::Transport(_) | Error::Flow(FlowError::Transport { .. }) => Outcome::Transport,
            _ => match e.http_status() {
                Some(429) => Outcome::RateLimited,
                Some(s) if s >= 500 => Outcome::Provider5xx,
                _ => Outcome::Error,
            },
        }
    }
}

/// A client's counters since it was made (shared by the clients made from it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientStats {
    /// Refreshes that sent a request, and how they ended.
    pub refreshes_ok: u64,
    /// ... refused with `invalid_grant`.
    pub refreshes_invalid_grant: u64,
    /// ... failed in transport.
    pub refreshes_transport: u64,
    /// ... answered 5xx.
    pub refreshes_provider_5xx: u64,
    /// ... answered 429 past the retries.
    pub refreshes_rate_limited: u64,
    /// ... renewed, but not written by the store.
    pub refreshes_not_saved: u64,
    /// ... any other failure.
    pub refreshes_error: u64,
    /// Code exchanges (logins) that sent a request.
    pub exchanges: u64,
    /// API answers 401.
    pub unauthorized_401: u64,
    /// Times only a new authorization could help (reported to the caller).
    pub reauthorizations: u64,
    /// Times the client waited for another process's refresh of the same token.
    pub store_waits: u64,
    /// The longest such wait, in milliseconds.
    pub longest_store_wait_ms: u64,
}

impl ClientStats {
    /// Every refresh that sent a request, whatever its outcome.
    pub fn refreshes(&self) -> u64 {
        self.refreshes_ok
            + self.refreshes_invalid_grant
            + self.refreshes_transport
            + self.refreshes_provider_5xx
            + self.refreshes_rate_limited
            + self.refreshes_not_saved
            + self.refreshes_error
    }

    /// The counters as `(name, value)` pairs, in a fixed order (for exporters: Prometheus,
    /// OpenTelemetry, Python's dict).
    pub fn pairs(&self) -> [(&'static str, u64); 12] {
        [
            ("refreshes_ok", self.refreshes_ok),
            ("refreshes_invalid_grant", self.refreshes_invalid_grant),
            ("refreshes_transport", self.refreshes_transport),
            ("refreshes_provider_5xx", self.refreshes_provider_5xx),
            ("refreshes_rate_limited", self.refreshes_rate_limited),
            ("refreshes_not_saved", self.refreshes_not_saved),
            ("refreshes_error", self.refreshes_error),
            ("exchanges", self.exchanges),
            ("unauthorized_401", self.unauthorized_401),
            ("reauthorizations", self.reauthorizations),
            ("store_waits", self.store_waits),
            ("longest_store_wait_ms", self.longest_store_wait_ms),
        ]
    }
}

/// The atomic counters behind [`ClientStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    refreshes: [AtomicU64; 7],
    exchanges: AtomicU64,
    unauthorized_401: AtomicU64,
    reauthorizations: AtomicU64,
    store_waits: AtomicU64,
    longest_store_wait_ms: AtomicU64,
}

impl Counters {
    pub(crate) fn refresh(&self, outcome: Outcome) {
        let i = match outcome {
            Outcome::Ok => 0,
            Outcome::InvalidGrant => 1,
            Outcome::Transport => 2,
            Outcome::Provider5xx => 3,
            Outcome::RateLimited => 4,
            Outcome::NotSaved => 5,
            Outcome::Error => 6,
        };
        self.refreshes[i].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn exchange(&self) {
        self.exchanges.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn unauthorized(&self) {
        self.unauthorized_401.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn reauthorization(&self) {
        self.reauthorizations.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn store_wait(&self, waited: Duration) {
        self.store_waits.fetch_add(1, Ordering::Relaxed);
        let ms = u64::try_from(waited.as_millis()).unwrap_or(u64::MAX);
        self.longest_store_wait_ms.fetch_max(ms, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> ClientStats {
        let r = |i: usize| self.refreshes[i].load(Ordering::Relaxed);
        ClientStats {
            refreshes_ok: r(0),
            refreshes_invalid_grant: r(1),
            refreshes_transport: r(2),
            refreshes_provider_5xx: r(3),
            refreshes_rate_limited: r(4),
            refreshes_not_saved: r(5),
            refreshes_error: r(6),
            exchanges: self.exchanges.load(Ordering::Relaxed),
            unauthorized_401: self.unauthorized_401.load(Ordering::Relaxed),
            reauthorizations: self.reauthorizations.load(Ordering::Relaxed),
            store_waits: self.store_waits.load(Ordering::Relaxed),
            longest_store_wait_ms: self.longest_store_wait_ms.load(Ordering::Relaxed),
        }
    }
}

/// What the requests of one operation did (counted by the client's drive loop).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Sent {
    /// Requests sent (retries included).
    pub(crate) tries: u32,
    /// The status of the last answer, if one came.
    pub(crate) last_status: Option<u16>,
    /// Whether the next try follows a wait (already reported).
    pub(crate) waited: bool,
}

/// The span names (the `target` of their events too).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Op {
    Refresh,
    Exchange,
    ClientCredentials,
    Revoke,
    Api,
}

/// A span of one operation: entered while it runs, its fields filled in at the end.
pub(crate) struct OpSpan {
    #[cfg(feature = "tracing")]
    span: tracing::Span,
    started: Instant,
}

impl OpSpan {
    /// Opens the span of `op` on `key`.
    pub(crate) fn new(op: Op, key: &StoreKey) -> OpSpan {
        #[cfg(feature = "tracing")]
        let span = {
            use tracing::field::Empty;
            let (p, a) = (key.provider_id.as_str(), key.account.as_str());
            let f = |s: tracing::Span| s;
            match op {
                Op::Refresh => f(
                    tracing::info_span!(target: "scopegate.refresh", "scopegate.refresh", provider = p, account = a, outcome = Empty, http_status = Empty, tries = Empty, duration_ms = Empty),
                ),
                Op::Exchange => f(
                    tracing::info_span!(target: "scopegate.exchange", "scopegate.exchange", provider = p, account = a, outcome = Empty, http_status = Empty, tries = Empty, duration_ms = Empty),
                ),
                Op::ClientCredentials => f(
                    tracing::info_span!(target: "scopegate.client_credentials", "scopegate.client_credentials", provider = p, account = a, outcome = Empty, http_status = Empty, tries = Empty, duration_ms = Empty),
                ),
                Op::Revoke => f(
                    tracing::info_span!(target: "scopegate.revoke", "scopegate.revoke", provider = p, account = a, outcome = Empty, http_status = Empty, tries = Empty, duration_ms = Empty),
                ),
                Op::Api => f(
                    tracing::info_span!(target: "scopegate.api", "scopegate.api", provider = p, account = a, outcome = Empty, http_status = Empty, tries = Empty, duration_ms = Empty),
                ),
            }
        };
        #[cfg(not(feature = "tracing"))]
        let _ = (op, key);
        OpSpan {
            #[cfg(feature = "tracing")]
            span,
            started: Instant::now(),
        }
    }

    /// Runs `f` inside the span.
    pub(crate) fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        #[cfg(feature = "tracing")]
        return self.span.in_scope(f);
        #[cfg(not(feature = "tracing"))]
        f()
    }

    /// Runs the future `f` inside the span (entered at each poll).
    #[cfg(feature = "tokio")]
    pub(crate) async fn instrument<F: std::future::Future>(&self, f: F) -> F::Output {
        #[cfg(feature = "tracing")]
        return tracing::Instrument::instrument(f, self.span.clone()).await;
        #[cfg(not(feature = "tracing"))]
        f.await
    }

    /// Fills in how it ended.
    pub(crate) fn finish(&self, outcome: Outcome, sent: Sent) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        #[cfg(feature = "tracing")]
        {
            self.span.record("outcome", outcome.as_str());
            self.span.record("tries", sent.tries);
            self.span.record("duration_ms", ms);
            if let Some(s) = sent.last_status {
                self.span.record("http_status", s);
            }
            let _enter = self.span.enter();
            match outcome {
                Outcome::Ok => {
                    tracing::debug!(target: "scopegate", outcome = outcome.as_str(), tries = sent.tries, duration_ms = ms, "done")
                }
                _ => {
                    tracing::warn!(target: "scopegate", outcome = outcome.as_str(), tries = sent.tries, duration_ms = ms, "failed")
                }
            }
        }
        #[cfg(not(feature = "tracing"))]
        let _ = (outcome, sent, ms);
    }
}

/// A retry: the request is sent again after `backoff_secs` (a `Retry-After`, or at once when it
/// never left).
pub(crate) fn retry(try_number: u32, backoff_secs: u64, status: Option<u16>) {
    #[cfg(feature = "tracing")]
    tracing::info!(target: "scopegate.retry", try_number, backoff_secs, http_status = status.unwrap_or(0), "retrying");
    #[cfg(not(feature = "tracing"))]
    let _ = (try_number, backoff_secs, status);
}

/// An API answer 401 and the count it brings the token set to.
pub(crate) fn unauthorized(key: &StoreKey, count: u32) {
    #[cfg(feature = "tracing")]
    tracing::info!(target: "scopegate.api", provider = key.provider_id.as_str(), account = key.account.as_str(), consecutive_401 = count, "401 unauthorized");
    #[cfg(not(feature = "tracing"))]
    let _ = (key, count);
}

/// Only a new authorization helps.
pub(crate) fn reauthorization(key: &StoreKey, reason: ReauthorizationReason) {
    #[cfg(feature = "tracing")]
    tracing::warn!(target: "scopegate.reauthorization", provider = key.provider_id.as_str(), account = key.account.as_str(), reason = reason.name(), "reauthorization required");
    #[cfg(not(feature = "tracing"))]
    let _ = (key, reason);
}

/// A renewed token set the store could not write (kept in memory).
pub(crate) fn not_saved(key: &StoreKey, error: &scopegate_core::StoreError) {
    #[cfg(feature = "tracing")]
    tracing::error!(target: "scopegate.not_saved", provider = key.provider_id.as_str(), account = key.account.as_str(), error = %error, "renewed tokens not saved; kept in memory, written at the next call");
    #[cfg(not(feature = "tracing"))]
    let _ = (key, error);
}

/// The provider granted fewer scopes than asked for.
pub(crate) fn scopes_narrowed(provider: &str, account: &str, requested: usize, granted: usize) {
    #[cfg(feature = "tracing")]
    tracing::warn!(target: "scopegate.scopes", provider, account, requested, granted, "scopes narrowed");
    #[cfg(not(feature = "tracing"))]
    let _ = (provider, account, requested, granted);
}

/// A wait for another process's refresh of the same token (the `scopegate.store.wait` span),
/// around `f`.
pub(crate) fn store_wait<T>(key: &StoreKey, f: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    #[cfg(feature = "tracing")]
    let span = tracing::info_span!(target: "scopegate.store.wait", "scopegate.store.wait", provider = key.provider_id.as_str(), account = key.account.as_str(), wait_ms = tracing::field::Empty);
    #[cfg(feature = "tracing")]
    let out = span.in_scope(f);
    #[cfg(not(feature = "tracing"))]
    let out = {
        let _ = key;
        f()
    };
    let waited = started.elapsed();
    #[cfg(feature = "tracing")]
    {
        span.record("wait_ms", u64::try_from(waited.as_millis()).unwrap_or(u64::MAX));
        let _e = span.enter();
        tracing::info!(target: "scopegate.store.wait", wait_ms = u64::try_from(waited.as_millis()).unwrap_or(u64::MAX), "waited for another process's refresh");
    }
    (out, waited)
}

/// `request` with a `traceparent` header when `value` is a W3C trace context (version 00, or a
/// later version's first four fields; ids not all zero); else unchanged.
pub(crate) fn with_traceparent(
    request: scopegate_core::HttpRequest,
    value: Option<String>,
) -> scopegate_core::HttpRequest {
    match value.filter(|v| is_traceparent(v)) {
        Some(v) => request.with_header("traceparent", v),
        None => request,
    }
}

/// Whether `v` is a W3C `traceparent` (Trace Context, level 1, §3.2).
pub(crate) fn is_traceparent(v: &str) -> bool {
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let nonzero = |s: &str| s.bytes().any(|b| b != b'0');
    let mut parts = v.split('-');
    let (Some(version), Some(trace), Some(parent), Some(flags)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let rest_ok = match version {
        "00" => parts.next().is_none(),
        _ => true, // a later version may add fields
    };
    hex(version, 2)
        && version != "ff"
        && hex(trace, 32)
        && nonzero(trace)
        && hex(parent, 16)
        && nonzero(parent)
        && hex(flags, 2)
        && rest_ok
}

#[cfg(test)]
mod tests {
    use super::is_traceparent;

    #[test]
    fn only_a_w3c_traceparent_passes() {
        assert!(is_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
        assert!(is_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later"));
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nx: y",
        ] {
            assert!(!is_traceparent(bad), "{bad}");
        }
    }
}
