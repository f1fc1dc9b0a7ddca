//! The signing settings a profile names: the JWS algorithm (DPoP) and the audience of a client
//! assertion (private_key_jwt). Plain data; the signing itself is [`jose`](crate::jose).

use std::fmt;

/// A JWS signature algorithm scopegate signs with (RFC 7518 §3.1, RFC 8037 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JwsAlgorithm {
    /// ECDSA using P-256 and SHA-256.
    Es256,
    /// RSASSA-PKCS1-v1_5 using SHA-256.
    Rs256,
    /// Ed25519 (RFC 8037).
    EdDsa,
}

impl JwsAlgorithm {
    /// The `alg` value: `ES256`, `RS256` or `EdDSA`.
    pub const fn as_str(self) -> &'static str {
        match self {
            JwsAlgorithm::Es256 => "ES256",
            JwsAlgorithm::Rs256 => "RS256",
            JwsAlgorithm::EdDsa => "EdDSA",
        }
    }

    /// The algorithm with this `alg` name (case-sensitive, as JOSE names are).
    pub fn parse(name: &str) -> Option<JwsAlgorithm> {
        Some(match name {
            "ES256" => JwsAlgorithm::Es256,
            "RS256" => JwsAlgorithm::Rs256,
            "EdDSA" => JwsAlgorithm::EdDsa,
            _ => return None,
        })
    }
}

impl fmt::Display for JwsAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a client assertion's `aud` is (`[token] assertion_audience`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AssertionAudience {
    /// The token endpoint URL (RFC 7523 §3: "the token endpoint URL ... MAY be used"; OpenID
    /// Connect Core §9). The default.
    #[default]
    TokenEndpoint,
    /// The authorization server's issuer identifier (`[authorization] issuer`; RFC 7523bis and
    /// FAPI 2.0 recommend it).
    Issuer,
}

impl AssertionAudience {
    /// `token_endpoint` or `issuer`, as the profile writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            AssertionAudience::TokenEndpoint => "token_endpoint",
            AssertionAudience::Issuer => "issuer",
        }
    }
}
