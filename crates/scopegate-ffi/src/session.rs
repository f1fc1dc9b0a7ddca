//! `scopegate_session`: the sans-IO state machine of one connection, for services that own
//! their HTTP stack. Commands and the token set here; requests, answers, timers and events in
//! `session_io.rs`.

use std::ffi::c_char;
use std::sync::Arc;

use scopegate_core::{ApiRequestId, RequestId, Rights, Session, Timestamp, TokenSet};
use zeroize::Zeroizing;

use crate::authorization::{pending_from, scopegate_authorization};
use crate::boundary::{
    Out, OutText, cstr, free_handle, guard, guard_value, handle, handle_mut, into_handle, opt_cstr, text,
};
use crate::client::{read_client_key, read_options, scopegate_client_options};
use crate::device::{UserCodeView, scopegate_user_code};
use crate::failure::Failure;
use crate::http::RequestView;
use crate::provider::scopegate_provider;
use crate::result::scopegate_result;

/// The state machine of one connection (provider, app registration, account, token set), with
/// no sockets and no clock: the caller sends the requests it asks for with its own HTTP stack
/// (`scopegate_session_poll_transmit`, `_handle_response`), runs its timer
/// (`_poll_timeout`, `_handle_timeout`), reads its events (`_poll_event`) and persists its token
/// set (`_tokens`) when `SCOPEGATE_EVENT_KIND_TOKENS_CHANGED` says so. Time is passed in as Unix
/// seconds (`now`). At most one operation (exchange, client credentials, refresh, revoke) is in
/// flight; another command meanwhile gives `SCOPEGATE_RESULT_BUSY`.
///
/// Ownership: made by `scopegate_session_new`; the caller frees it with
/// `scopegate_session_free`.
///
/// Thread safety: not thread-safe: one thread at a time (it may move between threads).
pub struct scopegate_session {
    pub(crate) session: Session,
    /// The request `poll_transmit` gave out and awaits an answer for, with its host.
    pub(crate) sent: Option<(RequestId, String)>,
    /// What the last `poll_transmit` view points into.
    pub(crate) transmit_view: Option<Box<RequestView>>,
    /// What the last `api_request` view points into.
    pub(crate) api_view: Option<Box<RequestView>>,
    /// API request ids given out: (number given to C, the session's id, the request's method
    /// and URL, nothing else: no secret), newest last.
    pub(crate) api_ids: Vec<(u64, ApiRequestId, scopegate_core::HttpRequest)>,
    pub(crate) next_api_id: u64,
    /// What the last `SCOPEGATE_EVENT_KIND_USER_CODE` event announced (its view points into it).
    pub(crate) user_code: Option<Box<UserCodeView>>,
}

/// How many distinct API request ids are remembered (one per token generation).
pub(crate) const API_IDS_KEPT: usize = 64;

impl std::fmt::Debug for scopegate_session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("scopegate_session").field("session", &self.session).finish_non_exhaustive()
    }
}

pub(crate) fn at(now: u64) -> Timestamp {
    Timestamp::from_unix_secs(now)
}

/// # Safety
/// `session` is NULL or a live session used by no other thread.
pub(crate) unsafe fn session_mut<'a>(session: *mut scopegate_session) -> Result<&'a mut scopegate_session, Failure> {
    // SAFETY: forwarded.
    unsafe { handle_mut(session, "session") }
}

/// # Safety
/// As the exports that call it.
unsafe fn make(
    provider: *const scopegate_provider,
    options: *const scopegate_client_options,
    client_key_pem: *const c_char,
    out: Out<*mut scopegate_session>,
) -> Result<(), Failure> {
    // SAFETY (all): forwarded.
    let p = unsafe { handle(provider, "provider") }?;
    let o = unsafe { read_options(options) }?;
    let key = unsafe { read_client_key(client_key_pem) }?;
    if o.store.is_some() {
        return Err(Failure::invalid(
            "options.store",
            "a session keeps no store: persist scopegate_session_tokens yourself (NULL here)",
        ));
    }
    let config = match key {
        Some(key) => o.config.with_client_key(key),
        None => o.config,
    };
    let mut session = Session::new(Arc::clone(&p.provider), config);
    if let Some(account) = o.account {
        session = session.with_account(account);
    }
    out.write(into_handle(scopegate_session {
        session,
        sent: None,
        transmit_view: None,
        api_view: None,
        api_ids: Vec::new(),
        next_api_id: 1,
        user_code: None,
    }));
    Ok(())
}

