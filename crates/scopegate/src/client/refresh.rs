//! The refresh: what the client knows of the key, one refresh under the key's lease, and what
//! happens to its result (written, or kept in memory until the store can take it).

use std::time::Duration;

use scopegate_core::{Error, Event, ReauthorizationReason, Session, TokenSet};

use super::Client;
use super::observe::{self, Op, OpSpan, Outcome, Sent};
use super::slot::{Slot, Unsaved};
use crate::store::{StoreError, Update, Written};

/// What the client knows of a key now.
#[derive(Debug)]
pub(super) struct View {
    pub(super) tokens: Option<TokenSet>,
    /// The row version these tokens belong to (for an unsaved set: the version it replaces).
    pub(super) version: u64,
    /// A renewed set the store could not write yet.
    pub(super) unsaved: bool,
    /// Why the store could not be reached, when it could not (the answer is then from memory).
    pub(super) unreachable: Option<StoreError>,
}

impl View {
    fn row(tokens: Option<TokenSet>, version: u64) -> View {
        View { tokens, version, unsaved: false, unreachable: None }
    }
}

type Due<'a> = dyn Fn(&Session, &TokenSet) -> bool + 'a;

/// What the waits between a session's requests are, for the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Waits {
    /// Back-offs: the request after each is a retry (logged as one).
    Retries,
    /// A device grant's polls at the server's interval: not retries.
    Polls,
}

impl Client {
    /// Sends the session's requests and waits out its back-offs until its operation ends;
    /// returns the events. `sent` counts the requests and keeps the last status.
    pub(super) fn drive(&self, s: &mut Session, sent: &mut Sent) -> Result<Vec<Event>, Error> {
        self.drive_with(s, sent, Waits::Retries, &mut |_| {})
    }

    /// [`drive`](Self::drive), with `on_event` called on each event as soon as the session
    /// gives it (a device grant's user code must be shown before the polls that wait for the
    /// user), and `waits` saying what the waits between requests are.
    pub(super) fn drive_with(
        &self,
        s: &mut Session,
        sent: &mut Sent,
        waits: Waits,
        on_event: &mut dyn FnMut(&Event),
    ) -> Result<Vec<Event>, Error> {
        let retries = waits == Waits::Retries;
        let mut events = Vec::new();
        loop {
            while let Some((id, request)) = s.poll_transmit(self.now()) {
                if retries && sent.tries > 0 && !sent.waited {
                    // Sent again at once: the last try never left.
                    observe::retry(sent.tries + 1, 0, sent.last_status);
                }
                sent.waited = false;
                sent.tries += 1;
                let request = match &self.trace_context {
                    Some(context) => observe::with_traceparent(request, context()),
                    None => request,
                };
                match self.transport.send(&request) {
                    Ok(response) => {
                        sent.last_status = Some(response.status());
                        s.handle_response(self.now(), id, response)?
                    }
                    Err(e) => s.handle_transport_error(self.now(), id, e)?,
                }
            }
            events.extend(std::iter::from_fn(|| s.poll_event()).inspect(|e| on_event(e)));
            if !s.is_busy() {
                break;
            }
            let Some(at) = s.poll_timeout() else { break };
            let now = self.now();
            if retries {
                observe::retry(sent.tries + 1, at.secs_since(now), sent.last_status);
            }
            sent.waited = true;
            if at > now {
                std::thread::sleep(Duration::from_secs(at.secs_since(now)));
            }
            // The wait is over whatever an injected clock says.
            s.handle_timeout(at.max(self.now()));
        }
        self.keep_nonces(s);
        events.extend(std::iter::from_fn(|| s.poll_event()).inspect(|e| on_event(e)));
        for e in &events {
            if let Event::ScopesNarrowed { requested, granted } = e {
                observe::scopes_narrowed(s.provider().id(), s.account(), requested.len(), granted.len());
            }
        }
        Ok(events)
    }

    /// Drives the session's operation to its end: the token set it produced, or its error.
    pub(super) fn run(&self, s: &mut Session, sent: &mut Sent) -> Result<TokenSet, Error> {
        let events = self.drive(s, sent)?;
        outcome(s, events)
    }

