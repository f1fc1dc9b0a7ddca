//! API calls: the bearer token, one refresh and one retry on 401, and the 401 count kept in
//! the store (Yotpo's repeated-401 rule counts across processes).

use scopegate_core::{ApiRequestId, Error, Event, HttpRequest, HttpResponse, Method, NextStep, Session, TokenSet};

use super::Client;
use super::observe::{self, Op, OpSpan, Outcome, Sent};
use crate::store::Update;
use crate::store::Written;

/// What to do after an API answer.
pub(crate) enum ApiNext {
    /// Hand the answer to the caller.
    Done,
    /// Send the request again with the same token set (a DPoP nonce challenge, answered once:
    /// the session holds the nonce now).
    Resend,
    /// Send the request again with this token set.
    Again(Box<TokenSet>),
}

/// The retries an API call has made: one after a refresh (or with the current token), one with
/// a DPoP nonce.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Retries {
    refreshed: bool,
    nonce: bool,
}

impl Client {
    /// An API call: the URL must stay inside the profile's API, the permission pre-check (when
    /// rights are configured), bearer token (refreshed when due; a DPoP-bound token goes as
    /// `Authorization: DPoP` with a proof, never as Bearer, and a DPoP nonce challenge is
    /// answered once with the nonce), one refresh and one retry on 401, and the profile's
    /// repeated-401 rule (Yotpo: 3 in a row ⇒
    /// [`Error::ReauthorizationRequired`]). Everything refused is refused before any I/O. A
    /// renewed token set the store could not write is used all the same (it is kept in memory;
    /// see [`Error::NotSaved`]).
    pub fn request(&self, method: Method, path: &str, json_body: Option<&[u8]>) -> Result<HttpResponse, Error> {
        let span = OpSpan::new(Op::Api, &self.key());
        let mut sent = Sent::default();
        let result = span.run(|| self.request_in_span(method, path, json_body, &mut sent));
        span.finish(Outcome::of(&result), sent);
        self.noted(result)
    }

    fn request_in_span(
        &self,
        method: Method,
        path: &str,
        json_body: Option<&[u8]>,
        sent: &mut Sent,
    ) -> Result<HttpResponse, Error> {
        let mut s = self.api_session(method, path)?;
        let mut tokens = usable(self.access_token())?;
        s.set_tokens(Some(tokens.clone()))?;
        let mut retries = Retries::default();
        loop {
            let (id, request) = s.api_request(self.now(), method, path, json_body)?;
            sent.tries += 1;
            let response = self.transport.send(&request)?;
            sent.last_status = Some(response.status());
            let probe = self.api_probe(&mut s, id, &request, &response);
            match self.api_settle(&mut s, id, response.status(), probe, &mut retries, &tokens)? {
                ApiNext::Done => return Ok(response),
                ApiNext::Resend => {}
                ApiNext::Again(t) => {
                    tokens = *t;
                    s.set_tokens(Some(tokens.clone()))?;
                }
            }
        }
    }

    /// A session for an API call to `path`, checked before any I/O (inside the API, allowed by
    /// the rights).
    pub(crate) fn api_session(&self, method: Method, path: &str) -> Result<Session, Error> {
        let s = self.session();
        s.api_url(method, path)?;
        Ok(s)
    }

    /// The session's verdict on an API answer (a DPoP nonce it brings is kept for the next
    /// sessions), applied to the token set in memory (no I/O), and whether it changed that token
    /// set (so the store must hear of it).
    pub(crate) fn api_probe(
        &self,
        s: &mut Session,
        id: ApiRequestId,
        request: &HttpRequest,
        response: &HttpResponse,
    ) -> (NextStep, bool) {
        let step = s.handle_api_answer(id, request, response);
        self.keep_nonces(s);
        (step, changed(s))
    }

