//! Random values: codes, tokens, consent request ids, nonces.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `n` random bytes, base64url: codes, tokens, consent request ids.
pub(crate) fn random(n: usize) -> String {
    let mut b = vec![0u8; n];
    // A sandbox without randomness would hand out guessable tokens: fail loudly instead.
    getrandom::fill(&mut b).expect("the operating system's random number generator");
    URL_SAFE_NO_PAD.encode(b)
}
