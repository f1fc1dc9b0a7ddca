//! # scopegate
//!
//! The I/O side of scopegate: it acts on what [`scopegate_core`] decides. This crate holds the
//! default [`UreqTransport`]; token stores, the blocking client and the loopback login follow.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod transport;

pub use scopegate_core as core;
pub use transport::{TransportConfig, UreqTransport};
