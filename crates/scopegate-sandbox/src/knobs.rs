//! What a test may turn: how consent is given, and the faults of the next token answers.

use std::time::Duration;

/// How the sandbox answers an authorization request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consent {
    /// Approve at once (tests, `scopegate demo`).
    AutoApprove,
    /// Refuse at once (`error=access_denied`).
    AutoDeny,
    /// Show a page with Approve and Deny buttons.
    Page,
}

/// A misbehaviour of the next token-endpoint answer of a provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (500, 502, 503, ...) and a short HTML body.
    Status(u16),
    /// Answer correctly after this delay.
    Slow(Duration),
    /// Answer 200 with a body that is not JSON.
    MalformedJson,
    /// Answer 200 with `{"error":"server_error"}`.
    ErrorIn200,
    /// Issue the token normally, but let it die after this many seconds (whatever `expires_in`
    /// says).
    EarlyExpiry(u64),
    /// Issue the tokens normally, but without a refresh token: none in the answer, none kept
    /// (the refresh token a refresh request used is not kept either). A login then ends with a
    /// user token that cannot be refreshed.
    NoRefreshToken,
}

impl Fault {
    /// Reads a fault from its text form: `500`, `slow:1500` (ms), `malformed-json`,
    /// `error-in-200`, `early-expiry:5` (s), `no-refresh-token`.
    pub fn parse(s: &str) -> Option<Fault> {
        if let Ok(status) = s.parse::<u16>() {
            return (400..600).contains(&status).then_some(Fault::Status(status));
        }
        match s.split_once(':') {
            Some(("slow", ms)) => ms.parse().ok().map(|ms| Fault::Slow(Duration::from_millis(ms))),
            Some(("early-expiry", secs)) => secs.parse().ok().map(Fault::EarlyExpiry),
            None if s == "malformed-json" => Some(Fault::MalformedJson),
            None if s == "error-in-200" => Some(Fault::ErrorIn200),
            None if s == "no-refresh-token" => Some(Fault::NoRefreshToken),
            _ => None,
        }
    }
}
