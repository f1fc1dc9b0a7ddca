//! The operation in flight: its request, retries, back-off timer and outcome.

use std::fmt;

use super::rules::refresh_due_at;
use super::work::{DeviceWork, Phase, PushWork, RequestId};
use super::{Event, Session};
use crate::dpop::DpopKey;
use crate::error::Error;
use crate::flow::{FlowError, TokenFlow};
use crate::http::{HttpRequest, HttpResponse};
use crate::revoke::RevocationFlow;
use crate::time::Timestamp;
use crate::token::ReauthorizationReason;
use crate::transport::TransportError;
use crate::usage::UsageError;

/// At most this many attempts for one request (the first included).
pub const MAX_TRIES: u32 = 3;
/// At most this many seconds of `Retry-After` waiting for one request, in all.
pub const MAX_RETRY_WAIT_SECS: u64 = 30;
/// After an automatic refresh fails (and the grant is not dead), it is tried again after this
/// many seconds, doubling up to [`MAX_REFRESH_BACKOFF_SECS`].
pub(crate) const REFRESH_BACKOFF_SECS: u64 = 30;
/// The longest pause between automatic refresh attempts.
pub(crate) const MAX_REFRESH_BACKOFF_SECS: u64 = 600;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpKind {
    Exchange,
    ClientCredentials,
    Refresh,
    Revoke,
    /// A pushed authorization request (RFC 9126).
    Push,
    /// The device authorization grant (RFC 8628): its request, then the polls.
    Device,
}

pub(super) enum Work {
    Token(Box<TokenFlow>),
    Revoke(Option<RevocationFlow>),
    Push(Box<PushWork>),
    Device(Box<DeviceWork>),
}

/// One operation: a token request, a revocation, a push or a device authorization, with its
/// retries.
pub(crate) struct Op {
    pub(super) kind: OpKind,
    /// The scopes asked for (token requests).
    pub(super) requested: Vec<String>,
    pub(super) work: Work,
    pub(super) request: Option<HttpRequest>,
    pub(super) phase: Phase,
    pub(super) tries: u32,
    pub(super) waited: u64,
    /// The account's DPoP key the requests are proven with (RFC 9449), and the token set gets.
    pub(super) dpop: Option<DpopKey>,
    /// Whether a DPoP nonce challenge was answered already (it is retried once).
    pub(super) nonce_retried: bool,
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Op")
            .field("kind", &self.kind)
            .field("phase", &self.phase)
            .field("tries", &self.tries)
            .field("waited", &self.waited)
            .finish_non_exhaustive()
    }
}

impl Op {
    pub(super) fn new(kind: OpKind, requested: Vec<String>, work: Work, dpop: Option<DpopKey>) -> Op {
        Op {
            kind,
            requested,
            work,
            request: None,
            phase: Phase::Ready,
            tries: 0,
            waited: 0,
            dpop,
            nonce_retried: false,
        }
    }

    /// A token request proven with the account's DPoP key (when there is one).
    pub(crate) fn token_with_dpop(kind: OpKind, flow: TokenFlow, dpop: Option<DpopKey>) -> Op {
        let requested = flow.requested_scopes().to_vec();
        Op::new(kind, requested, Work::Token(Box::new(flow)), dpop)
    }

    pub(crate) fn revoke(flow: RevocationFlow) -> Op {
        let request = Some(flow.request().clone());
        Op { request, ..Op::new(OpKind::Revoke, Vec::new(), Work::Revoke(Some(flow)), None) }
    }

    /// Makes the request sent last ready to be built (and signed) again.
    fn rearm(&mut self) {
        match &mut self.work {
            Work::Token(flow) => {
                if flow.resend() {
                    self.request = None;
                }
            }
            Work::Revoke(_) => {}
            Work::Push(push) => {
                push.rearm();
                self.request = None;
            }
            Work::Device(device) => {
                device.rearm();
                self.request = None;
            }
        }
    }

    /// Whether the request carries something signed with the time (an assertion, a DPoP
    /// proof): sent again after it may have arrived, it is signed again.
    fn signs(&self) -> bool {
        match &self.work {
            Work::Token(flow) => self.dpop.is_some() || flow.signs(),
            Work::Revoke(_) => false,
            Work::Push(_) | Work::Device(_) => true,
        }
    }
}

/// `Retry-After` of a 429/503 answer, in whole seconds (the HTTP-date form is not honoured).
fn retry_after(response: &HttpResponse) -> Option<u64> {
    if !matches!(response.status(), 429 | 503) {
        return None;
    }
    let v = response.header("retry-after")?.trim();
    if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Saturating: a value beyond u64 is "forever", which is over the bound anyway.
    Some(v.parse::<u64>().unwrap_or(u64::MAX))
}

