//! [`TransportError`]: a request could not be completed, and whether it may have reached the
//! server ([`TransportError::may_have_been_sent`]). The transport contract itself (the
//! `Transport` trait, and what a transport must do) lives in the I/O crate, `scopegate`, which
//! does the I/O.

/// A request could not be completed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// Plain http to a host that is not loopback: refused before any connection.
    #[error("refusing plain http to {host}: only loopback hosts (127.0.0.1, ::1, localhost) may use http")]
    InsecureScheme {
        /// The host.
        host: String,
    },
    /// The URL cannot be used (no host, unsupported scheme, ...).
    #[error("cannot send to this url: {reason}")]
    InvalidUrl {
        /// Why.
        reason: String,
    },
    /// No connection could be made (DNS failure, refused, unreachable while connecting): nothing
    /// was sent. A connection lost after the request was written is [`Io`](Self::Io).
    #[error("could not connect to {host}: {reason}")]
    Connect {
        /// The host.
        host: String,
        /// The system's reason.
        reason: String,
    },
    /// The TLS handshake failed (certificate not trusted, no common protocol): nothing was sent.
    /// A TLS failure after the request was written (a record that does not decrypt) is
    /// [`Io`](Self::Io).
    #[error("tls with {host} failed: {reason}")]
    Tls {
        /// The host.
        host: String,
        /// Why.
        reason: String,
    },
    /// The connect or total timeout passed.
    #[error("request to {host} timed out ({phase})")]
    Timeout {
        /// The host.
        host: String,
        /// `connect` (nothing sent) or `response` (the request may have been received).
        phase: &'static str,
    },
    /// The response body is larger than the request allows.
    #[error("response body from {host} is larger than {limit} bytes")]
    BodyTooLarge {
        /// The host.
        host: String,
        /// The limit.
        limit: usize,
    },
    /// Anything else, after the connection was made and the request began to be written (a TLS
    /// or network failure included): it may have arrived.
    #[error("request to {host} failed: {reason}")]
    Io {
        /// The host.
        host: String,
        /// Why.
        reason: String,
    },
}

impl TransportError {
    /// Whether the server may have received the request. `false` only when the failure happened
    /// before anything was written (refused scheme, bad URL, DNS, no connection, the TLS
    /// handshake, connect timeout): only then may a code exchange or refresh be retried.
    pub fn may_have_been_sent(&self) -> bool {
        match self {
            TransportError::InsecureScheme { .. }
            | TransportError::InvalidUrl { .. }
            | TransportError::Connect { .. }
            | TransportError::Tls { .. } => false,
            TransportError::Timeout { phase, .. } => *phase != "connect",
            TransportError::BodyTooLarge { .. } | TransportError::Io { .. } => true,
        }
    }
}
