//! A user's authorization in the blocking client: the URL for the browser (after the push, for
//! a PAR profile), then the callback's code exchanged and the new grant stored under the account
//! it belongs to, never over another identity's token.

use std::sync::Arc;

use scopegate_core::{AuthorizationStart, Error, PendingAuthorization, Session, TokenSet};

use super::observe::{Op, OpSpan, Outcome, Sent};
use super::slot::Slot;
use super::{Client, refresh};
use crate::store::StoreKey;

impl Client {
    /// Starts an authorization: the URL for the user's browser and the pending authorization to
    /// keep until the callback. For a profile that pushes its requests (PAR, RFC 9126) the push
    /// is sent first, and the URL carries only `client_id` and the `request_uri`.
    pub fn authorization_request(&self) -> Result<AuthorizationStart, Error> {
        let slot = self.slot();
        let mut s = self.session();
        {
            let _flight = slot.flight.lock();
            s.set_tokens(self.current(&slot)?.tokens)?;
        }
        let start = s.start_authorization(self.now())?;
        self.pushed(&mut s, start)
    }

    /// Completes an authorization: checks the callback, exchanges the code, stores the tokens
    /// (before returning them) under the account they belong to.
    pub fn exchange(&self, pending: &mut PendingAuthorization, callback: &str) -> Result<TokenSet, Error> {
        let span = OpSpan::new(Op::Exchange, &self.key());
        let mut sent = Sent::default();
        let result = span.run(|| self.exchange_in_span(pending, callback, &mut sent));
        if sent.tries > 0 {
            self.counters.exchange();
        }
        span.finish(Outcome::of(&result), sent);
        result
    }

    fn exchange_in_span(
        &self,
        pending: &mut PendingAuthorization,
        callback: &str,
        sent: &mut Sent,
    ) -> Result<TokenSet, Error> {
        let mut s = self.grant_session()?;
        s.handle_callback(self.now(), pending, callback)?;
        let events = self.drive(&mut s, sent)?;
        let tokens = refresh::outcome(&s, events)?;
        self.store_grant(&s, tokens)
    }

    /// A session for a new grant (a code exchange, a device login): a client bound to an
    /// account hands it that account's token set, so that the session refuses a grant of
    /// another identity or account.
    pub(super) fn grant_session(&self) -> Result<Session, Error> {
        let mut s = self.session();
        if self.bound {
            let slot = self.slot();
            let _flight = slot.flight.lock();
            s.set_tokens(self.current(&slot)?.tokens)?;
        }
        Ok(s)
    }

    /// Stores a new grant's tokens under the account the session says they belong to, and makes
    /// that account this client's.
    pub(super) fn store_grant(&self, s: &Session, tokens: TokenSet) -> Result<TokenSet, Error> {
        let key = StoreKey::new(self.provider.id(), self.config.client_id(), s.account());
        let slot = Slot::of(&self.store, &key);
        let _flight = slot.flight.lock();
        self.slot.store(Arc::clone(&slot));
        self.put_new_grant(&slot, tokens)
    }

    /// Writes a new grant's tokens unless the entry holds another identity's token (defence in
    /// depth: the session checked already). A pending unsaved set of the old grant is dropped.
    fn put_new_grant(&self, slot: &Slot, tokens: TokenSet) -> Result<TokenSet, Error> {
        let key = &slot.key;
        let row = match self.claim(slot) {
            Ok(row) => row,
            Err(error) => {
                let base = slot.cached().map_or(0, |c| c.version);
                return Err(self.keep_unsaved(slot, base, tokens, error));
            }
        };
        if let Some(cur) = row.tokens.as_ref().filter(|c| c.identity != tokens.identity) {
            let _ = self.store.release(key, &slot.owner);
            return Err(Error::IdentityMismatch(format!(
                "{}/{} holds a {} token; a {} token would replace it: forget it first",
                key.provider_id,
                key.account,
                cur.identity.as_str(),
                tokens.identity.as_str()
            )));
        }
        slot.set_unsaved(None);
        self.store_result(slot, row.version, tokens)
    }
}