    /// What follows an API answer, once the session has judged it ([`Client::api_probe`]): a changed
    /// token set (the 401 count) is written to the store; a 401 gets one refresh (unless another
    /// caller replaced the token meanwhile) or one retry with the current token; only a new
    /// authorization helps after the profile's limit of 401s.
    pub(crate) fn api_settle(
        &self,
        s: &mut Session,
        id: ApiRequestId,
        status: u16,
        (step, changed): (NextStep, bool),
        retries: &mut Retries,
        used: &TokenSet,
    ) -> Result<ApiNext, Error> {
        if status == 401 {
            self.counters.unauthorized();
            observe::unauthorized(&self.key(), s.tokens().map_or(0, |t| t.consecutive_401));
        }
        let step = if changed { self.record_status(s, id, status, step)? } else { step };
        match step {
            NextStep::Reauthorize(reason) => {
                let key = self.key();
                Err(Error::ReauthorizationRequired {
                    provider: key.provider_id,
                    account: key.account,
                    reason,
                    oauth: None,
                })
            }
            // RFC 9449 §9: the resource asked for its DPoP nonce; the session has it now.
            NextStep::RetryWithNonce if !retries.nonce => {
                retries.nonce = true;
                Ok(ApiNext::Resend)
            }
            NextStep::RefreshAndRetry if !retries.refreshed => {
                retries.refreshed = true;
                let used = used.access_token.clone();
                // Refresh unless another caller already replaced the token we used.
                let slot = self.slot();
                let _flight = slot.flight.lock();
                let view = self.current(&slot)?;
                Ok(ApiNext::Again(Box::new(usable(self.refresh_locked(&slot, view, &|_, t| t.access_token == used))?)))
            }
            NextStep::Retry if !retries.refreshed => {
                retries.refreshed = true;
                Ok(ApiNext::Again(Box::new(usable(self.access_token())?)))
            }
            _ => Ok(ApiNext::Done),
        }
    }

    /// Writes a changed 401 count: the status is applied again to the stored row, under the
    /// key's lease, and the result written. The stored row keeps the request's id valid only
    /// while it holds the same access token: the status of a request made with a token that was
    /// replaced meanwhile changes nothing. Returns the verdict on the stored count.
    fn record_status(&self, s: &mut Session, id: ApiRequestId, status: u16, step: NextStep) -> Result<NextStep, Error> {
        let slot = self.slot();
        let _flight = slot.flight.lock();
        let view = self.current(&slot)?;
        if view.unsaved || view.unreachable.is_some() {
            // Not stored now; the count is kept in the session's memory only.
            return Ok(step);
        }
        if view.tokens.is_none() {
            // Forgotten, revoked or uninstalled by another process: no token to retry with.
            return Err(self.not_authorized());
        }
        let row = self.claim(&slot)?;
        if row.tokens.is_none() {
            let _ = self.store.release(&slot.key, &slot.owner);
            return Err(self.not_authorized());
        }
        let step = match s.set_tokens(row.tokens.clone()) {
            Ok(()) => s.handle_api_response(id, status),
            Err(e) => {
                let _ = self.store.release(&slot.key, &slot.owner);
                return Err(e);
            }
        };
        match (changed(s), s.tokens()) {
            (true, Some(t)) => {
                let t = t.clone();
                match self.store.write(&slot.key, &slot.owner, row.version, &Update::Put(Box::new(t.clone())))? {
                    Written::Done(v) => {
                        self.notify(&slot.key, &t, true);
                        slot.set(Some(t), v);
                    }
                    Written::Conflict(now) => slot.set_row(&now),
                }
            }
            _ => self.store.release(&slot.key, &slot.owner)?,
        }
        Ok(step)
    }
}

/// Whether the session's events (drained) say its token set changed.
fn changed(s: &mut Session) -> bool {
    let mut changed = false;
    while let Some(e) = s.poll_event() {
        changed |= matches!(e, Event::TokensChanged);
    }
    changed
}

/// A token set to call the API with: a renewed set the store could not write is used all the
/// same (the client keeps it and writes it later).
pub(crate) fn usable(result: Result<TokenSet, Error>) -> Result<TokenSet, Error> {
    match result {
        Err(Error::NotSaved { tokens, .. }) => Ok(*tokens),
        other => other,
    }
}
