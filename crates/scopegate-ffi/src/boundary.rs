//! The rules every export follows, in one place: the panic boundary, NULL and UTF-8 checks on
//! arguments, out-parameters written only on success, and caller-provided output buffers.

use std::ffi::{CStr, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;

use crate::failure::Failure;
use crate::last_error;
use crate::result::scopegate_result;

/// Runs the body of an export that returns a `scopegate_result`: `Err` is recorded as the
/// calling thread's last error and its result returned; a panic becomes
/// `SCOPEGATE_RESULT_PANIC` (never an unwind into C).
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Failure>) -> scopegate_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => scopegate_result::Ok,
        Ok(Err(failure)) => last_error::record(failure),
        Err(_) => last_error::record(Failure::panic()),
    }
}

/// [`guard`] for the functions that read the last error: a failure is returned, not recorded,
/// so that reading the last error never replaces it.
pub(crate) fn guard_quiet(body: impl FnOnce() -> Result<(), Failure>) -> scopegate_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => scopegate_result::Ok,
        Ok(Err(failure)) => failure.result(),
        Err(_) => scopegate_result::Panic,
    }
}

/// Runs the body of an export that returns a value: `fallback` on a panic (recorded as the last
/// error). Inlined: `scopegate_check` is a hot path.
#[inline(always)]
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(_) => {
            last_error::record(Failure::panic());
            fallback
        }
    }
}

/// An enum value passed in by C: any 32-bit number, checked before use (a Rust enum receiving
/// a value outside its variants would be undefined behaviour). `cbindgen.toml` renames each to
/// the enum's C name, so the header says `scopegate_result result`.
macro_rules! enum_arg {
    ($($(#[$meta:meta])* $name:ident;)*) => {$(
        $(#[$meta])*
        #[repr(transparent)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name(pub u32);
    )*};
}

enum_arg! {
    /// A `scopegate_result` argument.
    ResultArg;
    /// A `scopegate_transport_failure` argument.
    FailureArg;
    /// A `scopegate_reject_reason` argument.
    RejectReasonArg;
    /// A `scopegate_error_part` argument.
    ErrorPartArg;
}

/// A NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that stays valid for `'a`.
pub(crate) unsafe fn cstr<'a>(ptr: *const c_char, name: &'static str) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: non-NULL, and NUL-terminated by the caller's promise.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    std::str::from_utf8(bytes).map_err(|e| Failure::utf8(name, e.valid_up_to()))
}

/// A NUL-terminated string argument as bytes, whatever their encoding (header names and values
/// from the wire, which [`scopegate_core::http::header_text`] decodes).
///
/// # Safety
/// As [`cstr`].
pub(crate) unsafe fn cbytes<'a>(ptr: *const c_char, name: &'static str) -> Result<&'a [u8], Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: non-NULL, and NUL-terminated by the caller's promise.
    Ok(unsafe { CStr::from_ptr(ptr) }.to_bytes())
}

/// [`cstr`] for an argument that may be NULL.
///
/// # Safety
/// As [`cstr`].
pub(crate) unsafe fn opt_cstr<'a>(ptr: *const c_char, name: &'static str) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded.
    unsafe { cstr(ptr, name) }.map(Some)
}

/// An array argument: `len` values at `ptr` (NULL is accepted when `len` is 0).
///
/// # Safety
/// `ptr` is NULL or points to `len` readable, initialized values that stay valid for `'a`.
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, len: usize, name: &'static str) -> Result<&'a [T], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: non-NULL, `len` readable values by the caller's promise.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A byte-slice argument: `len` bytes at `ptr` (NULL is accepted when `len` is 0).
///
/// # Safety
/// As [`slice`].
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize, name: &'static str) -> Result<&'a [u8], Failure> {
    // SAFETY: forwarded.
    unsafe { slice(ptr, len, name) }
}

/// A text argument given with its length (no NUL needed), checked for UTF-8.
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn text<'a>(ptr: *const c_char, len: usize, name: &'static str) -> Result<&'a str, Failure> {
    // SAFETY: forwarded.
    let b = unsafe { bytes(ptr.cast::<u8>(), len, name) }?;
    std::str::from_utf8(b).map_err(|e| Failure::utf8(name, e.valid_up_to()))
}

/// A handle argument.
///
/// # Safety
/// `ptr` is NULL or a live handle of type `T` made by this library, not used mutably meanwhile.
pub(crate) unsafe fn handle<'a, T>(ptr: *const T, name: &'static str) -> Result<&'a T, Failure> {
    // SAFETY: by the caller's promise.
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null(name))
}

/// A handle argument used mutably.
///
/// # Safety
/// `ptr` is NULL or a live handle of type `T` made by this library, used by no other thread
/// meanwhile.
pub(crate) unsafe fn handle_mut<'a, T>(ptr: *mut T, name: &'static str) -> Result<&'a mut T, Failure> {
    // SAFETY: by the caller's promise.
    unsafe { ptr.as_mut() }.ok_or_else(|| Failure::null(name))
}

/// Gives a new handle to C.
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Takes a handle back and drops it; NULL is a no-op.
///
/// # Safety
/// `ptr` is NULL or a handle of type `T` made by [`into_handle`] and not freed yet.
pub(crate) unsafe fn free_handle<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: made by `Box::into_raw` in `into_handle`, freed once.
        drop(unsafe { Box::from_raw(ptr) });
    }
}

