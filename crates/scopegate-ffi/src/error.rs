//! The calling thread's last error: every function that returns a result other than
//! `SCOPEGATE_RESULT_OK` records why, in words, with who is to blame and, when the provider
//! answered with an OAuth error, its `error`, `error_description` and HTTP status.
//!
//! Like `errno`, a successful call leaves the last error as it was, and the functions that read
//! it never change it. Messages never contain a secret: the core's messages cut out every known
//! secret, and this library never quotes a string argument in a message.

use std::cell::RefCell;
use std::ffi::c_char;

use scopegate_core::{Blame, Error, ProfileError};

use crate::boundary::{ErrorPartArg, Out, OutText, guard_quiet};
use crate::result::scopegate_result;

/// Who caused an error.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum scopegate_blame {
    /// No error is recorded.
    None = 0,
    /// The caller misused scopegate or is misconfigured: fix the calling code or its settings.
    Local = 1,
    /// The provider, the user or their browser refused or misbehaved: retry, authorize again or
    /// report it to the provider.
    Remote = 2,
    /// The network, the token store's disk or the operating system failed: usually transient.
    Environment = 3,
}

impl From<Blame> for scopegate_blame {
    fn from(b: Blame) -> Self {
        match b {
            Blame::Local => Self::Local,
            Blame::Remote => Self::Remote,
            Blame::Environment => Self::Environment,
        }
    }
}

/// Which part of the last error `scopegate_last_error_part` gives.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum scopegate_error_part {
    /// The whole message (what `scopegate_last_error` gives).
    Message = 1,
    /// The provider's OAuth `error` code (`invalid_grant`, `access_denied`, ...).
    OauthError = 2,
    /// The provider's `error_description`, with every known secret cut out.
    OauthDescription = 3,
    /// After `SCOPEGATE_RESULT_NOT_SAVED`: the renewed token set, as its versioned JSON (the
    /// format `scopegate_token_set` reads), secrets included. It is the only part that ever
    /// carries a secret: the old refresh token may already be spent, so keep this one. The
    /// client also keeps it in memory and writes it to its store at its next call.
    Tokens = 4,
}

/// The last error in numbers.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct scopegate_error_info {
    /// The result the failed call returned (`SCOPEGATE_RESULT_OK` when none is recorded).
    pub result: scopegate_result,
    /// Who is to blame.
    pub blame: scopegate_blame,
    /// The HTTP status of the answer that caused it; 0 when there was none.
    pub http_status: u16,
}

/// Why a call failed: its result and the detail kept as the thread's last error.
#[derive(Debug)]
pub(crate) struct Failure {
    result: scopegate_result,
    message: String,
    blame: scopegate_blame,
    http_status: u16,
    oauth_error: Option<String>,
    oauth_description: Option<String>,
    /// The renewed token set of a NOT_SAVED failure (versioned JSON; wiped on drop).
    tokens: Option<zeroize::Zeroizing<String>>,
}

thread_local! {
    static LAST: RefCell<Option<Failure>> = const { RefCell::new(None) };
}

impl Failure {
    /// A failure of the calling code (blame: local).
    pub(crate) fn new(result: scopegate_result, message: impl Into<String>) -> Failure {
        Failure {
            result,
            message: message.into(),
            blame: scopegate_blame::Local,
            http_status: 0,
            oauth_error: None,
            oauth_description: None,
            tokens: None,
        }
    }

    pub(crate) fn null(name: &str) -> Failure {
        Failure::new(scopegate_result::NullParameter, format!("`{name}` is NULL"))
    }

    pub(crate) fn utf8(name: &str, valid_up_to: usize) -> Failure {
        Failure::new(scopegate_result::InvalidUtf8, format!("`{name}` is not valid UTF-8 (at byte {valid_up_to})"))
    }

    pub(crate) fn insufficient(have: usize, needed: usize) -> Failure {
        Failure::new(
            scopegate_result::InsufficientSize,
            format!("the buffer holds {have} bytes; {needed} are needed, terminating NUL included (written to *out_n)"),
        )
    }

    pub(crate) fn invalid(name: &str, why: &str) -> Failure {
        Failure::new(scopegate_result::InvalidParameter, format!("`{name}`: {why}"))
    }

    pub(crate) fn panic() -> Failure {
        Failure::new(scopegate_result::Panic, "scopegate panicked: this is a bug in scopegate, please report it")
    }

    /// The result this failure returns.
    pub(crate) fn result(&self) -> scopegate_result {
        self.result
    }

    /// Keeps the failure as the calling thread's last error and returns its result.
    pub(crate) fn record(self) -> scopegate_result {
        let result = self.result;
        LAST.with(|last| *last.borrow_mut() = Some(self));
        result
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        if let Error::Profile(p) = e {
            return p.into();
        }
        let mut message = e.to_string();
        let mut oauth_error = None;
        let mut oauth_description = None;
        if let Some(o) = e.oauth() {
            let code = o.code.as_str();
            if !message.contains(code) {
                message.push_str(&format!("; the provider answered: {o}"));
            }
            oauth_error = Some(code.to_owned());
            oauth_description = o.description.clone();
        } else if let Some(a) = e.authorization_error() {
            oauth_error = Some(a.code.as_str().to_owned());
            oauth_description = a.description.clone();
        }
        Failure {
            result: scopegate_result::from_kind(e.kind()),
            message,
            blame: e.blame().into(),
            http_status: e.http_status().unwrap_or(0),
            oauth_error,
            oauth_description,
            tokens: e.unsaved_tokens().map(|t| zeroize::Zeroizing::new(t.to_json())),
        }
    }
}

