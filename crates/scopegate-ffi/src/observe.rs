//! What C sees of scopegate at work: a client's counters (`scopegate_client_stats`) and the
//! library's log records (`scopegate_set_log_callback`). Both are the I/O crate's
//! ([`scopegate::Client::stats`], [`scopegate::embed::set_log_sink`]); this file converts.

use std::ffi::{CString, c_char, c_void};
use std::sync::Arc;

use scopegate::embed::{LogLevel, LogRecord, set_log_sink};

use crate::boundary::{Out, guard};
use crate::client::{client_ref, scopegate_client};
use crate::failure::Failure;
use crate::result::scopegate_result;

/// A client's counters since it was made (`scopegate_client_stats`). Refreshes are counted by
/// outcome; `refreshes_error` holds the outcomes of no other field. Export them to Prometheus
/// or OpenTelemetry as counters (the longest wait as a gauge).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct scopegate_stats {
    /// Refreshes that renewed the token set and stored it.
    pub refreshes_ok: u64,
    /// Refreshes the provider refused with `invalid_grant`.
    pub refreshes_invalid_grant: u64,
    /// Refreshes that failed in the network.
    pub refreshes_transport: u64,
    /// Refreshes the provider answered with a 5xx.
    pub refreshes_provider_5xx: u64,
    /// Refreshes the provider answered with a 429.
    pub refreshes_rate_limited: u64,
    /// Refreshes whose renewed token set the store could not write (kept in memory).
    pub refreshes_not_saved: u64,
    /// Refreshes that failed otherwise.
    pub refreshes_error: u64,
    /// Authorization codes exchanged.
    pub exchanges: u64,
    /// API answers with status 401.
    pub unauthorized_401: u64,
    /// Calls that ended with "authorize again".
    pub reauthorizations: u64,
    /// Times the client waited for another process's refresh of the same token.
    pub store_waits: u64,
    /// The longest such wait, in milliseconds.
    pub longest_store_wait_ms: u64,
}

/// Writes the client's counters to `*out`.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_client_stats(
    client: *const scopegate_client,
    out: *mut scopegate_stats,
) -> scopegate_result {
    guard(|| {
        // SAFETY: NULL or a live client, by contract.
        let c = unsafe { client_ref(client) }?;
        // SAFETY: NULL or writable, by contract.
        let out = unsafe { Out::new(out, "out") }?;
        let s = c.stats();
        out.write(scopegate_stats {
            refreshes_ok: s.refreshes_ok,
            refreshes_invalid_grant: s.refreshes_invalid_grant,
            refreshes_transport: s.refreshes_transport,
            refreshes_provider_5xx: s.refreshes_provider_5xx,
            refreshes_rate_limited: s.refreshes_rate_limited,
            refreshes_not_saved: s.refreshes_not_saved,
            refreshes_error: s.refreshes_error,
            exchanges: s.exchanges,
            unauthorized_401: s.unauthorized_401,
            reauthorizations: s.reauthorizations,
            store_waits: s.store_waits,
            longest_store_wait_ms: s.longest_store_wait_ms,
        });
        Ok(())
    })
}

/// How much a log record matters.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum scopegate_log_level {
    /// A renewed token set was not saved, or worse.
    Error = 1,
    /// An operation failed, or someone must act (authorize again, narrowed scopes).
    Warn = 2,
    /// What the library did: a retry, a 401, a wait for another process's refresh.
    Info = 3,
    /// Each operation's end.
    Debug = 4,
    /// Finer detail.
    Trace = 5,
}

impl From<LogLevel> for scopegate_log_level {
    fn from(l: LogLevel) -> Self {
        match l {
            LogLevel::Error => Self::Error,
            LogLevel::Warn => Self::Warn,
            LogLevel::Info => Self::Info,
            LogLevel::Debug => Self::Debug,
            LogLevel::Trace => Self::Trace,
        }
    }
}

/// Receives one log record. `target` is the logger: `scopegate.refresh`, `scopegate.api`,
/// `scopegate.retry`, ... (the operation, or the event outside one); `message` says what
/// happened with its fields (`provider=yespo account=default outcome=ok ...`), never a secret.
/// Both are NUL-terminated UTF-8, valid only during the call. The callback runs on the thread
/// where the event happened (any thread that calls scopegate): `userdata` must be thread-safe.
/// It must not call `scopegate_set_log_callback`.
pub type scopegate_log_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        level: scopegate_log_level,
        target: *const c_char,
        message: *const c_char,
    ),
>;

struct LogHook {
    callback: unsafe extern "C" fn(*mut c_void, scopegate_log_level, *const c_char, *const c_char),
    userdata: *mut c_void,
}

// SAFETY: the C caller promises that the callback and `userdata` may be used from any thread
// (documented on `scopegate_log_callback`).
unsafe impl Send for LogHook {}
// SAFETY: as above.
unsafe impl Sync for LogHook {}

impl LogHook {
    fn call(&self, r: &LogRecord<'_>) {
        let text = |s: &str| CString::new(s.replace('\0', " ")).unwrap_or_default();
        let (target, message) = (text(r.target), text(r.message));
        // A panic must not unwind into C or out of the logging subscriber.
        let _ = std::panic::catch_unwind(|| {
            // SAFETY: the callback is the caller's, called as documented; the texts live for
            // the call.
            unsafe { (self.callback)(self.userdata, r.level.into(), target.as_ptr(), message.as_ptr()) };
        });
    }
}

/// Sends scopegate's log records at `min_level` and above (`SCOPEGATE_LOG_LEVEL_ERROR` the
/// fewest, `..._TRACE` all) to `cb` with `userdata`, process-wide, replacing any earlier
/// callback; a NULL `cb` stops them. `SCOPEGATE_RESULT_INVALID_PARAMETER` for a level outside
/// the enum.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_set_log_callback(
    cb: scopegate_log_callback,
    userdata: *mut c_void,
    min_level: LogLevelArg,
) -> scopegate_result {
    guard(|| {
        let min = LogLevel::from_number(min_level.0)
            .ok_or_else(|| Failure::invalid("min_level", "not a scopegate_log_level (1 to 5)"))?;
        let sink = cb.map(|callback| {
            let hook = LogHook { callback, userdata };
            Arc::new(move |r: &LogRecord<'_>| hook.call(r)) as scopegate::embed::LogSink
        });
        set_log_sink(sink, min).map_err(|e| Failure::new(scopegate_result::Config, e.to_string()))
    })
}

/// A `scopegate_log_level` argument (range-checked; see `enum_arg!`).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogLevelArg(pub u32);