    /// The key as it stands, under the slot's flight lock: a pending unsaved set is written
    /// first (only over the row it replaces); then the row is read. When the store cannot be
    /// reached, the unsaved set, or the token set last read, is the answer.
    pub(super) fn current(&self, slot: &Slot) -> Result<View, Error> {
        if let Some(u) = slot.unsaved() {
            match self.store.write(&slot.key, &slot.owner, u.base, &Update::Put(Box::new(u.tokens.clone()))) {
                Ok(Written::Done(v)) => {
                    slot.set_unsaved(None);
                    self.notify(&slot.key, &u.tokens, true);
                    slot.set(Some(u.tokens.clone()), v);
                    return Ok(View::row(Some(u.tokens), v));
                }
                Ok(Written::Conflict(row)) if row.version != u.base => {
                    // A newer token set was written meanwhile: it wins.
                    slot.set_unsaved(None);
                    slot.set_row(&row);
                    return Ok(View::row(row.tokens, row.version));
                }
                // Still unreachable, or another owner holds the key's lease: keep it for later.
                Ok(Written::Conflict(_)) => {
                    return Ok(View { tokens: Some(u.tokens), version: u.base, unsaved: true, unreachable: None });
                }
                Err(e) => {
                    return Ok(View { tokens: Some(u.tokens), version: u.base, unsaved: true, unreachable: Some(e) });
                }
            }
        }
        match self.store.read(&slot.key) {
            Ok(row) => {
                slot.set_row(&row);
                Ok(View::row(row.tokens, row.version))
            }
            Err(e) => match slot.cached() {
                Some(c) if c.tokens.is_some() => Ok(View {
                    tokens: c.tokens.map(|t| TokenSet::clone(&t)),
                    version: c.version,
                    unsaved: false,
                    unreachable: Some(e),
                }),
                _ => Err(e.into()),
            },
        }
    }

    /// Under the slot's flight lock: if `due(session, tokens)`, refreshes under the key's
    /// lease and writes the result; else answers what is there (another caller's refresh, say).
    pub(super) fn refresh_locked(&self, slot: &Slot, view: View, due: &Due<'_>) -> Result<TokenSet, Error> {
        let span = OpSpan::new(Op::Refresh, &slot.key);
        let mut sent = Sent::default();
        let result = span.run(|| self.refresh_in_span(slot, view, due, &mut sent));
        if sent.tries > 0 {
            let outcome = Outcome::of(&result);
            self.counters.refresh(outcome);
            span.finish(outcome, sent);
        }
        result
    }

    fn refresh_in_span(&self, slot: &Slot, view: View, due: &Due<'_>, sent: &mut Sent) -> Result<TokenSet, Error> {
        if view.unsaved || view.unreachable.is_some() {
            return self.refresh_unreachable(slot, view, due, sent);
        }
        let row = self.claim(slot)?;
        let release = || {
            let _ = self.store.release(&slot.key, &slot.owner);
        };
        let Some(current) = row.tokens.clone() else {
            release();
            return Err(self.not_authorized());
        };
        let mut s = self.session();
        if let Err(e) = s.set_tokens(Some(current.clone())) {
            release();
            return Err(e);
        }
        if !due(&s, &current) {
            release();
            return s.usable_tokens(self.now()).cloned();
        }
        if let Err(e) = s.refresh(self.now()) {
            // Refused without a request; a dead grant found that way is stored as such.
            match s.tokens().filter(|t| t.invalidated.is_some() && current.invalidated.is_none()) {
                Some(marked) => {
                    let _ = self.store_result(slot, row.version, marked.clone());
                }
                None => release(),
            }
            return Err(e);
        }
        let events = match self.drive(&mut s, sent) {
            Ok(ev) => ev,
            Err(e) => {
                release();
                return Err(e);
            }
        };
        let dead =
            events.iter().any(|e| matches!(e, Event::ReauthorizationRequired(ReauthorizationReason::InvalidGrant)));
        match outcome(&s, events) {
            Ok(tokens) => self.store_result(slot, row.version, tokens),
            Err(e) if dead => {
                // The refresh token was refused: the grant is marked dead in the store, so later
                // calls fail without a request (unless the row moved on meanwhile).
                if let Some(marked) = s.tokens().cloned() {
                    let put = Update::Put(Box::new(marked.clone()));
                    match self.store.write(&slot.key, &slot.owner, row.version, &put) {
                        Ok(Written::Done(v)) => {
                            self.notify(&slot.key, &marked, true);
                            slot.set(Some(marked), v);
                        }
                        Ok(Written::Conflict(newer)) => {
                            slot.set_row(&newer);
                            let renewed = newer.tokens.filter(|t| t.refresh_token != current.refresh_token);
                            if let Some(t) = renewed.filter(|t| t.invalidated.is_none()) {
                                return Ok(t);
                            }
                        }
                        Err(_) => release(),
                    }
                }
                Err(e)
            }
            Err(e) => {
                release();
                Err(e)
            }
        }
    }

