//! scopegate's log records into Python's `logging` (issue 22): the I/O crate's log sink
//! ([`scopegate::embed::set_log_sink`]) calls the handler `scopegate/__init__.py` installs,
//! which logs to `logging.getLogger(target)` (`scopegate.refresh`, `scopegate.api`, ...).

use std::sync::Arc;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use scopegate::embed::{LogLevel, LogRecord, set_log_sink};

/// The `logging` level of a record.
fn python_level(level: LogLevel) -> u32 {
    match level {
        LogLevel::Error => 40,
        LogLevel::Warn => 30,
        LogLevel::Info => 20,
        LogLevel::Debug => 10,
        LogLevel::Trace => 5,
    }
}

/// Sends scopegate's records to `handler(level, logger_name, message)` (`logging` levels:
/// 40 error ... 10 debug, 5 trace), or stops them (`None`). Process-wide; installed once by
/// `scopegate/__init__.py`, which filters by the loggers' levels.
#[pyfunction]
#[pyo3(signature = (handler))]
pub(crate) fn set_log_handler(handler: Option<Py<PyAny>>) -> PyResult<()> {
    let sink = handler.map(|handler| {
        let handler = Arc::new(handler);
        Arc::new(move |r: &LogRecord<'_>| {
            let (level, target, message) = (python_level(r.level), r.target, r.message);
            // Not while the interpreter is shutting down; a handler's exception is reported
            // as unraisable, never raised into the call that logged.
            Python::try_attach(|py| {
                if let Err(e) = handler.call1(py, (level, target, message)) {
                    e.write_unraisable(py, None);
                }
            });
        }) as scopegate::embed::LogSink
    });
    set_log_sink(sink, LogLevel::Trace).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}