impl Session {
    /// The next request to send, with the id to hand its answer back with. `None` when nothing
    /// is to be sent now (no operation, an answer awaited, or a back-off not yet over).
    pub fn poll_transmit(&mut self, now: Timestamp) -> Option<(RequestId, HttpRequest)> {
        let op = self.op.as_mut()?;
        match op.phase {
            Phase::Ready => {}
            Phase::Waiting(at) if now >= at => {}
            _ => return None,
        }
        if op.request.is_none() {
            let built = match &mut op.work {
                Work::Token(flow) => {
                    let nonce = self.provider.token_url().and_then(|u| self.nonces.authorization_server.get(u));
                    let req = match &op.dpop {
                        Some(key) => flow.poll_transmit_with_dpop(now, key, nonce),
                        None => flow.poll_transmit(now),
                    };
                    // None: signing failed, and the flow holds the error.
                    req.ok_or_else(|| match flow.poll_outcome() {
                        Some(Err(e)) => Error::Flow(e),
                        _ => UsageError::NotWaitingForResponse.into(),
                    })
                    .map(Some)
                }
                Work::Revoke(_) => Err(UsageError::NotWaitingForResponse.into()),
                Work::Push(push) => {
                    let nonce = self.provider.par_url().and_then(|u| self.nonces.authorization_server.get(u));
                    push.request(&self.provider, &self.client, now, op.dpop.as_ref(), nonce).map(Some)
                }
                Work::Device(device) => {
                    let nonce = self.provider.token_url().and_then(|u| self.nonces.authorization_server.get(u));
                    device.request(&self.provider, &self.client, now, op.dpop.as_ref(), nonce)
                }
            };
            match built {
                Ok(Some(req)) => op.request = Some(req),
                Ok(None) => return None, // a poll that is not due yet
                Err(e) => {
                    // Nothing can be sent: the operation ends with why.
                    self.op = None;
                    self.events.push_back(Event::Failed(e));
                    return None;
                }
            }
        }
        let request = op.request.clone()?;
        let id = RequestId(self.next_request);
        self.next_request += 1;
        op.phase = Phase::Sent(id);
        op.tries += 1;
        Some((id, request))
    }

    fn sent_op(&self, id: RequestId) -> Result<(), Error> {
        match &self.op {
            Some(op) if op.phase == Phase::Sent(id) => Ok(()),
            _ => Err(UsageError::NotWaitingForResponse.into()),
        }
    }

    /// The answer to the request `id` (whatever its status).
    pub fn handle_response(&mut self, now: Timestamp, id: RequestId, response: HttpResponse) -> Result<(), Error> {
        self.sent_op(id)?;
        let op = self.op.as_mut().expect("checked");
        if op.dpop.is_some() {
            // RFC 9449 §8: every answer may bring the server's next nonce; a `use_dpop_nonce`
            // refusal is answered once, with a request proven (and signed) anew.
            let url = op.request.as_ref().map(|r| r.url().clone());
            let challenge = url.is_some_and(|u| self.nonces.authorization_server.learn(&u, &response));
            if challenge && !op.nonce_retried {
                op.nonce_retried = true;
                op.rearm();
                if op.request.is_none() {
                    op.phase = Phase::Ready;
                    return Ok(());
                }
            }
        }
        if let Some(wait) = retry_after(&response) {
            let total = op.waited.saturating_add(wait);
            if op.tries < MAX_TRIES && total <= MAX_RETRY_WAIT_SECS {
                op.waited = total;
                op.phase = Phase::Waiting(now.plus_secs(wait));
                if op.signs() {
                    // It may have arrived: its assertion's `jti` and its proof are spent.
                    op.rearm();
                }
                return Ok(());
            }
        }
        let op = self.op.take().expect("checked");
        self.finish(now, op, Ok(response));
        Ok(())
    }

