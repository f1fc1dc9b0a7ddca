//! `Fail`: a failure with its exit code, and how library errors map onto those codes.

use scopegate::embed::ErrorReport;
use scopegate::{Error, ErrorKind};

/// A failure with its exit code.
#[derive(Debug)]
pub(crate) struct Fail {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl Fail {
    pub(crate) fn input(message: impl Into<String>) -> Fail {
        Fail { code: 2, message: message.into() }
    }
    pub(crate) fn failed(message: impl Into<String>) -> Fail {
        Fail { code: 1, message: message.into() }
    }
}

/// The exit code of a library error: 2 when the input was wrong (arguments, profile, path,
/// configuration), 1 when the operation was refused or failed.
fn exit_code(e: &Error) -> u8 {
    match e.kind() {
        ErrorKind::Usage
        | ErrorKind::Config
        | ErrorKind::Profile
        | ErrorKind::PathRejected
        | ErrorKind::UnknownEndpoint
        | ErrorKind::OriginRefused => 2,
        _ => 1,
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail { code: exit_code(&e), message: ErrorReport::from(&e).message }
    }
}

/// What the user passed to name the connection, to repeat it in a hint they can run as it is.
#[derive(Debug, Default)]
pub(crate) struct Again<'a> {
    /// `--provider` as given (a built-in id or a profile path).
    pub(crate) provider: &'a str,
    pub(crate) client_id: Option<&'a str>,
    pub(crate) secret_env: Option<&'a str>,
    /// `--client-key-file` as given.
    pub(crate) key_file: Option<&'a std::path::Path>,
    pub(crate) account: Option<&'a str>,
    pub(crate) sandbox: Option<&'a str>,
}

impl Again<'_> {
    /// `scopegate login --provider ... ` with what the user passed.
    fn login(&self) -> String {
        let quote = |s: &str| {
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:=@".contains(&b)) {
                s.to_owned()
            } else {
                format!("'{}'", s.replace('\'', "'\\''"))
            }
        };
        let mut cmd = format!("scopegate login --provider {}", quote(self.provider));
        let key_file = self.key_file.map(|p| p.to_string_lossy());
        for (flag, value) in [
            ("--client-id", self.client_id),
            ("--client-secret-env", self.secret_env),
            ("--client-key-file", key_file.as_deref()),
            ("--account", self.account),
            ("--sandbox", self.sandbox),
        ] {
            if let Some(v) = value {
                cmd.push_str(&format!(" {flag} {}", quote(v)));
            }
        }
        cmd
    }

    /// The failure of a library error, with what to run next when a login helps.
    pub(crate) fn fail(&self, e: Error) -> Fail {
        let hint = match &e {
            Error::NotAuthorized { .. } => format!("\nrun: {}", self.login()),
            Error::ReauthorizationRequired { .. } => format!("\nthe user must authorize again: {}", self.login()),
            _ => String::new(),
        };
        Fail { code: exit_code(&e), message: format!("{}{hint}", ErrorReport::from(&e).message) }
    }
}

pub(crate) type Result<T> = std::result::Result<T, Fail>;
