//! The device authorization grant (RFC 8628) from C: the blocking client's device login with a
//! callback that shows the code, and the session's commands, event and code view for a service
//! that drives its own HTTP stack.

use std::ffi::{CString, c_char, c_void};

use scopegate_core::device::UserCode;

use crate::boundary::guard;
use crate::client::scopegate_client;
use crate::failure::Failure;
use crate::result::scopegate_result;

/// What the user is shown to approve a device login (RFC 8628 §3.3): the code and where to type
/// it. A read-only view: its strings are NUL-terminated and valid only as long as the function
/// that gave it says. It holds no secret (the device code stays inside scopegate).
#[repr(C)]
#[derive(Debug)]
pub struct scopegate_user_code {
    /// The code the user types (or checks, with the complete URI).
    pub user_code: *const c_char,
    /// Where the user goes.
    pub verification_uri: *const c_char,
    /// The same with the code in it when the server gives one (a link or a QR code that needs no
    /// typing); NULL otherwise.
    pub verification_uri_complete: *const c_char,
    /// When the codes stop working (Unix seconds).
    pub expires_at: u64,
    /// How often the token endpoint is polled meanwhile, in seconds.
    pub interval_secs: u64,
}

/// Owns what a [`scopegate_user_code`] points into. Boxed: the view points into it.
pub(crate) struct UserCodeView {
    view: scopegate_user_code,
    _user_code: CString,
    _uri: CString,
    _complete: Option<CString>,
}

impl std::fmt::Debug for UserCodeView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCodeView").finish_non_exhaustive()
    }
}

/// `s` as a C string (the core's texts have no NUL; one would be dropped).
fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

impl UserCodeView {
    pub(crate) fn new(code: &UserCode) -> Box<UserCodeView> {
        let user_code = c_string(&code.user_code);
        let uri = c_string(code.verification_uri.as_str());
        let complete = code.verification_uri_complete.as_ref().map(|u| c_string(u.as_str()));
        let view = scopegate_user_code {
            user_code: user_code.as_ptr(),
            verification_uri: uri.as_ptr(),
            verification_uri_complete: complete.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
            expires_at: code.expires_at.as_unix_secs(),
            interval_secs: code.interval_secs,
        };
        Box::new(UserCodeView { view, _user_code: user_code, _uri: uri, _complete: complete })
    }

    pub(crate) fn as_ptr(&self) -> *const scopegate_user_code {
        &self.view
    }
}

/// Called by `scopegate_client_device_login` once, with what to show the user: print
/// `verification_uri_complete` when it is not NULL, else `verification_uri` and `user_code`.
/// `code` and its strings are valid only during the call. The callback runs on the thread that
/// called `scopegate_client_device_login`, which waits meanwhile.
pub type scopegate_user_code_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, code: *const scopegate_user_code)>;

/// Logs in with the device authorization grant (RFC 8628), for a machine without a browser, with
/// the profile's scopes: `callback` (called with `userdata`) shows the user the code; then the
/// token endpoint is polled at the server's interval (`slow_down` adds 5 s) until the user
/// approved on another device, and the tokens are stored (the token-change callback runs) under
/// the account they belong to. Blocks until then, or until the user refused
/// (`SCOPEGATE_RESULT_AUTHORIZATION_DENIED`) or the code expired
/// (`SCOPEGATE_RESULT_AUTHORIZATION_EXPIRED`). The profile needs the device grant and
/// `[device] url` (`SCOPEGATE_RESULT_CONFIG` otherwise).
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_client_device_login(
    client: *mut scopegate_client,
    callback: scopegate_user_code_callback,
    userdata: *mut c_void,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live client, and a callback with its userdata, by contract.
        let c = unsafe { crate::client::client(client) }?;
        let callback = callback.ok_or_else(|| Failure::null("callback"))?;
        let show = |code: &UserCode| {
            let view = UserCodeView::new(code);
            // SAFETY: the caller's callback, called as documented; the view lives for the call.
            unsafe { callback(userdata, view.as_ptr()) };
        };
        c.device_login(show).map(drop).map_err(Failure::from)
    })
}
