//! DPoP (RFC 9449): sender-constrained tokens.
//!
//! Each account has one key pair ([`DpopKey`]), kept with its token set so that every process
//! and host of a service proves possession of the same key. Every token request and every API
//! call carries a proof ([`DpopKey::proof`]): a JWS with `typ: dpop+jwt`, the public key in its
//! header, and the claims `htm` (the method), `htu` (the URL without query and fragment, §4.2),
//! `iat`, a fresh `jti`, `ath` (the SHA-256 of the access token, for API calls) and the server's
//! `nonce` when it gave one. A DPoP-bound token goes out as `Authorization: DPoP <token>`,
//! never as a Bearer token ([`authorize`]).
//!
//! Server nonces (§8, §9): a token endpoint answers `400 {"error":"use_dpop_nonce"}` and a
//! resource server `401` with `WWW-Authenticate: DPoP error="use_dpop_nonce"`, both with a
//! `DPoP-Nonce` header; the client retries once with that nonce ([`nonce_challenge`]), and keeps
//! the latest nonce of each origin ([`DpopNonces`]), which also learns the nonces servers send on
//! successful answers.
//!
//! The key's stored form ([`StoredDpopKey`], [`DpopKey::to_json`]) is a versioned, serde-friendly
//! **secret**: it holds the private key, is never printed, and belongs inside the sealed token
//! set.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use url::Url;
use zeroize::Zeroizing;

use crate::http::{HttpRequest, HttpResponse};
use crate::jose::{JwsAlgorithm, KeyError, SigningKey, random_jti};
use crate::method::Method;
use crate::secret::{AccessToken, REDACTED};
use crate::time::Timestamp;
use crate::usage::UsageError;

/// The `format` of a stored DPoP key.
pub const DPOP_KEY_FORMAT: &str = "scopegate.dpop_key";
/// The version written, and the newest one read.
pub const DPOP_KEY_VERSION: u64 = 1;
/// The `typ` of a DPoP proof (RFC 9449 §4.2).
pub const DPOP_PROOF_TYP: &str = "dpop+jwt";

/// One account's DPoP key pair. `Debug` shows the algorithm and the JWK thumbprint (`jkt`) only.
#[derive(Clone, PartialEq, Eq)]
pub struct DpopKey {
    key: SigningKey,
}

impl fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopKey")
            .field("alg", &self.key.algorithm())
            .field("jkt", &self.key.thumbprint())
            .field("private_key", &REDACTED)
            .finish()
    }
}

/// The stored form of a [`DpopKey`]: `{"format":"scopegate.dpop_key","version":1,"alg":"ES256",
/// "pkcs8":"<base64url DER>"}`. **A secret** (`Debug` is redacted; the private key is zeroized
/// on drop).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDpopKey {
    format: String,
    version: u64,
    alg: String,
    pkcs8: String,
}

impl Drop for StoredDpopKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.pkcs8);
    }
}

impl fmt::Debug for StoredDpopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredDpopKey")
            .field("format", &self.format)
            .field("version", &self.version)
            .field("alg", &self.alg)
            .field("pkcs8", &REDACTED)
            .finish()
    }
}

/// A stored DPoP key could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopKeyError {
    /// Not the JSON of a stored DPoP key.
    #[error("not a stored dpop key: {0}")]
    Format(&'static str),
    /// Written by a newer scopegate.
    #[error("stored dpop key has version {found}, newer than this scopegate reads ({supported}): upgrade scopegate")]
    NewerVersion {
        /// Version found.
        found: u64,
        /// Newest version read.
        supported: u64,
    },
    /// The key itself is unusable.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// One DPoP proof, for one request. `Debug` and `Display` are redacted (a proof is replayable
/// for as long as the server accepts its `iat`).
#[derive(Clone)]
pub struct DpopProof(Zeroizing<String>);

impl fmt::Debug for DpopProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DpopProof({REDACTED})")
    }
}

impl fmt::Display for DpopProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl DpopProof {
    /// The JWS, for the `DPoP` header.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Sets the `DPoP` header of `request` to this proof.
    pub fn add_to(&self, request: &mut HttpRequest) {
        request.header("DPoP", self.expose_secret(), true);
    }
}

/// The `htu` of a URL (RFC 9449 §4.2): without query and fragment.
pub fn htu(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// The `ath` of an access token (RFC 9449 §4.2): base64url of its SHA-256.
pub fn ath(token: &AccessToken) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.expose_secret().as_bytes()))
}

impl DpopKey {
    /// A new key pair from the operating system's CSPRNG (`ES256` or `EdDSA`).
    pub fn generate(alg: JwsAlgorithm) -> Result<DpopKey, KeyError> {
        Ok(DpopKey { key: SigningKey::generate(alg)? })
    }

