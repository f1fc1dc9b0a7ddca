//! The error table: every [`ErrorKind`] with its stable number, name, [`Blame`], message and
//! documentation, declared once. The C ABI's result codes (`scopegate_result`, literal values
//! that a test checks against this table) and the Python package's `ErrorKind` (built from
//! `_native.error_kinds()` at import) come from here.

use std::fmt;

/// Who caused an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Blame {
    /// We: the caller misused scopegate or is misconfigured. Fix the calling code or its settings.
    Local,
    /// The peer: the provider, the user or their browser refused or misbehaved. Retry,
    /// re-authorize or report it to the provider.
    Remote,
    /// The environment: the network, the token store's disk or database, the operating system.
    /// Usually transient: retry later.
    Environment,
}

impl Blame {
    /// `local`, `remote` or `environment`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Blame::Local => "local",
            Blame::Remote => "remote",
            Blame::Environment => "environment",
        }
    }
}

/// Declares [`ErrorKind`] and its table from one list: `number Variant "name" Blame "message";`
/// with the documentation above each line.
macro_rules! error_kinds {
    ($( $(#[doc = $doc:literal])+ $num:literal $variant:ident $name:literal $blame:ident $message:literal; )+) => {
        /// The kind of an [`Error`](crate::Error), with a stable number (`kind as u32`) for C
        /// result codes and Python exception classes. New kinds get new numbers; a number is
        /// never reused.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        #[repr(u32)]
        pub enum ErrorKind {
            $( $(#[doc = $doc])+ $variant = $num, )+
        }

        impl ErrorKind {
            /// Every kind, in number order.
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$variant),+];

            /// A snake_case name (`reauthorization_required`), stable like the number.
            pub const fn name(self) -> &'static str {
                match self { $(ErrorKind::$variant => $name,)+ }
            }

            /// Who is to blame for errors of this kind when the error itself says nothing more
            /// precise.
            pub const fn default_blame(self) -> Blame {
                match self { $(ErrorKind::$variant => Blame::$blame,)+ }
            }

            /// A short description (what `scopegate_result_message` gives).
            pub const fn message(self) -> &'static str {
                match self { $(ErrorKind::$variant => $message,)+ }
            }

            /// The documentation of the kind (what its Rust, C and Python docs say).
            pub const fn doc(self) -> &'static str {
                match self { $(ErrorKind::$variant => concat!($($doc, "\n"),+),)+ }
            }
        }
    };
}

