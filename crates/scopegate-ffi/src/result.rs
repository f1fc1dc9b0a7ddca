//! `scopegate_result`: what every fallible function returns.
//!
//! The numbers are a contract. 1 to 999 are the core's error kinds, with the numbers of
//! `scopegate_core::ErrorKind::code()` (`SCOPEGATE_RESULT_TRANSPORT` is 10 because
//! `ErrorKind::Transport` is 10); 1000 and above are results of the C ABI itself (a NULL pointer,
//! a buffer too small, ...). A number is never reused.
//!
//! The enum is a plain value that imports nothing of this crate; its export,
//! `scopegate_result_message`, is in [`crate::result_message`].

use scopegate_core::ErrorKind;

/// The result of a scopegate function: `SCOPEGATE_RESULT_OK` (0), or why it failed. After a
/// failure, `scopegate_last_error` gives the calling thread's detailed message.
///
/// 1-999: the core's error kinds, same numbers (`scopegate_core::ErrorKind`). 1000-: results of
/// the C ABI itself. Values are never reused; new ones may be added.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum scopegate_result {
    /// 0: success.
    Ok = 0,
    /// 1: the API was used in a way it does not support (wrong order, unknown request id).
    Usage = 1,
    /// 2: the client configuration or profile lacks what the operation needs (no redirect URI,
    /// no client secret, no token endpoint, grant not supported, invalid client id or scope).
    Config = 2,
    /// 3: a provider profile could not be loaded (its file cannot be read). An unknown
    /// built-in id is `SCOPEGATE_RESULT_UNKNOWN_PROVIDER`, an invalid profile
    /// `SCOPEGATE_RESULT_INVALID_PROFILE`.
    Profile = 3,
    /// 4: an authorization callback was rejected (state mismatch, malformed, expired, used).
    Callback = 4,
    /// 5: the user or the provider refused the authorization (`error=access_denied`...).
    AuthorizationDenied = 5,
    /// 6: no token is held for this account: log in (or run client credentials) first.
    NotAuthorized = 6,
    /// 7: only a new authorization by the user helps (invalid_grant, refresh token expired, no
    /// refresh token, repeated 401s).
    ReauthorizationRequired = 7,
    /// 8: the token endpoint refused with an OAuth error (`invalid_client`, `invalid_grant`...),
    /// or the device authorization or pushed authorization request endpoint did.
    TokenRefused = 8,
    /// 9: the provider answered something unusable (not JSON, a field missing, a redirect).
    Protocol = 9,
    /// 10: the request could not be completed (connection, TLS, timeout, body too large, or the
    /// transport callback failed).
    Transport = 10,
    /// 11: the rights do not allow the API call (checked locally, nothing sent).
    PermissionDenied = 11,
    /// 12: the API path breaks a rule of the permission check (dot segment, bad escape...).
    PathRejected = 12,
    /// 13: no endpoint of the provider's access-rights matrix matches the call.
    UnknownEndpoint = 13,
    /// 14: the URL is outside the profile's API: the token is never sent there.
    OriginRefused = 14,
    /// 15: the operation would replace one identity's token with another's.
    IdentityMismatch = 15,
    /// 16: the token store failed.
    Store = 16,
    /// 17: the revocation or remove-application endpoint refused.
    RevocationRefused = 17,
    /// 18: serialized data (a token set, a pending authorization) is unreadable or was written
    /// by a newer version.
    Serialization = 18,
    /// 19: the operating system's random number generator failed.
    Random = 19,
    /// 20: another operation is in flight on this session.
    Busy = 20,
    /// 21: the access token has expired and must be refreshed before the call.
    TokenExpired = 21,
    /// 22: a loopback login could not listen on its port (not used by the C ABI yet).
    Listen = 22,
    /// 23: no authorization callback arrived in time (not used by the C ABI yet).
    LoginTimeout = 23,
    /// 24: the tokens were renewed at the provider but the token store could not write them.
    /// The client keeps the renewed set in memory, uses it, and writes it at its next call;
    /// `scopegate_last_error_part(SCOPEGATE_ERROR_PART_TOKENS, ...)` gives it (versioned JSON,
    /// secrets included) and the client's token-change callback has received it.
    NotSaved = 24,
    /// 25: the authorization expired before it was completed: the device code expired before
    /// the user approved (RFC 8628), or a pushed authorization request's `request_uri` passed its
    /// `expires_in` (RFC 9126). Start it again.
    AuthorizationExpired = 25,
    /// 1001: a pointer argument that must not be NULL was NULL.
    NullParameter = 1001,
    /// 1002: a string argument is not valid UTF-8.
    InvalidUtf8 = 1002,
    /// 1003: the output buffer is too small; `*out_n` holds the size needed, terminating NUL
    /// included.
    InsufficientSize = 1003,
    /// 1004: no built-in provider profile has this id.
    UnknownProvider = 1004,
    /// 1005: the profile text is not valid TOML or breaks the profile schema.
    InvalidProfile = 1005,
    /// 1006: a right id that the provider's profile does not define.
    UnknownRight = 1006,
    /// 1007: scopegate panicked (a bug); the call had no effect that can be relied on.
    Panic = 1007,
    /// 1008: an argument has a value the function does not accept (an unknown HTTP method, an
    /// out-of-range enum value, an id this session never gave out).
    InvalidParameter = 1008,
    /// 1009: what was asked for is not there (a response header, a part of the last error).
    NotFound = 1009,
}

