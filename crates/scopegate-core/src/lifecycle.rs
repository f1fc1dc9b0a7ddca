//! Token lifecycle: when to refresh, and when the user must authorize (install) again.

use crate::flow::FlowError;
use crate::profile::{LifecyclePolicy, Provider};
use crate::time::Timestamp;
use crate::token::TokenSet;

/// Why the user must authorize the app again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReauthorizationReason {
    /// A refresh was answered `invalid_grant`: the refresh token is dead.
    InvalidGrant,
    /// The refresh token's own lifetime has passed.
    RefreshTokenExpired,
    /// The profile's limit of consecutive 401 answers was reached (Yotpo: 3 ⇒ re-install).
    RepeatedUnauthorized {
        /// How many in a row.
        count: u32,
    },
}

/// Where a connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenState {
    /// The access token is valid.
    Active,
    /// The access token has expired; a refresh (or a new client-credentials token) is needed.
    Expired,
    /// Only a new authorization by the user (for Yotpo: a re-install) will help.
    ReauthorizationRequired(ReauthorizationReason),
    /// The app revoked the token or was uninstalled; the token must not be used.
    Revoked,
}

/// What the caller should do after an API answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiVerdict {
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
/// connection" after which Yotpo's "3 repetitive 401 errors" rule counts.
#[derive(Clone, Debug)]
pub struct Connection {
    tokens: TokenSet,
    policy: LifecyclePolicy,
    consecutive_401: u32,
    terminal: Option<TokenState>,
}

impl Connection {
    /// A connection with the provider's lifecycle policy.
    pub fn new(provider: &Provider, tokens: TokenSet) -> Self {
        Self::with_policy(provider.lifecycle(), tokens)
    }

    /// A connection with an explicit policy.
    pub fn with_policy(policy: LifecyclePolicy, tokens: TokenSet) -> Self {
        Self { tokens, policy, consecutive_401: 0, terminal: None }
    }

    /// Sets how early (seconds before expiry) a refresh is due (default: the profile's, 60 s).
    pub fn set_refresh_margin(&mut self, secs: u64) {
        self.policy.refresh_margin_secs = secs;
    }

    /// The token set.
    pub fn tokens(&self) -> &TokenSet {
        &self.tokens
    }

    /// Consecutive 401 answers since the last success.
    pub fn consecutive_401(&self) -> u32 {
        self.consecutive_401
    }

    /// The state at `now`.
    pub fn state(&self, now: Timestamp) -> TokenState {
        if let Some(t) = self.terminal {
            return t;
        }
        if !self.tokens.is_expired(now) {
            return TokenState::Active;
        }
        if self.tokens.refresh_token.is_some() && self.tokens.refresh_token_expired(now) {
            return TokenState::ReauthorizationRequired(ReauthorizationReason::RefreshTokenExpired);
        }
        TokenState::Expired
    }

    /// Whether a refresh is due: the access token expires within the margin and the
    /// connection is not revoked or waiting for re-authorization.
    pub fn needs_refresh(&self, now: Timestamp) -> bool {
        matches!(self.state(now), TokenState::Active | TokenState::Expired)
            && self.tokens.expires_within(now, self.policy.refresh_margin_secs)
    }

    /// Applies the outcome of a refresh. A new token set replaces the old one (the flow has
    /// already kept or rotated the refresh token); `invalid_grant` makes the connection require
    /// re-authorization; other failures change nothing (the old tokens may still be retried).
    pub fn apply_refresh(&mut self, outcome: &Result<TokenSet, FlowError>) {
        match outcome {
            Ok(tokens) => {
                self.tokens = tokens.clone();
                self.consecutive_401 = 0;
            }
            Err(e) if e.is_invalid_grant() => {
                self.terminal = Some(TokenState::ReauthorizationRequired(ReauthorizationReason::InvalidGrant));
            }
            Err(_) => {}
        }
    }

    /// Records the status of an API call made with this connection's token. Any 2xx/3xx resets
    /// the 401 count; a 401 increments it; other statuses leave it as it is.
    pub fn record_api_status(&mut self, status: u16) -> ApiVerdict {
        if self.terminal.is_some() {
            return match self.terminal {
                Some(TokenState::ReauthorizationRequired(_)) => ApiVerdict::ReauthorizationRequired,
                _ => ApiVerdict::Ok,
            };
        }
        match status {
            200..=399 => {
                self.consecutive_401 = 0;
                ApiVerdict::Ok
            }
            401 => {
                self.consecutive_401 = self.consecutive_401.saturating_add(1);
                match self.policy.reinstall_after_consecutive_401 {
                    Some(limit) if self.consecutive_401 >= limit => {
                        self.terminal =
                            Some(TokenState::ReauthorizationRequired(ReauthorizationReason::RepeatedUnauthorized {
                                count: self.consecutive_401,
                            }));
                        ApiVerdict::ReauthorizationRequired
                    }
                    _ => ApiVerdict::Unauthorized { consecutive: self.consecutive_401 },
                }
            }
            _ => ApiVerdict::Ok,
        }
    }

    /// Marks the connection revoked (the app revoked the token, or was uninstalled from
    /// either side, e.g. on Yotpo's uninstall webhook).
    pub fn revoke(&mut self) {
        self.terminal = Some(TokenState::Revoked);
    }
}
