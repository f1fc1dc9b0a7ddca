//! JOSE: the signing keys of private_key_jwt client assertions (RFC 7523) and DPoP proofs
//! (RFC 9449), their public JWKs (RFC 7517), RFC 7638 thumbprints, and a compact JWS writer
//! (RFC 7515 §7.1) with its verifier.
//!
//! The cryptography is [ring]'s (already in every scopegate binary through rustls): ES256
//! (ECDSA P-256 with SHA-256), RS256 (RSASSA-PKCS1-v1_5 with SHA-256, keys of 2048 bits or
//! more) and EdDSA (Ed25519). Keys come from PEM: PKCS#8 (`BEGIN PRIVATE KEY`) for all three,
//! PKCS#1 (`BEGIN RSA PRIVATE KEY`) for RSA. Key material never appears in `Debug` output or in
//! an error: a [`SigningKey`] shows its algorithm, `kid` and thumbprint only.
//!
//! The verifier ([`verify_compact`]) is here for the sandbox and the tests, which play the
//! server's part: it checks the signature against a public JWK, not the claims.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject as _;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub use crate::profile::JwsAlgorithm;

/// A private key could not be read, made or used. Never quotes key material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not PEM, or has no private key section.
    #[error("not a PEM private key: {reason}")]
    Pem {
        /// What is wrong (never the key's text).
        reason: String,
    },
    /// The PEM holds an encrypted private key.
    #[error(
        "the private key is encrypted (BEGIN ENCRYPTED PRIVATE KEY): decrypt it to PKCS#8 first, e.g. `openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8.pem`, and keep that file private"
    )]
    Encrypted,
    /// A key type or encoding scopegate does not sign with.
    #[error(
        "{what} is not supported: use a PKCS#8 key for ES256 (P-256), RS256 (RSA, 2048 bits or more) or EdDSA (Ed25519){hint}"
    )]
    Unsupported {
        /// What was found.
        what: String,
        /// How to convert it, when known.
        hint: &'static str,
    },
    /// The key's bytes are not a valid key of its type.
    #[error("the {alg} private key was rejected: {reason}")]
    Rejected {
        /// The algorithm the key was read as.
        alg: JwsAlgorithm,
        /// The crypto library's reason (`TooSmall`, `InvalidEncoding`, ...).
        reason: String,
    },
    /// A new key pair could not be made.
    #[error("cannot generate a {alg} key pair: {reason}")]
    Generate {
        /// The algorithm asked for.
        alg: JwsAlgorithm,
        /// Why.
        reason: String,
    },
    /// Signing failed (the random number generator failed).
    #[error("{alg} signing failed")]
    Sign {
        /// The algorithm.
        alg: JwsAlgorithm,
    },
}

enum Pair {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
    Ed(Ed25519KeyPair),
}

struct Inner {
    pair: Pair,
    /// The PKCS#8 (or, for an RSA key read from PKCS#1, the PKCS#1) DER the key came from: the
    /// only way to store it again. Zeroized on drop.
    der: Zeroizing<Vec<u8>>,
    pkcs1: bool,
    jwk: Map<String, Value>,
    thumbprint: String,
}

/// A private signing key with its public JWK. Cheap to clone (shared). `Debug` shows the
/// algorithm, the `kid` and the RFC 7638 thumbprint, never the key.
#[derive(Clone)]
pub struct SigningKey {
    inner: Arc<Inner>,
    alg: JwsAlgorithm,
    kid: Option<String>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("thumbprint", &self.inner.thumbprint)
            .field("private_key", &crate::secret::REDACTED)
            .finish()
    }
}

impl PartialEq for SigningKey {
    /// Same public key, algorithm and `kid` (the public key determines the private one).
    fn eq(&self, other: &Self) -> bool {
        self.alg == other.alg && self.kid == other.kid && self.inner.thumbprint == other.inner.thumbprint
    }
}

impl Eq for SigningKey {}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Big-endian bytes without leading zeros (RFC 7518 §6.3.1: minimal octets).
fn minimal(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len().saturating_sub(1));
    &bytes[start..]
}

// DER encodings of the algorithm identifiers, to name what a rejected key is.
const OID_RSA: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

