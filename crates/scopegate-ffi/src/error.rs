//! Reading errors from C: the calling thread's last error (`scopegate_last_error`, its parts
//! and its numbers, `scopegate_last_error_clear`). Every function that returns a result other
//! than `SCOPEGATE_RESULT_OK` records why, in words, with who is to blame and, when the provider
//! answered with an OAuth error, its `error`, `error_description` and HTTP status.
//!
//! Like `errno`, a successful call leaves the last error as it was, and the functions that read
//! it never change it. Messages never contain a secret: the core's messages cut out every known
//! secret, and this library never quotes a string argument in a message.

use std::ffi::c_char;

use crate::boundary::{ErrorPartArg, Out, OutText, guard_quiet, guard_value};
use crate::failure::Failure;
pub use crate::failure::scopegate_blame;
use crate::last_error;
use crate::result::scopegate_result;

/// Which part of the last error `scopegate_last_error_part` gives.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum scopegate_error_part {
    /// The whole message (what `scopegate_last_error` gives).
    Message = 1,
    /// The provider's OAuth `error` code (`invalid_grant`, `access_denied`, ...).
    OauthError = 2,
    /// The provider's `error_description`, with every known secret cut out.
    OauthDescription = 3,
    /// After `SCOPEGATE_RESULT_NOT_SAVED`: the renewed token set, as its versioned JSON (the
    /// format `scopegate_token_set` reads), secrets included. It is the only part that ever
    /// carries a secret: the old refresh token may already be spent, so keep this one. The
    /// client also keeps it in memory and writes it to its store at its next call.
    Tokens = 4,
}

/// The last error in numbers.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct scopegate_error_info {
    /// The result the failed call returned (`SCOPEGATE_RESULT_OK` when none is recorded).
    pub result: scopegate_result,
    /// Who is to blame.
    pub blame: scopegate_blame,
    /// The HTTP status of the answer that caused it; 0 when there was none.
    pub http_status: u16,
}

fn write_part(part: scopegate_error_part, out: OutText) -> Result<(), Failure> {
    last_error::read(|last| {
        let text = match (part, last) {
            (scopegate_error_part::Message, f) => Some(f.map_or("", Failure::message)),
            (scopegate_error_part::OauthError, f) => f.and_then(Failure::oauth_error),
            (scopegate_error_part::OauthDescription, f) => f.and_then(Failure::oauth_description),
            (scopegate_error_part::Tokens, f) => f.and_then(Failure::tokens),
        };
        match text {
            Some(text) => out.write(text.as_bytes()),
            None => Err(Failure::new(scopegate_result::NotFound, "the last error has no such part")),
        }
    })
}

/// Writes the calling thread's last error message into `buf` (`len` bytes, NUL-terminated) and
/// its length to `*out_n`; the empty string when no error is recorded. The message names the
/// failure and, when the provider answered with an OAuth error, its `error` and
/// `error_description`; it never contains a secret. A buffer too small gives
/// `SCOPEGATE_RESULT_INSUFFICIENT_SIZE` and the size needed in `*out_n`. Reading the last error
/// does not change it.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_last_error(buf: *mut c_char, len: usize, out_n: *mut usize) -> scopegate_result {
    guard_quiet(|| {
        // SAFETY: `len` writable bytes at `buf` (or NULL with 0) and `out_n`, by contract.
        let out = unsafe { OutText::new(buf, len, out_n) }?;
        write_part(scopegate_error_part::Message, out)
    })
}

/// Writes one part of the calling thread's last error (see `scopegate_error_part`) like
/// `scopegate_last_error`. `SCOPEGATE_RESULT_NOT_FOUND` when the last error has no such part
/// (no OAuth error was answered; no renewed token set), `SCOPEGATE_RESULT_INVALID_PARAMETER` for
/// an unknown `part`. `SCOPEGATE_ERROR_PART_TOKENS` is a secret: handle it like a token.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_last_error_part(
    part: ErrorPartArg,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> scopegate_result {
    guard_quiet(|| {
        let part = match part.0 {
            1 => scopegate_error_part::Message,
            2 => scopegate_error_part::OauthError,
            3 => scopegate_error_part::OauthDescription,
            4 => scopegate_error_part::Tokens,
            _ => return Err(Failure::invalid("part", "not a scopegate_error_part")),
        };
        // SAFETY: as `scopegate_last_error`.
        let out = unsafe { OutText::new(buf, len, out_n) }?;
        write_part(part, out)
    })
}

/// Writes the calling thread's last error in numbers (result, blame, HTTP status) to `*out`;
/// result `SCOPEGATE_RESULT_OK` and blame `SCOPEGATE_BLAME_NONE` when none is recorded.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_last_error_info(out: *mut scopegate_error_info) -> scopegate_result {
    guard_quiet(|| {
        // SAFETY: `out` is NULL or writable, by contract.
        let out = unsafe { Out::new(out, "out") }?;
        let info = last_error::read(|last| match last {
            Some(f) => scopegate_error_info { result: f.result(), blame: f.blame(), http_status: f.http_status() },
            None => scopegate_error_info { result: scopegate_result::Ok, blame: scopegate_blame::None, http_status: 0 },
        });
        out.write(info);
        Ok(())
    })
}

/// Forgets the calling thread's last error.
#[unsafe(no_mangle)]
pub extern "C" fn scopegate_last_error_clear() {
    // Cannot panic; the boundary is kept for the rule that every export has one.
    guard_value((), last_error::clear)
}
