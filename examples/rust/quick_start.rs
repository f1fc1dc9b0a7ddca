//! scopegate's Rust quick start, against the built-in sandbox (`cargo run -p scopegate --example
//! quick_start`): a script's login, a call, a refresh, a permission check, a web app's two halves,
//! and an app's own token. The README shows this file; the `scopegate` crate docs run it as a test.
#![allow(clippy::print_stdout)] // an example shows what it does

use std::thread;

use scopegate::core::Method;
use scopegate::{Browser, Client, LoginOptions, loopback_login};
use scopegate_sandbox::{SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Sandbox, follow_as_browser};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The providers' sandbox on 127.0.0.1 (an ephemeral port); it gives consent at once.
    // With your real app: `scopegate::core::Provider::builtin("yespo")?` and your own client id.
    let sandbox = Sandbox::start()?;
    let yespo = sandbox.profile("yespo")?;

    // A script's login: the client listens on a free loopback port (port 0: the profile says
    // `loopback_any_port`) for the one callback; the user's browser comes back there.
    let client = Client::builder(yespo.clone(), SANDBOX_CLIENT_ID)
        .secret(SANDBOX_CLIENT_SECRET) // from your secret store, never from the source
        .redirect_uri("http://127.0.0.1:0/callback")
        .build()?; // the ureq transport; an in-memory store (`.store(...)`: SQLite, PostgreSQL)
    let options = LoginOptions { browser: Browser::PrintOnly, ..LoginOptions::default() };
    let mut browser = None;
    let tokens = loopback_login(&client, &options, |url, _opened| {
        // A person opens `url` (Browser::Open does it for them); here a thread plays the browser.
        let url = url.to_owned();
        browser = Some(thread::spawn(move || follow_as_browser(&url)));
    })?;
    println!("logged in; refresh token: {}", tokens.refresh_token.is_some());

    // A call: the bearer token, refreshed when due, one refresh and one retry on a 401; never
    // sent outside the profile's API origin.
    let contacts = client.request(Method::Get, "contacts", None)?;
    println!("GET contacts: {}", contacts.status());

    // A refresh (the provider rotates the refresh token; the store keeps the new one).
    let renewed = client.refresh()?;
    assert_ne!(renewed.access_token, tokens.access_token);

    // May this token call PUT contact/{id}/subscriptions? The rights granted at registration,
    // checked without I/O.
    let rights = yespo.rights_from_ids(["events_and_contacts"])?;
    println!("rights: {}", yespo.matrix().named(rights));
    assert!(yespo.policy(rights).allows("PUT", "contact/42/subscriptions"));
    assert!(!yespo.policy(rights).allows("POST", "message/email"));

    // A web app's two halves: the URL to send the user to (keep `pending` in the user's
    // session: `pending.to_json()`), then the callback the browser brings back.
    let web = Client::builder(yespo, SANDBOX_CLIENT_ID)
        .secret(SANDBOX_CLIENT_SECRET)
        .redirect_uri("http://127.0.0.1:8080/oauth/callback")
        .account("shop-42") // one account per user or shop of yours
        .build()?;
    let start = web.authorization_request()?;
    let callback = sandbox.authorize(&start.url)?; // the user approves; the browser comes back
    let mut pending = start.pending;
    web.exchange(&mut pending, &callback)?;
    println!("web app: GET contacts: {}", web.request(Method::Get, "contacts", None)?.status());

    // The app's own token (client credentials), Yuvo's server-to-server flow.
    let yuvo = Client::builder(sandbox.profile("yuvo")?, SANDBOX_CLIENT_ID).secret(SANDBOX_CLIENT_SECRET).build()?;
    yuvo.client_credentials(&[])?;
    println!("yuvo: GET companies: {}", yuvo.request(Method::Get, "companies", None)?.status());

    if let Some(b) = browser {
        b.join().map_err(|_| "the browser thread panicked")??;
    }
    Ok(())
}
