//! A transport that calls back into C: the caller's own HTTP stack under a `scopegate_client`.

use std::ffi::c_void;

use scopegate::Transport;
use scopegate_core::{HttpRequest, HttpResponse, TransportError};

use crate::boundary::ResultArg;
use crate::http::{RequestView, scopegate_http_request, scopegate_http_response};

/// Sends one request for a `scopegate_client` made with `scopegate_client_new_with_transport`.
///
/// `userdata` is the pointer given with the callback. `request` is a read-only view, valid only
/// during the call. The callback sends it (never following redirects), fills in `response`
/// (`scopegate_http_response_set_status`, `_add_header`, `_append_body`; any status is an
/// answer, not a failure) and returns `SCOPEGATE_RESULT_OK`; or, when no answer came, calls
/// `scopegate_http_response_set_failure` and returns anything else (e.g.
/// `SCOPEGATE_RESULT_TRANSPORT`).
///
/// It is called on the thread that called the client's function, and from several threads at
/// once when the client is shared: it and `userdata` must be thread-safe then.
pub type scopegate_transport_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        request: *const scopegate_http_request,
        response: *mut scopegate_http_response,
    ) -> ResultArg,
>;

/// The callback and its userdata, as a [`Transport`].
pub(crate) struct CallbackTransport {
    callback:
        unsafe extern "C" fn(*mut c_void, *const scopegate_http_request, *mut scopegate_http_response) -> ResultArg,
    userdata: *mut c_void,
}

// SAFETY: the C caller promises (documented on `scopegate_transport_callback` and
// `scopegate_client_new_with_transport`) that the callback and its userdata may be used from
// any thread, and from several at once when the client is shared.
unsafe impl Send for CallbackTransport {}
// SAFETY: as above.
unsafe impl Sync for CallbackTransport {}

impl std::fmt::Debug for CallbackTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackTransport").finish_non_exhaustive()
    }
}

impl CallbackTransport {
    /// `None` when the callback is NULL.
    pub(crate) fn new(callback: scopegate_transport_callback, userdata: *mut c_void) -> Option<CallbackTransport> {
        callback.map(|callback| CallbackTransport { callback, userdata })
    }
}

impl Transport for CallbackTransport {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        // The same rule as the built-in transport: plain http only to loopback hosts.
        if let Some(refused) = scopegate::embed::policy_refusal(request) {
            return Err(refused);
        }
        let view = RequestView::new(request);
        let mut response = scopegate_http_response::building(request.max_response_bytes());
        // SAFETY: the callback was given by the caller for this purpose; the view and the
        // response live until it returns.
        let returned = unsafe { (self.callback)(self.userdata, view.as_ptr(), &mut response) };
        response.into_outcome(returned.0, view.host())
    }
}
