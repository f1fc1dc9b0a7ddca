//! Versioned serialization of [`TokenSet`] and [`PendingAuthorization`].
//!
//! A web app keeps the pending authorization between two requests (perhaps on another
//! instance), and token stores (SQLite, PostgreSQL, a Python keyring, a C program's file) keep
//! token sets. They all store the same bytes: a JSON object with a `format` name and a `version`
//! number. A reader refuses a newer version clearly instead of guessing.
//!
//! **The JSON holds secrets** (tokens, the `state`, the PKCE verifier): keep it where you would
//! keep a password. Errors never quote a value from it.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::authorize::PendingAuthorization;
use crate::dpop::{DpopKey, DpopKeyError, StoredDpopKey};
use crate::secret::{AccessToken, AuthorizationCode, PkceVerifier, RefreshToken, State};
use crate::time::Timestamp;
use crate::token::ReauthorizationReason;
use crate::token::{Identity, TokenSet};

/// The `format` of a serialized token set.
pub const TOKEN_SET_FORMAT: &str = "scopegate.token_set";
/// The `format` of a serialized pending authorization.
pub const PENDING_FORMAT: &str = "scopegate.pending_authorization";
/// The version written, and the newest one read.
pub const FORMAT_VERSION: u64 = 1;

/// Serialized data could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SerialError {
    /// Not a JSON object.
    #[error("serialized {what} is not a json object")]
    NotJson {
        /// `token set` or `pending authorization`.
        what: &'static str,
    },
    /// A JSON object of another kind.
    #[error("serialized data is not a {what} (format `{found}`)")]
    WrongFormat {
        /// What was expected.
        what: &'static str,
        /// The `format` found (truncated).
        found: String,
    },
    /// Written by a newer scopegate.
    #[error("serialized {what} has version {found}, newer than this scopegate reads ({supported}): upgrade scopegate")]
    NewerVersion {
        /// What it is.
        what: &'static str,
        /// Version found.
        found: u64,
        /// Newest version this code reads.
        supported: u64,
    },
    /// A field is missing or has the wrong type (the value is never quoted).
    #[error("serialized {what}: field `{field}` {problem}")]
    Field {
        /// What it is.
        what: &'static str,
        /// The field.
        field: &'static str,
        /// `is missing`, `must be a string`, ...
        problem: &'static str,
    },
}

struct Reader<'a> {
    what: &'static str,
    map: &'a Map<String, Value>,
}

impl<'a> Reader<'a> {
    fn open(
        what: &'static str,
        format: &str,
        text: &'a str,
        holder: &'a mut Option<Value>,
    ) -> Result<Self, SerialError> {
        *holder = serde_json::from_str::<Value>(text).ok();
        let Some(Value::Object(map)) = holder.as_ref() else {
            return Err(SerialError::NotJson { what });
        };
        let found = map.get("format").and_then(Value::as_str).unwrap_or("");
        if found != format {
            return Err(SerialError::WrongFormat { what, found: found.chars().take(64).collect() });
        }
        let r = Reader { what, map };
        let version = r.u64("version")?;
        if version > FORMAT_VERSION {
            return Err(SerialError::NewerVersion { what, found: version, supported: FORMAT_VERSION });
        }
        if version == 0 {
            return Err(r.bad("version", "must be at least 1"));
        }
        Ok(r)
    }

    fn bad(&self, field: &'static str, problem: &'static str) -> SerialError {
        SerialError::Field { what: self.what, field, problem }
    }

    fn get(&self, field: &'static str) -> Option<&'a Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    fn string(&self, field: &'static str) -> Result<String, SerialError> {
        self.opt_string(field)?.ok_or_else(|| self.bad(field, "is missing"))
    }

    fn opt_string(&self, field: &'static str) -> Result<Option<String>, SerialError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.bad(field, "must be a string")),
        }
    }

    fn u64(&self, field: &'static str) -> Result<u64, SerialError> {
        self.opt_u64(field)?.ok_or_else(|| self.bad(field, "is missing"))
    }

