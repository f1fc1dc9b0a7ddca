//! What a provider of the sandbox has seen.

use std::collections::HashMap;

use serde_json::{Value, json};

/// What a provider of the sandbox has seen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Authorization (or install) requests.
    pub authorize: u64,
    /// Consents given / refused.
    pub approved: u64,
    /// Consents refused.
    pub denied: u64,
    /// Token requests, by `grant_type`.
    pub token_requests: HashMap<String, u64>,
    /// Token requests answered with an error (faults included).
    pub token_errors: u64,
    /// API calls.
    pub api_calls: u64,
    /// API calls answered 401.
    pub api_401: u64,
    /// API calls answered 403.
    pub api_403: u64,
    /// Remove-application calls.
    pub uninstalls: u64,
    /// Uninstall webhooks delivered.
    pub webhooks: u64,
    /// Rotated-out refresh tokens presented again in strict mode (each revoked a grant).
    pub reuse_detected: u64,
}

impl Counters {
    /// Token requests of one grant.
    pub fn grant(&self, grant: &str) -> u64 {
        self.token_requests.get(grant).copied().unwrap_or(0)
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({
            "authorize": self.authorize, "approved": self.approved, "denied": self.denied,
            "token_requests": self.token_requests, "token_errors": self.token_errors,
            "api_calls": self.api_calls, "api_401": self.api_401, "api_403": self.api_403,
            "uninstalls": self.uninstalls, "webhooks": self.webhooks, "reuse_detected": self.reuse_detected,
        })
    }
}
