//! The `/specs` server's state: its clients, codes, pushed requests, device codes, tokens,
//! counters, keys and nonces, and the metadata it publishes.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use scopegate_core::jose::SigningKey;
use scopegate_core::profile::JwsAlgorithm;
use serde_json::{Map, Value, json};

use crate::clock::SandboxClock;
use crate::random::random;

/// The secret of the `/specs` clients that have one.
pub const SPECS_SECRET: &str = "specs-secret";
/// How long a pushed `request_uri` lives.
pub const REQUEST_URI_LIFETIME_SECS: u64 = 60;
/// How long device codes live.
pub const DEVICE_CODE_LIFETIME_SECS: u64 = 300;
/// The device polling interval the server asks for.
pub const DEVICE_INTERVAL_SECS: u64 = 5;

/// What the `/specs` server has seen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpecsCounters {
    /// Tokens issued, by grant type.
    pub tokens: HashMap<String, u64>,
    /// Client assertions refused (wrong `aud`, expired, replayed, bad signature).
    pub assertions_refused: u64,
    /// `use_dpop_nonce` answers of the token endpoint.
    pub token_nonce_challenges: u64,
    /// `use_dpop_nonce` answers of the resource.
    pub resource_nonce_challenges: u64,
    /// DPoP proofs refused for another reason.
    pub proofs_refused: u64,
    /// Pushed authorization requests accepted.
    pub pushed: u64,
    /// `request_uri`s refused because they had expired.
    pub expired_request_uris: u64,
    /// Device polls answered `slow_down`.
    pub slow_downs: u64,
    /// Resource calls answered 200.
    pub api_ok: u64,
}

pub(crate) struct Client {
    pub(crate) id: String,
    pub(crate) secret: Option<String>,
    pub(crate) jwk: Option<Map<String, Value>>,
    pub(crate) par_required: bool,
    pub(crate) dpop_required: bool,
}

pub(crate) struct SpecsToken {
    pub(crate) access: String,
    pub(crate) refresh: Option<String>,
    pub(crate) client_id: String,
    pub(crate) jkt: Option<String>,
    pub(crate) expires: u64,
    pub(crate) subject: Option<String>,
}

pub(crate) struct Pushed {
    pub(crate) client_id: String,
    pub(crate) params: Vec<(String, String)>,
    pub(crate) expires: u64,
}

pub(crate) struct SpecsCode {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) challenge: Option<String>,
    pub(crate) issued: u64,
}

pub(crate) struct Device {
    pub(crate) client_id: String,
    pub(crate) user_code: String,
    pub(crate) expires: u64,
    pub(crate) interval: u64,
    pub(crate) last_poll: u64,
    /// `None`: undecided; `Some(true)`: approved.
    pub(crate) decision: Option<bool>,
}

pub(crate) struct SpecsState {
    pub(crate) clients: Vec<Client>,
    pub(crate) tokens: Vec<SpecsToken>,
    pub(crate) codes: HashMap<String, SpecsCode>,
    pub(crate) pushed: HashMap<String, Pushed>,
    pub(crate) devices: HashMap<String, Device>,
    pub(crate) seen_jti: HashSet<String>,
    pub(crate) counters: SpecsCounters,
}

/// The `/specs` server's state and keys.
pub(crate) struct SpecsServer {
    pub(crate) issuer: String,
    pub(crate) clock: SandboxClock,
    pub(crate) client_key: SigningKey,
    pub(crate) token_nonce: String,
    pub(crate) resource_nonce: String,
    state: Mutex<SpecsState>,
}

impl SpecsServer {
    pub(crate) fn new(base: &str, clock: SandboxClock) -> SpecsServer {
        // A sandbox without a key for its private_key_jwt client cannot emulate it: fail loudly.
        let client_key = SigningKey::generate(JwsAlgorithm::Es256).expect("an ES256 key").with_kid("specs-jwt-1");
        let plain = |id: &str, par: bool, dpop: bool| Client {
            id: id.into(),
            secret: Some(SPECS_SECRET.into()),
            jwk: None,
            par_required: par,
            dpop_required: dpop,
        };
        let clients = vec![
            plain("specs-client", false, false),
            Client {
                id: "specs-jwt".into(),
                secret: None,
                jwk: Some(client_key.public_jwks_entry()),
                par_required: false,
                dpop_required: false,
            },
            plain("specs-par", true, false),
            plain("specs-dpop", false, true),
        ];
        SpecsServer {
            issuer: format!("{base}/specs"),
            clock,
            client_key,
            token_nonce: random(16),
            resource_nonce: random(16),
            state: Mutex::new(SpecsState {
                clients,
                tokens: Vec::new(),
                codes: HashMap::new(),
                pushed: HashMap::new(),
                devices: HashMap::new(),
                seen_jti: HashSet::new(),
                counters: SpecsCounters::default(),
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, SpecsState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn now(&self) -> u64 {
        self.clock.now().as_unix_secs()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    pub(crate) fn metadata(&self) -> Value {
        json!({
            "issuer": self.issuer,
            "authorization_endpoint": self.url("/authorize"),
            "token_endpoint": self.url("/token"),
            "pushed_authorization_request_endpoint": self.url("/par"),
            "device_authorization_endpoint": self.url("/device"),
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256", "EdDSA"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials",
                "urn:ietf:params:oauth:grant-type:device_code"],
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "dpop_signing_alg_values_supported": ["ES256", "EdDSA"],
            "authorization_response_iss_parameter_supported": true,
            "scopes_supported": ["read"],
        })
    }

    /// Registers (or replaces) a private_key_jwt client with its public JWK.
    pub(crate) fn register_jwt_client(&self, id: &str, jwk: Map<String, Value>) {
        let mut st = self.lock();
        st.clients.retain(|c| c.id != id);
        st.clients.push(Client {
            id: id.to_owned(),
            secret: None,
            jwk: Some(jwk),
            par_required: false,
            dpop_required: false,
        });
    }
}
