//! One error as every surface shows it.

use scopegate_core::{Blame, Error, ErrorKind};

/// An [`Error`] taken apart for a surface that is not Rust: the C ABI's last error and
/// the Python exception are made of this, and the command line prints its message.
pub struct ErrorReport {
    /// The kind (its number is the C result and picks the Python class).
    pub kind: ErrorKind,
    /// Who is to blame ([`Error::blame`]).
    pub blame: Blame,
    /// The message: it names the failure and, when the provider answered with an OAuth error
    /// that the message does not quote yet, that error. Never a secret.
    pub message: String,
    /// The HTTP status of the answer that caused it, when there was one.
    pub http_status: Option<u16>,
    /// The provider's `error` (OAuth error code, or the authorization callback's `error`).
    pub oauth_error: Option<String>,
    /// The provider's `error_description`, with every known secret cut out.
    pub oauth_description: Option<String>,
    /// The renewed token set of [`Error::NotSaved`], as its versioned JSON: the one way a secret
    /// leaves through an error (the old refresh token may already be spent). Wiped on drop.
    pub tokens_json: Option<zeroize::Zeroizing<String>>,
}

impl std::fmt::Debug for ErrorReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ErrorReport")
            .field("kind", &self.kind)
            .field("blame", &self.blame)
            .field("message", &self.message)
            .field("http_status", &self.http_status)
            .field("oauth_error", &self.oauth_error)
            .field("renewed_tokens", &self.tokens_json.is_some())
            .finish_non_exhaustive()
    }
}

impl From<&Error> for ErrorReport {
    fn from(e: &Error) -> ErrorReport {
        let mut message = e.to_string();
        let (mut oauth_error, mut oauth_description) = (None, None);
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
        ErrorReport {
            kind: e.kind(),
            blame: e.blame(),
            message,
            http_status: e.http_status(),
            oauth_error,
            oauth_description,
            tokens_json: e.unsaved_tokens().map(|t| zeroize::Zeroizing::new(t.to_json())),
        }
    }
}