impl SigningKey {
    /// Reads a PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`) of an ES256, RS256 or EdDSA key,
    /// or PKCS#1 (`BEGIN RSA PRIVATE KEY`). Other text around the section is ignored.
    pub fn from_pem(pem: &str) -> Result<SigningKey, KeyError> {
        if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            return Err(KeyError::Encrypted);
        }
        let der = PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| KeyError::Pem {
            reason: match e {
                rustls_pki_types::pem::Error::NoItemsFound => {
                    "no `BEGIN PRIVATE KEY` or `BEGIN RSA PRIVATE KEY` section".to_owned()
                }
                rustls_pki_types::pem::Error::MissingSectionEnd { .. } => "a section has no END line".to_owned(),
                rustls_pki_types::pem::Error::Base64Decode(_) => "a section is not valid base64".to_owned(),
                _ => "malformed PEM".to_owned(),
            },
        })?;
        match der {
            PrivateKeyDer::Pkcs8(k) => SigningKey::from_pkcs8_der(k.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(k) => {
                let bytes = Zeroizing::new(k.secret_pkcs1_der().to_vec());
                let pair = RsaKeyPair::from_der(&bytes)
                    .map_err(|e| KeyError::Rejected { alg: JwsAlgorithm::Rs256, reason: e.to_string() })?;
                Ok(SigningKey::assemble(Pair::Rsa(pair), bytes, true))
            }
            PrivateKeyDer::Sec1(_) => Err(KeyError::Unsupported {
                what: "a SEC1 key (BEGIN EC PRIVATE KEY)".into(),
                hint: "; convert it with `openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8.pem`",
            }),
            _ => Err(KeyError::Unsupported { what: "this private key encoding".into(), hint: "" }),
        }
    }

    /// Reads a PKCS#8 DER private key (ES256, RS256 or EdDSA).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<SigningKey, KeyError> {
        // The version and the AlgorithmIdentifier end within the first 32 bytes of every key
        // type read here (the EC curve OID, the longest, ends at byte 28); key bytes come after.
        let head = &der[..der.len().min(32)];
        let bytes = Zeroizing::new(der.to_vec());
        if contains(head, OID_ED25519) {
            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                .map_err(|e| KeyError::Rejected { alg: JwsAlgorithm::EdDsa, reason: e.to_string() })?;
            return Ok(SigningKey::assemble(Pair::Ed(pair), bytes, false));
        }
        if contains(head, OID_EC) {
            if !contains(head, OID_P256) {
                return Err(KeyError::Unsupported {
                    what: "an EC key on a curve other than P-256".into(),
                    hint: " (ES384/ES512 are not supported)",
                });
            }
            let pair = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der, &SystemRandom::new())
                .map_err(|e| KeyError::Rejected { alg: JwsAlgorithm::Es256, reason: e.to_string() })?;
            return Ok(SigningKey::assemble(Pair::Ec(pair), bytes, false));
        }
        if contains(head, OID_RSA) {
            let pair = RsaKeyPair::from_pkcs8(der)
                .map_err(|e| KeyError::Rejected { alg: JwsAlgorithm::Rs256, reason: e.to_string() })?;
            return Ok(SigningKey::assemble(Pair::Rsa(pair), bytes, false));
        }
        Err(KeyError::Unsupported { what: "a PKCS#8 key of an unknown algorithm".into(), hint: "" })
    }

    /// A new key pair from the operating system's CSPRNG: ES256 (P-256) or EdDSA (Ed25519).
    /// RSA keys are not generated (bring one with [`from_pem`](Self::from_pem)).
    pub fn generate(alg: JwsAlgorithm) -> Result<SigningKey, KeyError> {
        let rng = SystemRandom::new();
        let fail = |reason: &str| KeyError::Generate { alg, reason: reason.to_owned() };
        let doc = match alg {
            JwsAlgorithm::Es256 => EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|_| fail("the random number generator failed"))?,
            JwsAlgorithm::EdDsa => {
                Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| fail("the random number generator failed"))?
            }
            JwsAlgorithm::Rs256 => return Err(fail("RSA keys are not generated; use ES256 or EdDSA")),
        };
        SigningKey::from_pkcs8_der(doc.as_ref())
    }

    fn assemble(pair: Pair, der: Zeroizing<Vec<u8>>, pkcs1: bool) -> SigningKey {
        let (alg, jwk) = match &pair {
            Pair::Ec(p) => {
                // Uncompressed point: 0x04 || x (32 bytes) || y (32 bytes).
                let point = p.public_key().as_ref();
                let (x, y) = point[1..].split_at(32);
                (JwsAlgorithm::Es256, json!({"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y)}))
            }
            Pair::Rsa(p) => {
                let c: signature::RsaPublicKeyComponents<Vec<u8>> = p.public().into();
                (JwsAlgorithm::Rs256, json!({"kty": "RSA", "n": b64(minimal(&c.n)), "e": b64(minimal(&c.e))}))
            }
            Pair::Ed(p) => {
                (JwsAlgorithm::EdDsa, json!({"kty": "OKP", "crv": "Ed25519", "x": b64(p.public_key().as_ref())}))
            }
        };
        let Value::Object(jwk) = jwk else { unreachable!("json! of an object") };
        let thumbprint = jwk_thumbprint(&jwk).unwrap_or_default();
        SigningKey { inner: Arc::new(Inner { pair, der, pkcs1, jwk, thumbprint }), alg, kid: None }
    }

    /// The same key with a `kid` (sent in every JWS header; servers pick the key by it).
    pub fn with_kid(mut self, kid: impl Into<String>) -> SigningKey {
        self.kid = Some(kid.into());
        self
    }

    /// The key id, when set.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithm the key signs with.
    pub fn algorithm(&self) -> JwsAlgorithm {
        self.alg
    }

    /// The public JWK (`kty`, `crv`, `x`, `y` / `n`, `e`): its required members only, never a
    /// private one (what a DPoP proof's header carries).
    pub fn public_jwk(&self) -> Map<String, Value> {
        self.inner.jwk.clone()
    }

    /// The public JWK with `alg`, `use: sig` and the `kid` when there is one: an entry of the
    /// client's JWKS (what a provider registers for private_key_jwt).
    pub fn public_jwks_entry(&self) -> Map<String, Value> {
        let mut jwk = self.inner.jwk.clone();
        jwk.insert("alg".into(), self.alg.as_str().into());
        jwk.insert("use".into(), "sig".into());
        if let Some(kid) = &self.kid {
            jwk.insert("kid".into(), kid.clone().into());
        }
        jwk
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key.
    pub fn thumbprint(&self) -> &str {
        &self.inner.thumbprint
    }

    /// The private key as PKCS#8 DER (PKCS#1 for an RSA key read from PKCS#1: see
    /// [`is_pkcs1`](Self::is_pkcs1)). **A secret**: only for storing the key.
    pub fn expose_secret_der(&self) -> &[u8] {
        &self.inner.der
    }

    /// Whether [`expose_secret_der`](Self::expose_secret_der) is PKCS#1 rather than PKCS#8.
    pub fn is_pkcs1(&self) -> bool {
        self.inner.pkcs1
    }

    /// The raw signature of `message` (for ES256, the 64-byte `r || s` JWS form).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = SystemRandom::new();
        let fail = || KeyError::Sign { alg: self.alg };
        match &self.inner.pair {
            Pair::Ec(p) => Ok(p.sign(&rng, message).map_err(|_| fail())?.as_ref().to_vec()),
            Pair::Rsa(p) => {
                let mut sig = vec![0u8; p.public().modulus_len()];
                p.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig).map_err(|_| fail())?;
                Ok(sig)
            }
            Pair::Ed(p) => Ok(p.sign(message).as_ref().to_vec()),
        }
    }

    /// A compact JWS (RFC 7515 §7.1) of `claims` with this header (its `alg`, and `kid` when the
    /// key has one, are set here).
    pub fn sign_compact(
        &self,
        mut header: Map<String, Value>,
        claims: &Map<String, Value>,
    ) -> Result<String, KeyError> {
        header.insert("alg".into(), self.alg.as_str().into());
        if let Some(kid) = &self.kid {
            header.entry("kid").or_insert_with(|| kid.clone().into());
        }
        let input = format!(
            "{}.{}",
            b64(Value::Object(header).to_string().as_bytes()),
            b64(Value::Object(claims.clone()).to_string().as_bytes())
        );
        let sig = self.sign(input.as_bytes())?;
        Ok(format!("{input}.{}", b64(&sig)))
    }
}

/// The RFC 7638 thumbprint of a public JWK: SHA-256 over its required members in lexicographic
/// order, base64url. `None` for a JWK of another type or with a member missing.
pub fn jwk_thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let s = |k: &str| jwk.get(k).and_then(Value::as_str);
    // serde_json escapes strings as RFC 7638 §3.3 asks; members are written in the order given.
    let canonical = match s("kty")? {
        "EC" => format!(
            r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
            Value::from(s("crv")?),
            Value::from(s("x")?),
            Value::from(s("y")?)
        ),
        "RSA" => format!(r#"{{"e":{},"kty":"RSA","n":{}}}"#, Value::from(s("e")?), Value::from(s("n")?)),
        "OKP" => format!(r#"{{"crv":{},"kty":"OKP","x":{}}}"#, Value::from(s("crv")?), Value::from(s("x")?)),
        _ => return None,
    };
    Some(b64(&Sha256::digest(canonical.as_bytes())))
}

/// A compact JWS whose signature verified.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedJws {
    /// The protected header.
    pub header: Map<String, Value>,
    /// The payload, as a JSON object.
    pub claims: Map<String, Value>,
}

/// A compact JWS could not be read or its signature does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwsError {
    /// Not three base64url parts of a JSON header and a JSON object payload.
    #[error("malformed jws: {0}")]
    Malformed(&'static str),
    /// The header's `alg` is not one scopegate verifies, or does not fit the key.
    #[error("jws alg `{alg}` does not fit a {kty} key")]
    AlgMismatch {
        /// The header's alg (truncated).
        alg: String,
        /// The key's `kty`/`crv`.
        kty: String,
    },
    /// The JWK is not a usable public key.
    #[error("unusable public jwk: {0}")]
    BadKey(&'static str),
    /// The signature does not verify.
    #[error("jws signature does not verify")]
    BadSignature,
}

fn decode_part(part: &str) -> Result<Vec<u8>, JwsError> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| JwsError::Malformed("a part is not base64url"))
}