/// A session for `provider` and the app registration in `options` (whose `store` must be
/// NULL: the caller keeps the token set), holding no token yet. With `options->account`, a
/// login for another account is refused (a profile whose callback names the account: Yotpo's
/// `app_key`).
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_session_new(
    provider: *const scopegate_provider,
    options: *const scopegate_client_options,
    out: *mut *mut scopegate_session,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live provider, options and a writable `out`, or NULL, by contract.
        let out = unsafe { Out::new(out, "out") }?;
        unsafe { make(provider, options, std::ptr::null(), out) }
    })
}

/// `scopegate_session_new` for a client that authenticates with its private key
/// (`private_key_jwt`): `client_key_pem` as for `scopegate_client_new_with_key` (NULL: none).
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_session_new_with_key(
    provider: *const scopegate_provider,
    options: *const scopegate_client_options,
    client_key_pem: *const c_char,
    out: *mut *mut scopegate_session,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live provider, options, a NUL-terminated key or NULL, and a writable `out`,
        // or NULL, by contract.
        let out = unsafe { Out::new(out, "out") }?;
        unsafe { make(provider, options, client_key_pem, out) }
    })
}

/// Frees a session (its tokens are zeroized). NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn scopegate_session_free(session: *mut scopegate_session) {
    // SAFETY: NULL or a session made by this library and not freed yet, by contract.
    guard_value((), || unsafe { free_handle(session) })
}

/// Checks every later `scopegate_session_api_request` against the provider's access-rights
/// matrix with these rights (the ones granted at app registration) before building it.
/// `SCOPEGATE_RESULT_BUSY` while an operation is in flight.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_session_set_rights(
    session: *mut scopegate_session,
    rights: u64,
) -> scopegate_result {
    guard(|| {
        // SAFETY: NULL or a live session, by contract.
        let s = unsafe { session_mut(session) }?;
        if s.session.is_busy() {
            return Err(scopegate_core::Error::Busy.into());
        }
        let placeholder = Session::new(Arc::clone(s.session.provider()), s.session.client().clone());
        let current = std::mem::replace(&mut s.session, placeholder);
        s.session = current.with_rights(Rights::from_bits(rights));
        Ok(())
    })
}

/// Starts an authorization with the profile's scopes (the options need a redirect URI): see
/// `scopegate_authorization`. For a profile that pushes its requests (`[authorization] par =
/// true`, RFC 9126) the push is the operation in flight: the authorization's URL is empty, send
/// what `scopegate_session_poll_transmit` gives, and `SCOPEGATE_EVENT_KIND_AUTHORIZATION_READY`
/// says when `scopegate_session_authorization_url` has the browser URL (keep the pending
/// authorization as usual).
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_session_start_authorization(
    session: *mut scopegate_session,
    now: u64,
    out: *mut *mut scopegate_authorization,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live session and a writable `out`, or NULL, by contract.
        let out = unsafe { Out::new(out, "out") }?;
        let start = unsafe { session_mut(session) }?.session.start_authorization(at(now))?;
        out.write(into_handle(scopegate_authorization::from(start)));
        Ok(())
    })
}

