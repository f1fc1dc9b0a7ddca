//! The device authorization grant (RFC 8628) in the blocking client: for a CLI or a headless
//! service, the user approves on another device while the client polls.

use scopegate_core::device::UserCode;
use scopegate_core::{Error, Event, Session, TokenSet};

use super::Client;
use super::observe::{Op, OpSpan, Outcome, Sent};
use super::refresh::{self, Waits};

impl Client {
    /// Logs in with the device authorization grant (RFC 8628) and the profile's scopes:
    /// `on_code` is called once with what to show the user (the verification URI, complete with
    /// the code when the server gives one, and the code); meanwhile the client polls the token
    /// endpoint at the server's interval (`slow_down` adds 5 s), and stores the tokens (before
    /// returning them) under the account they belong to, like [`exchange`](Self::exchange).
    ///
    /// Blocks until the user approved, refused ([`Error::Device`] with
    /// [`DeviceError::AccessDenied`](scopegate_core::device::DeviceError::AccessDenied)) or the
    /// code expired ([`DeviceError::Expired`](scopegate_core::device::DeviceError::Expired)).
    ///
    /// Traced as a `scopegate.exchange` span (the device code exchanged for tokens).
    pub fn device_login(&self, on_code: impl FnMut(&UserCode)) -> Result<TokenSet, Error> {
        let span = OpSpan::new(Op::Exchange, &self.key());
        let mut sent = Sent::default();
        let result = span.run(|| self.device_login_in_span(on_code, &mut sent));
        span.finish(Outcome::of(&result), sent);
        self.noted(result)
    }

    fn device_login_in_span(&self, on_code: impl FnMut(&UserCode), sent: &mut Sent) -> Result<TokenSet, Error> {
        let mut s = self.grant_session()?;
        s.start_device_authorization(self.now(), None)?;
        let tokens = self.poll_device(&mut s, on_code, sent)?;
        self.store_grant(&s, tokens)
    }

    /// Drives a device authorization to its end: sends what the session asks for, hands its
    /// [`Event::UserCode`] to `on_code` as soon as it comes, and sleeps until each poll.
    fn poll_device(
        &self,
        s: &mut Session,
        mut on_code: impl FnMut(&UserCode),
        sent: &mut Sent,
    ) -> Result<TokenSet, Error> {
        let mut show = |e: &Event| {
            if let Event::UserCode(code) = e {
                on_code(code);
            }
        };
        let events = self.drive_with(s, sent, Waits::Polls, &mut show)?;
        refresh::outcome(s, events)
    }
}