fn object(bytes: &[u8], what: &'static str) -> Result<Map<String, Value>, JwsError> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(JwsError::Malformed(what)),
    }
}

/// Splits a compact JWS and decodes its header, without verifying anything (to find the key:
/// the `jwk` of a DPoP proof, the `kid` of an assertion).
pub fn peek_header(compact: &str) -> Result<Map<String, Value>, JwsError> {
    let head = compact.split('.').next().unwrap_or("");
    object(&decode_part(head)?, "the header is not a json object")
}

/// Verifies a compact JWS against a public JWK (EC P-256, RSA or OKP Ed25519) and returns its
/// header and claims. The header's `alg` must fit the key; the claims are not judged.
pub fn verify_compact(compact: &str, jwk: &Map<String, Value>) -> Result<VerifiedJws, JwsError> {
    let parts: Vec<&str> = compact.split('.').collect();
    let [h, p, s] = parts.as_slice() else { return Err(JwsError::Malformed("not three parts")) };
    let header = object(&decode_part(h)?, "the header is not a json object")?;
    let claims = object(&decode_part(p)?, "the payload is not a json object")?;
    let sig = decode_part(s)?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let field = |k: &'static str| -> Result<Vec<u8>, JwsError> {
        let v = jwk.get(k).and_then(Value::as_str).ok_or(JwsError::BadKey("a member is missing"))?;
        URL_SAFE_NO_PAD.decode(v).map_err(|_| JwsError::BadKey("a member is not base64url"))
    };
    let kty = jwk.get("kty").and_then(Value::as_str).unwrap_or("");
    let crv = jwk.get("crv").and_then(Value::as_str).unwrap_or("");
    let mismatch = || JwsError::AlgMismatch { alg: alg.chars().take(16).collect(), kty: format!("{kty} {crv}") };
    let message = format!("{h}.{p}");
    let ok = match (kty, crv, alg) {
        ("EC", "P-256", "ES256") => {
            let (x, y) = (field("x")?, field("y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err(JwsError::BadKey("P-256 coordinates are 32 bytes"));
            }
            let mut point = vec![4u8];
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(message.as_bytes(), &sig)
                .is_ok()
        }
        ("RSA", _, "RS256") => signature::RsaPublicKeyComponents { n: field("n")?, e: field("e")? }
            .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message.as_bytes(), &sig)
            .is_ok(),
        ("OKP", "Ed25519", "EdDSA") => {
            signature::UnparsedPublicKey::new(&signature::ED25519, field("x")?).verify(message.as_bytes(), &sig).is_ok()
        }
        _ => return Err(mismatch()),
    };
    if ok { Ok(VerifiedJws { header, claims }) } else { Err(JwsError::BadSignature) }
}

