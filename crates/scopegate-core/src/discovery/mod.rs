//! Authorization server metadata: RFC 8414 and OpenID Connect Discovery 1.0.
//!
//! [`DiscoveryFlow`] is sans-IO like [`TokenFlow`](crate::low_level::TokenFlow): it yields the GET requests
//! to try, in order, and reads the answers. For an issuer `https://as.example/tenant`:
//!
//! 1. `https://as.example/.well-known/oauth-authorization-server/tenant` (RFC 8414 §3.1: the
//!    well-known segment goes between the host and the issuer's path);
//! 2. `https://as.example/tenant/.well-known/openid-configuration` (OpenID Connect Discovery §4:
//!    appended to the issuer);
//! 3. `https://as.example/.well-known/openid-configuration/tenant` (RFC 8414 §5's compatibility
//!    form), only when the issuer has a path.
//!
//! A 404 (or 400, 405, 410) moves on to the next; the first 200 is the answer. Its `issuer` must
//! be **identical** to the one asked for (RFC 8414 §3.3, OpenID Connect Discovery §4.3): a
//! document naming another issuer is refused, whoever serves it.
//!
//! [`Provider::from_discovery`](crate::Provider::from_discovery) turns metadata into a profile, and [`profile_toml`] writes that
//! profile as commented TOML for a user to keep and complete (`scopegate provider discover`).

mod metadata;
mod toml;

pub use metadata::*;
pub use toml::profile_toml;
