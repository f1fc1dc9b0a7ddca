//! [`FastStr`]: a `str` argument borrowed without a copy, for the hot paths (`Policy.allows`,
//! `Policy.allows_many`).
//!
//! Under the limited API of Python 3.9 (`abi3-py39`), pyo3 reads a `str` by encoding it into a
//! new `bytes` object and copying that into a `String`: two allocations per argument, more than
//! the permission check itself costs. `PyUnicode_AsUTF8AndSize` returns the string's own cached
//! UTF-8 buffer instead. It is in the stable ABI from 3.10 on, and exported with the same
//! signature by every CPython 3 since 3.3, so an abi3 module built for 3.9 can call it.

use std::os::raw::c_char;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;

unsafe extern "C" {
    // The declaration of CPython's `Include/unicodeobject.h` (limited API since 3.10).
    fn PyUnicode_AsUTF8AndSize(unicode: *mut ffi::PyObject, size: *mut ffi::Py_ssize_t) -> *const c_char;
}

/// A `str` argument, borrowed from the Python object for the length of the call.
pub(crate) struct FastStr<'a>(&'a str);

impl FastStr<'_> {
    pub(crate) fn as_str(&self) -> &str {
        self.0
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for FastStr<'a> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Ok(FastStr(utf8(obj.cast::<PyString>()?)?))
    }
}

/// The text of a `str`, borrowed from the object's own UTF-8 form for as long as the object is
/// (`'a`); an error for a lone surrogate, which has no UTF-8 form.
#[inline]
pub(crate) fn utf8<'a>(s: Borrowed<'a, '_, PyString>) -> PyResult<&'a str> {
    // SAFETY: `s` is a `str` (its type says so), alive for `'a`, and this thread is attached to
    // the interpreter (we hold a `Borrowed<'_, 'py, _>`).
    unsafe { utf8_of(s.as_ptr()) }.ok_or_else(|| PyErr::fetch(s.py()))
}

/// [`utf8`] on a raw `str` pointer: `None` with the exception set for a lone surrogate.
///
/// # Safety
/// `s` is a `str` (or a subclass) that lives for `'a`, and the thread is attached.
#[inline]
pub(crate) unsafe fn utf8_of<'a>(s: *mut ffi::PyObject) -> Option<&'a str> {
    let mut size: ffi::Py_ssize_t = 0;
    // SAFETY: by the contract above. The function returns a pointer to the UTF-8 form the string
    // object caches and owns, or null with an exception set (a lone surrogate cannot be encoded).
    let data = unsafe { PyUnicode_AsUTF8AndSize(s, &mut size) };
    if data.is_null() {
        return None;
    }
    let len = usize::try_from(size).unwrap_or(0);
    // SAFETY: CPython guarantees `len` bytes of valid UTF-8 at `data`. The buffer lives as long
    // as the string object, which lives for `'a`; `str` objects are immutable, so it does not
    // change meanwhile.
    let bytes = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) };
    // SAFETY: CPython's UTF-8 encoder only produces valid UTF-8.
    Some(unsafe { std::str::from_utf8_unchecked(bytes) })
}

/// A string as Python's `repr` shows it (`'yespo'`).
pub(crate) fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if c.is_control() => out.push_str(&c.escape_default().to_string()),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// An optional string as Python's `repr` shows it (`None` or `'...'`).
pub(crate) fn qo(s: Option<&str>) -> String {
    s.map_or_else(|| "None".to_owned(), q)
}

/// A list of strings as Python's `repr` shows it.
pub(crate) fn ql(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| q(s)).collect::<Vec<_>>().join(", "))
}
