//! The shared state of a sandbox: registered apps, codes, tokens, pending consents, counters,
//! queued faults, and the lock around them.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use scopegate_core::Provider;
use url::Url;

use crate::apps::{App, PROVIDERS, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET};
use crate::clock::SandboxClock;
use crate::counters::Counters;
use crate::error::SandboxError;
use crate::knobs::{Consent, Fault};
use crate::specs::state::SpecsServer;

/// How long an authorization code can be exchanged (RFC 6749 §4.1.2: "10 minutes" at most).
pub(crate) const CODE_MAX_AGE_SECS: u64 = 600;

/// An authorization code waiting for its exchange.
pub(crate) struct Code {
    pub(crate) provider: String,
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) app_key: Option<String>,
    pub(crate) company: Option<String>,
    pub(crate) issued: u64,
    pub(crate) challenge: Option<String>,
}

/// An issued access token, with its refresh token when it has one.
#[derive(Clone)]
pub(crate) struct Token {
    pub(crate) provider: String,
    pub(crate) client_id: String,
    pub(crate) access: String,
    pub(crate) refresh: Option<String>,
    pub(crate) access_expires: Option<u64>,
    pub(crate) refresh_expires: Option<u64>,
    pub(crate) code: Option<String>,
    pub(crate) redirect_uri: Option<String>,
    pub(crate) app_key: Option<String>,
    pub(crate) company: Option<String>,
    /// The grant family: every token descended from one authorization code or one client
    /// credentials issue shares it.
    pub(crate) family: u64,
}

/// A refresh token that was used and replaced (rotated out).
pub(crate) struct Retired {
    pub(crate) provider: String,
    pub(crate) client_id: String,
    pub(crate) family: u64,
}

/// An authorization request waiting for the user's decision on the consent page.
pub(crate) struct Pending {
    pub(crate) provider: String,
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) state: Option<String>,
    pub(crate) challenge: Option<String>,
}

pub(crate) struct State {
    pub(crate) apps: Vec<App>,
    pub(crate) codes: HashMap<String, Code>,
    pub(crate) tokens: Vec<Token>,
    pub(crate) pending: HashMap<String, Pending>,
    pub(crate) counters: HashMap<String, Counters>,
    pub(crate) faults: HashMap<String, Vec<Fault>>,
    pub(crate) consent: Consent,
    pub(crate) webhook: Option<Url>,
    pub(crate) yuvo_refreshes: u64,
    pub(crate) clock: SandboxClock,
    /// Strict mode: PKCE required, refresh-token reuse revokes the grant.
    pub(crate) strict: bool,
    /// The last grant family given out.
    pub(crate) families: u64,
    /// Rotated-out refresh tokens, by value.
    pub(crate) retired: HashMap<String, Retired>,
}

impl State {
    /// A new state: the sandbox app registered with every provider.
    pub(crate) fn new(consent: Consent, strict: bool, clock: SandboxClock) -> State {
        let apps = PROVIDERS
            .iter()
            .map(|p| App {
                provider: (*p).to_owned(),
                client_id: SANDBOX_CLIENT_ID.into(),
                client_secret: SANDBOX_CLIENT_SECRET.into(),
                redirect_uri: None,
                rights: if matches!(*p, "yespo" | "reteno") { vec!["events_and_contacts".into()] } else { vec![] },
            })
            .collect();
        State {
            apps,
            codes: HashMap::new(),
            tokens: Vec::new(),
            pending: HashMap::new(),
            counters: HashMap::new(),
            faults: HashMap::new(),
            consent,
            webhook: None,
            yuvo_refreshes: 0,
            clock,
            strict,
            families: 0,
            retired: HashMap::new(),
        }
    }

    /// Now, in seconds since the Unix epoch, by the sandbox's clock.
    pub(crate) fn now(&self) -> u64 {
        self.clock.now().as_unix_secs()
    }

    /// The counters of `provider`, created on first use.
    pub(crate) fn count(&mut self, provider: &str) -> &mut Counters {
        self.counters.entry(provider.to_owned()).or_default()
    }

    /// Registers (or replaces, by provider and client id) an app.
    pub(crate) fn register(&mut self, app: App) -> Result<(), SandboxError> {
        if !PROVIDERS.contains(&app.provider.as_str()) {
            return Err(SandboxError::UnknownProvider(app.provider));
        }
        self.apps.retain(|a| !(a.provider == app.provider && a.client_id == app.client_id));
        self.apps.push(app);
        Ok(())
    }

    /// A new grant family.
    pub(crate) fn new_family(&mut self) -> u64 {
        self.families += 1;
        self.families
    }

    /// Remembers that `refresh` of `old` was used and replaced.
    pub(crate) fn retire(&mut self, refresh: String, old: &Token) {
        let r = Retired { provider: old.provider.clone(), client_id: old.client_id.clone(), family: old.family };
        self.retired.insert(refresh, r);
    }

    /// Revokes a grant family: its refresh token and every access token stop working.
    pub(crate) fn revoke_family(&mut self, family: u64) {
        self.tokens.retain(|t| t.family != family);
    }

    /// The app `client_id` of `provider`.
    pub(crate) fn find_app(&self, provider: &str, client_id: &str) -> Option<&App> {
        self.apps.iter().find(|a| a.provider == provider && a.client_id == client_id)
    }

    /// The live (known, unexpired) token of `provider` whose access token is `bearer`.
    pub(crate) fn live_token(&self, provider: &str, bearer: Option<&str>) -> Option<&Token> {
        let bearer = bearer?;
        let t = self.now();
        self.tokens
            .iter()
            .find(|x| x.provider == provider && x.access == bearer && x.access_expires.is_none_or(|e| t < e))
    }
}

/// What every request handler shares: the base URL, the locked state, and the built-in
/// profiles pointed at the sandbox (their permission matrices decide Yespo/Reteno API calls).
pub(crate) struct Shared {
    pub(crate) base: String,
    pub(crate) state: Mutex<State>,
    pub(crate) profiles: HashMap<String, Provider>,
    /// The standards server under `/specs` (discovery, private_key_jwt, PAR, device, DPoP).
    pub(crate) specs: SpecsServer,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}