/// An out-parameter, checked for NULL before the work and written only when it succeeded.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// # Safety
    /// `ptr` is NULL or valid for writing a `T` until this value is used.
    pub(crate) unsafe fn new(ptr: *mut T, name: &'static str) -> Result<Out<T>, Failure> {
        NonNull::new(ptr).map(Out).ok_or_else(|| Failure::null(name))
    }

    /// Writes the value (the old one is not dropped: it is C data).
    pub(crate) fn write(self, value: T) {
        // SAFETY: valid for writes by the promise made to `new`.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// A caller-provided output buffer: `len` bytes at `buf` and the count in `*out_n`.
///
/// On success the text and a terminating NUL are written and `*out_n` is the text's length
/// (without the NUL). When `len` is too small nothing is written to `buf`, `*out_n` is the size
/// needed, terminating NUL included, and the result is `SCOPEGATE_RESULT_INSUFFICIENT_SIZE`.
/// `buf` may be NULL when `len` is 0, to ask for the size.
pub(crate) struct OutText {
    buf: *mut c_char,
    len: usize,
    out_n: NonNull<usize>,
}

impl OutText {
    /// # Safety
    /// `buf` is NULL or points to `len` writable bytes, and `out_n` is NULL or valid for writes,
    /// until this value is used.
    pub(crate) unsafe fn new(buf: *mut c_char, len: usize, out_n: *mut usize) -> Result<OutText, Failure> {
        let out_n = NonNull::new(out_n).ok_or_else(|| Failure::null("out_n"))?;
        if buf.is_null() && len > 0 {
            return Err(Failure::null("buf"));
        }
        Ok(OutText { buf, len, out_n })
    }

    /// Writes `text` and its NUL, or the size needed.
    pub(crate) fn write(self, text: &[u8]) -> Result<(), Failure> {
        let needed = text.len().saturating_add(1);
        // SAFETY (both blocks): `out_n` and `len` bytes at `buf` are valid by the promise made to
        // `new`; `needed <= len` before the copy.
        if self.len < needed {
            unsafe { self.out_n.as_ptr().write(needed) };
            return Err(Failure::insufficient(self.len, needed));
        }
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), self.buf.cast::<u8>(), text.len());
            self.buf.add(text.len()).write(0);
            self.out_n.as_ptr().write(text.len());
        }
        Ok(())
    }
}

/// Writes as much of `text` as fits into `buf`, NUL-terminated, and the bytes written (without
/// the NUL) to `*out_n`; cuts on a UTF-8 character boundary. For messages, where a cut text is
/// better than none.
///
/// # Safety
/// `buf` is NULL or points to `len` writable bytes; `out_n` is NULL or valid for writes.
pub(crate) unsafe fn write_truncated(text: &str, buf: *mut c_char, len: usize, out_n: *mut usize) {
    let mut n = 0;
    if !buf.is_null() && len > 0 {
        n = text.len().min(len - 1);
        while !text.is_char_boundary(n) {
            n -= 1;
        }
        // SAFETY: `n + 1 <= len` bytes at `buf`.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
            buf.add(n).write(0);
        }
    }
    if !out_n.is_null() {
        // SAFETY: non-NULL and valid for writes by the caller's promise.
        unsafe { out_n.write(n) };
    }
}

/// HTTP methods, parsed from C strings: `GET`, `POST`... (upper case, as RFC 9110 spells them).
pub(crate) fn method(name: &str) -> Result<scopegate_core::Method, Failure> {
    name.parse().map_err(|_| Failure::invalid("method", "not an http method scopegate knows (GET, POST, PUT, ...)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_result_and_the_last_error_says_so() {
        let r = guard(|| panic!("boom"));
        assert_eq!(r, scopegate_result::Panic);
        assert_eq!(last_error::last_result(), scopegate_result::Panic);
        assert_eq!(guard_value(7u8, || panic!("boom")), 7);
        assert_eq!(guard_quiet(|| panic!("boom")), scopegate_result::Panic);
    }

    #[test]
    fn out_text_writes_text_and_nul_or_the_size_needed() {
        let mut buf = [0x55 as c_char; 6];
        let mut n = 99usize;
        // SAFETY: the buffers above.
        let out = unsafe { OutText::new(buf.as_mut_ptr(), buf.len(), &mut n) }.unwrap();
        let err = out.write(b"abcdef").unwrap_err();
        assert_eq!(err.result(), scopegate_result::InsufficientSize);
        assert_eq!(n, 7);
        assert_eq!(buf[0], 0x55, "nothing written to the buffer");
        // SAFETY: the buffers above.
        let out = unsafe { OutText::new(buf.as_mut_ptr(), buf.len(), &mut n) }.unwrap();
        out.write(b"abcde").unwrap();
        assert_eq!(n, 5);
        assert_eq!(buf[5], 0);
        // Size query: NULL buffer, length 0.
        // SAFETY: NULL with 0 is allowed.
        let out = unsafe { OutText::new(std::ptr::null_mut(), 0, &mut n) }.unwrap();
        assert!(out.write(b"").is_err());
        assert_eq!(n, 1);
        // SAFETY: checking the NULL rules.
        assert!(unsafe { OutText::new(std::ptr::null_mut(), 4, &mut n) }.is_err());
        // SAFETY: as above.
        assert!(unsafe { OutText::new(buf.as_mut_ptr(), 4, std::ptr::null_mut()) }.is_err());
    }

    #[test]
    fn truncation_keeps_characters_whole() {
        let mut buf = [0 as c_char; 4];
        let mut n = 0;
        // SAFETY: the buffers above.
        unsafe { write_truncated("aé€", buf.as_mut_ptr(), buf.len(), &mut n) };
        assert_eq!(n, 3, "a + é, the euro sign does not fit");
        // SAFETY: NULL buffer is allowed.
        unsafe { write_truncated("abc", std::ptr::null_mut(), 0, &mut n) };
        assert_eq!(n, 0);
    }
}
