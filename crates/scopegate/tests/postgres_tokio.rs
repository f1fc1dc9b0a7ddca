//! Issue "nothing lost", finding: a tokio task calling `Client::client_credentials` with a
//! `PostgresStore` (the multi-host setup the README documents) panicked with "Cannot start a
//! runtime from within a runtime": the blocking `postgres` client starts a runtime of its own.
//! A store call never panics, whatever thread it runs on: on both runtime flavours.
#![cfg(feature = "postgres")]
#![allow(clippy::print_stderr)]

mod support;

use std::sync::Arc;

use scopegate::{Client, PostgresStore, TokenStore, UreqTransport};
use scopegate_core::prelude::*;
use scopegate_sandbox::{SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Sandbox};
use support::pg_url;

/// What a handler of a tokio service does: the blocking client, right on the task.
async fn app_token(url: &str, sb: &Sandbox, account: &str) -> TokenSet {
    let store: Arc<dyn TokenStore> = Arc::new(PostgresStore::connect(url).expect("connect"));
    let config = ClientConfig::new(SANDBOX_CLIENT_ID).unwrap().with_secret(SANDBOX_CLIENT_SECRET);
    let client = Client::new(sb.profile("yuvo").unwrap(), config, Arc::new(UreqTransport::default()), store, account);
    let first = client.client_credentials(&[]).expect("client credentials");
    assert_eq!(client.access_token().unwrap(), first);
    assert!(client.forget().unwrap());
    first
}

#[tokio::test(flavor = "current_thread")]
async fn postgres_store_on_a_current_thread_runtime() {
    let Some(url) = pg_url() else { return };
    let sb = Sandbox::start().unwrap();
    app_token(&url, &sb, &format!("tokio-ct-{}", std::process::id())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_on_a_multi_thread_runtime() {
    let Some(url) = pg_url() else { return };
    let sb = Arc::new(Sandbox::start().unwrap());
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let (url, sb) = (url.clone(), Arc::clone(&sb));
            tokio::spawn(async move { app_token(&url, &sb, &format!("tokio-mt-{}-{i}", std::process::id())).await })
        })
        .collect();
    for t in tasks {
        t.await.expect("no panic in the task");
    }
}
