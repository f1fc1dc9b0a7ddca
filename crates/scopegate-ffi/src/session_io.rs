//! A session's I/O as values: the next request as a view, the answer or the failure handed
//! back, the timer, the events, and API requests.

use std::ffi::c_char;

use scopegate_core::{ApiRequestId, Error, Event, HttpResponse, NextStep, ReauthorizationReason, Revoked, UsageError};

use crate::boundary::{FailureArg, Out, bytes, cbytes, cstr, guard, handle, slice};
use crate::failure::Failure;
use crate::http::{RequestView, scopegate_header, scopegate_http_request, scopegate_transport_failure};
use crate::last_error;
use crate::result::scopegate_result;
use crate::session::{API_IDS_KEPT, at, scopegate_session, session_mut};

/// What `scopegate_session_poll_timeout` writes when no timer is due.
pub const SCOPEGATE_NO_TIMEOUT: u64 = u64::MAX;

/// What happened in a session.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum scopegate_event_kind {
    /// No event is waiting.
    None = 0,
    /// The token set changed (new tokens, a dead-grant mark, the 401 count): persist
    /// `scopegate_session_tokens` before using them, so a rotated refresh token is never lost.
    TokensChanged = 1,
    /// Only a new authorization by the user (for Yotpo: a re-install) helps now; `reason` says
    /// why.
    ReauthorizationRequired = 2,
    /// The revocation succeeded; the session holds no token: delete the stored one.
    Revoked = 3,
    /// The provider granted fewer scopes than were asked for (the token set keeps the granted
    /// ones).
    ScopesNarrowed = 4,
    /// The operation in flight failed: `result` says how, and the calling thread's last error
    /// has the detail (the provider's `error` and `error_description` included).
    Failed = 5,
    /// A device authorization (`scopegate_session_start_device_authorization`) was accepted:
    /// show the user what `scopegate_session_user_code` points at. The session polls meanwhile.
    UserCode = 6,
    /// The pushed authorization request (PAR) was accepted: send the user's browser to
    /// `scopegate_session_authorization_url` before it expires.
    AuthorizationReady = 7,
}

/// Why only a new authorization helps.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum scopegate_reauthorization_reason {
    /// Not a re-authorization event.
    None = 0,
    /// A refresh was answered `invalid_grant`: the refresh token is dead.
    InvalidGrant = 1,
    /// The refresh token's own lifetime has passed.
    RefreshTokenExpired = 2,
    /// The profile's limit of consecutive 401 answers was reached (Yotpo: 3).
    RepeatedUnauthorized = 3,
    /// A user's access token expired and there is no refresh token.
    NoRefreshToken = 4,
}

impl From<ReauthorizationReason> for scopegate_reauthorization_reason {
    fn from(r: ReauthorizationReason) -> Self {
        match r {
            ReauthorizationReason::InvalidGrant => Self::InvalidGrant,
            ReauthorizationReason::RefreshTokenExpired => Self::RefreshTokenExpired,
            ReauthorizationReason::RepeatedUnauthorized { .. } => Self::RepeatedUnauthorized,
            ReauthorizationReason::NoRefreshToken => Self::NoRefreshToken,
        }
    }
}

/// One event of `scopegate_session_poll_event`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct scopegate_event {
    /// What happened; `SCOPEGATE_EVENT_KIND_NONE` when no event is waiting.
    pub kind: scopegate_event_kind,
    /// `FAILED`: the failure's result; otherwise `SCOPEGATE_RESULT_OK`.
    pub result: scopegate_result,
    /// `REAUTHORIZATION_REQUIRED`: why; otherwise `SCOPEGATE_REAUTHORIZATION_REASON_NONE`.
    pub reason: scopegate_reauthorization_reason,
    /// `REVOKED`: the provider said the app was already uninstalled.
    pub already_gone: bool,
}

/// What to do after an API answer (`scopegate_session_handle_api_response`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum scopegate_next_step {
    /// Hand the answer to the caller.
    Done = 1,
    /// A 401: refresh (`scopegate_session_refresh`, driven to its end), then send the request
    /// again (a new `scopegate_session_api_request`), once.
    RefreshAndRetry = 2,
    /// A 401 for a token replaced meanwhile: send the request again with the current one.
    Retry = 3,
    /// Only a new authorization helps (Yotpo: the third 401 in a row).
    Reauthorize = 4,
    /// The resource asked for a DPoP nonce (RFC 9449 §9; `scopegate_session_handle_api_answer`
    /// only): build the request again (a new `scopegate_session_api_request`: its proof now
    /// carries the nonce) and send it, once.
    RetryWithNonce = 5,
}

