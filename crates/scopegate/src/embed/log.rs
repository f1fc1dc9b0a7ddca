//! scopegate's `tracing` events as plain log records (level, logger name, message), for the
//! surfaces whose language has its own logging: Python's `logging` and C's log callback.
//!
//! [`set_log_sink`] installs, once per process, a `tracing` subscriber whose only layer turns
//! each event of a `scopegate` target into a [`LogRecord`] and hands it to the sink:
//!
//! - the logger name is the span the event happened in (`scopegate.refresh`,
//!   `scopegate.api`, ...), else the event's own target (`scopegate.retry`, ...): a child of
//!   `scopegate` either way;
//! - the message is the event's message, then its fields and its span's (`provider`,
//!   `account`), `key=value` each. Those fields were chosen to carry no secret (tests/
//!   tracing_secrets.rs searches every one for every secret of a sandbox run).
//!
//! A Rust program keeps its own subscriber (`tracing-subscriber`, OpenTelemetry): this is for
//! processes where scopegate is the only Rust code, and it does nothing if a global subscriber
//! was set before it.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock, RwLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// How much a record matters (ordered: `Error` < `Warn` < ... by verbosity; a sink with a
/// minimum level gets that level and the ones above it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// An operation failed in a way that needs someone (a renewed token set not saved).
    Error = 1,
    /// An operation failed, or the user must act (reauthorization, narrowed scopes).
    Warn = 2,
    /// What the library did (a retry, a 401, a wait for another process).
    Info = 3,
    /// Each operation's end.
    Debug = 4,
    /// Finer detail (none yet).
    Trace = 5,
}

impl LogLevel {
    /// The level of a number (1 error ... 5 trace), as C and Python pass it.
    pub fn from_number(n: u32) -> Option<LogLevel> {
        Some(match n {
            1 => LogLevel::Error,
            2 => LogLevel::Warn,
            3 => LogLevel::Info,
            4 => LogLevel::Debug,
            5 => LogLevel::Trace,
            _ => return None,
        })
    }

    fn of(level: &tracing::Level) -> LogLevel {
        match *level {
            tracing::Level::ERROR => LogLevel::Error,
            tracing::Level::WARN => LogLevel::Warn,
            tracing::Level::INFO => LogLevel::Info,
            tracing::Level::DEBUG => LogLevel::Debug,
            tracing::Level::TRACE => LogLevel::Trace,
        }
    }
}

/// One record.
#[derive(Clone, Copy, Debug)]
pub struct LogRecord<'a> {
    /// How much it matters.
    pub level: LogLevel,
    /// The logger: `scopegate.<span or event>`.
    pub target: &'a str,
    /// What happened, with its fields.
    pub message: &'a str,
}

/// Receives the records (from any thread).
pub type LogSink = Arc<dyn Fn(&LogRecord<'_>) + Send + Sync>;

/// Why the sink could not be installed.
#[derive(Debug, thiserror::Error)]
#[error("another tracing subscriber is already the process's global one: scopegate's log records go to it")]
pub struct LogSinkError;

struct Installed {
    sink: LogSink,
    min: LogLevel,
}

static SINK: RwLock<Option<Installed>> = RwLock::new(None);
static SUBSCRIBER: OnceLock<Result<(), ()>> = OnceLock::new();

/// Sends scopegate's records at `min` and above to `sink`, process-wide, replacing any earlier
/// sink; `None` stops them. The first call installs the forwarding subscriber.
pub fn set_log_sink(sink: Option<LogSink>, min: LogLevel) -> Result<(), LogSinkError> {
    let installed = SUBSCRIBER.get_or_init(|| {
        let subscriber = tracing_subscriber::registry().with(Forward);
        tracing::subscriber::set_global_default(subscriber).map_err(|_| ())
    });
    if installed.is_err() {
        return Err(LogSinkError);
    }
    *SINK.write().unwrap_or_else(|p| p.into_inner()) = sink.map(|sink| Installed { sink, min });
    // Cached "disabled" answers of callsites are recomputed against the new level.
    tracing::callsite::rebuild_interest_cache();
    Ok(())
}

/// The fields of a scopegate span, formatted once when it opens (and when recorded).
struct SpanFields(String);

/// `key=value` pairs, after the message.
struct Fields<'a> {
    message: &'a mut String,
    rest: &'a mut String,
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.rest, " {}={}", field.name(), value);
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={:?}", field.name(), value);
        }
    }
}

fn is_ours(target: &str) -> bool {
    target == "scopegate" || target.starts_with("scopegate.") || target.starts_with("scopegate::")
}

struct Forward;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Forward {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _: Context<'_, S>) -> bool {
        if !is_ours(metadata.target()) {
            return false;
        }
        if metadata.is_span() {
            return true; // spans carry the fields of their events' records
        }
        let sink = SINK.read().unwrap_or_else(|p| p.into_inner());
        sink.as_ref().is_some_and(|s| LogLevel::of(metadata.level()) <= s.min)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let (mut message, mut rest) = (String::new(), String::new());
        attrs.record(&mut Fields { message: &mut message, rest: &mut rest });
        span.extensions_mut().insert(SpanFields(rest));
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let (mut message, mut rest) = (String::new(), String::new());
        event.record(&mut Fields { message: &mut message, rest: &mut rest });
        let span = ctx.event_span(event);
        let target = match &span {
            Some(s) if is_ours(s.name()) => s.name(),
            _ => event.metadata().target(),
        };
        if let Some(s) = &span
            && let Some(fields) = s.extensions().get::<SpanFields>()
        {
            rest.push_str(&fields.0);
        }
        message.push_str(&rest);
        let level = LogLevel::of(event.metadata().level());
        let sink = match SINK.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            Some(s) if level <= s.min => Arc::clone(&s.sink),
            _ => return,
        };
        // Called without the lock held: the sink may log, or set another sink.
        sink(&LogRecord { level, target, message: &message });
    }
}
