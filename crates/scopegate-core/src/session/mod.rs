//! [`Session`]: the state machine of one connection to a provider, for one app registration and
//! one account. Its contract (commands, I/O as values, timers, events, and the rules it owns) is
//! written once, in the crate documentation ([`crate`]). This module holds the commands; `io`
//! the operation in flight (requests, retries, back-off, outcomes); `api` the API requests and
//! their answers; `rules` the refresh rule and the token-state rules.

mod api;
mod device;
mod dpop;
mod io;
mod par;
mod rules;
mod work;

// The rules' own tests (they reach the private rules), with the integration tests' helpers.
#[cfg(test)]
#[path = "../../tests/common/mod.rs"]
mod common;
#[cfg(test)]
mod lifecycle_tests;
#[cfg(test)]
mod virtual_clock_tests;

use std::collections::VecDeque;
use std::sync::Arc;

use crate::authorize::{AuthorizationRequest, AuthorizationStart, ClientConfig, PendingAuthorization};
use crate::dpop::SessionNonces;
use crate::error::Error;
use crate::flow::TokenFlow;
use crate::matrix::Rights;
use crate::par::PushedAuthorization;
use crate::profile::{GrantType, Provider};
use crate::revoke::{RevocationFlow, Revoked};
use crate::time::Timestamp;
use crate::token::ReauthorizationReason;
use crate::token::{Identity, TokenSet};
use crate::usage::UsageError;
use rules::{Connection, TokenState};

pub use api::{ApiRequestId, NextStep};
pub use io::{MAX_RETRY_WAIT_SECS, MAX_TRIES};
use io::{Op, OpKind};
pub use work::RequestId;

/// The account a session is for when none is named: `default`.
pub const DEFAULT_ACCOUNT: &str = "default";

/// What happened in a [`Session`]. Drain them with [`Session::poll_event`] after every call.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// [`Session::tokens`] changed (new tokens, a dead-grant mark, the 401 count): persist them
    /// before using them, so a rotated refresh token is never lost.
    TokensChanged,
    /// Only a new authorization by the user (for Yotpo: a re-install) helps now.
    ReauthorizationRequired(ReauthorizationReason),
    /// The revocation (or remove-application) call succeeded; the session holds no token now:
    /// delete the stored one.
    Revoked(Revoked),
    /// The provider granted fewer scopes than were asked for (the token set keeps the granted
    /// ones).
    ScopesNarrowed {
        /// What was asked for.
        requested: Vec<String>,
        /// What was granted.
        granted: Vec<String>,
    },
    /// The operation in flight failed; the tokens held are as they were (unless an event before
    /// this one said otherwise).
    Failed(Error),
    /// A device authorization ([`Session::start_device_authorization`]) was accepted: show the
    /// user the verification URI (the complete one carries the code) and the code. The session
    /// polls meanwhile.
    UserCode(crate::device::UserCode),
    /// The pushed authorization request (RFC 9126) was accepted: send the user's browser to
    /// `url` (only `client_id` and `request_uri`) before `expires_at`; keep the pending
    /// authorization [`Session::start_authorization`] returned until the callback, as without
    /// PAR.
    AuthorizationReady {
        /// The URL for the user's browser.
        url: String,
        /// When the `request_uri` expires.
        expires_at: Timestamp,
    },
}

/// The state machine of one connection (see the module documentation).
pub struct Session {
    provider: Arc<Provider>,
    client: ClientConfig,
    rights: Option<Rights>,
    account: Option<String>,
    margin: u64,
    conn: Option<Connection>,
    generation: u64,
    op: Option<Op>,
    next_request: u64,
    events: VecDeque<Event>,
    /// After an automatic refresh failed: when to try again, and how many failures in a row.
    refresh_retry: Option<(Timestamp, u32)>,
    /// The servers' latest DPoP nonces, per role and origin (RFC 9449 §8, §9).
    nonces: SessionNonces,
    /// The authorization pushed last (RFC 9126), until the next one.
    pushed: Option<PushedAuthorization>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("provider", &self.provider.id())
            .field("client_id", &self.client.client_id())
            .field("account", &self.account())
            .field("tokens", &self.conn.as_ref().map(Connection::tokens))
            .field("op", &self.op)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session for `provider` and the app registration `client`, holding no token yet.
    pub fn new(provider: impl Into<Arc<Provider>>, client: ClientConfig) -> Session {
        let provider = provider.into();
        let margin = provider.lifecycle().refresh_margin_secs;
        Session {
            provider,
            client,
            rights: None,
            account: None,
            margin,
            conn: None,
            generation: 0,
            op: None,
            next_request: 1,
            events: VecDeque::new(),
            refresh_retry: None,
            nonces: SessionNonces::default(),
            pushed: None,
        }
    }