/// The next request to send for the operation in flight: `*out_request` points at a read-only
/// view (valid until the next `scopegate_session_poll_transmit` on this session, or its free)
/// and `*out_id` is the id to hand its answer back with. `*out_request` is NULL (and `*out_id`
/// 0) when nothing is to be sent now: no operation, an answer awaited, or a back-off not over.
/// Send it as it is, never following a redirect.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_session_poll_transmit(
    session: *mut scopegate_session,
    now: u64,
    out_request: *mut *const scopegate_http_request,
    out_id: *mut u64,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live session and writable out-parameters, or NULL, by contract.
        let out_request = unsafe { Out::new(out_request, "out_request") }?;
        let out_id = unsafe { Out::new(out_id, "out_id") }?;
        let s = unsafe { session_mut(session) }?;
        match s.session.poll_transmit(at(now)) {
            Some((id, request)) => {
                let view = RequestView::new(&request);
                s.sent = Some((id, view.host().to_owned()));
                out_request.write(view.as_ptr());
                out_id.write(id.as_u64());
                s.transmit_view = Some(view);
            }
            None => {
                out_request.write(std::ptr::null());
                out_id.write(0);
            }
        }
        Ok(())
    })
}

fn sent(s: &mut scopegate_session, id: u64) -> Result<(scopegate_core::RequestId, String), Failure> {
    match s.sent.take() {
        Some((rid, host)) if rid.as_u64() == id => Ok((rid, host)),
        other => {
            s.sent = other;
            Err(Error::from(UsageError::NotWaitingForResponse).into())
        }
    }
}

/// Hands back the answer to request `id`, whatever its status: `status`, `headers_len` headers
/// (NULL when 0) and `body_len` bytes of body. Header names and values are the bytes received:
/// a value that is not UTF-8 is read as ISO-8859-1 and a name that is not UTF-8 is dropped, never
/// the answer. Then read the events, and poll again: a
/// `Retry-After` back-off makes the session wait (`scopegate_session_poll_timeout`).
/// `SCOPEGATE_RESULT_USAGE` when `id` is not the request awaited (answered already, say).
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_session_handle_response(
    session: *mut scopegate_session,
    now: u64,
    id: u64,
    status: u16,
    headers: *const scopegate_header,
    headers_len: usize,
    body: *const u8,
    body_len: usize,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live session, `headers_len` headers of NUL-terminated strings and
        // `body_len` readable bytes, or NULL, by contract.
        let s = unsafe { session_mut(session) }?;
        // Bytes as they came: one odd header never costs the answer (a rotated refresh token
        // may be in it).
        let response = unsafe { response_of(status, headers, headers_len, body, body_len) }?;
        let (rid, _) = sent(s, id)?;
        Ok(s.session.handle_response(at(now), rid, response)?)
    })
}

/// Request `id` could not be completed: `failure` says whether it may have reached the server
/// (a failure before anything was sent is retried, up to 3 tries; after, never: a code or
/// refresh token may be spent). `reason` (may be NULL) goes into messages: no secrets.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_session_handle_transport_error(
    session: *mut scopegate_session,
    now: u64,
    id: u64,
    failure: FailureArg,
    reason: *const c_char,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live session and a NUL-terminated reason, or NULL, by contract.
        let s = unsafe { session_mut(session) }?;
        let kind = scopegate_transport_failure::from_arg(failure)?;
        let reason = unsafe { crate::boundary::opt_cstr(reason, "reason") }?.unwrap_or("");
        let (rid, host) = sent(s, id)?;
        let error = kind.error(&host, reason, scopegate_core::http::MAX_RESPONSE_BYTES);
        Ok(s.session.handle_transport_error(at(now), rid, error)?)
    })
}

/// Writes to `*out_at` when (Unix seconds) `scopegate_session_handle_timeout` must be called
/// next: the end of a `Retry-After` back-off, or when a refresh is due; `SCOPEGATE_NO_TIMEOUT`
/// when no timer is set.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_session_poll_timeout(
    session: *const scopegate_session,
    out_at: *mut u64,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live session and a writable `out_at`, or NULL, by contract.
        let out_at = unsafe { Out::new(out_at, "out_at") }?;
        let s = unsafe { handle(session, "session") }?;
        out_at.write(s.session.poll_timeout().map_or(SCOPEGATE_NO_TIMEOUT, |t| t.as_unix_secs()));
        Ok(())
    })
}