    fn opt_u64(&self, field: &'static str) -> Result<Option<u64>, SerialError> {
        match self.get(field) {
            None => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| self.bad(field, "must be a whole non-negative number")),
        }
    }

    fn time(&self, field: &'static str) -> Result<Option<Timestamp>, SerialError> {
        Ok(self.opt_u64(field)?.map(Timestamp::from_unix_secs))
    }

    fn strings(&self, field: &'static str) -> Result<Vec<String>, SerialError> {
        match self.get(field) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| self.bad(field, "must be a list of strings")))
                .collect(),
            Some(_) => Err(self.bad(field, "must be a list of strings")),
        }
    }

    fn string_map(&self, field: &'static str) -> Result<BTreeMap<String, String>, SerialError> {
        match self.get(field) {
            None => Ok(BTreeMap::new()),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| {
                    v.as_str()
                        .map(|s| (k.clone(), s.to_owned()))
                        .ok_or_else(|| self.bad(field, "must map strings to strings"))
                })
                .collect(),
            Some(_) => Err(self.bad(field, "must map strings to strings")),
        }
    }

    fn bool(&self, field: &'static str) -> Result<bool, SerialError> {
        match self.get(field) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.bad(field, "must be true or false")),
        }
    }
}

fn reason_json(r: &ReauthorizationReason) -> Value {
    match r {
        ReauthorizationReason::RepeatedUnauthorized { count } => json!({"reason": r.name(), "count": count}),
        other => json!({"reason": other.name()}),
    }
}

fn reason_from(r: &Reader<'_>) -> Result<Option<ReauthorizationReason>, SerialError> {
    let Some(v) = r.get("invalidated") else { return Ok(None) };
    let bad = || r.bad("invalidated", "must be {\"reason\": ...} with a known reason");
    let name = v.get("reason").and_then(Value::as_str).ok_or_else(bad)?;
    Ok(Some(match name {
        "invalid_grant" => ReauthorizationReason::InvalidGrant,
        "refresh_token_expired" => ReauthorizationReason::RefreshTokenExpired,
        "no_refresh_token" => ReauthorizationReason::NoRefreshToken,
        "repeated_unauthorized" => ReauthorizationReason::RepeatedUnauthorized {
            count: v.get("count").and_then(Value::as_u64).and_then(|c| u32::try_from(c).ok()).ok_or_else(bad)?,
        },
        _ => return Err(bad()),
    }))
}

/// `value` with the stored form of `key` under `dpop_key` when there is one (an object without
/// it is exactly what scopegate wrote before DPoP).
fn with_dpop_key(mut value: Value, key: Option<&DpopKey>) -> String {
    if let (Some(key), Value::Object(map)) = (key, &mut value) {
        let stored = serde_json::to_value(key.to_stored()).unwrap_or(Value::Null);
        map.insert("dpop_key".into(), stored);
    }
    value.to_string()
}

/// The DPoP key stored under `dpop_key`, if any.
fn dpop_key_from(r: &Reader<'_>) -> Result<Option<DpopKey>, SerialError> {
    let Some(v) = r.get("dpop_key") else { return Ok(None) };
    let bad = || r.bad("dpop_key", "is not a usable dpop key");
    let stored: StoredDpopKey = serde_json::from_value(v.clone()).map_err(|_| bad())?;
    match DpopKey::from_stored(&stored) {
        Ok(key) => Ok(Some(key)),
        Err(DpopKeyError::NewerVersion { found, supported }) => {
            Err(SerialError::NewerVersion { what: "dpop key", found, supported })
        }
        Err(_) => Err(bad()),
    }
}

impl TokenSet {
    /// The token set as versioned JSON (`{"format":"scopegate.token_set","version":1,...}`).
    /// **It contains the tokens** (and, for DPoP-bound tokens, the account's private DPoP key
    /// under `dpop_key`, a field written only then): store it like a password.
    pub fn to_json(&self) -> String {
        let t = |v: Option<Timestamp>| v.map(Timestamp::as_unix_secs);
        let value = json!({
            "format": TOKEN_SET_FORMAT,
            "version": FORMAT_VERSION,
            "provider": self.provider_id,
            "identity": self.identity.as_str(),
            "access_token": self.access_token.expose_secret(),
            "refresh_token": self.refresh_token.as_ref().map(|r| r.expose_secret()),
            "token_type": self.token_type,
            "scopes": self.scopes,
            "issued_at": self.issued_at.as_unix_secs(),
            "expires_at": t(self.expires_at),
            "refresh_expires_at": t(self.refresh_expires_at),
            "redirect_uri": self.redirect_uri,
            "authorization_code": self.authorization_code.as_ref().map(|c| c.expose_secret()),
            "params": self.params,
            "consecutive_401": self.consecutive_401,
            "invalidated": self.invalidated.as_ref().map(reason_json),
        });
        with_dpop_key(value, self.dpop_key.as_ref())
    }

