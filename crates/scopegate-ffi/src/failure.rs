//! `Failure`: why a call failed, as the C ABI reports it (its result, who is to blame, the
//! message, and the provider's OAuth error when it answered one), and how one is made from the
//! core's errors.
//!
//! A failure is a value: [`crate::last_error`] keeps the calling thread's last one, and
//! [`crate::boundary`] records it there when an export fails. Messages never contain a secret:
//! the core's messages cut out every known secret, and this library never quotes a string
//! argument in a message.

use scopegate::embed::ErrorReport;
use scopegate_core::{Blame, Error, ProfileError};

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

    /// The whole message.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// Who is to blame.
    pub(crate) fn blame(&self) -> scopegate_blame {
        self.blame
    }

    /// The HTTP status of the answer that caused it; 0 when there was none.
    pub(crate) fn http_status(&self) -> u16 {
        self.http_status
    }

    /// The provider's OAuth `error` code, when it answered one.
    pub(crate) fn oauth_error(&self) -> Option<&str> {
        self.oauth_error.as_deref()
    }

    /// The provider's `error_description` (secrets cut out), when it answered one.
    pub(crate) fn oauth_description(&self) -> Option<&str> {
        self.oauth_description.as_deref()
    }

    /// The renewed token set of a NOT_SAVED failure (versioned JSON): a secret.
    pub(crate) fn tokens(&self) -> Option<&str> {
        self.tokens.as_deref().map(String::as_str)
    }
}

impl From<Error> for Failure {
    /// The one error report (`scopegate::embed::ErrorReport`, the same Python's exceptions and
    /// the command line are made of), in C's terms. A profile error has C results of its own.
    fn from(e: Error) -> Failure {
        if let Error::Profile(p) = e {
            return p.into();
        }
        let r = ErrorReport::from(&e);
        Failure {
            result: scopegate_result::from_kind(r.kind),
            message: r.message,
            blame: r.blame.into(),
            http_status: r.http_status.unwrap_or(0),
            oauth_error: r.oauth_error,
            oauth_description: r.oauth_description,
            tokens: r.tokens_json,
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

impl From<scopegate_sandbox::SandboxError> for Failure {
    /// The sandbox helpers' failures (`scopegate_provider_at_sandbox`, `scopegate_sandbox_authorize`).
    fn from(e: scopegate_sandbox::SandboxError) -> Failure {
        use scopegate_sandbox::SandboxError as S;
        match e {
            S::Profile(p) => p.into(),
            S::UnknownProvider(_) => Failure::new(scopegate_result::UnknownProvider, e.to_string()),
            S::BadUrl(_) => Failure::new(scopegate_result::InvalidParameter, e.to_string()),
            S::Remote { .. } => {
                let mut f = Failure::new(scopegate_result::Transport, e.to_string());
                f.blame = scopegate_blame::Environment;
                f
            }
            other => Failure::new(scopegate_result::Usage, other.to_string()),
        }
    }
}
