//! API calls: the bearer token, one refresh and one retry on 401, and the 401 count kept in
//! the store (Yotpo's repeated-401 rule counts across processes).

use scopegate_core::{ApiRequestId, Error, Event, HttpRequest, HttpResponse, Method, NextStep, Session, TokenSet};

use super::Client;
use crate::store::Update;
use crate::store::Written;

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
        let mut s = self.session();
        s.api_url(method, path)?;
        let mut tokens = usable(self.access_token())?;
        s.set_tokens(Some(tokens.clone()))?;
        let mut retried = false;
        let mut nonce_retried = false;
        loop {
            let (id, request) = s.api_request(self.now(), method, path, json_body)?;
            let response = self.transport.send(&request)?;
            let step = self.record_status(&mut s, id, &request, &response)?;
            match step {
                // RFC 9449 §9: the resource asked for its DPoP nonce; the session has it now.
                NextStep::RetryWithNonce if !nonce_retried => nonce_retried = true,
                NextStep::Reauthorize(reason) => {
                    let key = self.key();
                    return Err(Error::ReauthorizationRequired {
                        provider: key.provider_id,
                        account: key.account,
                        reason,
                        oauth: None,
                    });
                }
                NextStep::RefreshAndRetry if !retried => {
                    retried = true;
                    let used = tokens.access_token.clone();
                    // Refresh unless another caller already replaced the token we used.
                    let slot = self.slot();
                    let _flight = slot.flight.lock();
                    let view = self.current(&slot)?;
                    tokens = usable(self.refresh_locked(&slot, view, &|_, t| t.access_token == used))?;
                    s.set_tokens(Some(tokens.clone()))?;
                }
                NextStep::Retry if !retried => {
                    retried = true;
                    tokens = usable(self.access_token())?;
                    s.set_tokens(Some(tokens.clone()))?;
                }
                _ => return Ok(response),
            }
        }
    }

    /// Applies an API status: the session (holding the token set the request carried) says
    /// whether the token set changes (the 401 count, a dead-grant mark); if it does, the status
    /// is applied again to the stored row, under the key's lease, and the result written. The
    /// stored row keeps the request's id valid only while it holds the same access token: the
    /// status of a request made with a token that was replaced meanwhile changes nothing.
    fn record_status(
        &self,
        s: &mut Session,
        id: ApiRequestId,
        request: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<NextStep, Error> {
        let status = response.status();
        let step = s.handle_api_answer(id, request, response);
        self.keep_nonces(s);
        if !changed(s) {
            return Ok(step);
        }
        let slot = self.slot();
        let _flight = slot.flight.lock();
        let view = self.current(&slot)?;
        if view.unsaved || view.unreachable.is_some() {
            // Not stored now; the count is kept in the session's memory only.
            return Ok(step);
        }
        let row = self.claim(&slot)?;
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
fn usable(result: Result<TokenSet, Error>) -> Result<TokenSet, Error> {
    match result {
        Err(Error::NotSaved { tokens, .. }) => Ok(*tokens),
        other => other,
    }
}
