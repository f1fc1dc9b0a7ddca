//! The errors of the sandbox's own API.

use scopegate_core::ProfileError;

/// An error of the sandbox's own API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The provider id is not one the sandbox emulates.
    #[error("the sandbox does not emulate provider `{0}` (it has yespo, reteno, yotpo, yuvo)")]
    UnknownProvider(String),
    /// The server could not start.
    #[error("cannot start the sandbox on 127.0.0.1:{port}: {reason}")]
    Start {
        /// Port asked for.
        port: u16,
        /// Why.
        reason: String,
    },
    /// A built-in profile could not be pointed at the sandbox.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The sandbox URL cannot be used (not http or https, user info, a query...).
    #[error("not a sandbox url: {0}")]
    BadUrl(String),
    /// Nothing to uninstall.
    #[error("no yotpo install for store `{0}`")]
    NotInstalled(String),
    /// A file or directory of the demo could not be made.
    #[error("demo: {0}")]
    Io(String),
    /// A sandbox in another process could not be reached, or refused the request.
    #[error("the sandbox at {base}: {reason}")]
    Remote {
        /// Its base URL.
        base: String,
        /// Why (never a secret).
        reason: String,
    },
}