/// Runs what is due at `now`: ends a back-off (poll again), starts a refresh that is due, or
/// reports an expired token that cannot be renewed (events).
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_session_handle_timeout(
    session: *mut scopegate_session,
    now: u64,
) -> scopegate_result {
    guard(|| {
        // SAFETY: NULL or a live session, by contract.
        unsafe { session_mut(session) }?.session.handle_timeout(at(now));
        Ok(())
    })
}

/// Writes the next event to `*out` (`SCOPEGATE_EVENT_KIND_NONE` when none waits). Drain them after
/// every call. A `FAILED` event also becomes the calling thread's last error.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_session_poll_event(
    session: *mut scopegate_session,
    out: *mut scopegate_event,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live session and a writable `out`, or NULL, by contract.
        let out = unsafe { Out::new(out, "out") }?;
        let s = unsafe { session_mut(session) }?;
        let mut event = scopegate_event {
            kind: scopegate_event_kind::None,
            result: scopegate_result::Ok,
            reason: scopegate_reauthorization_reason::None,
            already_gone: false,
        };
        match s.session.poll_event() {
            None => {}
            Some(Event::TokensChanged) => event.kind = scopegate_event_kind::TokensChanged,
            Some(Event::ReauthorizationRequired(r)) => {
                event.kind = scopegate_event_kind::ReauthorizationRequired;
                event.reason = r.into();
            }
            Some(Event::Revoked(r)) => {
                event.kind = scopegate_event_kind::Revoked;
                event.already_gone = r == Revoked::AlreadyGone;
            }
            Some(Event::ScopesNarrowed { .. }) => event.kind = scopegate_event_kind::ScopesNarrowed,
            Some(Event::Failed(e)) => {
                event.kind = scopegate_event_kind::Failed;
                event.result = last_error::record(Failure::from(e));
            }
            Some(Event::UserCode(code)) => {
                event.kind = scopegate_event_kind::UserCode;
                s.user_code = Some(crate::device::UserCodeView::new(&code));
            }
            Some(Event::AuthorizationReady { .. }) => event.kind = scopegate_event_kind::AuthorizationReady,
            // An event added to the core after this ABI: reported as a change to persist.
            Some(_) => event.kind = scopegate_event_kind::TokensChanged,
        }
        out.write(event);
        Ok(())
    })
}

/// Builds an API request with the held access token: `method` on `path` (under the API base, an
/// absolute path, or a full URL inside the profile's API) with `body_len` bytes of JSON (or
/// none). Refused before any I/O when the URL leaves the profile's API
/// (`SCOPEGATE_RESULT_ORIGIN_REFUSED`), the rights set with `scopegate_session_set_rights` do not
/// allow it, no token is held, or the token has expired (`SCOPEGATE_RESULT_TOKEN_EXPIRED`:
/// refresh first). `*out_request` is a view valid until the next
/// `scopegate_session_api_request` on this session, or its free; hand the answer's status back
/// with `*out_id` to `scopegate_session_handle_api_response`.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_session_api_request(
    session: *mut scopegate_session,
    now: u64,
    method: *const c_char,
    path: *const c_char,
    body: *const u8,
    body_len: usize,
    out_request: *mut *const scopegate_http_request,
    out_id: *mut u64,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live session, NUL-terminated strings, `body_len` readable bytes and writable
        // out-parameters, or NULL, by contract.
        let out_request = unsafe { Out::new(out_request, "out_request") }?;
        let out_id = unsafe { Out::new(out_id, "out_id") }?;
        let s = unsafe { session_mut(session) }?;
        let method = crate::boundary::method(unsafe { cstr(method, "method") }?)?;
        let path = unsafe { cstr(path, "path") }?;
        let body = if body.is_null() && body_len == 0 { None } else { Some(unsafe { bytes(body, body_len, "body") }?) };
        let (api_id, request) = s.session.api_request(at(now), method, path, body)?;
        // Kept for the answer: the method and URL only (the nonce is per origin).
        let bare = scopegate_core::HttpRequest::new(request.method(), request.url().clone());
        let same =
            |a: &ApiRequestId, r: &scopegate_core::HttpRequest| *a == api_id && r.url().origin() == bare.url().origin();
        let number = match s.api_ids.iter().find(|(_, a, r)| same(a, r)) {
            Some((n, _, _)) => *n,
            None => {
                let n = s.next_api_id;
                s.next_api_id += 1;
                s.api_ids.push((n, api_id, bare));
                if s.api_ids.len() > API_IDS_KEPT {
                    s.api_ids.remove(0);
                }
                n
            }
        };
        let view = RequestView::new(&request);
        out_request.write(view.as_ptr());
        out_id.write(number);
        s.api_view = Some(view);
        Ok(())
    })
}

