//! The session's rules about its token set: when a refresh is due (the one refresh rule,
//! [`refresh_due_at`]), where the connection stands, and what an API answer means for it (the
//! 401 count, Yotpo's repeated-401 rule). The state that must outlive a process (the 401 count
//! and whether the grant is dead) lives in the [`TokenSet`] itself, so a token store keeps it.

use crate::flow::FlowError;
use crate::profile::Provider;
use crate::time::Timestamp;
use crate::token::{ReauthorizationReason, TokenSet};

/// When a refresh of `tokens` is due with a margin of `margin_secs`: `margin_secs` before
/// the access token expires, but never before half its lifetime (`expires_at - issued_at`) has
/// passed, so that a token living less than twice the margin is not due the moment it arrives
/// (the effective margin is min(margin, lifetime / 2)). `None`: it never expires by time.
///
/// This is the refresh rule; [`TokenSet::refresh_due_at`] is the same function.
pub(crate) fn refresh_due_at(tokens: &TokenSet, margin_secs: u64) -> Option<Timestamp> {
    let expires = tokens.expires_at?;
    let lifetime = expires.secs_since(tokens.issued_at);
    Some(expires.minus_secs(margin_secs.min(lifetime / 2)))
}

impl TokenSet {
    /// When a refresh of this token set is due with a margin of `margin_secs`: the session's
    /// rule (the margin, but never before half the token's lifetime). `None`: it never expires
    /// by time. A driver may answer "fresh" from memory while `now` is before this moment and
    /// the grant is not marked dead; everything else goes through a [`Session`](crate::Session).
    pub fn refresh_due_at(&self, margin_secs: u64) -> Option<Timestamp> {
        refresh_due_at(self, margin_secs)
    }
}

/// Where a connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenState {
    /// The access token is valid.
    Active,
    /// The access token has expired; a refresh (or a new client-credentials token) is needed.
    Expired,
    /// Only a new authorization by the user (for Yotpo: a re-install) will help.
    ReauthorizationRequired(ReauthorizationReason),
}

/// What the caller should do after an API answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ApiVerdict {
    /// Nothing: the answer was not an authorization failure.
    Ok,
    /// A 401 below the profile's limit (or a provider without one): refresh, retry once.
    Unauthorized {
        /// Consecutive 401s so far.
        consecutive: u32,
    },
    /// The limit was reached: mark the integration as needing re-authorization.
    ReauthorizationRequired,
}

/// A connection: a token set with its lifecycle state.
///
/// Created from the token set of a successful exchange: that exchange is the "successful
/// connection" after which Yotpo's "3 repetitive 401 errors" rule counts. The 401 count and the
/// dead-grant mark are kept in the token set ([`TokenSet::consecutive_401`],
/// [`TokenSet::invalidated`]).
#[derive(Clone, Debug)]
pub(crate) struct Connection {
    tokens: TokenSet,
    /// The profile's limit of consecutive 401 answers (Yotpo: 3), if any.
    reinstall_after: Option<u32>,
}

impl Connection {
    /// A connection with the provider's lifecycle rules.
    pub(crate) fn new(provider: &Provider, tokens: TokenSet) -> Self {
        Self { tokens, reinstall_after: provider.lifecycle().reinstall_after_consecutive_401 }
    }

    /// The token set.
    pub(crate) fn tokens(&self) -> &TokenSet {
        &self.tokens
    }

    /// The state at `now`.
    pub(crate) fn state(&self, now: Timestamp) -> TokenState {
        if let Some(reason) = self.tokens.invalidated {
            return TokenState::ReauthorizationRequired(reason);
        }
        if !self.tokens.is_expired(now) {
            return TokenState::Active;
        }
        if self.tokens.refresh_token.is_some() && self.tokens.refresh_token_expired(now) {
            return TokenState::ReauthorizationRequired(ReauthorizationReason::RefreshTokenExpired);
        }
        TokenState::Expired
    }

    /// Whether a refresh is due with this margin ([`TokenSet::refresh_due_at`]) and the grant is
    /// not waiting for re-authorization.
    pub(crate) fn needs_refresh(&self, now: Timestamp, margin_secs: u64) -> bool {
        matches!(self.state(now), TokenState::Active | TokenState::Expired)
            && refresh_due_at(&self.tokens, margin_secs).is_some_and(|due| now >= due)
    }

    /// Applies the outcome of a refresh. A new token set replaces the old one (the flow has
    /// already kept or rotated the refresh token); `invalid_grant` makes the connection require
    /// re-authorization; other failures change nothing (the old tokens may still be retried).
    pub(crate) fn apply_refresh(&mut self, outcome: &Result<TokenSet, FlowError>) {
        match outcome {
            Ok(tokens) => {
                self.tokens = tokens.clone();
                self.tokens.consecutive_401 = 0;
            }
            Err(e) if e.is_invalid_grant() => {
                self.tokens.invalidated = Some(ReauthorizationReason::InvalidGrant);
            }
            Err(_) => {}
        }
    }

    /// Records the status of an API call made with this connection's token. Any 2xx/3xx resets
    /// the 401 count; a 401 increments it; other statuses leave it as it is.
    pub(crate) fn record_api_status(&mut self, status: u16) -> ApiVerdict {
        if self.tokens.invalidated.is_some() {
            return ApiVerdict::ReauthorizationRequired;
        }
        let t = &mut self.tokens;
        match status {
            200..=399 => {
                t.consecutive_401 = 0;
                ApiVerdict::Ok
            }
            401 => {
                t.consecutive_401 = t.consecutive_401.saturating_add(1);
                match self.reinstall_after {
                    Some(limit) if t.consecutive_401 >= limit => {
                        t.invalidated = Some(ReauthorizationReason::RepeatedUnauthorized { count: t.consecutive_401 });
                        ApiVerdict::ReauthorizationRequired
                    }
                    _ => ApiVerdict::Unauthorized { consecutive: t.consecutive_401 },
                }
            }
            _ => ApiVerdict::Ok,
        }
    }

    /// Marks the grant dead: only a new authorization helps.
    pub(crate) fn invalidate(&mut self, reason: ReauthorizationReason) {
        self.tokens.invalidated = Some(reason);
    }

    /// Whether the access token can be renewed without the user: a refresh token the provider
    /// accepts (user or app), or, for the app's own token, the client credentials grant.
    pub(crate) fn renewable(&self, provider: &Provider) -> bool {
        let t = &self.tokens;
        (t.refresh_token.is_some() && provider.supports(crate::profile::GrantType::RefreshToken))
            || (t.identity == crate::token::Identity::App
                && provider.supports(crate::profile::GrantType::ClientCredentials))
    }
}
