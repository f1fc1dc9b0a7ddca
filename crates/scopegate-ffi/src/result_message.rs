//! `scopegate_result_message`: a result in words, for C.

use std::ffi::c_char;

use crate::boundary::{ResultArg, guard_value, write_truncated};
use crate::result::scopegate_result;

/// Writes a short description of `result` into `buf` (`len` bytes), NUL-terminated and cut to
/// fit, and the number of bytes written (without the NUL) to `*out_n`. An unknown value gives
/// "unknown result". Nothing is written when `buf` is NULL or `len` is 0 (`*out_n` is then 0).
/// Does not touch the last error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn scopegate_result_message(result: ResultArg, buf: *mut c_char, len: usize, out_n: *mut usize) {
    guard_value((), || {
        let text = scopegate_result::from_u32(result.0).map_or("unknown result", scopegate_result::message);
        // SAFETY: the caller gives `len` writable bytes at `buf` (or NULL) and `out_n` (or NULL).
        unsafe { write_truncated(text, buf, len, out_n) }
    })
}
