//! The provider sandbox from C, for tests and demos: a built-in profile pointed at a running
//! sandbox (`scopegate sandbox`, or one a test harness started), and the user's browser at its
//! authorization page. The sandbox server itself is not in this library.

use std::ffi::c_char;

use crate::boundary::{Out, OutText, cstr, guard};
use crate::provider::{give, scopegate_provider};
use crate::result::scopegate_result;

/// Loads built-in profile `id` (`yespo`, `reteno`, `yotpo` or `yuvo`) with every URL pointed at
/// the sandbox running at `base_url` (`http://127.0.0.1:PORT`, as `scopegate sandbox --json`
/// prints it), and an id of its own (`yespo@127.0.0.1:PORT`), so that its stored tokens never
/// mix with the real provider's. On success `*out` is a new provider (free it with
/// `scopegate_provider_free`). `SCOPEGATE_RESULT_UNKNOWN_PROVIDER` when the sandbox does not
/// emulate `id`, `SCOPEGATE_RESULT_INVALID_PARAMETER` when `base_url` is not a usable URL.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_provider_at_sandbox(
    base_url: *const c_char,
    id: *const c_char,
    out: *mut *mut scopegate_provider,
) -> scopegate_result {
    guard(|| {
        // SAFETY (all): NUL-terminated strings and a writable `out`, or NULL, by contract.
        let out = unsafe { Out::new(out, "out") }?;
        let base = unsafe { cstr(base_url, "base_url") }?;
        let id = unsafe { cstr(id, "id") }?;
        give(out, scopegate_sandbox::profile_at(base, id)?)
    })
}

/// Plays the user's browser at the authorization page of the sandbox running at `base_url`:
/// opens `authorization_url` (which must be one of that sandbox's URLs) and writes the callback
/// URL the sandbox redirects to (the redirect URI with `code` and `state`) into `buf` like every
/// text output, for `scopegate_client_exchange`. Nothing is sent to the callback.
/// `SCOPEGATE_RESULT_TRANSPORT` when the sandbox cannot be reached or does not redirect (a
/// sandbox started with `--consent page` shows a page instead).
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_sandbox_authorize(
    base_url: *const c_char,
    authorization_url: *const c_char,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> scopegate_result {
    guard(|| {
        // SAFETY (all): NUL-terminated strings and an output buffer, or NULL, by contract.
        let out = unsafe { OutText::new(buf, len, out_n) }?;
        let base = unsafe { cstr(base_url, "base_url") }?;
        let url = unsafe { cstr(authorization_url, "authorization_url") }?;
        let callback = scopegate_sandbox::authorize_at(base, url)?;
        out.write(callback.as_bytes())
    })
}
