//! `Policy.allows_many(calls)`: the batch check. The `(method, path)` tuples are read in place
//! (each `str`'s own UTF-8 buffer, no copy), each checked as it is read
//! (`PermissionMatrix::allows_method`, the body of `Policy::allows_many`), its answer put in the
//! list that comes back.
//!
//! The items are borrowed, not referenced one by one: a list or tuple holds them for the length
//! of the call (nothing runs Python code meanwhile, and on the free-threaded build the list's
//! critical section keeps other threads from changing it until the checks are done: the `&str`s
//! borrow from its items); any other iterable is first read into a vector of references. A
//! method object seen in the call before is not parsed again (programs pass the same `"GET"`).

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyList, PyTuple};
use scopegate_core::{Method, Policy};

use crate::text::utf8_of;

/// A call that is never allowed (a method the checker does not know): checked as `GET ""`,
/// which the empty-path rule rejects.
const NEVER: (Method, &str) = (Method::Get, "");

/// What is wrong with an item (the error is built once, out of the loop).
enum Bad {
    NotTuple,
    Items(isize),
    NotStr(&'static str, *mut ffi::PyObject),
    /// A lone surrogate: the exception is set.
    Encoding,
}

/// The call in `item` (borrowed: it lives for `'a`): `(method, path)`, or [`NEVER`] for a method
/// the checker does not know. `last` is the method object read before and what it parsed to.
///
/// # Safety
/// `item` is a live object for `'a` and the thread is attached.
#[inline(always)]
unsafe fn call_of<'a>(
    item: *mut ffi::PyObject,
    last: &mut (*mut ffi::PyObject, Option<Method>),
) -> Result<(Method, &'a str), Bad> {
    // SAFETY (every block): `item` and what it holds live for `'a` (the caller's contract); the
    // type checks come before each access that needs the type.
    unsafe {
        if ffi::PyTuple_CheckExact(item) == 0 && ffi::PyTuple_Check(item) == 0 {
            return Err(Bad::NotTuple);
        }
        // The tuple's size field (`Py_SIZE`, in the stable ABI's object layout): no call.
        let n = ffi::Py_SIZE(item);
        if n != 2 {
            return Err(Bad::Items(n));
        }
        let (m, p) = (ffi::PyTuple_GetItem(item, 0), ffi::PyTuple_GetItem(item, 1));
        if ffi::PyUnicode_CheckExact(p) == 0 && ffi::PyUnicode_Check(p) == 0 {
            return Err(Bad::NotStr("path", p));
        }
        let path = utf8_of(p).ok_or(Bad::Encoding)?;
        let method = if m == last.0 {
            last.1
        } else {
            if ffi::PyUnicode_CheckExact(m) == 0 && ffi::PyUnicode_Check(m) == 0 {
                return Err(Bad::NotStr("method", m));
            }
            let parsed = Method::from_bytes(utf8_of(m).ok_or(Bad::Encoding)?.as_bytes());
            *last = (m, parsed);
            parsed
        };
        Ok(method.map_or(NEVER, |m| (m, path)))
    }
}

/// The `TypeError` for item `index` (or the encoding error already set).
#[cold]
fn error(py: Python<'_>, index: usize, item: *mut ffi::PyObject, bad: Bad) -> PyErr {
    // SAFETY: `item` (and an object `Bad` names) is alive: the caller still holds the calls.
    let name = |obj: *mut ffi::PyObject| type_name(unsafe { Borrowed::from_ptr(py, obj) });
    match bad {
        Bad::NotTuple => {
            PyTypeError::new_err(format!("calls[{index}] must be a (method, path) tuple, not {}", name(item)))
        }
        Bad::Items(n) => {
            PyTypeError::new_err(format!("calls[{index}] must be a (method, path) tuple, not a tuple of {n} items"))
        }
        Bad::NotStr(what, obj) => {
            PyTypeError::new_err(format!("calls[{index}]: the {what} must be str, not {}", name(obj)))
        }
        Bad::Encoding => PyErr::fetch(py),
    }
}

fn type_name(obj: Borrowed<'_, '_, PyAny>) -> String {
    obj.get_type().name().map_or_else(|_| "?".to_owned(), |n| n.to_string())
}

/// Reads the `len` items that `item(i)` gives (each alive as long as the caller holds the
/// calls), checks each as it is read, and returns the answers' list.
///
/// # Safety
/// Every pointer `item` returns is a live object until this function returns.
unsafe fn decide<'py>(
    py: Python<'py>,
    policy: &Policy,
    len: usize,
    item: impl Fn(usize) -> *mut ffi::PyObject,
) -> PyResult<Bound<'py, PyList>> {
    let (matrix, rights) = (policy.matrix(), policy.rights());
    // SAFETY: attached; a new list of `len` empty slots (or null with the exception set), owned.
    let answers = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyList_New(len as ffi::Py_ssize_t)) }?;
    let (yes, no) = (PyBool::new(py, true).to_owned(), PyBool::new(py, false).to_owned());
    let mut last = (std::ptr::null_mut(), None);
    for i in 0..len {
        let obj = item(i);
        // SAFETY: alive until we return (the caller's contract); the `&str` is used at once.
        let allowed = match unsafe { call_of(obj, &mut last) } {
            Ok((m, path)) => matrix.allows_method(rights, m, path),
            // The list, its slots still empty from here on, is released with the error.
            Err(bad) => return Err(error(py, i, obj, bad)),
        };
        let answer = if allowed { &yes } else { &no };
        // SAFETY: slot `i` of the new list, empty until now; `PyList_SetItem` takes the new
        // reference (it cannot fail on an index below the length of a list).
        unsafe { ffi::PyList_SetItem(answers.as_ptr(), i as ffi::Py_ssize_t, answer.clone().into_ptr()) };
    }
    // SAFETY: `PyList_New` made a list.
    Ok(unsafe { answers.cast_into_unchecked() })
}

/// `policy.allows_many(calls) -> list[bool]`.
pub(crate) fn allows_many<'py>(policy: &Policy, calls: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
    let py = calls.py();
    if let Ok(list) = calls.cast_exact::<PyList>() {
        pyo3::sync::critical_section::with_critical_section(list.as_any(), || {
            let ptr = list.as_ptr();
            // SAFETY: under the list's critical section (and, without free threading, the GIL)
            // with no Python code run, the list does not change: each index below its length
            // holds a live item, borrowed from the list until the section ends.
            unsafe { decide(py, policy, list.len(), |i| ffi::PyList_GetItem(ptr, i as ffi::Py_ssize_t)) }
        })
    } else if let Ok(tuple) = calls.cast_exact::<PyTuple>() {
        let ptr = tuple.as_ptr();
        // SAFETY: a tuple does not change; every index is below its length.
        unsafe { decide(py, policy, tuple.len(), |i| ffi::PyTuple_GetItem(ptr, i as ffi::Py_ssize_t)) }
    } else {
        let items: Vec<Bound<'py, PyAny>> = calls
            .try_iter()
            .map_err(|_| {
                PyTypeError::new_err(format!(
                    "calls must be a sequence of (method, path) tuples, not {}",
                    type_name(calls.as_borrowed())
                ))
            })?
            .collect::<PyResult<_>>()?;
        // SAFETY: `items` holds a reference to each until the end of this block.
        unsafe { decide(py, policy, items.len(), |i| items[i].as_ptr()) }
    }
}