/// Writes the browser URL of the authorization pushed last (RFC 9126: only `client_id` and the
/// `request_uri`) into `buf` like every text output, while its `request_uri` lives:
/// `SCOPEGATE_RESULT_AUTHORIZATION_EXPIRED` after its `expires_in` (start again),
/// `SCOPEGATE_RESULT_USAGE` when none was pushed (or its answer is not in yet).
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_session_authorization_url(
    session: *mut scopegate_session,
    now: u64,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live session and an output buffer, or NULL, by contract.
        let out = unsafe { OutText::new(buf, len, out_n) }?;
        let url = unsafe { session_mut(session) }?.session.authorization_url(at(now))?;
        out.write(url.as_bytes())
    })
}

/// Checks the authorization callback (`callback`: the URL the browser came back to, or its
/// query) against `pending` (`pending_len` bytes from `scopegate_authorization_pending`) and
/// starts the code exchange: then send what `scopegate_session_poll_transmit` gives.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_session_handle_callback(
    session: *mut scopegate_session,
    now: u64,
    pending: *const c_char,
    pending_len: usize,
    callback: *const c_char,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live session, `pending_len` readable bytes, a NUL-terminated callback.
        let s = unsafe { session_mut(session) }?;
        let mut pending = unsafe { pending_from(pending, pending_len) }?;
        let callback = unsafe { cstr(callback, "callback") }?;
        Ok(s.session.handle_callback(at(now), &mut pending, callback)?)
    })
}

/// Starts the client credentials grant (a token for the app itself) with these scopes
/// (separated by spaces; NULL: the profile's default).
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_session_client_credentials(
    session: *mut scopegate_session,
    now: u64,
    scopes: *const c_char,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live session and a NUL-terminated string, or NULL, by contract.
        let s = unsafe { session_mut(session) }?;
        let scopes = unsafe { crate::boundary::opt_cstr(scopes, "scopes") }?.unwrap_or("");
        let scopes: Vec<String> = scopes.split_whitespace().map(str::to_owned).collect();
        {
            let _ = now; // the C signature takes `now` like every session call; this one needs none
            Ok(s.session.client_credentials(&scopes)?)
        }
    })
}

/// Starts a refresh now, whatever the expiry. A dead grant, a refresh token past its lifetime
/// or an expired user token without a refresh token give
/// `SCOPEGATE_RESULT_REAUTHORIZATION_REQUIRED` without a request (and events say so).
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_session_refresh(session: *mut scopegate_session, now: u64) -> scopegate_result {
    // SAFETY: NULL or a live session, by contract.
    guard(|| Ok(unsafe { session_mut(session) }?.session.refresh(at(now))?))
}

/// Starts the revocation (or remove-application) call for the held token. On success
/// `SCOPEGATE_EVENT_KIND_REVOKED` comes and the session holds no token (delete the stored one).
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_session_revoke(session: *mut scopegate_session, now: u64) -> scopegate_result {
    // SAFETY: NULL or a live session, by contract.
    guard(|| Ok(unsafe { session_mut(session) }?.session.revoke(at(now))?))
}

/// Writes the held token set, serialized (versioned JSON, the form every store keeps), into
/// `buf` like every text output. It holds the tokens: store it safely.
/// `SCOPEGATE_RESULT_NOT_AUTHORIZED` when no token is held.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_session_tokens(
    session: *mut scopegate_session,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live session and an output buffer, or NULL, by contract.
        let out = unsafe { OutText::new(buf, len, out_n) }?;
        let s = unsafe { session_mut(session) }?;
        let Some(tokens) = s.session.tokens() else {
            return Err(scopegate_core::Error::NotAuthorized {
                provider: s.session.provider().id().to_owned(),
                account: s.session.account().to_owned(),
            }
            .into());
        };
        out.write(Zeroizing::new(tokens.to_json()).as_bytes())
    })
}

/// Gives the session a token set read back from storage (`len` bytes written by
/// `scopegate_session_tokens`). It must belong to this provider (and account, when the session
/// names one). `SCOPEGATE_RESULT_SERIALIZATION` when unreadable or written by a newer version.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_session_set_tokens(
    session: *mut scopegate_session,
    tokens: *const c_char,
    len: usize,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live session and `len` readable bytes, or NULL, by contract.
        let s = unsafe { session_mut(session) }?;
        let json = unsafe { text(tokens, len, "tokens") }?;
        let tokens = TokenSet::from_json(json).map_err(scopegate_core::Error::from)?;
        Ok(s.session.set_tokens(Some(tokens))?)
    })
}

