//! What the three surfaces share: the `scopegate` command line, the C ABI and the Python
//! package are written on this module, so that a rule or a conversion fixed here is fixed for
//! all three. A binding only converts its language's values to and from these.
//!
//! - [`open_store`] and [`default_store_path`]: a token store from a spec (a path, or a
//!   `postgres://` URL), sealed with keys from the environment or given;
//! - [`PolicedTransport`]: a caller's own HTTP client (a C callback, a Python callable) with the
//!   rules every transport keeps (plain http only to loopback hosts, the body limit);
//! - [`caller_failure`]: a caller's transport failure as a [`TransportError`], its text cleaned;
//! - [`ErrorReport`]: one error as every surface shows it (kind, blame, message, HTTP status,
//!   the provider's OAuth error, and the renewed token set of [`Error::NotSaved`]);
//! - [`set_log_sink`] (feature `tracing`): scopegate's events as log records, for Python's
//!   `logging` and C's `scopegate_set_log_callback`;
//! - the token-change hook is the [`Client`](crate::Client)'s
//!   ([`Client::on_token_change`](crate::Client::on_token_change)): Python's `update_token` and
//!   C's `scopegate_client_on_token_change` are made of it.
//!
//! [`TransportError`]: scopegate_core::TransportError
//! [`Error::NotSaved`]: scopegate_core::Error::NotSaved

#[cfg(feature = "tracing")]
mod log;
mod policed;
mod report;
mod store_spec;

#[cfg(feature = "tracing")]
pub use log::{LogLevel, LogRecord, LogSink, LogSinkError, set_log_sink};
pub use policed::{CallerFailure, PolicedTransport, caller_failure, policy_refusal};
pub use report::ErrorReport;
pub use store_spec::{StoreKeys, default_store_path, is_postgres, open_store};
