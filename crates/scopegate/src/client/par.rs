//! Pushed authorization requests (RFC 9126) in the blocking client: the session's push is sent
//! before the authorization URL is handed out.

use scopegate_core::{AuthorizationStart, Error, Event, Session, UsageError};

use super::Client;
use super::observe::Sent;

impl Client {
    /// The authorization `start` as the user's browser gets it: as it is, or, when the session
    /// pushed it (its URL is then empty), after the push, with the URL the server's answer
    /// makes (only `client_id` and `request_uri`).
    pub(super) fn pushed(&self, s: &mut Session, start: AuthorizationStart) -> Result<AuthorizationStart, Error> {
        if !s.is_busy() {
            return Ok(start);
        }
        for event in self.drive(s, &mut Sent::default())? {
            match event {
                Event::AuthorizationReady { url, .. } => return Ok(AuthorizationStart { url, pending: start.pending }),
                Event::Failed(e) => return Err(e),
                _ => {}
            }
        }
        Err(UsageError::NoPushedAuthorization.into())
    }
}
