//! # scopegate
//!
//! The I/O side of scopegate: it acts on what [`scopegate_core`] decides. This crate holds the
//! [`Transport`] contract and its default, [`UreqTransport`]; the token stores
//! ([`MemoryStore`], [`SqliteStore`], and `PostgresStore` with the cargo feature `postgres`)
//! and their lease protocol ([`store`]); the blocking [`Client`] with its [`loopback_login`];
//! [`discover()`] (authorization server metadata, RFC 8414); and [`embed`], the glue the
//! command line, the C ABI and the Python package share.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod discover;
pub mod embed;
pub mod login;
pub mod store;
pub mod transport;

pub use client::{Client, DEFAULT_STALENESS, TokenChange, TokenHook, TraceContext};
pub use discover::{discover, discover_with};
pub use login::{Browser, LoginOptions, loopback_login};
pub use scopegate_core as core;
pub use scopegate_core::{Blame, Error, ErrorKind};
pub use store::{
    Claim, DEFAULT_LEASE_TTL, KeyRing, LONGEST_REFRESH, LeaseOwner, MemoryStore, Row, SealError, SqliteStore,
    StoreError, StoreKey, TokenStore, Update, Written,
};
#[cfg(feature = "postgres")]
pub use store::{PostgresOptions, PostgresStore};
pub use transport::{Transport, TransportConfig, UreqTransport};
#[cfg(feature = "tokio")]
pub use {
    client::AsyncClient,
    transport::{AsyncTransport, ReqwestTransport, SendFuture},
};
