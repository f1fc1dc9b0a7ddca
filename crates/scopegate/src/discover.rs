//! Authorization server discovery (RFC 8414, OpenID Connect Discovery 1.0) over a transport: the
//! core's [`DiscoveryFlow`] decides which well-known URLs to try and checks the answer (its
//! `issuer` must be the one asked for, RFC 8414 §3.3); this module only moves the bytes.

use crate::transport::Transport;
use scopegate_core::discovery::{DiscoveryError, DiscoveryFlow, ServerMetadata};

use crate::transport::UreqTransport;

/// Fetches and checks the metadata of the authorization server `issuer` (an https URL, or http on
/// a loopback host) with the default transport (TLS verified, no redirects followed).
pub fn discover(issuer: &str) -> Result<ServerMetadata, DiscoveryError> {
    discover_with(&UreqTransport::default(), issuer)
}

/// [`discover`] through another transport.
pub fn discover_with(transport: &dyn Transport, issuer: &str) -> Result<ServerMetadata, DiscoveryError> {
    let mut flow = DiscoveryFlow::new(issuer)?;
    while let Some(request) = flow.poll_transmit() {
        match transport.send(&request) {
            Ok(response) => flow.handle_response(&response),
            Err(e) => flow.handle_transport_error(&e.to_string()),
        }
    }
    flow.poll_outcome().unwrap_or_else(|| {
        Err(DiscoveryError::NotFound { issuer: issuer.to_owned(), tried: "(no location to try)".into() })
    })
}
