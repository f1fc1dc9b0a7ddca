//! PKCE (RFC 7636) and the random values of an authorization request.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::secret::{PkceVerifier, State};

/// Number of random bytes in a `state` or a PKCE verifier (256 bits).
pub const RANDOM_BYTES: usize = 32;

/// The operating system's CSPRNG could not produce bytes.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct RandomError(String);

/// `RANDOM_BYTES` bytes from the operating system's CSPRNG.
pub fn os_random() -> Result<[u8; RANDOM_BYTES], RandomError> {
    let mut buf = [0u8; RANDOM_BYTES];
    getrandom::fill(&mut buf).map_err(|e| RandomError(e.to_string()))?;
    Ok(buf)
}

/// base64url without padding (RFC 4648 §5), as RFC 7636 and `state` use it.
pub fn base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A `state` value from random bytes (43 characters of base64url).
pub fn state_from_bytes(bytes: &[u8; RANDOM_BYTES]) -> State {
    State::new(base64url(bytes))
}

/// A code verifier from random bytes (RFC 7636 §4.1: base64url of 32 octets, 43 characters).
pub fn verifier_from_bytes(bytes: &[u8; RANDOM_BYTES]) -> PkceVerifier {
    PkceVerifier::new(base64url(bytes))
}

/// `code_challenge = BASE64URL(SHA256(ASCII(code_verifier)))` (RFC 7636 §4.2, S256).
pub fn s256_challenge(verifier: &PkceVerifier) -> String {
    base64url(&Sha256::digest(verifier.expose_secret().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    #[test]
    fn rfc7636_appendix_b_vector() {
        let octets: [u8; 32] = [
            116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214, 191,
            240, 91, 88, 5, 88, 83, 132, 141, 121,
        ];
        let verifier = verifier_from_bytes(&octets);
        assert_eq!(verifier.expose_secret(), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(s256_challenge(&verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn os_random_is_not_constant() {
        let a = os_random().unwrap();
        let b = os_random().unwrap();
        assert_ne!(a, b);
        assert_eq!(state_from_bytes(&a).len(), 43);
    }
}