    /// A DPoP key from an existing signing key.
    pub fn from_signing_key(key: SigningKey) -> DpopKey {
        DpopKey { key }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> JwsAlgorithm {
        self.key.algorithm()
    }

    /// The RFC 7638 thumbprint of the public key: the `jkt` the server binds tokens to
    /// (`cnf.jkt`, and `dpop_jkt` of an authorization request, §10).
    pub fn thumbprint(&self) -> &str {
        self.key.thumbprint()
    }

    /// The public JWK (what each proof's header carries).
    pub fn public_jwk(&self) -> Map<String, Value> {
        self.key.public_jwk()
    }

    /// The stored form (a secret).
    pub fn to_stored(&self) -> StoredDpopKey {
        StoredDpopKey {
            format: DPOP_KEY_FORMAT.to_owned(),
            version: DPOP_KEY_VERSION,
            alg: self.key.algorithm().as_str().to_owned(),
            pkcs8: URL_SAFE_NO_PAD.encode(self.key.expose_secret_der()),
        }
    }

    /// Reads a stored form (this version or an older one).
    pub fn from_stored(stored: &StoredDpopKey) -> Result<DpopKey, DpopKeyError> {
        if stored.format != DPOP_KEY_FORMAT {
            return Err(DpopKeyError::Format("`format` is not scopegate.dpop_key"));
        }
        if stored.version > DPOP_KEY_VERSION {
            return Err(DpopKeyError::NewerVersion { found: stored.version, supported: DPOP_KEY_VERSION });
        }
        let alg = JwsAlgorithm::parse(&stored.alg).ok_or(DpopKeyError::Format("`alg` is not ES256 or EdDSA"))?;
        let der = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(stored.pkcs8.as_bytes())
                .map_err(|_| DpopKeyError::Format("`pkcs8` is not base64url"))?,
        );
        let key = SigningKey::from_pkcs8_der(&der)?;
        if key.algorithm() != alg {
            return Err(DpopKeyError::Format("`alg` does not match the key"));
        }
        Ok(DpopKey { key })
    }

    /// The stored form as JSON. **It contains the private key**: keep it with the tokens.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.to_stored()).unwrap_or_default()
    }

    /// Reads what [`to_json`](Self::to_json) wrote.
    pub fn from_json(text: &str) -> Result<DpopKey, DpopKeyError> {
        let stored: StoredDpopKey =
            serde_json::from_str(text).map_err(|_| DpopKeyError::Format("not the json of a stored dpop key"))?;
        DpopKey::from_stored(&stored)
    }

    /// A proof for `method url` at `now`, with a fresh random `jti`; `nonce` when the server gave
    /// one; `access_token` for a call to a resource (adds `ath`).
    pub fn proof(
        &self,
        method: Method,
        url: &Url,
        now: Timestamp,
        nonce: Option<&str>,
        access_token: Option<&AccessToken>,
    ) -> Result<DpopProof, UsageError> {
        self.proof_with_jti(method, url, now, nonce, access_token, &random_jti()?)
    }

    /// The same with a given `jti` (tests, replay).
    pub fn proof_with_jti(
        &self,
        method: Method,
        url: &Url,
        now: Timestamp,
        nonce: Option<&str>,
        access_token: Option<&AccessToken>,
        jti: &str,
    ) -> Result<DpopProof, UsageError> {
        let mut header = Map::new();
        header.insert("typ".into(), DPOP_PROOF_TYP.into());
        header.insert("jwk".into(), Value::Object(self.key.public_jwk()));
        let mut claims = Map::new();
        claims.insert("jti".into(), jti.into());
        claims.insert("htm".into(), method.as_str().into());
        claims.insert("htu".into(), htu(url).into());
        claims.insert("iat".into(), Value::from(now.as_unix_secs()));
        if let Some(n) = nonce {
            claims.insert("nonce".into(), n.into());
        }
        if let Some(t) = access_token {
            claims.insert("ath".into(), ath(t).into());
        }
        let jws = self.key.sign_compact(header, &claims).map_err(|e| UsageError::Random(e.to_string()))?;
        Ok(DpopProof(Zeroizing::new(jws)))
    }

    /// Adds a proof for `request` itself (its method and URL) to it: what a token, PAR or device
    /// request carries.
    pub fn sign_request(
        &self,
        request: &mut HttpRequest,
        now: Timestamp,
        nonce: Option<&str>,
    ) -> Result<(), UsageError> {
        let proof = self.proof(request.method(), request.url(), now, nonce, None)?;
        proof.add_to(request);
        Ok(())
    }
}