    /// Reads what [`to_json`](Self::to_json) wrote (this version or an older one).
    pub fn from_json(text: &str) -> Result<TokenSet, SerialError> {
        let mut holder = None;
        let r = Reader::open("token set", TOKEN_SET_FORMAT, text, &mut holder)?;
        let identity = match r.string("identity")?.as_str() {
            "user" => Identity::User,
            "app" => Identity::App,
            _ => return Err(r.bad("identity", "must be \"user\" or \"app\"")),
        };
        let access = r.string("access_token")?;
        if access.is_empty() {
            return Err(r.bad("access_token", "is empty"));
        }
        Ok(TokenSet {
            provider_id: r.string("provider")?,
            identity,
            access_token: AccessToken::new(access),
            refresh_token: r.opt_string("refresh_token")?.map(RefreshToken::new),
            token_type: r.opt_string("token_type")?.unwrap_or_else(|| "Bearer".into()),
            scopes: r.strings("scopes")?,
            issued_at: Timestamp::from_unix_secs(r.u64("issued_at")?),
            expires_at: r.time("expires_at")?,
            refresh_expires_at: r.time("refresh_expires_at")?,
            redirect_uri: r.opt_string("redirect_uri")?,
            authorization_code: r.opt_string("authorization_code")?.map(AuthorizationCode::new),
            params: r.string_map("params")?,
            consecutive_401: u32::try_from(r.opt_u64("consecutive_401")?.unwrap_or(0))
                .map_err(|_| r.bad("consecutive_401", "is too large"))?,
            invalidated: reason_from(&r)?,
            dpop_key: dpop_key_from(&r)?,
        })
    }
}

impl PendingAuthorization {
    /// The pending authorization as versioned JSON, to keep in a web session between the
    /// redirect and the callback. **It contains the `state` and the PKCE verifier** (and, for a
    /// DPoP profile, the private DPoP key the code will be exchanged with, under `dpop_key`):
    /// keep it server-side (or encrypted), never in a URL.
    pub fn to_json(&self) -> String {
        let value = json!({
            "format": PENDING_FORMAT,
            "version": FORMAT_VERSION,
            "provider": self.provider_id,
            "state": self.state.expose_secret(),
            "verifier": self.verifier.as_ref().map(|v| v.expose_secret()),
            "redirect_uri": self.redirect_uri,
            "scopes": self.scopes,
            "created_at": self.created_at.as_unix_secs(),
            "max_age_secs": self.max_age_secs,
            "keep_params": self.keep_params,
            "require_params": self.require_params,
            "issuer": self.issuer,
            "issuer_required": self.issuer_required,
            "used": self.is_used(),
        });
        with_dpop_key(value, self.dpop_key.as_ref())
    }

    /// Reads what [`to_json`](Self::to_json) wrote (this version or an older one).
    pub fn from_json(text: &str) -> Result<PendingAuthorization, SerialError> {
        let mut holder = None;
        let r = Reader::open("pending authorization", PENDING_FORMAT, text, &mut holder)?;
        let state = r.string("state")?;
        if state.is_empty() {
            return Err(r.bad("state", "is empty"));
        }
        Ok(PendingAuthorization {
            provider_id: r.string("provider")?,
            state: State::new(state),
            verifier: r.opt_string("verifier")?.map(PkceVerifier::new),
            redirect_uri: r.opt_string("redirect_uri")?,
            scopes: r.strings("scopes")?,
            created_at: Timestamp::from_unix_secs(r.u64("created_at")?),
            max_age_secs: r.u64("max_age_secs")?,
            keep_params: r.strings("keep_params")?,
            require_params: r.strings("require_params")?,
            issuer: r.opt_string("issuer")?,
            issuer_required: r.bool("issuer_required")?,
            used: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(r.bool("used")?)),
            dpop_key: dpop_key_from(&r)?,
        })
    }
}
