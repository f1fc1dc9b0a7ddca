//! The state of an operation's work that its requests are built from: the request ids, the
//! phase, a device authorization's step and a push's parameters. The operation itself (`io.rs`)
//! and the commands that start one (`device.rs`, `par.rs`) build on these.

use std::fmt;

use crate::authorize::{AuthorizationStart, ClientConfig, PendingAuthorization};
use crate::device::{DevicePoll, device_authorization_request};
use crate::dpop::DpopKey;
use crate::error::Error;
use crate::http::HttpRequest;
use crate::par::ParFlow;
use crate::profile::Provider;
use crate::time::Timestamp;

/// Identifies a request given by [`Session::poll_transmit`](super::Session::poll_transmit), to hand its answer back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub(super) u64);

impl RequestId {
    /// The number (increasing within a session).
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request #{}", self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    Ready,
    Sent(RequestId),
    Waiting(Timestamp),
}

/// Where a device authorization stands.
pub(crate) enum DeviceWork {
    /// The device authorization request (sent, or about to be).
    Authorize {
        /// The scopes asked for.
        scopes: Vec<String>,
    },
    /// Polling the token endpoint.
    Poll(Box<DevicePoll>),
}

impl DeviceWork {
    /// The next request: the device authorization request, or a poll when one is due (`None`
    /// before). A poll after the codes expired ends the operation ([`DeviceError::Expired`](crate::device::DeviceError::Expired)).
    pub(super) fn request(
        &mut self,
        provider: &Provider,
        client: &ClientConfig,
        now: Timestamp,
        dpop: Option<&DpopKey>,
        nonce: Option<&str>,
    ) -> Result<Option<HttpRequest>, Error> {
        match self {
            DeviceWork::Authorize { scopes } => Ok(Some(device_authorization_request(provider, client, scopes, now)?)),
            DeviceWork::Poll(poll) => Ok(match dpop {
                Some(key) => poll.poll_transmit_with_dpop(provider, client, now, key, nonce)?,
                None => poll.poll_transmit(provider, client, now)?,
            }),
        }
    }

    /// The request sent last was not processed (a DPoP nonce challenge): build it again.
    pub(super) fn rearm(&mut self) {
        if let DeviceWork::Poll(poll) = self {
            // Due at once: `retry_now` takes the time it was answered, which is not known here;
            // any `now` at or after the poll's own due time sends it.
            poll.retry_now(Timestamp::from_unix_secs(0));
        }
    }

    /// A poll was lost in transport: whether polling goes on (at the next interval).
    pub(super) fn lost_poll(&mut self, now: Timestamp) -> bool {
        match self {
            DeviceWork::Poll(poll) => {
                poll.handle_transport_error(now);
                true
            }
            DeviceWork::Authorize { .. } => false,
        }
    }

    /// The phase to wait in until the next poll.
    pub(super) fn next_phase(&self) -> Phase {
        match self {
            DeviceWork::Poll(poll) => poll.poll_timeout().map_or(Phase::Ready, Phase::Waiting),
            DeviceWork::Authorize { .. } => Phase::Ready,
        }
    }
}

/// The push in flight: the authorization request's parameters (its URL as it would go to the
/// browser without PAR) and the flow of the request sent last.
pub(crate) struct PushWork {
    pub(super) url: String,
    pub(super) pending: PendingAuthorization,
    pub(super) flow: Option<ParFlow>,
}

impl PushWork {
    /// The push request, built (and signed) at `now`: a fresh client assertion for
    /// `private_key_jwt`, and a DPoP proof with the server's nonce when there is a key.
    pub(super) fn request(
        &mut self,
        provider: &Provider,
        client: &ClientConfig,
        now: Timestamp,
        dpop: Option<&DpopKey>,
        nonce: Option<&str>,
    ) -> Result<HttpRequest, Error> {
        let start = AuthorizationStart { url: self.url.clone(), pending: self.pending.clone() };
        let mut flow = ParFlow::new(provider, client, start, now)?;
        if let Some(key) = dpop {
            key.sign_request(flow.request_mut(), now, nonce)?;
        }
        let request = flow.request().clone();
        self.flow = Some(flow);
        Ok(request)
    }

    /// The request sent last will be built again.
    pub(super) fn rearm(&mut self) {
        self.flow = None;
    }
}