/// `request` with `Authorization: DPoP <token>` and a proof bound to the token (`ath`) for its
/// method and URL: a call to a protected resource with a DPoP-bound token.
pub fn authorize(
    mut request: HttpRequest,
    key: &DpopKey,
    token: &AccessToken,
    now: Timestamp,
    nonce: Option<&str>,
) -> Result<HttpRequest, UsageError> {
    let proof = key.proof(request.method(), request.url(), now, nonce, Some(token))?;
    request.header("Authorization", format!("DPoP {}", token.expose_secret()), true);
    proof.add_to(&mut request);
    Ok(request)
}

/// The `DPoP-Nonce` header of a response, when it holds a well-formed nonce (RFC 9449 §8.1:
/// `1*NQCHAR`).
pub fn nonce_from_response(response: &HttpResponse) -> Option<String> {
    let v = response.header("DPoP-Nonce")?.trim();
    let ok = !v.is_empty()
        && v.len() <= 1024
        && v.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
    ok.then(|| v.to_owned())
}

/// Whether a response is the server's demand for a nonce (RFC 9449 §8 and §9): a token
/// endpoint's `{"error":"use_dpop_nonce"}` (400), or a resource's 401 with
/// `WWW-Authenticate: DPoP error="use_dpop_nonce"`.
pub fn is_use_dpop_nonce(response: &HttpResponse) -> bool {
    if response.status() == 401
        && response.headers().any(|(n, v)| n.eq_ignore_ascii_case("www-authenticate") && dpop_challenge_error(v))
    {
        return true;
    }
    (400..500).contains(&response.status())
        && serde_json::from_slice::<Value>(response.body())
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(|e| e == "use_dpop_nonce"))
            .unwrap_or(false)
}

/// Whether a `WWW-Authenticate` value has a `DPoP` challenge with `error="use_dpop_nonce"`.
fn dpop_challenge_error(value: &str) -> bool {
    // Challenges: `DPoP error="use_dpop_nonce", error_description="...", Bearer realm=...`.
    let mut in_dpop = false;
    for token in value.split([',', ' ']).filter(|t| !t.is_empty()) {
        match token.split_once('=') {
            None => in_dpop = token.eq_ignore_ascii_case("dpop"),
            Some((k, v)) if in_dpop && k.trim().eq_ignore_ascii_case("error") => {
                if v.trim().trim_matches('"') == "use_dpop_nonce" {
                    return true;
                }
            }
            Some(_) => {}
        }
    }
    false
}

/// The nonce to retry with, when `response` demands one and names it: retry the request once
/// with a new proof carrying it.
pub fn nonce_challenge(response: &HttpResponse) -> Option<String> {
    if is_use_dpop_nonce(response) { nonce_from_response(response) } else { None }
}

/// The latest DPoP nonce of each origin (`scheme://host:port`): servers' nonces are per server,
/// and a new one may come with any answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DpopNonces {
    by_origin: BTreeMap<String, String>,
}

impl DpopNonces {
    /// No nonces yet.
    pub fn new() -> DpopNonces {
        DpopNonces::default()
    }

    /// The nonce to put into a proof for `url`.
    pub fn get(&self, url: &Url) -> Option<&str> {
        self.by_origin.get(&url.origin().ascii_serialization()).map(String::as_str)
    }

    /// Learns the `DPoP-Nonce` of a response to a request for `url`; returns whether the
    /// response was a nonce challenge (then retry once with [`get`](Self::get)).
    pub fn learn(&mut self, url: &Url, response: &HttpResponse) -> bool {
        if let Some(n) = nonce_from_response(response) {
            self.by_origin.insert(url.origin().ascii_serialization(), n);
            return is_use_dpop_nonce(response);
        }
        false
    }
}