    /// The request `id` could not be completed. A failure before anything was sent is retried
    /// (3 tries in all); one after which the request may have arrived is not: a code or a
    /// refresh token may already be spent.
    pub fn handle_transport_error(
        &mut self,
        now: Timestamp,
        id: RequestId,
        error: TransportError,
    ) -> Result<(), Error> {
        self.sent_op(id)?;
        let op = self.op.as_mut().expect("checked");
        if !error.may_have_been_sent() && op.tries < MAX_TRIES {
            op.phase = Phase::Ready;
            return Ok(());
        }
        if let Work::Device(device) = &mut op.work {
            // A lost poll changes nothing on the server: polling goes on at the next interval,
            // unless the polls keep failing.
            if op.tries < MAX_TRIES && device.lost_poll(now) {
                op.request = None;
                op.phase = device.next_phase();
                return Ok(());
            }
        }
        let op = self.op.take().expect("checked");
        self.finish(now, op, Err(error));
        Ok(())
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next: the end of a
    /// `Retry-After` back-off, or, with no operation in flight, the moment a refresh is due (or
    /// an unrenewable token expires). `None`: no timer.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        if let Some(op) = &self.op {
            return match op.phase {
                Phase::Waiting(at) => Some(at),
                _ => None,
            };
        }
        let c = self.conn.as_ref()?;
        let t = c.tokens();
        if t.invalidated.is_some() {
            return None;
        }
        let due = if c.renewable(&self.provider) { refresh_due_at(t, self.margin)? } else { t.expires_at? };
        Some(match self.refresh_retry {
            Some((at, _)) => due.max(at),
            None => due,
        })
    }

    /// Runs what is due at `now`: ends a back-off (the request is sent again by
    /// [`poll_transmit`](Self::poll_transmit)), starts a refresh that is due, or reports an
    /// expired token that cannot be renewed.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if let Some(op) = &mut self.op {
            if let Phase::Waiting(at) = op.phase {
                if now >= at {
                    op.phase = Phase::Ready;
                }
            }
            return;
        }
        match self.poll_timeout() {
            Some(at) if now >= at => {}
            _ => return,
        }
        if let Err(e) = self.refresh(now) {
            // A dead grant was reported by events already; anything else is a failure to report.
            if !matches!(e, Error::ReauthorizationRequired { .. }) {
                self.note_refresh_failure(now);
                self.events.push_back(Event::Failed(e));
            }
        }
    }

    fn note_refresh_failure(&mut self, now: Timestamp) {
        let failures = self.refresh_retry.map_or(0, |(_, n)| n).saturating_add(1);
        let pause = REFRESH_BACKOFF_SECS
            .saturating_mul(1u64.checked_shl(failures.saturating_sub(1)).unwrap_or(u64::MAX))
            .min(MAX_REFRESH_BACKOFF_SECS);
        self.refresh_retry = Some((now.plus_secs(pause), failures));
    }

    fn finish(&mut self, now: Timestamp, op: Op, outcome: Result<HttpResponse, TransportError>) {
        match op.work {
            Work::Token(mut flow) => {
                let handled = match outcome {
                    Ok(response) => flow.handle_response(now, response),
                    Err(e) => flow.handle_transport_error(now, &e.to_string()),
                };
                let result = match handled {
                    Ok(()) => flow.poll_outcome().unwrap_or(Err(UsageError::NotWaitingForResponse.into())),
                    Err(e) => Err(FlowError::Usage(e)),
                };
                self.token_outcome(now, op.kind, &op.requested, result, op.dpop);
            }
            Work::Push(push) => self.push_outcome(now, *push, outcome),
            Work::Device(device) => {
                let op = Op { work: Work::Revoke(None), ..op };
                self.device_outcome(now, op, *device, outcome);
            }
            Work::Revoke(flow) => {
                let Some(flow) = flow else { return };
                match outcome {
                    Ok(response) => match flow.handle_response(&response) {
                        Ok(done) => {
                            // The revocation's own operation has ended (it was taken out).
                            self.drop_tokens();
                            self.events.push_back(Event::Revoked(done));
                        }
                        Err(e) => self.events.push_back(Event::Failed(Error::Revocation(e))),
                    },
                    Err(e) => self.events.push_back(Event::Failed(Error::Transport(e))),
                }
            }
        }
    }

    pub(super) fn token_outcome(
        &mut self,
        now: Timestamp,
        kind: OpKind,
        requested: &[String],
        result: Result<crate::token::TokenSet, FlowError>,
        dpop: Option<DpopKey>,
    ) {
        match result {
            Ok(mut tokens) => {
                if dpop.is_some() {
                    // The tokens are bound to this key (the answer was checked to be `DPoP`).
                    tokens.dpop_key = dpop;
                }
                let narrowed = kind != OpKind::Refresh && requested.iter().any(|s| !tokens.scopes.contains(s));
                let granted = tokens.scopes.clone();
                match (kind, &mut self.conn) {
                    (OpKind::Refresh, Some(c)) => c.apply_refresh(&Ok(tokens)),
                    _ => self.conn = Some(self.connection(tokens)),
                }
                self.generation += 1;
                self.refresh_retry = None;
                self.events.push_back(Event::TokensChanged);
                if narrowed {
                    self.events.push_back(Event::ScopesNarrowed { requested: requested.to_vec(), granted });
                }
            }
            Err(e) if kind == OpKind::Refresh && e.is_invalid_grant() => {
                let oauth = match &e {
                    FlowError::Response(crate::token::TokenResponseError::Refused(o)) => Some(Box::new(o.clone())),
                    _ => None,
                };
                self.invalidate(ReauthorizationReason::InvalidGrant);
                self.events.push_back(Event::Failed(Error::ReauthorizationRequired {
                    provider: self.provider.id().to_owned(),
                    account: self.account().to_owned(),
                    reason: ReauthorizationReason::InvalidGrant,
                    oauth,
                }));
            }
            Err(e) => {
                if kind == OpKind::Refresh && self.conn.is_some() {
                    self.note_refresh_failure(now);
                }
                self.events.push_back(Event::Failed(Error::Flow(e)));
            }
        }
    }
}
