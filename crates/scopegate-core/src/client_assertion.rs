//! `private_key_jwt` client authentication (RFC 7523 §2.2 and §3, OpenID Connect Core §9): the
//! client proves who it is with a short-lived JWT signed by its private key instead of a shared
//! secret.
//!
//! The assertion's claims: `iss` = `sub` = the client id; `aud` = the token endpoint, or the
//! authorization server's issuer identifier when the profile says
//! (`[token] assertion_audience = "issuer"`); a fresh random `jti` (the server refuses a
//! replayed one); `iat` = now and a short `exp` ([`ASSERTION_LIFETIME_SECS`]). The form carries
//! `client_assertion_type` = [`JWT_BEARER`], `client_assertion`, and `client_id` (RFC 7521
//! §4.2 allows it; some providers require it).
//!
//! The same assertion authenticates the client at the token, PAR, device authorization and
//! revocation endpoints: the audience is the token endpoint (or the issuer) for all of them,
//! as RFC 7523 and the servers accept.

use std::fmt;

use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::authorize::ClientConfig;
use crate::http::HttpRequest;
use crate::jose::{SigningKey, random_jti};
use crate::profile::Provider;
use crate::time::Timestamp;
use crate::usage::UsageError;

/// `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How long an assertion is valid: a minute from `iat` (it is used at once, once).
pub const ASSERTION_LIFETIME_SECS: u64 = 60;

pub use crate::profile::AssertionAudience;

/// A signed client assertion. **A credential** (for its minute of life): `Debug` and `Display`
/// print `[redacted]`.
#[derive(Clone)]
pub struct ClientAssertion(Zeroizing<String>);

impl fmt::Debug for ClientAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientAssertion({})", crate::secret::REDACTED)
    }
}

impl fmt::Display for ClientAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::secret::REDACTED)
    }
}

impl ClientAssertion {
    /// An assertion for `client_id`, signed by `key`, for `audience`, issued at `now`, with a
    /// fresh random `jti`.
    pub fn new(client_id: &str, key: &SigningKey, audience: &str, now: Timestamp) -> Result<Self, UsageError> {
        Self::with_jti(client_id, key, audience, now, &random_jti()?, ASSERTION_LIFETIME_SECS)
    }

    /// The same with a given `jti` and lifetime (tests, replay).
    pub fn with_jti(
        client_id: &str,
        key: &SigningKey,
        audience: &str,
        now: Timestamp,
        jti: &str,
        lifetime_secs: u64,
    ) -> Result<Self, UsageError> {
        let mut claims = Map::new();
        claims.insert("iss".into(), client_id.into());
        claims.insert("sub".into(), client_id.into());
        claims.insert("aud".into(), audience.into());
        claims.insert("jti".into(), jti.into());
        claims.insert("iat".into(), Value::from(now.as_unix_secs()));
        claims.insert("exp".into(), Value::from(now.plus_secs(lifetime_secs).as_unix_secs()));
        let mut header = Map::new();
        header.insert("typ".into(), "JWT".into());
        let jwt = key.sign_compact(header, &claims).map_err(|e| UsageError::Random(e.to_string()))?;
        Ok(ClientAssertion(Zeroizing::new(jwt)))
    }

    /// The JWT itself, for the form.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Adds `client_id`, `client_assertion_type` and `client_assertion` to a form request.
    pub fn add_to(&self, request: &mut HttpRequest, client_id: &str) {
        request.form_param("client_id", client_id);
        request.form_param("client_assertion_type", JWT_BEARER);
        request.form_param("client_assertion", self.expose_secret());
    }
}

/// The `aud` a provider's profile asks for: its token endpoint, or its issuer.
pub fn assertion_audience(provider: &Provider) -> Result<String, UsageError> {
    match provider.assertion_audience() {
        AssertionAudience::TokenEndpoint => {
            provider.token_url().map(|u| u.to_string()).ok_or_else(|| UsageError::TokenEndpointNotConfigured {
                provider: provider.id().to_owned(),
                hint: provider.token_url_hint().unwrap_or("set token.url in a profile override").to_owned(),
            })
        }
        AssertionAudience::Issuer => {
            provider.issuer().map(str::to_owned).ok_or_else(|| UsageError::EndpointNotConfigured {
                provider: provider.id().to_owned(),
                endpoint: "authorization.issuer",
                hint: "assertion_audience = \"issuer\" needs the issuer identifier",
            })
        }
    }
}

/// What signs a `private_key_jwt` request when it leaves (`now` is known only then).
#[derive(Clone, Debug)]
pub(crate) struct AssertionPlan {
    pub(crate) key: SigningKey,
    pub(crate) client_id: String,
    pub(crate) audience: String,
}

impl AssertionPlan {
    /// The plan for `client` at `provider`: its key, and the audience the profile asks for.
    pub(crate) fn new(provider: &Provider, client: &ClientConfig) -> Result<AssertionPlan, UsageError> {
        let key = client
            .client_key()
            .ok_or_else(|| UsageError::MissingClientKey { provider: provider.id().to_owned() })?
            .clone();
        Ok(AssertionPlan { key, client_id: client.client_id().to_owned(), audience: assertion_audience(provider)? })
    }

    /// Signs a fresh assertion and adds it to `request`; returns it, for snippet redaction.
    pub(crate) fn apply(&self, request: &mut HttpRequest, now: Timestamp) -> Result<ClientAssertion, UsageError> {
        let assertion = ClientAssertion::new(&self.client_id, &self.key, &self.audience, now)?;
        request.form_param("client_assertion_type", JWT_BEARER);
        request.form_param("client_assertion", assertion.expose_secret());
        Ok(assertion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::{JwsAlgorithm, verify_compact};

    #[test]
    fn claims_are_those_of_rfc7523() {
        let key = SigningKey::generate(JwsAlgorithm::Es256).unwrap().with_kid("client-key-1");
        let now = Timestamp::from_unix_secs(1_700_000_000);
        let a = ClientAssertion::new("my-client", &key, "https://as.example/token", now).unwrap();
        let b = ClientAssertion::new("my-client", &key, "https://as.example/token", now).unwrap();
        let v = verify_compact(a.expose_secret(), &key.public_jwk()).unwrap();
        let c = &v.claims;
        assert_eq!((c["iss"].as_str(), c["sub"].as_str()), (Some("my-client"), Some("my-client")));
        assert_eq!(c["aud"], "https://as.example/token");
        assert_eq!(c["iat"], 1_700_000_000u64);
        assert_eq!(c["exp"], 1_700_000_060u64);
        assert_eq!(v.header["kid"], "client-key-1");
        assert_eq!(v.header["alg"], "ES256");
        let vb = verify_compact(b.expose_secret(), &key.public_jwk()).unwrap();
        assert_ne!(c["jti"], vb.claims["jti"], "a fresh jti each time");
        assert_eq!(c["jti"].as_str().unwrap().len(), 43);
        assert_eq!(format!("{a:?} {a}"), "ClientAssertion([redacted]) [redacted]");
        let mut req = HttpRequest::new(crate::Method::Post, url::Url::parse("https://as.example/token").unwrap());
        a.add_to(&mut req, "my-client");
        assert_eq!(req.form_value("client_assertion_type"), Some(JWT_BEARER));
        assert_eq!(req.form_value("client_id"), Some("my-client"));
        assert!(!format!("{req:?}").contains(a.expose_secret()), "the assertion is redacted in Debug");
    }
}
