//! `Policy.allows` called the way CPython calls its own builtins: `METH_FASTCALL` (PEP 590), the
//! arguments as a C array, no tuple built per call.
//!
//! Under the limited API of Python 3.9 (`abi3-py39`) pyo3 declares methods `METH_VARARGS |
//! METH_KEYWORDS`: every call builds an argument tuple, about half the time of a whole
//! `policy.allows(method, path)` from Python. `METH_FASTCALL` has been part of CPython's method
//! protocol since 3.7 (in the limited API headers from 3.10), so a method descriptor made with it
//! by `PyDescr_NewMethod` (stable ABI) works on every version an `abi3-py39` module loads on. At
//! module init it replaces the pyo3 method of the same name on the `Policy` type; if the type
//! refuses new attributes, the pyo3 method stays, and only the speed differs.

use std::ffi::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind};

use pyo3::exceptions::{PySystemError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyTuple, PyType};

use crate::provider::PyPolicy;
use crate::text::FastStr;

/// `METH_FASTCALL` (`Include/methodobject.h`, the same value since CPython 3.7).
const METH_FASTCALL: c_int = 0x0080;
/// `METH_KEYWORDS`: with `METH_FASTCALL`, keyword names come as a tuple after the arguments.
const METH_KEYWORDS: c_int = 0x0002;

type FastCall = unsafe extern "C" fn(
    *mut ffi::PyObject,
    *const *mut ffi::PyObject,
    ffi::Py_ssize_t,
    *mut ffi::PyObject,
) -> *mut ffi::PyObject;

/// The method definition CPython keeps a pointer to for the life of the process.
struct Def(ffi::PyMethodDef);

// SAFETY: the definition is immutable after construction; CPython only reads it.
unsafe impl Sync for Def {}

static ALLOWS: Def = Def(ffi::PyMethodDef {
    ml_name: c"allows".as_ptr(),
    ml_meth: ffi::PyMethodDefPointer {
        // SAFETY: CPython calls a METH_FASTCALL function with exactly this signature; the union
        // field's declared type differs only because the limited 3.9 headers do not name it.
        PyCFunction: unsafe { std::mem::transmute::<FastCall, ffi::PyCFunction>(allows) },
    },
    ml_flags: METH_FASTCALL | METH_KEYWORDS,
    ml_doc: c"allows($self, method, path)\n--\n\nWhether the call is allowed (a rejected or unknown path is not)."
        .as_ptr(),
});

/// The two arguments, positional or by keyword (`method`, `path`).
fn arguments<'a, 'py>(
    py: Python<'py>,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> PyResult<[Borrowed<'a, 'py, PyAny>; 2]> {
    // A METH_FASTCALL method gets the plain count (the vectorcall offset flag is already masked).
    let positional = usize::try_from(nargs).unwrap_or(0);
    let keywords = if kwnames.is_null() {
        None
    } else {
        // SAFETY: CPython passes a tuple of the keyword names, borrowed for the call.
        Some(unsafe { Borrowed::from_ptr(py, kwnames) }.cast::<PyTuple>()?)
    };
    let total = positional + keywords.as_ref().map_or(0, |k| k.len());
    if total != 2 || positional > 2 {
        return Err(PyTypeError::new_err(format!("allows() takes 2 arguments (method, path), not {total}")));
    }
    let mut slots: [Option<Borrowed<'a, 'py, PyAny>>; 2] = [None, None];
    for (i, slot) in slots.iter_mut().enumerate().take(positional) {
        // SAFETY: `args` holds `positional` (then the keyword values) borrowed references.
        *slot = Some(unsafe { Borrowed::from_ptr(py, *args.add(i)) });
    }
    if let Some(names) = keywords {
        for (j, name) in names.iter().enumerate() {
            let index = match name.extract::<std::borrow::Cow<'_, str>>()?.as_ref() {
                "method" => 0,
                "path" => 1,
                other => {
                    return Err(PyTypeError::new_err(format!("allows() got an unexpected keyword argument '{other}'")));
                }
            };
            if slots[index].is_some() {
                return Err(PyTypeError::new_err("allows() got multiple values for an argument"));
            }
            // SAFETY: the keyword values follow the positional arguments in `args`.
            slots[index] = Some(unsafe { Borrowed::from_ptr(py, *args.add(positional + j)) });
        }
    }
    match slots {
        [Some(m), Some(p)] => Ok([m, p]),
        _ => Err(PyTypeError::new_err("allows() needs method and path")),
    }
}

/// `policy.allows(method, path) -> bool`.
unsafe extern "C" fn allows(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the thread attached to the interpreter.
    let py = unsafe { Python::assume_attached() };
    let outcome = catch_unwind(AssertUnwindSafe(|| -> PyResult<bool> {
        // SAFETY: the method descriptor checked that `slf` is a Policy (or a subclass) before
        // calling; the arguments are borrowed for the length of the call.
        let slf = unsafe { Borrowed::from_ptr(py, slf) }.cast::<PyPolicy>()?;
        let [method, path] = arguments(py, args, nargs, kwnames)?;
        let method: FastStr<'_> = method.extract()?;
        let path: FastStr<'_> = path.extract()?;
        Ok(slf.get().allows_str(method.as_str(), path.as_str()))
    }));
    let result = match outcome {
        Ok(r) => r,
        Err(_) => Err(PySystemError::new_err("scopegate: a panic in Policy.allows (please report it)")),
    };
    match result {
        Ok(b) => pyo3::types::PyBool::new(py, b).to_owned().into_ptr(),
        Err(e) => {
            e.restore(py);
            std::ptr::null_mut()
        }
    }
}

/// Puts the fast `allows` on the `Policy` type; keeps pyo3's if the type refuses.
pub(crate) fn install(policy: &Bound<'_, PyType>) {
    let py = policy.py();
    // SAFETY: `ALLOWS` lives for the process; CPython does not write through the pointer.
    let descr = unsafe {
        Bound::from_owned_ptr_or_err(py, ffi::PyDescr_NewMethod(policy.as_type_ptr(), (&raw const ALLOWS.0).cast_mut()))
    };
    if let Ok(d) = descr {
        let _ = policy.setattr("allows", d);
    }
}