/// Hands back the status of the answer to API request `id` and writes what to do next to
/// `*out_step` (a 401 counts towards the profile's repeated-401 rule; read the events: the
/// count is part of the token set).
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_session_handle_api_response(
    session: *mut scopegate_session,
    now: u64,
    id: u64,
    status: u16,
    out_step: *mut scopegate_next_step,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live session and a writable `out_step`, or NULL, by contract.
        let out_step = unsafe { Out::new(out_step, "out_step") }?;
        let s = unsafe { session_mut(session) }?;
        let (api_id, _) = api_request_of(s, id)?;
        let _ = now; // accepted like every session call; the status needs no time
        out_step.write(next_step(s.session.handle_api_response(api_id, status)));
        Ok(())
    })
}

/// The session's id and URL of the API request C knows as `id`.
fn api_request_of(s: &scopegate_session, id: u64) -> Result<(ApiRequestId, scopegate_core::HttpRequest), Failure> {
    s.api_ids
        .iter()
        .find(|(n, _, _)| *n == id)
        .map(|(_, a, u)| (*a, u.clone()))
        .ok_or_else(|| Failure::invalid("id", "not an api request id this session gave out (or a very old one)"))
}

fn next_step(step: NextStep) -> scopegate_next_step {
    match step {
        NextStep::Done => scopegate_next_step::Done,
        NextStep::RefreshAndRetry => scopegate_next_step::RefreshAndRetry,
        NextStep::Retry => scopegate_next_step::Retry,
        NextStep::Reauthorize(_) => scopegate_next_step::Reauthorize,
        NextStep::RetryWithNonce => scopegate_next_step::RetryWithNonce,
        // A step added to the core after this ABI: the safe default is to stop.
        _ => scopegate_next_step::Done,
    }
}

/// `scopegate_session_handle_api_response` with the whole answer (headers as for
/// `scopegate_session_handle_response`): for a DPoP-bound token (RFC 9449) the server's nonce is
/// learned (the next proof carries it) and a nonce challenge is
/// `SCOPEGATE_NEXT_STEP_RETRY_WITH_NONCE` rather than a 401 of the token. Use it for every API
/// answer of a DPoP profile.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_session_handle_api_answer(
    session: *mut scopegate_session,
    now: u64,
    id: u64,
    status: u16,
    headers: *const scopegate_header,
    headers_len: usize,
    body: *const u8,
    body_len: usize,
    out_step: *mut scopegate_next_step,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live session, `headers_len` headers of NUL-terminated strings, `body_len`
        // readable bytes and a writable `out_step`, or NULL, by contract.
        let out_step = unsafe { Out::new(out_step, "out_step") }?;
        let s = unsafe { session_mut(session) }?;
        let response = unsafe { response_of(status, headers, headers_len, body, body_len) }?;
        let (api_id, sent) = api_request_of(s, id)?;
        let _ = now; // accepted like every session call; the answer needs no time
        out_step.write(next_step(s.session.handle_api_answer(api_id, &sent, &response)));
        Ok(())
    })
}

/// An answer as C hands it in: status, headers (bytes as received), body.
///
/// # Safety
/// `headers` is NULL or points to `headers_len` headers of NUL-terminated strings; `body` is
/// NULL or points to `body_len` readable bytes.
unsafe fn response_of(
    status: u16,
    headers: *const scopegate_header,
    headers_len: usize,
    body: *const u8,
    body_len: usize,
) -> Result<HttpResponse, Failure> {
    // SAFETY: by the caller's promise.
    let headers = unsafe { slice(headers, headers_len, "headers") }?;
    // SAFETY: by the caller's promise.
    let body = unsafe { bytes(body, body_len, "body") }?;
    let mut response = HttpResponse::new(status, body.to_vec());
    for h in headers {
        // Bytes as they came: one odd header never costs the answer.
        // SAFETY: NUL-terminated by the caller's promise.
        let name = unsafe { cbytes(h.name, "headers[].name") }?;
        let value = unsafe { cbytes(h.value, "headers[].value") }?;
        response = response.with_header_bytes(name, value);
    }
    Ok(response)
}