/// The DPoP nonces of one account's sessions: the authorization server's (token, PAR and device
/// endpoints, RFC 9449 §8) and the resources' (§9), each kept per origin. They are apart
/// because a server that is both (one origin for `/token` and `/api`) gives each role its own
/// nonce; kept together, they would replace each other and cost a round trip every time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionNonces {
    /// The authorization server's nonces.
    pub authorization_server: DpopNonces,
    /// The resources' nonces.
    pub resources: DpopNonces,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::verify_compact;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn proof_claims_and_header() {
        let key = DpopKey::generate(JwsAlgorithm::Es256).unwrap();
        let now = Timestamp::from_unix_secs(1_700_000_000);
        let token = AccessToken::new("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU");
        let p =
            key.proof(Method::Get, &url("https://rs.example/api/me?x=1#frag"), now, Some("n-1"), Some(&token)).unwrap();
        let header = crate::jose::peek_header(p.expose_secret()).unwrap();
        assert_eq!(header["typ"], "dpop+jwt");
        let jwk = header["jwk"].as_object().unwrap().clone();
        assert!(!jwk.contains_key("d"), "no private member in the header");
        let v = verify_compact(p.expose_secret(), &jwk).unwrap();
        assert_eq!(v.claims["htm"], "GET");
        assert_eq!(v.claims["htu"], "https://rs.example/api/me");
        assert_eq!(v.claims["iat"], 1_700_000_000u64);
        assert_eq!(v.claims["nonce"], "n-1");
        // RFC 9449 §7.1's example: this token's ath.
        assert_eq!(v.claims["ath"], "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo");
        assert_eq!(crate::jose::jwk_thumbprint(&jwk).unwrap(), key.thumbprint());
        let q = key.proof(Method::Post, &url("https://as.example/token"), now, None, None).unwrap();
        let vq = verify_compact(q.expose_secret(), &key.public_jwk()).unwrap();
        assert!(!vq.claims.contains_key("ath") && !vq.claims.contains_key("nonce"));
        assert_ne!(vq.claims["jti"], v.claims["jti"]);
        assert_eq!(format!("{p:?} {p}"), "DpopProof([redacted]) [redacted]");
    }

    #[test]
    fn stored_form_round_trips_and_is_never_printed() {
        for alg in [JwsAlgorithm::Es256, JwsAlgorithm::EdDsa] {
            let key = DpopKey::generate(alg).unwrap();
            let json = key.to_json();
            let again = DpopKey::from_json(&json).unwrap();
            assert_eq!(again, key);
            assert_eq!(again.thumbprint(), key.thumbprint());
            let stored = key.to_stored();
            let shown = format!("{stored:?} {key:?}");
            let secret = URL_SAFE_NO_PAD.encode(key.key.expose_secret_der());
            assert!(json.contains(&secret));
            assert!(!shown.contains(&secret[..20]), "{shown}");
            assert!(shown.contains("[redacted]") && shown.contains(key.thumbprint()));
        }
        let newer = r#"{"format":"scopegate.dpop_key","version":2,"alg":"ES256","pkcs8":"AA"}"#;
        assert_eq!(DpopKey::from_json(newer), Err(DpopKeyError::NewerVersion { found: 2, supported: 1 }));
        assert!(matches!(DpopKey::from_json("{}"), Err(DpopKeyError::Format(_))));
        let wrong_alg = DpopKey::generate(JwsAlgorithm::Es256).unwrap().to_json().replace("ES256", "EdDSA");
        assert!(matches!(DpopKey::from_json(&wrong_alg), Err(DpopKeyError::Format(_))));
    }

    #[test]
    fn nonce_challenges() {
        let token_ep = HttpResponse::new(400, r#"{"error":"use_dpop_nonce","error_description":"x"}"#)
            .with_header("DPoP-Nonce", "eyJ7S_zG.eyJH0-Z.HX4w-7v");
        assert_eq!(nonce_challenge(&token_ep).as_deref(), Some("eyJ7S_zG.eyJH0-Z.HX4w-7v"));
        let resource = HttpResponse::new(401, "")
            .with_header(
                "WWW-Authenticate",
                r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#,
            )
            .with_header("DPoP-Nonce", "abc");
        assert_eq!(nonce_challenge(&resource).as_deref(), Some("abc"));
        // Another error, a bearer challenge, a bad nonce: no retry.
        let other = HttpResponse::new(401, "")
            .with_header("WWW-Authenticate", r#"Bearer error="use_dpop_nonce""#)
            .with_header("DPoP-Nonce", "abc");
        assert_eq!(nonce_challenge(&other), None);
        let bad = HttpResponse::new(400, r#"{"error":"use_dpop_nonce"}"#).with_header("DPoP-Nonce", "a b\"c");
        assert_eq!(nonce_challenge(&bad), None);
        assert_eq!(nonce_challenge(&HttpResponse::new(400, r#"{"error":"invalid_grant"}"#)), None);

        let mut nonces = DpopNonces::new();
        let rs = url("https://rs.example/api/me?q");
        assert!(nonces.learn(&rs, &resource));
        assert_eq!(nonces.get(&url("https://rs.example/other")), Some("abc"));
        assert_eq!(nonces.get(&url("https://as.example/token")), None);
        let fresh = HttpResponse::new(200, "{}").with_header("DPoP-Nonce", "next");
        assert!(!nonces.learn(&rs, &fresh), "a nonce on a success is kept, not a challenge");
        assert_eq!(nonces.get(&rs), Some("next"));
    }

    #[test]
    fn authorize_uses_the_dpop_scheme() {
        let key = DpopKey::generate(JwsAlgorithm::Es256).unwrap();
        let token = AccessToken::new("tok-123456");
        let req = HttpRequest::new(Method::Get, url("https://rs.example/me"));
        let req = authorize(req, &key, &token, Timestamp::from_unix_secs(1), None).unwrap();
        assert_eq!(req.header_value("authorization"), Some("DPoP tok-123456"));
        assert!(req.header_value("dpop").is_some());
        let shown = format!("{req:?}");
        assert!(!shown.contains("tok-123456"), "{shown}");
    }
}