error_kinds! {
    /// 1: the API was used in a way it does not support (wrong order, unknown request id).
    1 Usage "usage" Local "the api was used in a way it does not support";
    /// 2: the client configuration or profile lacks what the operation needs (no redirect URI,
    /// no client secret, no token endpoint, grant not supported, invalid client id or scope).
    2 Config "config" Local "the client configuration or profile lacks what the operation needs";
    /// 3: a provider profile could not be loaded or is invalid.
    3 Profile "profile" Local "a provider profile could not be loaded";
    /// 4: an authorization callback was rejected (state mismatch, malformed, expired, used).
    4 Callback "callback" Remote "the authorization callback was rejected";
    /// 5: the user or the provider refused the authorization (`error=access_denied` and others on
    /// the callback).
    5 AuthorizationDenied "authorization_denied" Remote "the user or the provider refused the authorization";
    /// 6: no token is held for this account: log in (or run client credentials) first.
    6 NotAuthorized "not_authorized" Local "no token is held for this account: log in first";
    /// 7: only a new authorization by the user helps (invalid_grant, refresh token expired, no
    /// refresh token, repeated 401s).
    7 ReauthorizationRequired "reauthorization_required" Remote "only a new authorization by the user helps";
    /// 8: the token endpoint refused with an OAuth error (`invalid_client`, `invalid_scope`,
    /// `invalid_grant` on a code exchange, ...), or the device authorization or pushed
    /// authorization request endpoint did (they authenticate the client alike).
    8 TokenRefused "token_refused" Remote "the token endpoint refused the request";
    /// 9: the provider answered something unusable (not JSON, a field missing, a redirect, an
    /// unexpected HTTP status).
    9 Protocol "protocol" Remote "the provider answered something unusable";
    /// 10: the request could not be completed (connection, TLS, timeout, body too large).
    10 Transport "transport" Environment "the request could not be completed";
    /// 11: the configured rights do not allow the API call (checked locally, nothing sent).
    11 PermissionDenied "permission_denied" Local "the rights do not allow this api call";
    /// 12: the API path breaks a rule of the permission check (dot segment, bad escape...).
    12 PathRejected "path_rejected" Local "the api path breaks a rule of the permission check";
    /// 13: no endpoint of the provider's access-rights matrix matches the call.
    13 UnknownEndpoint "unknown_endpoint" Local "no endpoint of the provider's matrix matches the call";
    /// 14: the request's URL is outside the profile's API (another origin, or not under its base
    /// path): the token is never sent there.
    14 OriginRefused "origin_refused" Local "the url is outside the profile's api: the token is never sent there";
    /// 15: the operation would replace one identity's token with another's (a user's token with
    /// the app's, or one account's with another account's).
    15 IdentityMismatch "identity_mismatch" Local "the operation would replace one identity's token with another's";
    /// 16: the token store failed.
    16 Store "store" Environment "the token store failed";
    /// 17: the revocation or remove-application endpoint refused.
    17 RevocationRefused "revocation_refused" Remote "the revocation endpoint refused";
    /// 18: serialized data (a token set, a pending authorization) is unreadable or was written by
    /// a newer version.
    18 Serialization "serialization" Local "serialized data is unreadable or from a newer version";
    /// 19: the operating system's random number generator failed.
    19 Random "random" Environment "the operating system's random number generator failed";
    /// 20: another operation is in flight on this session.
    20 Busy "busy" Local "another operation is in flight on this session";
    /// 21: the access token has expired and must be refreshed before the call.
    21 TokenExpired "token_expired" Local "the access token has expired: refresh it first";
    /// 22: the loopback login could not listen on its port.
    22 Listen "listen" Environment "the loopback login could not listen on its port";
    /// 23: no authorization callback arrived in time.
    23 LoginTimeout "login_timeout" Environment "no authorization callback arrived in time";
    /// 24: the tokens were renewed at the provider but the store could not write them: the
    /// renewed token set comes with the error, and the client keeps it in memory and writes it
    /// at its next operation.
    24 NotSaved "not_saved" Environment "the tokens were renewed but the token store could not write them";
    /// 25: the authorization expired before it was completed: the device code passed its
    /// `expires_in` (or the server said `expired_token`, RFC 8628) before the user approved, or a
    /// pushed authorization request's `request_uri` passed its `expires_in` (RFC 9126). Start the
    /// authorization again.
    25 AuthorizationExpired "authorization_expired" Remote "the authorization expired before it was completed: start it again";
}

impl ErrorKind {
    /// The stable number.
    pub const fn code(self) -> u32 {
        self as u32
    }

    /// The kind with this number.
    pub fn from_code(code: u32) -> Option<ErrorKind> {
        Self::ALL.iter().copied().find(|k| k.code() == code)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_numbers_are_stable_and_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for (i, k) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(k.code(), i as u32 + 1, "{k}: numbers are dense and in order");
            assert!(seen.insert(k.name()));
            assert_eq!(ErrorKind::from_code(k.code()), Some(*k));
            assert!(!k.message().is_empty() && k.doc().trim_start().starts_with(&format!("{}: ", k.code())), "{k}");
        }
        assert_eq!(ErrorKind::from_code(0), None);
        // The contract, spelled out: these never change.
        assert_eq!(ErrorKind::ReauthorizationRequired as u32, 7);
        assert_eq!(ErrorKind::Transport as u32, 10);
        assert_eq!(ErrorKind::OriginRefused as u32, 14);
        assert_eq!(ErrorKind::Store as u32, 16);
        assert_eq!(ErrorKind::NotSaved as u32, 24);
        assert_eq!(ErrorKind::AuthorizationExpired as u32, 25);
    }
}
