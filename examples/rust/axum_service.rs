//! An axum service that calls Yespo with an [`AsyncClient`] in its state.
//!
//! Runs against the built-in sandbox (started here, on 127.0.0.1), so it works anywhere:
//!
//! ```sh
//! cargo run -p scopegate --features tokio --example axum_service            # serves until Ctrl-C
//! cargo run -p scopegate --features tokio --example axum_service -- --once  # one request, then exits
//! ```
//!
//! Against the real Yespo: `Provider::builtin("yespo")`, your client id and secret, and a login
//! (`scopegate login yespo`) that filled the token store the service opens. The handler does
//! not change: the client refreshes when due (once, however many requests ask), never blocks a
//! runtime worker, and keeps a renewed token set even when a request is cancelled mid-refresh.
#![allow(clippy::print_stdout)] // an example program: its output is the point

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use scopegate::{AsyncClient, AsyncTransport, MemoryStore, ReqwestTransport};
use scopegate_core::prelude::*;
use scopegate_sandbox::{SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Sandbox};

/// GET /contacts: the account's Yespo contacts, or the error in words (never a secret).
async fn contacts(State(yespo): State<Arc<AsyncClient>>) -> Result<Json<serde_json::Value>, (StatusCode, String)> {
    let answer = yespo.request(Method::Get, "contacts", None).await.map_err(|e| {
        let status = match e.blame() {
            scopegate::Blame::Remote | scopegate::Blame::Environment => StatusCode::BAD_GATEWAY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, e.to_string())
    })?;
    let body = serde_json::from_slice(answer.body()).map_err(|e| (StatusCode::BAD_GATEWAY, e.to_string()))?;
    Ok(Json(body))
}

/// The client's counters, for a dashboard (see the README on Prometheus and OpenTelemetry).
async fn stats(State(yespo): State<Arc<AsyncClient>>) -> Json<serde_json::Value> {
    let pairs: serde_json::Map<String, serde_json::Value> =
        yespo.stats().pairs().into_iter().map(|(k, v)| (k.to_owned(), v.into())).collect();
    Json(pairs.into())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let once = std::env::args().any(|a| a == "--once");
    let sandbox = Sandbox::start()?;
    let config = ClientConfig::new(SANDBOX_CLIENT_ID)?
        .with_secret(SANDBOX_CLIENT_SECRET)
        .with_redirect_uri("http://127.0.0.1:9/callback")?;
    let transport = Arc::new(ReqwestTransport::default());
    let yespo =
        AsyncClient::new(sandbox.profile("yespo")?, config, transport.clone(), Arc::new(MemoryStore::new()), "default");

    // A login, as `scopegate login` does it; the sandbox approves at once, so the "browser" is
    // one GET whose redirect carries the code.
    let start = yespo.authorization_request().await?;
    let mut pending = start.pending;
    let consent = transport.send(&HttpRequest::new(Method::Get, url::Url::parse(&start.url)?)).await?;
    let callback = consent.header("location").ok_or("the sandbox did not redirect")?.to_owned();
    yespo.exchange(&mut pending, &callback).await?;

    let app = Router::new().route("/contacts", get(contacts)).route("/stats", get(stats)).with_state(Arc::new(yespo));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/contacts", listener.local_addr()?);
    println!("serving {url} (Yespo through the sandbox at {})", sandbox.base_url());
    if !once {
        axum::serve(listener, app).await?;
        return Ok(());
    }
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let answer = transport.send(&HttpRequest::new(Method::Get, url::Url::parse(&url)?)).await?;
    println!("GET /contacts -> {} {}", answer.status(), String::from_utf8_lossy(answer.body()));
    server.abort();
    if answer.status() != 200 {
        return Err(format!("the service answered {}", answer.status()).into());
    }
    Ok(())
}
