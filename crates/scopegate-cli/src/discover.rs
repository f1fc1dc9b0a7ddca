//! `scopegate provider discover ISSUER_URL --out FILE`: fetches the authorization server's
//! metadata (RFC 8414 / OpenID Connect Discovery; its `issuer` must be ISSUER_URL exactly) and
//! writes a commented profile to FILE that `login` and the other commands load as it is; the user
//! adds the `[api]` part. An existing FILE is never overwritten (it may hold the user's additions).

use std::io::Write as _;
use std::path::Path;

use scopegate_core::Provider;
use scopegate_core::discovery::{DiscoveryError, profile_toml};
use serde_json::json;

use crate::args::Cli;
use crate::fail::{Fail, Result};

fn fail(e: DiscoveryError) -> Fail {
    match e {
        DiscoveryError::InvalidIssuer { .. } => Fail::input(e.to_string()),
        other => Fail::failed(other.to_string()),
    }
}

pub(crate) fn run(cli: &Cli, issuer: &str, out: &Path) -> Result<u8> {
    if out.exists() {
        return Err(Fail::input(format!(
            "{} exists: it is never overwritten (it may hold your additions); remove it or choose another --out",
            out.display()
        )));
    }
    let metadata = scopegate::discover(issuer).map_err(fail)?;
    let text = profile_toml(&metadata).map_err(fail)?;
    // What is written must load as it is.
    let provider =
        Provider::from_toml_str(&text, &out.display().to_string()).map_err(|e| Fail::failed(e.to_string()))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(|e| Fail::input(format!("{}: cannot create: {e}", out.display())))?;
    file.write_all(text.as_bytes()).map_err(|e| Fail::failed(format!("{}: cannot write: {e}", out.display())))?;
    let grants: Vec<&str> = provider.grants().iter().map(|g| g.profile_name()).collect();
    let source = metadata.source().map(|u| u.to_string()).unwrap_or_default();
    if cli.json {
        println!(
            "{}",
            json!({
                "file": out.display().to_string(), "id": provider.id(), "issuer": metadata.issuer(), "metadata": source,
                "client_auth": format!("{:?}", provider.client_auth()), "grants": grants,
                "par": provider.par_url().map(|u| u.to_string()), "par_required": provider.uses_par(),
                "device": provider.device_authorization_url().map(|u| u.to_string()),
                "dpop_algs": metadata.strings("dpop_signing_alg_values_supported").unwrap_or_default(),
            })
        );
    } else {
        println!("wrote {} (profile `{}`) from {source}", out.display(), provider.id());
        println!("  grants       {}", grants.join(", "));
        println!("  client auth  {:?} (offered: {})", provider.client_auth(), metadata.token_auth_methods().join(", "));
        if let Some(p) = provider.par_url() {
            println!("  par          {p}{}", if provider.uses_par() { " (required)" } else { "" });
        }
        if let Some(d) = provider.device_authorization_url() {
            println!("  device       {d}");
        }
        let dpop = metadata.strings("dpop_signing_alg_values_supported").unwrap_or_default();
        if !dpop.is_empty() {
            println!("  dpop         {}", dpop.join(", "));
        }
        println!("add the [api] part (base_url) to use `scopegate call` with it");
    }
    Ok(0)
}
