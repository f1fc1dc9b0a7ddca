//! Secret-bearing newtypes.
//!
//! Every value that would let somebody act as the client or the user (client secret, access and
//! refresh tokens, authorization codes, PKCE verifiers, `state`) is wrapped in one of these types:
//!
//! - `Debug` and `Display` print `[redacted]`, never the value;
//! - `==` compares in constant time (via [`subtle`]); lengths may still differ observably;
//! - the memory holding the value is zeroized when it is dropped.
//!
//! The only way to read the value is the explicit [`expose_secret`](ClientSecret::expose_secret).

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// What every secret type prints in `Debug` and `Display`.
pub const REDACTED: &str = "[redacted]";

/// Constant-time equality of two byte strings (length is not hidden).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone)]
        pub struct $name(Zeroizing<String>);

        impl $name {
            /// Wraps a value; the string's buffer is zeroized when this value is dropped.
            pub fn new(value: impl Into<String>) -> Self {
                Self(Zeroizing::new(value.into()))
            }

            /// The secret value itself. Call only where the value must leave the process
            /// (a request body, a header, a store the user chose).
            pub fn expose_secret(&self) -> &str {
                &self.0
            }

            /// Length of the value in bytes (not secret in itself).
            pub fn len(&self) -> usize {
                self.0.len()
            }

            /// Whether the value is empty.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), REDACTED)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(REDACTED)
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                ct_eq(self.0.as_bytes(), other.0.as_bytes())
            }
        }

        impl Eq for $name {}

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::new(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::new(value)
            }
        }
    };
}

secret_type!(
    /// The client secret issued when the app was registered with the provider.
    ClientSecret
);
secret_type!(
    /// An OAuth 2.0 access token (sent as `Authorization: Bearer ...`).
    AccessToken
);
secret_type!(
    /// An OAuth 2.0 refresh token. A rotated one must be stored before the old one is dropped.
    RefreshToken
);
secret_type!(
    /// A one-time authorization code from the callback.
    AuthorizationCode
);
secret_type!(
    /// A PKCE code verifier (RFC 7636 §4.1).
    PkceVerifier
);
secret_type!(
    /// The `device_code` of a device authorization (RFC 8628 §3.2): whoever holds it may collect
    /// the user's tokens.
    DeviceCode
);
secret_type!(
    /// The anti-CSRF `state` value of an authorization request (RFC 6749 §10.12).
    State
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let s = ClientSecret::new("s3cr3t-value");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(format!("{s:?}"), "ClientSecret([redacted])");
        assert_eq!(format!("{s:#?}"), "ClientSecret([redacted])");
        assert_eq!(s.expose_secret(), "s3cr3t-value");
    }

    #[test]
    fn equality_compares_values() {
        assert_eq!(State::new("abc"), State::new("abc"));
        assert_ne!(State::new("abc"), State::new("abd"));
        assert_ne!(State::new("abc"), State::new("abcd"));
        assert!(ct_eq(b"", b""));
    }
}
