//! `Fail`: a failure with its exit code, and how library errors map onto those codes.

use scopegate::{ClientError, LoginError};

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

impl From<ClientError> for Fail {
    fn from(e: ClientError) -> Fail {
        let code = match &e {
            ClientError::Usage(_)
            | ClientError::PathRejected(_)
            | ClientError::UnknownEndpoint { .. }
            | ClientError::InvalidPath { .. }
            | ClientError::NoApiBase(_) => 2,
            _ => 1,
        };
        let hint = match &e {
            ClientError::NotAuthorized { provider, .. } => format!("\nrun: scopegate login --provider {provider}"),
            ClientError::ReauthorizationRequired { provider, .. } => {
                format!("\nthe user must authorize again: scopegate login --provider {provider}")
            }
            _ => String::new(),
        };
        Fail { code, message: format!("{e}{hint}") }
    }
}

impl From<LoginError> for Fail {
    fn from(e: LoginError) -> Fail {
        match e {
            LoginError::Client(c) => c.into(),
            LoginError::NotLoopback { .. } => Fail::input(e.to_string()),
            other => Fail::failed(other.to_string()),
        }
    }
}

pub(crate) type Result<T> = std::result::Result<T, Fail>;
