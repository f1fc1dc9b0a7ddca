//! Pushed authorization requests (RFC 9126) as a session operation: `start_authorization` of a
//! profile with `[authorization] par = true` pushes the request (authenticated like a token
//! request, proven with the account's DPoP key when the profile uses DPoP), and the browser gets
//! only `client_id` and the `request_uri` the server answered with, until its `expires_in`.

use super::io::{Op, OpKind, Work};
use super::work::PushWork;
use super::{Event, Session};
use crate::authorize::AuthorizationStart;
use crate::error::Error;
use crate::http::HttpResponse;
use crate::par::PushedAuthorization;
use crate::time::Timestamp;
use crate::transport::TransportError;
use crate::usage::UsageError;

impl Session {
    /// Starts the push of `start` (built already, with its `state` and PKCE verifier) as the
    /// session's operation; the caller keeps `start.pending`, and gets the browser URL from
    /// [`Event::AuthorizationReady`] (or [`authorization_url`](Session::authorization_url)).
    pub(super) fn start_push(&mut self, start: AuthorizationStart) -> Result<AuthorizationStart, Error> {
        if self.op.is_some() {
            return Err(Error::Busy);
        }
        let dpop = start.pending.dpop_key.clone();
        let push = PushWork { url: start.url, pending: start.pending.clone(), flow: None };
        self.pushed = None;
        self.op = Some(Op::new(OpKind::Push, Vec::new(), Work::Push(Box::new(push)), dpop));
        Ok(AuthorizationStart { url: String::new(), pending: start.pending })
    }

    pub(super) fn push_outcome(
        &mut self,
        now: Timestamp,
        mut push: PushWork,
        outcome: Result<HttpResponse, TransportError>,
    ) {
        let result = match (outcome, push.flow.take()) {
            (Ok(response), Some(flow)) => flow.handle_response(now, &response).map_err(Error::Par),
            (Ok(_), None) => Err(UsageError::NotWaitingForResponse.into()),
            (Err(e), _) => Err(Error::Transport(e)),
        };
        match result.and_then(|pushed| Ok((pushed.browser_url(now)?, pushed))) {
            Ok((url, pushed)) => {
                let expires_at = pushed.expires_at();
                self.pushed = Some(pushed);
                self.events.push_back(Event::AuthorizationReady { url, expires_at });
            }
            Err(e) => self.events.push_back(Event::Failed(e)),
        }
    }

    /// The URL to send the user's browser to for the authorization pushed last (RFC 9126 §4:
    /// only `client_id` and `request_uri`), while its `request_uri` lives. After its
    /// `expires_in`, [`Error::Par`] with [`ParError::Expired`](crate::par::ParError::Expired)
    /// (kind [`AuthorizationExpired`](crate::ErrorKind::AuthorizationExpired)): start again.
    pub fn authorization_url(&self, now: Timestamp) -> Result<String, Error> {
        let pushed = self.pushed.as_ref().ok_or(UsageError::NoPushedAuthorization)?;
        Ok(pushed.browser_url(now)?)
    }

    /// When the `request_uri` of the authorization pushed last expires, if there is one.
    pub fn authorization_expires_at(&self) -> Option<Timestamp> {
        self.pushed.as_ref().map(PushedAuthorization::expires_at)
    }
}
