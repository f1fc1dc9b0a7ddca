//! # scopegate
//!
//! The I/O side of scopegate: it acts on what [`scopegate_core`] decides. This crate holds the
//! [`Transport`] contract and its default, [`UreqTransport`]; the token stores
//! ([`MemoryStore`], [`SqliteStore`], and `PostgresStore` with the cargo feature `postgres`)
//! and their lease protocol ([`store`]); the blocking [`Client`] with its [`loopback_login`];
//! [`discover()`] (authorization server metadata, RFC 8414); and [`embed`], the glue the
//! command line, the C ABI and the Python package share.
//!
//! ## Quick start
//!
//! A script's login ([`loopback_login`]), a call ([`Client::request`]), a refresh, a permission
//! check, a web app's two halves ([`Client::authorization_request`] then [`Client::exchange`])
//! and an app's own token ([`Client::client_credentials`]), against the providers' sandbox
//! (the `scopegate-sandbox` crate: `cargo add --dev`; a test tool, not needed in production).
//! This is `examples/rust/quick_start.rs`, run as a test; with a real app, take
//! `Provider::builtin("yespo")` instead of `sandbox.profile("yespo")`, your client id and secret,
//! and a store that lasts ([`SqliteStore`], `PostgresStore`).
//!
//! ```rust
#![doc = include_str!("../../../examples/rust/quick_start.rs")]
//! ```
//!
//! [`Client::builder`] takes the provider and the client id; everything else has a default (the
//! [`UreqTransport`], a [`MemoryStore`], the account `default`). A blocking [`Client`] is
//! `Send + Sync`: share one per provider and account across threads (one refresh however many
//! ask); from async code, see [`Client`]'s "Inside an async runtime" and, with the feature
//! `tokio`, `AsyncClient`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod discover;
pub mod embed;
pub mod login;
pub mod store;
pub mod transport;

pub use client::{Client, ClientBuilder, DEFAULT_STALENESS, TokenChange, TokenHook, TraceContext};
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
/// The `url` crate, whose [`Url`](url::Url) some of scopegate's signatures take.
pub use url;
#[cfg(feature = "tokio")]
pub use {
    client::AsyncClient,
    transport::{AsyncTransport, ReqwestTransport, SendFuture},
};