impl scopegate_result {
    /// The results of the C ABI itself (not core error kinds).
    pub const FFI_ONLY: [scopegate_result; 9] = [
        Self::NullParameter,
        Self::InvalidUtf8,
        Self::InsufficientSize,
        Self::UnknownProvider,
        Self::InvalidProfile,
        Self::UnknownRight,
        Self::Panic,
        Self::InvalidParameter,
        Self::NotFound,
    ];

    /// The result of a core error kind: the same number.
    pub fn from_kind(kind: ErrorKind) -> scopegate_result {
        match kind {
            ErrorKind::Usage => Self::Usage,
            ErrorKind::Config => Self::Config,
            ErrorKind::Profile => Self::Profile,
            ErrorKind::Callback => Self::Callback,
            ErrorKind::AuthorizationDenied => Self::AuthorizationDenied,
            ErrorKind::NotAuthorized => Self::NotAuthorized,
            ErrorKind::ReauthorizationRequired => Self::ReauthorizationRequired,
            ErrorKind::TokenRefused => Self::TokenRefused,
            ErrorKind::Protocol => Self::Protocol,
            ErrorKind::Transport => Self::Transport,
            ErrorKind::PermissionDenied => Self::PermissionDenied,
            ErrorKind::PathRejected => Self::PathRejected,
            ErrorKind::UnknownEndpoint => Self::UnknownEndpoint,
            ErrorKind::OriginRefused => Self::OriginRefused,
            ErrorKind::IdentityMismatch => Self::IdentityMismatch,
            ErrorKind::Store => Self::Store,
            ErrorKind::RevocationRefused => Self::RevocationRefused,
            ErrorKind::Serialization => Self::Serialization,
            ErrorKind::Random => Self::Random,
            ErrorKind::Busy => Self::Busy,
            ErrorKind::TokenExpired => Self::TokenExpired,
            ErrorKind::Listen => Self::Listen,
            ErrorKind::LoginTimeout => Self::LoginTimeout,
            ErrorKind::NotSaved => Self::NotSaved,
            ErrorKind::AuthorizationExpired => Self::AuthorizationExpired,
            // A kind added to the core after this ABI: the test `every_kind_has_its_result`
            // fails until it gets its own result.
            _ => Self::Usage,
        }
    }

    /// The result with this number, if any.
    pub fn from_u32(n: u32) -> Option<scopegate_result> {
        if n == 0 {
            return Some(Self::Ok);
        }
        if let Some(kind) = ErrorKind::from_code(n) {
            return Some(Self::from_kind(kind));
        }
        Self::FFI_ONLY.iter().copied().find(|r| *r as u32 == n)
    }

    /// A short description.
    pub fn message(self) -> &'static str {
        // The core's kinds say it themselves (the one error table).
        if let Some(kind) = ErrorKind::from_code(self as u32) {
            return kind.message();
        }
        match self {
            Self::Ok => "ok",
            Self::NullParameter => "a required pointer argument was NULL",
            Self::InvalidUtf8 => "a string argument is not valid UTF-8",
            Self::InsufficientSize => "the output buffer is too small",
            Self::UnknownProvider => "no built-in provider profile has this id",
            Self::InvalidProfile => "the provider profile is invalid",
            Self::UnknownRight => "the provider's profile defines no right with this id",
            Self::Panic => "scopegate panicked (a bug)",
            Self::InvalidParameter => "an argument has a value the function does not accept",
            Self::NotFound => "not found",
            // Every core kind was answered above from the table.
            _ => "unknown result",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_result() {
        for kind in ErrorKind::ALL {
            let r = scopegate_result::from_kind(*kind);
            assert_eq!(r as u32, kind.code(), "{kind}");
            assert_eq!(scopegate_result::from_u32(kind.code()), Some(r));
        }
    }

    #[test]
    fn numbers_are_unique_and_ffi_results_have_their_own_range() {
        let mut seen = std::collections::BTreeSet::new();
        for r in ErrorKind::ALL.iter().map(|k| scopegate_result::from_kind(*k)).chain(scopegate_result::FFI_ONLY) {
            assert!(seen.insert(r as u32), "{r:?} reused a number");
            assert!(!r.message().is_empty());
        }
        for r in scopegate_result::FFI_ONLY {
            assert!(r as u32 >= 1000, "{r:?}");
            assert_eq!(scopegate_result::from_u32(r as u32), Some(r));
        }
        // The contract, spelled out.
        assert_eq!(scopegate_result::Ok as u32, 0);
        assert_eq!(scopegate_result::Transport as u32, ErrorKind::Transport.code());
        assert_eq!(scopegate_result::NullParameter as u32, 1001);
        assert_eq!(scopegate_result::Panic as u32, 1007);
        assert_eq!(scopegate_result::from_u32(999), None);
    }
}