    /// The account this session is for (a name the caller picks, or, for a profile whose
    /// callback names the account, that value: Yotpo's `app_key`). A login for another account
    /// is then refused.
    pub fn with_account(mut self, account: impl Into<String>) -> Session {
        self.account = Some(account.into());
        self
    }

    /// Checks every [`api_request`](Self::api_request) against the provider's access-rights
    /// matrix with these rights (the ones granted at app registration) before building it.
    pub fn with_rights(mut self, rights: Rights) -> Session {
        self.rights = Some(rights);
        self
    }

    /// Refreshes this many seconds before the access token expires (default: the profile's).
    pub fn with_refresh_margin(mut self, secs: u64) -> Session {
        self.margin = secs;
        self
    }

    /// The provider (shared: clone the `Arc` to keep it).
    pub fn provider(&self) -> &Arc<Provider> {
        &self.provider
    }

    /// The app registration.
    pub fn client(&self) -> &ClientConfig {
        &self.client
    }

    /// The rights API requests are checked against, when set.
    pub fn rights(&self) -> Option<Rights> {
        self.rights
    }

    /// The account the held tokens belong to: the value of the profile's account parameter in
    /// the token set (Yotpo: the `app_key`), else the account the session was made for, else
    /// [`DEFAULT_ACCOUNT`].
    pub fn account(&self) -> &str {
        if let (Some(param), Some(c)) = (self.provider.account_param(), &self.conn) {
            if let Some(v) = c.tokens().params.get(param) {
                return v;
            }
        }
        self.account.as_deref().unwrap_or(DEFAULT_ACCOUNT)
    }