    /// The store cannot be reached: refresh from what is in memory, and keep the result there.
    fn refresh_unreachable(&self, slot: &Slot, view: View, due: &Due<'_>, sent: &mut Sent) -> Result<TokenSet, Error> {
        let Some(current) = view.tokens else { return Err(self.not_authorized()) };
        let mut s = self.session();
        s.set_tokens(Some(current.clone()))?;
        if !due(&s, &current) {
            return s.usable_tokens(self.now()).cloned();
        }
        let unreachable = view.unreachable.unwrap_or_else(|| StoreError::Backend {
            path: slot.key.to_string(),
            reason: "another process holds this token's lease; the renewed token set is kept in memory".into(),
        });
        if !view.unsaved {
            // Nothing renewed is pending: without the store there is no lease, and another
            // process may be refreshing the same token. Do not refresh blind.
            return Err(unreachable.into());
        }
        s.refresh(self.now())?;
        let tokens = self.run(&mut s, sent)?;
        Err(self.keep_unsaved(slot, view.version, tokens, unreachable))
    }

    /// Writes a token set an operation produced over the row version it read; on failure keeps
    /// it in memory ([`Error::NotSaved`]). The hook sees it either way, before any other thread
    /// of this process can.
    pub(super) fn store_result(&self, slot: &Slot, base: u64, tokens: TokenSet) -> Result<TokenSet, Error> {
        let put = Update::Put(Box::new(tokens.clone()));
        match self.store.write(&slot.key, &slot.owner, base, &put) {
            Ok(Written::Done(v)) => {
                slot.set_unsaved(None);
                self.notify(&slot.key, &tokens, true);
                slot.set(Some(tokens.clone()), v);
                Ok(tokens)
            }
            Ok(Written::Conflict(row)) if row.version != base => {
                // Our lease outlived its time and a newer token set was written: it wins.
                slot.set_row(&row);
                row.tokens.ok_or_else(|| self.not_authorized())
            }
            Ok(Written::Conflict(_)) => {
                let error = StoreError::Backend {
                    path: slot.key.to_string(),
                    reason: "another process holds this token's lease: the renewed token set is kept in memory".into(),
                };
                Err(self.keep_unsaved(slot, base, tokens, error))
            }
            Err(error) => Err(self.keep_unsaved(slot, base, tokens, error)),
        }
    }

    /// Keeps a renewed token set the store could not write, tells the hook, and returns the
    /// error that carries it.
    pub(super) fn keep_unsaved(&self, slot: &Slot, base: u64, tokens: TokenSet, error: StoreError) -> Error {
        observe::not_saved(&slot.key, &error);
        slot.set_unsaved(Some(Unsaved { base, tokens: tokens.clone() }));
        self.notify(&slot.key, &tokens, false);
        Error::NotSaved { error, tokens: Box::new(tokens) }
    }
}

/// The token set an operation produced, or the error it ended with.
pub(super) fn outcome(s: &Session, events: Vec<Event>) -> Result<TokenSet, Error> {
    let mut changed = false;
    for e in events {
        match e {
            Event::Failed(e) => return Err(e),
            Event::TokensChanged => changed = true,
            _ => {}
        }
    }
    match (changed, s.tokens()) {
        (true, Some(t)) => Ok(t.clone()),
        _ => Err(scopegate_core::UsageError::NotWaitingForResponse.into()),
    }
}
