//! The device authorization grant (RFC 8628) as a session operation: the device authorization
//! request, then [`Event::UserCode`] with what to show the user, then the polls of the token
//! endpoint at the server's interval through the session's timer (`authorization_pending` waits,
//! `slow_down` adds 5 s for good), until the tokens come or it ends with a typed error
//! (`access_denied`, `expired_token` or the code's own expiry).

use super::io::{Op, OpKind, Work};
use super::work::DeviceWork;
use super::{Event, Session};
use crate::device::{
    DeviceAuthorization, DeviceError, DevicePoll, DevicePollStatus, UserCode, device_authorization_request,
};
use crate::error::Error;
use crate::http::HttpResponse;
use crate::profile::GrantType;
use crate::time::Timestamp;
use crate::token::Identity;
use crate::transport::TransportError;
use crate::usage::UsageError;

impl Session {
    /// Starts the device authorization grant (RFC 8628) for a device without a browser (a CLI, a
    /// headless service): the user approves on another device. `scopes`: `None` asks for the
    /// profile's scopes, an empty list sends no `scope`.
    ///
    /// Then drive it like any operation: [`poll_transmit`](Self::poll_transmit) gives the device
    /// authorization request; once its answer is handed in, [`Event::UserCode`] says what to show
    /// the user (the verification URI, complete with the code when the server gives one, and the
    /// code), and the session polls the token endpoint at the server's interval through
    /// [`poll_timeout`](Self::poll_timeout) / [`handle_timeout`](Self::handle_timeout)
    /// (`authorization_pending` waits, `slow_down` adds 5 s to the interval for good). It ends
    /// with [`Event::TokensChanged`] (the user's tokens, DPoP-bound when the profile says so), or
    /// [`Event::Failed`] with [`Error::Device`]: [`DeviceError::AccessDenied`] (kind
    /// [`AuthorizationDenied`](crate::ErrorKind::AuthorizationDenied)) when the user refused,
    /// [`DeviceError::Expired`] (kind [`AuthorizationExpired`](crate::ErrorKind::AuthorizationExpired))
    /// when the code expired first, by the server's `expired_token` or locally, without a
    /// request.
    ///
    /// The device authorization request is built (and, for `private_key_jwt`, signed) at `now`.
    /// Refused like [`start_authorization`](Self::start_authorization): when the profile has no
    /// device grant (or no `[device] url`), when the client cannot authenticate (no secret, no
    /// key), and when the session holds the app's own token.
    pub fn start_device_authorization(&mut self, now: Timestamp, scopes: Option<&[String]>) -> Result<(), Error> {
        if self.op.is_some() {
            return Err(Error::Busy);
        }
        let p = &self.provider;
        if !p.supports(GrantType::DeviceCode) {
            return Err(
                UsageError::GrantNotSupported { provider: p.id().to_owned(), grant: GrantType::DeviceCode }.into()
            );
        }
        if p.device_authorization_url().is_none() {
            return Err(UsageError::EndpointNotConfigured {
                provider: p.id().to_owned(),
                endpoint: "device.url",
                hint: "the device authorization endpoint (RFC 8628 §3.1); `scopegate provider discover` finds it",
            }
            .into());
        }
        if let Some(c) = &self.conn {
            if c.tokens().identity == Identity::App {
                return Err(Error::IdentityMismatch(format!(
                    "account `{}` holds the app's own token (client credentials); a user's device login would replace it: use another account, or forget it first",
                    self.account()
                )));
            }
        }
        let scopes = scopes.map_or_else(|| p.scopes().to_vec(), <[String]>::to_vec);
        // Built now, so a client that cannot authenticate (no secret, no key) is refused here.
        let request = device_authorization_request(p, &self.client, &scopes, now)?;
        let dpop = self.new_grant_dpop_key(None)?;
        let work = DeviceWork::Authorize { scopes: scopes.clone() };
        let mut op = Op::new(OpKind::Device, scopes, Work::Device(Box::new(work)), dpop);
        op.request = Some(request);
        self.op = Some(op);
        Ok(())
    }

    /// The answer to a device request (or its failure): polling goes on, or the operation ends.
    pub(super) fn device_outcome(
        &mut self,
        now: Timestamp,
        mut op: Op,
        work: DeviceWork,
        outcome: Result<HttpResponse, TransportError>,
    ) {
        let response = match outcome {
            Ok(r) => r,
            Err(e) => return self.events.push_back(Event::Failed(Error::Transport(e))),
        };
        let poll = match work {
            DeviceWork::Authorize { scopes } => match DeviceAuthorization::from_response(&response, now, &scopes) {
                Ok(authorization) => {
                    self.events.push_back(Event::UserCode(UserCode::from(&authorization)));
                    Box::new(DevicePoll::new(authorization))
                }
                Err(e) => return self.events.push_back(Event::Failed(Error::Device(e))),
            },
            DeviceWork::Poll(mut poll) => match poll.handle_response(now, response) {
                Ok(DevicePollStatus::Pending | DevicePollStatus::SlowDown { .. }) => poll,
                Ok(DevicePollStatus::Tokens(tokens)) => {
                    let requested = std::mem::take(&mut op.requested);
                    return self.token_outcome(now, OpKind::Device, &requested, Ok(*tokens), op.dpop);
                }
                Err(DeviceError::Token(e)) => return self.events.push_back(Event::Failed(Error::Flow(e))),
                Err(e) => return self.events.push_back(Event::Failed(Error::Device(e))),
            },
        };
        // Waiting for the next poll: the operation stays in flight.
        let work = DeviceWork::Poll(poll);
        op.phase = work.next_phase();
        op.work = Work::Device(Box::new(work));
        op.request = None;
        op.tries = 0;
        op.waited = 0;
        op.nonce_retried = false;
        self.op = Some(op);
    }
}
