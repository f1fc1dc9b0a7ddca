//! `scopegate_authorization`: a started authorization, the URL to send the user to and the
//! pending authorization to keep until the callback.

use std::ffi::c_char;

use scopegate_core::{AuthorizationStart, PendingAuthorization};
use zeroize::Zeroizing;

use crate::boundary::{OutText, free_handle, guard, guard_value, handle, text};
use crate::failure::Failure;
use crate::result::scopegate_result;

/// A started authorization (authorization code flow): the URL for the user's browser and the
/// pending authorization, serialized (versioned JSON), to keep until the browser comes back to
/// the redirect URI, e.g. in the user's web session. The pending authorization holds secrets
/// (`state`, the PKCE verifier): keep it server-side, never in a URL or a log.
///
/// Ownership: made by `scopegate_client_start_authorization` or
/// `scopegate_session_start_authorization`; the caller frees it with
/// `scopegate_authorization_free`.
///
/// Thread safety: immutable; may be used from any number of threads at once.
pub struct scopegate_authorization {
    url: String,
    pending: Zeroizing<String>,
}

impl std::fmt::Debug for scopegate_authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("scopegate_authorization").finish_non_exhaustive()
    }
}

impl From<AuthorizationStart> for scopegate_authorization {
    fn from(start: AuthorizationStart) -> Self {
        scopegate_authorization { url: start.url, pending: Zeroizing::new(start.pending.to_json()) }
    }
}

/// Reads a pending authorization serialized by `scopegate_authorization_pending`.
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes.
pub(crate) unsafe fn pending_from(ptr: *const c_char, len: usize) -> Result<PendingAuthorization, Failure> {
    // SAFETY: forwarded.
    let json = unsafe { text(ptr, len, "pending") }?;
    PendingAuthorization::from_json(json).map_err(|e| scopegate_core::Error::from(e).into())
}

/// Writes the URL to send the user's browser to into `buf` (like every text output: see
/// `scopegate_last_error`).
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_authorization_url(
    authorization: *const scopegate_authorization,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live authorization and an output buffer, or NULL, by contract.
        let out = unsafe { OutText::new(buf, len, out_n) }?;
        let a = unsafe { handle(authorization, "authorization") }?;
        out.write(a.url.as_bytes())
    })
}

/// Writes the pending authorization, serialized (versioned JSON text, NUL-terminated; `*out_n`
/// is its length), into `buf`. Give these bytes back to `scopegate_client_exchange` or
/// `scopegate_session_handle_callback` with the callback URL, once: delete them when that
/// returns, whatever it returned. They hold secrets.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_authorization_pending(
    authorization: *const scopegate_authorization,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live authorization and an output buffer, or NULL, by contract.
        let out = unsafe { OutText::new(buf, len, out_n) }?;
        let a = unsafe { handle(authorization, "authorization") }?;
        out.write(a.pending.as_bytes())
    })
}

/// Frees an authorization (its secrets are zeroized). NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn scopegate_authorization_free(authorization: *mut scopegate_authorization) {
    // SAFETY: NULL or an authorization made by this library and not freed yet, by contract.
    guard_value((), || unsafe { free_handle(authorization) })
}