/// A fresh random `jti` (32 bytes of the operating system's CSPRNG, base64url).
pub(crate) fn random_jti() -> Result<String, crate::usage::UsageError> {
    let bytes = crate::pkce::os_random().map_err(|e| crate::usage::UsageError::Random(e.to_string()))?;
    Ok(b64(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 §3.1: the thumbprint of the RSA key of the example.
    #[test]
    fn rfc7638_example_thumbprint() {
        let jwk: Map<String, Value> = serde_json::from_str(
            r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#,
        )
        .unwrap();
        assert_eq!(jwk_thumbprint(&jwk).unwrap(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn generated_keys_sign_and_verify_and_never_print_the_key() {
        for alg in [JwsAlgorithm::Es256, JwsAlgorithm::EdDsa] {
            let key = SigningKey::generate(alg).unwrap().with_kid("k1");
            assert_eq!(key.algorithm(), alg);
            let mut claims = Map::new();
            claims.insert("hello".into(), "world".into());
            let jws = key.sign_compact(Map::new(), &claims).unwrap();
            let v = verify_compact(&jws, &key.public_jwk()).unwrap();
            assert_eq!(v.claims, claims);
            assert_eq!(v.header["alg"], alg.as_str());
            assert_eq!(v.header["kid"], "k1");
            // Another key does not verify it; a changed payload does not verify.
            let other = SigningKey::generate(alg).unwrap();
            assert_eq!(verify_compact(&jws, &other.public_jwk()), Err(JwsError::BadSignature));
            let mut parts: Vec<&str> = jws.split('.').collect();
            let forged = b64(br#"{"hello":"there"}"#);
            parts[1] = &forged;
            assert_eq!(verify_compact(&parts.join("."), &key.public_jwk()), Err(JwsError::BadSignature));
            // Reloaded from its PKCS#8: the same key.
            let again = SigningKey::from_pkcs8_der(key.expose_secret_der()).unwrap().with_kid("k1");
            assert_eq!(again, key);
            let shown = format!("{key:?}");
            assert!(shown.contains(key.thumbprint()) && shown.contains("[redacted]"), "{shown}");
            assert!(!shown.contains(&b64(key.expose_secret_der())), "{shown}");
            assert_eq!(jwk_thumbprint(&key.public_jwk()).unwrap(), key.thumbprint());
        }
    }

    #[test]
    fn alg_must_fit_the_key() {
        let ec = SigningKey::generate(JwsAlgorithm::Es256).unwrap();
        let ed = SigningKey::generate(JwsAlgorithm::EdDsa).unwrap();
        let jws = ec.sign_compact(Map::new(), &Map::new()).unwrap();
        assert!(matches!(verify_compact(&jws, &ed.public_jwk()), Err(JwsError::AlgMismatch { .. })));
        assert!(matches!(verify_compact("a.b", &ec.public_jwk()), Err(JwsError::Malformed(_))));
        assert!(matches!(SigningKey::generate(JwsAlgorithm::Rs256), Err(KeyError::Generate { .. })));
    }

    #[test]
    fn pem_errors_are_typed_and_quote_nothing() {
        assert!(matches!(SigningKey::from_pem("hello"), Err(KeyError::Pem { .. })));
        let enc = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert_eq!(SigningKey::from_pem(enc), Err(KeyError::Encrypted));
        let sec1 = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAoAoGCCqGSM49\n-----END EC PRIVATE KEY-----\n";
        let err = SigningKey::from_pem(sec1).unwrap_err();
        assert!(err.to_string().contains("openssl pkcs8 -topk8"), "{err}");
        assert!(!err.to_string().contains("MHcC"), "{err}");
    }
}
