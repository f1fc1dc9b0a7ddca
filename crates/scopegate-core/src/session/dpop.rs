//! DPoP (RFC 9449) in the session: which key an operation proves possession of, and the
//! servers' nonces. One key per account, kept in the token set ([`TokenSet::dpop_key`]): a new
//! grant takes the key its authorization started with (a pushed request was proven with it),
//! else the held token set's, else a new one; a refresh takes the token set's. The tokens an
//! operation gets are bound to its key and carry it.

use super::Session;
use crate::authorize::PendingAuthorization;
use crate::dpop::{DpopKey, SessionNonces};
use crate::error::Error;
use crate::token::TokenSet;
use crate::usage::UsageError;

impl Session {
    /// The key a new grant (an authorization, client credentials, a device authorization) is
    /// proven with: the one `pending` carries, else, for a profile that requires DPoP, the held
    /// token set's, else a new one of the profile's algorithm. `None`: no DPoP.
    pub(super) fn new_grant_dpop_key(&self, pending: Option<&PendingAuthorization>) -> Result<Option<DpopKey>, Error> {
        if let Some(key) = pending.and_then(PendingAuthorization::dpop_key) {
            return Ok(Some(key.clone()));
        }
        let Some(policy) = self.provider.dpop().filter(|d| d.required) else { return Ok(None) };
        if let Some(key) = self.tokens().and_then(|t| t.dpop_key.as_ref()) {
            return Ok(Some(key.clone()));
        }
        DpopKey::generate(policy.alg).map(Some).map_err(|e| UsageError::Dpop { reason: e.to_string() }.into())
    }

    /// The key a refresh of the held token set is proven with: the token set's; a new one when
    /// it has none and the profile requires DPoP (or its token is DPoP-bound: the server then
    /// decides whether a new key may continue the grant). `None`: no DPoP.
    pub(super) fn refresh_dpop_key(&self) -> Result<Option<DpopKey>, Error> {
        let Some(tokens) = self.tokens() else { return Ok(None) };
        if let Some(key) = &tokens.dpop_key {
            return Ok(Some(key.clone()));
        }
        let required = self.provider.dpop().filter(|d| d.required || tokens.is_dpop_bound());
        match required {
            Some(policy) => {
                DpopKey::generate(policy.alg).map(Some).map_err(|e| UsageError::Dpop { reason: e.to_string() }.into())
            }
            None if tokens.is_dpop_bound() => {
                Err(UsageError::DpopKeyMissing { provider: tokens.provider_id.clone() }.into())
            }
            None => Ok(None),
        }
    }

    /// The DPoP key of a token set whose access token is DPoP-bound; `None` for a Bearer token.
    /// A bound token without a key cannot be sent at all ([`UsageError::DpopKeyMissing`]).
    pub(super) fn api_dpop_key(tokens: &TokenSet) -> Result<Option<&DpopKey>, Error> {
        if !tokens.is_dpop_bound() {
            return Ok(None);
        }
        match &tokens.dpop_key {
            Some(key) => Ok(Some(key)),
            None => Err(UsageError::DpopKeyMissing { provider: tokens.provider_id.clone() }.into()),
        }
    }

    /// The servers' latest DPoP nonces: the authorization server's and the resources', per
    /// origin (learned from every answer to a request with a proof).
    pub fn dpop_nonces(&self) -> &SessionNonces {
        &self.nonces
    }

    /// Starts from nonces learned before (by another session of the same account, say): a
    /// driver that makes a session per operation keeps them between its sessions, and saves a
    /// nonce round trip per request.
    pub fn set_dpop_nonces(&mut self, nonces: SessionNonces) {
        self.nonces = nonces;
    }

    /// [`set_dpop_nonces`](Self::set_dpop_nonces) as a builder.
    pub fn with_dpop_nonces(mut self, nonces: SessionNonces) -> Session {
        self.nonces = nonces;
        self
    }
}
