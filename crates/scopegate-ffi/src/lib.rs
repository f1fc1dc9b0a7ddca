//! # scopegate-ffi: the C ABI of scopegate
//!
//! `libscopegate.a` and `libscopegate.so`, declared by `include/scopegate.h` (generated from this
//! crate by cbindgen: `SCOPEGATE_BLESS=1 cargo test -p scopegate-ffi --test header` rewrites
//! it). C and C++ services get the same flows, permission check, single-flight refresh and
//! errors as Rust, with the built-in transport, their own (a transport callback), or their own
//! HTTP stack driving a [`session::scopegate_session`]. Cargo writes them as
//! `libscopegate_ffi.{a,so}` (this crate's Rust name, distinct from the `scopegate` I/O crate's);
//! `scripts/install` installs them as `libscopegate` with a versioned SONAME (see `build.rs`),
//! the header, `include/scopegate.hpp` (the C++17 wrapper) and `scopegate.pc`.
//!
//! ## Conventions (those of rustls-ffi)
//!
//! - **Handles are opaque** (`scopegate_provider`, `scopegate_client`, `scopegate_session`,
//!   `scopegate_authorization`, `scopegate_http_response`); each one's doc says who owns it and
//!   whether it may be shared between threads. `_free(NULL)` is a no-op.
//! - **Results**: fallible functions return a `scopegate_result` (the [`result`] module): 0 is success,
//!   1-999 the core's error kinds with the core's numbers, 1000 and above the ABI's own results.
//!   After a failure, `scopegate_last_error` gives the calling thread's detailed message (never a
//!   secret; the provider's `error` and `error_description` when it sent them).
//! - **Arguments**: every pointer is checked for NULL (`SCOPEGATE_RESULT_NULL_PARAMETER`), every
//!   string for UTF-8 (`SCOPEGATE_RESULT_INVALID_UTF8`); enum values passed in are range-checked.
//!   Strings are NUL-terminated unless a length is passed with them.
//! - **Out-parameters come last** and are written only on success. Text goes into a caller's
//!   buffer (`buf`, `len`, `out_n`): on success the text and a NUL are written and `*out_n` is
//!   the text's length; when `len` is too small, nothing is written to `buf`, `*out_n` is the
//!   size needed, terminating NUL included, and the result is
//!   `SCOPEGATE_RESULT_INSUFFICIENT_SIZE` (`buf` may be NULL with `len` 0 to ask for the size).
//! - **A panic boundary on every export**: a panic inside scopegate returns
//!   `SCOPEGATE_RESULT_PANIC` (or a documented default) and never unwinds into C.
//!
//! ## Inside
//!
//! Each module imports only modules below it: [`result`] (the `scopegate_result` enum, a plain
//! value), `failure.rs` (`Failure`: why a call failed, made from the core's errors),
//! `last_error.rs` (the calling thread's last `Failure`), `boundary.rs` (the panic boundary that
//! records a failure there, argument readers, out-parameters), then the exports: [`error`]
//! (reading the last error), [`result_message`], and the handles' modules.
//!
//! ## Safety
//!
//! The exports are `unsafe extern "C"`: the caller promises that every non-NULL pointer is
//! valid for what the function's doc says (a live handle of the right type, `len` readable or
//! writable bytes, a NUL-terminated string), and that a handle documented as not thread-safe is
//! used by one thread at a time. This is the only unchecked part of the contract; the rest is
//! checked at run time.
#![allow(non_camel_case_types)]
// The pointer rules are stated once, above, and on each function's doc (copied into the
// header); a `# Safety` section repeating them on each of 60 functions would say nothing more.
#![allow(clippy::missing_safety_doc)]

pub mod authorization;
mod boundary;
pub mod check;
pub mod client;
pub mod device;
pub mod error;
mod failure;
pub mod http;
mod last_error;
pub mod observe;
pub mod provider;
pub mod result;
pub mod result_message;
pub mod sandbox;
pub mod session;
pub mod session_io;
pub mod transport;

pub use boundary::{ErrorPartArg, FailureArg, RejectReasonArg, ResultArg};
pub use observe::LogLevelArg;

/// The library's version (`0.1.0`), NUL-terminated, static. Compare with `SCOPEGATE_VERSION`
/// from the header to detect a header and a library of different versions.
#[unsafe(no_mangle)]
pub extern "C" fn scopegate_version() -> *const std::ffi::c_char {
    boundary::guard_value(std::ptr::null(), || VERSION.as_ptr())
}

const VERSION: &std::ffi::CStr =
    match std::ffi::CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => panic!("the package version has a NUL"),
    };