/// Forgets the held token set, without telling the provider. `SCOPEGATE_RESULT_BUSY` while an
/// operation is in flight (its answer would bring a token set back): hand the answer in first.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_session_forget(session: *mut scopegate_session) -> scopegate_result {
    guard(|| {
        // SAFETY: NULL or a live session, by contract.
        let s = unsafe { session_mut(session) }?;
        s.session.forget()?;
        Ok(())
    })
}

/// Writes the account the held tokens belong to (Yotpo: the store's `app_key` from the
/// callback; else the options' account, or `default`) into `buf` like every text output.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_session_account(
    session: *mut scopegate_session,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live session and an output buffer, or NULL, by contract.
        let out = unsafe { OutText::new(buf, len, out_n) }?;
        out.write(unsafe { session_mut(session) }?.session.account().as_bytes())
    })
}

/// Whether an operation is in flight (false for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn scopegate_session_is_busy(session: *const scopegate_session) -> bool {
    // SAFETY: NULL or a live session, by contract.
    guard_value(false, || unsafe { session.as_ref() }.is_some_and(|s| s.session.is_busy()))
}

/// Whether `scopegate_session_refresh` should be called before the next API request: the
/// access token expires within the refresh margin, or has expired (false for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn scopegate_session_needs_refresh(session: *const scopegate_session, now: u64) -> bool {
    // SAFETY: NULL or a live session, by contract.
    guard_value(false, || unsafe { session.as_ref() }.is_some_and(|s| s.session.needs_refresh(at(now))))
}

/// Starts the device authorization grant (RFC 8628) on a session, with these scopes (separated
/// by spaces; NULL: the profile's). Send what `scopegate_session_poll_transmit` gives; once the
/// answer is in, `SCOPEGATE_EVENT_KIND_USER_CODE` says what to show the user
/// (`scopegate_session_user_code`); the session then polls the token endpoint through its timer
/// (`scopegate_session_poll_timeout`, `_handle_timeout`, `_poll_transmit`) until
/// `SCOPEGATE_EVENT_KIND_TOKENS_CHANGED`, or `SCOPEGATE_EVENT_KIND_FAILED` with
/// `SCOPEGATE_RESULT_AUTHORIZATION_DENIED` (the user refused) or
/// `SCOPEGATE_RESULT_AUTHORIZATION_EXPIRED` (the code expired). The request is built (and, for
/// `private_key_jwt`, signed) at `now`.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_session_start_device_authorization(
    session: *mut scopegate_session,
    now: u64,
    scopes: *const c_char,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live session and a NUL-terminated string, or NULL, by contract.
        let s = unsafe { session_mut(session) }?;
        let scopes: Option<Vec<String>> =
            unsafe { opt_cstr(scopes, "scopes") }?.map(|list| list.split_whitespace().map(str::to_owned).collect());
        Ok(s.session.start_device_authorization(at(now), scopes.as_deref())?)
    })
}

/// Points `*out` at what the last `SCOPEGATE_EVENT_KIND_USER_CODE` event of this session
/// announced (valid until the session's next such event, or its free).
/// `SCOPEGATE_RESULT_NOT_FOUND` when there was none.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_session_user_code(
    session: *mut scopegate_session,
    out: *mut *const scopegate_user_code,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live session and a writable `out`, or NULL, by contract.
        let out = unsafe { Out::new(out, "out") }?;
        let s = unsafe { session_mut(session) }?;
        let view = s.user_code.as_ref().ok_or_else(|| {
            Failure::new(
                scopegate_result::NotFound,
                "no device authorization has announced a user code on this session",
            )
        })?;
        out.write(view.as_ptr());
        Ok(())
    })
}
