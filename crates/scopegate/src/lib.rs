//! # scopegate
//!
//! The I/O side of scopegate: it acts on what [`scopegate_core`] decides. This crate holds the
//! default [`UreqTransport`] and the token stores ([`MemoryStore`], [`SqliteStore`]); the
//! blocking client and the loopback login follow.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod store;
pub mod transport;

pub use scopegate_core as core;
pub use store::{MemoryStore, SqliteStore, StoreError, StoreKey, TokenStore, Update, UpdateAbort, UpdateError};
pub use transport::{TransportConfig, UreqTransport};