impl From<scopegate_core::UsageError> for Failure {
    fn from(e: scopegate_core::UsageError) -> Failure {
        Error::from(e).into()
    }
}

impl From<ProfileError> for Failure {
    fn from(e: ProfileError) -> Failure {
        let result = match &e {
            ProfileError::UnknownBuiltin { .. } => scopegate_result::UnknownProvider,
            ProfileError::Io { .. } => scopegate_result::Profile,
            _ => scopegate_result::InvalidProfile,
        };
        let mut f = Failure::new(result, e.to_string());
        if result == scopegate_result::Profile {
            f.blame = scopegate_blame::Environment;
        }
        f
    }
}

/// The result of the calling thread's last error (`Ok` when none).
#[cfg(test)]
pub(crate) fn last_result() -> scopegate_result {
    LAST.with(|last| last.borrow().as_ref().map_or(scopegate_result::Ok, |f| f.result))
}

fn write_part(part: scopegate_error_part, out: OutText) -> Result<(), Failure> {
    LAST.with(|last| {
        let last = last.borrow();
        let text = match (part, last.as_ref()) {
            (scopegate_error_part::Message, f) => f.map_or("", |f| f.message.as_str()),
            (scopegate_error_part::OauthError, Some(Failure { oauth_error: Some(c), .. })) => c.as_str(),
            (scopegate_error_part::OauthDescription, Some(Failure { oauth_description: Some(d), .. })) => d.as_str(),
            (scopegate_error_part::Tokens, Some(Failure { tokens: Some(t), .. })) => t.as_str(),
            _ => return Err(Failure::new(scopegate_result::NotFound, "the last error has no such part")),
        };
        out.write(text.as_bytes())
    })
}

/// Writes the calling thread's last error message into `buf` (`len` bytes, NUL-terminated) and
/// its length to `*out_n`; the empty string when no error is recorded. The message names the
/// failure and, when the provider answered with an OAuth error, its `error` and
/// `error_description`; it never contains a secret. A buffer too small gives
/// `SCOPEGATE_RESULT_INSUFFICIENT_SIZE` and the size needed in `*out_n`. Reading the last error
/// does not change it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn scopegate_last_error(buf: *mut c_char, len: usize, out_n: *mut usize) -> scopegate_result {
    guard_quiet(|| {
        // SAFETY: `len` writable bytes at `buf` (or NULL with 0) and `out_n`, by contract.
        let out = unsafe { OutText::new(buf, len, out_n) }?;
        write_part(scopegate_error_part::Message, out)
    })
}

/// Writes one part of the calling thread's last error (see `scopegate_error_part`) like
/// `scopegate_last_error`. `SCOPEGATE_RESULT_NOT_FOUND` when the last error has no such part
/// (no OAuth error was answered; no renewed token set), `SCOPEGATE_RESULT_INVALID_PARAMETER` for
/// an unknown `part`. `SCOPEGATE_ERROR_PART_TOKENS` is a secret: handle it like a token.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn scopegate_last_error_part(
    part: ErrorPartArg,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> scopegate_result {
    guard_quiet(|| {
        let part = match part.0 {
            1 => scopegate_error_part::Message,
            2 => scopegate_error_part::OauthError,
            3 => scopegate_error_part::OauthDescription,
            4 => scopegate_error_part::Tokens,
            _ => return Err(Failure::invalid("part", "not a scopegate_error_part")),
        };
        // SAFETY: as `scopegate_last_error`.
        let out = unsafe { OutText::new(buf, len, out_n) }?;
        write_part(part, out)
    })
}

/// Writes the calling thread's last error in numbers (result, blame, HTTP status) to `*out`;
/// result `SCOPEGATE_RESULT_OK` and blame `SCOPEGATE_BLAME_NONE` when none is recorded.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn scopegate_last_error_info(out: *mut scopegate_error_info) -> scopegate_result {
    guard_quiet(|| {
        // SAFETY: `out` is NULL or writable, by contract.
        let out = unsafe { Out::new(out, "out") }?;
        let info = LAST.with(|last| match last.borrow().as_ref() {
            Some(f) => scopegate_error_info { result: f.result, blame: f.blame, http_status: f.http_status },
            None => scopegate_error_info { result: scopegate_result::Ok, blame: scopegate_blame::None, http_status: 0 },
        });
        out.write(info);
        Ok(())
    })
}

/// Forgets the calling thread's last error.
#[unsafe(no_mangle)]
pub extern "C" fn scopegate_last_error_clear() {
    // Cannot panic; the boundary is kept for the rule that every export has one.
    crate::boundary::guard_value((), || LAST.with(|last| *last.borrow_mut() = None))
}
