//! What the specs server's tests share (`specs.rs`, through the low-level flows, and
//! `specs_session.rs`, through the Session and the Client): the sandbox, its profile as
//! discovery gives it, a client registered there.
#![allow(dead_code, unreachable_pub)]

use scopegate::discover_with;
use scopegate_core::prelude::*;
use scopegate_sandbox::{Consent, SPECS_SECRET, Sandbox, SandboxOptions};

pub const REDIRECT: &str = "http://127.0.0.1:9/callback";

pub fn sandbox() -> Sandbox {
    Sandbox::start_with(SandboxOptions { port: 0, consent: Consent::AutoApprove, strict: false }).unwrap()
}

/// The specs server's profile, from its discovery document.
pub fn discovered(sb: &Sandbox) -> Provider {
    let metadata = discover_with(&sb.transport(), &sb.specs_issuer()).expect("discovery");
    let json = serde_json::to_string(metadata.raw()).unwrap();
    Provider::from_discovery(&sb.specs_issuer(), &json).unwrap()
}

pub fn client(id: &str) -> ClientConfig {
    ClientConfig::new(id).unwrap().with_secret(SPECS_SECRET).with_redirect_uri(REDIRECT).unwrap()
}