    /// The account the session was made for, if one was named.
    pub fn expected_account(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// The token set held, if any.
    pub fn tokens(&self) -> Option<&TokenSet> {
        self.conn.as_ref().map(Connection::tokens)
    }

    /// Whether an operation is in flight.
    pub fn is_busy(&self) -> bool {
        self.op.is_some()
    }

    /// Whether [`refresh`](Self::refresh) should be called before the next API request: the
    /// access token expires within the refresh margin and can be renewed, or it has expired and
    /// cannot (the refresh then reports [`Event::ReauthorizationRequired`] without a request).
    pub fn needs_refresh(&self, now: Timestamp) -> bool {
        let Some(c) = &self.conn else { return false };
        match c.state(now) {
            TokenState::Active => c.needs_refresh(now, self.margin) && c.renewable(&self.provider),
            TokenState::Expired => true,
            TokenState::ReauthorizationRequired(_) => c.tokens().invalidated.is_none(),
        }
    }

    /// Replaces the held token set with one read from a store (`None`: forget it). The token
    /// set must belong to this provider and, when the session names an account, to that account.
    pub fn set_tokens(&mut self, tokens: Option<TokenSet>) -> Result<(), Error> {
        if self.op.is_some() {
            return Err(Error::Busy);
        }
        let Some(tokens) = tokens else {
            if self.conn.take().is_some() {
                self.generation += 1;
            }
            return Ok(());
        };
        if tokens.provider_id != self.provider.id() {
            return Err(UsageError::ProviderMismatch {
                expected: self.provider.id().to_owned(),
                got: tokens.provider_id.clone(),
            }
            .into());
        }
        if let (Some(param), Some(expected)) = (self.provider.account_param(), &self.account) {
            if let Some(got) = tokens.params.get(param).filter(|got| *got != expected) {
                return Err(Error::IdentityMismatch(format!(
                    "the token set belongs to account `{got}` ({param}), not to `{expected}`"
                )));
            }
        }
        let same = self.conn.as_ref().is_some_and(|c| c.tokens().access_token == tokens.access_token);
        if !same {
            self.generation += 1;
            self.refresh_retry = None;
        }
        self.conn = Some(self.connection(tokens));
        Ok(())
    }

    /// Forgets the held token locally, without telling the provider (after Yotpo's uninstall
    /// webhook, say). Returns whether there was one. Refused with [`Error::Busy`] while an
    /// operation is in flight, like [`set_tokens`](Self::set_tokens): its answer would bring a
    /// token set back. Hand the answer (or the failure) in first, then forget.
    pub fn forget(&mut self) -> Result<bool, Error> {
        if self.op.is_some() {
            return Err(Error::Busy);
        }
        Ok(self.drop_tokens())
    }

    /// Drops the held token set (whatever is in flight); whether there was one.
    fn drop_tokens(&mut self) -> bool {
        self.refresh_retry = None;
        let had = self.conn.take().is_some();
        if had {
            self.generation += 1;
        }
        had
    }

    fn connection(&self, tokens: TokenSet) -> Connection {
        Connection::new(&self.provider, tokens)
    }

    fn not_authorized(&self) -> Error {
        Error::NotAuthorized { provider: self.provider.id().to_owned(), account: self.account().to_owned() }
    }

    fn reauthorization(&self, reason: ReauthorizationReason) -> Error {
        Error::ReauthorizationRequired {
            provider: self.provider.id().to_owned(),
            account: self.account().to_owned(),
            reason,
            oauth: None,
        }
    }

    /// Marks the held grant dead (once) and reports it.
    fn invalidate(&mut self, reason: ReauthorizationReason) {
        if let Some(c) = &mut self.conn {
            if c.tokens().invalidated.is_none() {
                c.invalidate(reason);
                self.events.push_back(Event::TokensChanged);
                self.events.push_back(Event::ReauthorizationRequired(reason));
            }
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // --- commands ----------------------------------------------------------------------------

    /// Starts an authorization with the profile's scopes and extra parameters: the URL to send
    /// the user to, and the pending authorization to keep (in the user's web session, say,
    /// [`PendingAuthorization::to_json`]) until the callback arrives.
    ///
    /// For a profile that pushes its authorization requests (`[authorization] par = true`,
    /// RFC 9126) the push is the session's operation (so [`Error::Busy`] while another is in
    /// flight): the returned `url` is empty, [`poll_transmit`](Self::poll_transmit) gives the
    /// push (authenticated like a token request), and once its answer is handed in,
    /// [`Event::AuthorizationReady`] carries the browser URL, with only `client_id` and the
    /// `request_uri` ([`authorization_url`](Self::authorization_url) gives it again, until the
    /// `request_uri` expires). A refused push ends with [`Event::Failed`] ([`Error::Par`]).
    ///
    /// For a profile that uses DPoP (`[dpop] required = true`) the pending authorization carries
    /// the account's DPoP key (the held token set's, else a new one): the push is proven with
    /// it, and the code is exchanged with it.
    pub fn start_authorization(&mut self, now: Timestamp) -> Result<AuthorizationStart, Error> {
        self.authorization_check()?;
        let mut start = AuthorizationRequest::new(&self.provider, &self.client).build(now)?;
        start.pending.dpop_key = self.new_grant_dpop_key(None)?;
        if self.provider.uses_par() {
            return self.start_push(start);
        }
        Ok(start)
    }

    /// The builder of [`start_authorization`](Self::start_authorization), to ask for other
    /// scopes or to inject entropy in tests. What it builds is not pushed (PAR) and carries no
    /// DPoP key: the code exchange then uses the account's key (or a new one).
    pub fn authorization_request(&self) -> Result<AuthorizationRequest<'_>, Error> {
        self.authorization_check()?;
        Ok(AuthorizationRequest::new(&self.provider, &self.client))
    }

    fn authorization_check(&self) -> Result<(), Error> {
        if !self.provider.supports(GrantType::AuthorizationCode) {
            return Err(UsageError::GrantNotSupported {
                provider: self.provider.id().to_owned(),
                grant: GrantType::AuthorizationCode,
            }
            .into());
        }
        if let Some(c) = &self.conn {
            if c.tokens().identity == Identity::App {
                return Err(Error::IdentityMismatch(format!(
                    "account `{}` holds the app's own token (client credentials); a user's login would replace it: use another account, or forget it first",
                    self.account()
                )));
            }
        }
        Ok(())
    }

    /// Checks the authorization callback (the full redirect URL, or its query) against
    /// `pending` and starts the code exchange. A callback for another account than the
    /// session's (Yotpo: another store's `app_key`) is refused before the code is used.
    pub fn handle_callback(
        &mut self,
        now: Timestamp,
        pending: &mut PendingAuthorization,
        callback: &str,
    ) -> Result<(), Error> {
        if self.op.is_some() {
            return Err(Error::Busy);
        }
        self.authorization_check()?;
        let grant = pending.handle_callback(now, callback)?;
        if let Some(param) = self.provider.account_param() {
            // The profile requires the parameter, so a grant without it was refused above.
            let got = grant.params.get(param).map(String::as_str).unwrap_or("");
            let held = self.conn.as_ref().and_then(|c| c.tokens().params.get(param));
            if let Some(expected) = self.account.as_deref().or(held.map(String::as_str)) {
                if expected != got {
                    return Err(Error::IdentityMismatch(format!(
                        "the authorization is for account `{got}` ({param}), but this session is for `{expected}`: its token was not requested"
                    )));
                }
            }
        }
        let dpop = self.new_grant_dpop_key(Some(pending))?;
        let flow = TokenFlow::authorization_code(&self.provider, &self.client, grant)?;
        self.pushed = None;
        self.op = Some(Op::token_with_dpop(OpKind::Exchange, flow, dpop));
        Ok(())
    }

    /// Starts the client credentials grant (RFC 6749 §4.4): a token for the app itself. Refused
    /// when the session holds a user's token ([`Error::IdentityMismatch`]).
    pub fn client_credentials(&mut self, scopes: &[String]) -> Result<(), Error> {
        if self.op.is_some() {
            return Err(Error::Busy);
        }
        if let Some(c) = &self.conn {
            if c.tokens().identity == Identity::User {
                return Err(Error::IdentityMismatch(format!(
                    "account `{}` holds a user's token; the app's own token (client credentials) would replace it: use another account, or forget it first",
                    self.account()
                )));
            }
        }
        let dpop = self.new_grant_dpop_key(None)?;
        let flow = TokenFlow::client_credentials(&self.provider, &self.client, scopes)?;
        self.op = Some(Op::token_with_dpop(OpKind::ClientCredentials, flow, dpop));
        Ok(())
    }

    /// Starts a refresh now, whatever the expiry: with the refresh token, or, for the app's own
    /// token without one, by client credentials again. A dead grant, a refresh token past its
    /// lifetime or an expired user token without a refresh token give
    /// [`Error::ReauthorizationRequired`] without a request.
    pub fn refresh(&mut self, now: Timestamp) -> Result<(), Error> {
        if self.op.is_some() {
            return Err(Error::Busy);
        }
        let Some(c) = &self.conn else { return Err(self.not_authorized()) };
        let t = c.tokens();
        if let Some(reason) = t.invalidated {
            return Err(self.reauthorization(reason));
        }
        let p = &self.provider;
        let flow = match (&t.refresh_token, t.identity) {
            (Some(_), _) if t.refresh_token_expired(now) => {
                self.invalidate(ReauthorizationReason::RefreshTokenExpired);
                return Err(self.reauthorization(ReauthorizationReason::RefreshTokenExpired));
            }
            (Some(_), _) if p.supports(GrantType::RefreshToken) => TokenFlow::refresh(p, &self.client, t)?,
            (_, Identity::App) if p.supports(GrantType::ClientCredentials) => {
                TokenFlow::client_credentials(p, &self.client, &t.scopes)?
            }
            (Some(_), _) => {
                return Err(UsageError::GrantNotSupported {
                    provider: p.id().to_owned(),
                    grant: GrantType::RefreshToken,
                }
                .into());
            }
            (None, _) if t.is_expired(now) => {
                self.invalidate(ReauthorizationReason::NoRefreshToken);
                return Err(self.reauthorization(ReauthorizationReason::NoRefreshToken));
            }
            (None, _) => return Err(UsageError::NoRefreshToken.into()),
        };
        let dpop = self.refresh_dpop_key()?;
        self.op = Some(Op::token_with_dpop(OpKind::Refresh, flow, dpop));
        Ok(())
    }

    /// Starts the revocation (RFC 7009) or the remove-application call of the profile for the
    /// held token. On success [`Event::Revoked`] comes and the session holds no token; on
    /// failure the token is kept.
    pub fn revoke(&mut self, now: Timestamp) -> Result<(), Error> {
        if self.op.is_some() {
            return Err(Error::Busy);
        }
        let Some(c) = &self.conn else { return Err(self.not_authorized()) };
        let flow = RevocationFlow::new_at(&self.provider, &self.client, c.tokens(), self.account(), now)?;
        self.op = Some(Op::revoke(flow));
        Ok(())
    }
}
