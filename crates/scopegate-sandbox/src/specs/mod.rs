//! The standards server under `/specs`: an authorization server whose issuer is
//! `{base}/specs`, with discovery (RFC 8414, OpenID Connect Discovery), private_key_jwt client
//! authentication (RFC 7523), pushed authorization requests (RFC 9126), the device grant
//! (RFC 8628) and DPoP (RFC 9449), and the failures a provider answers with:
//!
//! - a client assertion whose `aud` is neither the token endpoint nor the issuer (or that is
//!   expired, replayed, or signed by another key): `401 invalid_client`;
//! - a DPoP proof without the server's nonce: `400 use_dpop_nonce` at the token endpoint, `401`
//!   with `WWW-Authenticate: DPoP error="use_dpop_nonce"` at the resource, both with a
//!   `DPoP-Nonce` header;
//! - a device poll sooner than the interval: `slow_down` (the interval grows by 5 s);
//! - a `request_uri` used after its `expires_in` (60 s): `invalid_request_uri` on the redirect URI.
//!
//! Clients (every one with the secret [`SPECS_SECRET`] except `specs-jwt`): `specs-client`
//! (client_secret_basic, every grant), `specs-jwt` (private_key_jwt with
//! [`Sandbox::specs_client_key`]; other keys through [`Sandbox::register_jwt_client`] or
//! `POST /_sandbox/specs/jwt_client`), `specs-par` (PAR required), `specs-dpop` (DPoP required).
//! Any loopback redirect URI is accepted. Consent follows the sandbox's mode: denied when it is
//! `deny`, given otherwise. `GET /specs/api/me` is the protected resource.

mod checks;
mod flows;

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use scopegate_core::jose::SigningKey;
use scopegate_core::profile::JwsAlgorithm;
use serde_json::{Map, Value, json};

use crate::SandboxClock;
use crate::server::{Answer, Req, Sandbox};
use crate::state::{Shared, random};

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

    fn metadata(&self) -> Value {
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
}

/// Answers a request of the `/specs` server, or `None` when it is not one.
pub(crate) fn route(shared: &Shared, req: &Req) -> Option<Answer> {
    let s = &shared.specs;
    let path = req.path.as_str();
    let m = req.method.as_str();
    if m == "GET"
        && (path == "/.well-known/oauth-authorization-server/specs"
            || path == "/specs/.well-known/openid-configuration")
    {
        return Some(Answer::json(200, s.metadata()));
    }
    if path == "/_sandbox/specs/jwt_client" && m == "POST" {
        let v = req.json.as_ref();
        let id = v.and_then(|v| v.get("client_id")).and_then(Value::as_str);
        let jwk = v.and_then(|v| v.get("jwk")).and_then(Value::as_object);
        return Some(match (id, jwk) {
            (Some(id), Some(jwk)) => {
                register_jwt(s, id, jwk.clone());
                Answer::json(200, json!({"registered": true}))
            }
            _ => Answer::json(400, json!({"error": "expected {client_id, jwk}"})),
        });
    }
    let rest = path.strip_prefix("/specs")?;
    Some(match (m, rest) {
        ("POST", "/token") => flows::token(s, req),
        ("POST", "/par") => flows::par(s, req),
        ("GET", "/authorize") => flows::authorize(shared, req),
        ("POST", "/device") => flows::device_authorization(s, req),
        ("GET", "/device/verify") => flows::device_verify(shared, req),
        ("GET", "/api/me") => flows::resource(s, req),
        _ => Answer::json(404, json!({"error": "not_found"})),
    })
}

fn register_jwt(s: &SpecsServer, id: &str, jwk: Map<String, Value>) {
    let mut st = s.lock();
    st.clients.retain(|c| c.id != id);
    st.clients.push(Client {
        id: id.to_owned(),
        secret: None,
        jwk: Some(jwk),
        par_required: false,
        dpop_required: false,
    });
}

impl Sandbox {
    /// The issuer of the `/specs` server (`{base}/specs`): `scopegate provider discover` it.
    pub fn specs_issuer(&self) -> String {
        self.shared.specs.issuer.clone()
    }

    /// The private key of the `specs-jwt` client (ES256, `kid` `specs-jwt-1`): a test tool hands
    /// it out so that tests can sign assertions the server accepts.
    pub fn specs_client_key(&self) -> SigningKey {
        self.shared.specs.client_key.clone()
    }

    /// Registers (or replaces) a private_key_jwt client of the `/specs` server with its public
    /// JWK.
    pub fn register_jwt_client(&self, client_id: &str, public_jwk: Map<String, Value>) {
        register_jwt(&self.shared.specs, client_id, public_jwk);
    }

    /// What the `/specs` server has seen.
    pub fn specs_counters(&self) -> SpecsCounters {
        self.shared.specs.lock().counters.clone()
    }
}
