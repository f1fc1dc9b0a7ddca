//! DPoP nonces (RFC 9449 §8, §9) between a client's sessions: the client makes a session per
//! operation, and hands each one the nonces the servers gave so far, so that a proof carries the
//! current nonce and a nonce round trip is made once, not per request.

use std::sync::{Arc, Mutex};

use scopegate_core::Session;
use scopegate_core::dpop::SessionNonces;

use super::Client;

/// The nonces of one client (and of the clients made from it with another redirect URI).
#[derive(Clone, Debug, Default)]
pub(super) struct Nonces(Arc<Mutex<SessionNonces>>);

impl Nonces {
    pub(super) fn get(&self) -> SessionNonces {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set(&self, nonces: &SessionNonces) {
        let mut held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if *held != *nonces {
            *held = nonces.clone();
        }
    }
}

impl Client {
    /// Keeps the nonces `s` learned, for the next sessions.
    pub(super) fn keep_nonces(&self, s: &Session) {
        self.dpop_nonces.set(s.dpop_nonces());
    }
}
