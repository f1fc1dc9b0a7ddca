//! The calling thread's last error: the [`Failure`] of the last call that failed on this
//! thread, kept until another call fails or `scopegate_last_error_clear` forgets it.
//!
//! Like `errno`, a successful call leaves it as it was, and the functions that read it (in
//! [`crate::error`]) never change it. [`crate::boundary`] records here what an export's body
//! returned as its failure.

use std::cell::RefCell;

use crate::failure::Failure;
use crate::result::scopegate_result;

thread_local! {
    static LAST: RefCell<Option<Failure>> = const { RefCell::new(None) };
}

/// Keeps `failure` as the calling thread's last error and returns its result.
pub(crate) fn record(failure: Failure) -> scopegate_result {
    let result = failure.result();
    LAST.with(|last| *last.borrow_mut() = Some(failure));
    result
}

/// What `read` makes of the calling thread's last error (`None` when none is recorded).
pub(crate) fn read<R>(read: impl FnOnce(Option<&Failure>) -> R) -> R {
    LAST.with(|last| read(last.borrow().as_ref()))
}

/// Forgets the calling thread's last error.
pub(crate) fn clear() {
    LAST.with(|last| *last.borrow_mut() = None);
}

/// The result of the calling thread's last error (`Ok` when none).
#[cfg(test)]
pub(crate) fn last_result() -> scopegate_result {
    read(|f| f.map_or(scopegate_result::Ok, Failure::result))
}
