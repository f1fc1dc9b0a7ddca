//! Formatting shared by several commands: token sets, store keys, provider URLs.

use scopegate::StoreKey;
use scopegate_core::Provider;
use scopegate_core::Timestamp;
use scopegate_core::TokenSet;
use scopegate_core::profile::AuthorizationEndpoint;
use serde_json::{Value, json};

use crate::args::Cli;

pub(crate) fn grants(p: &Provider) -> Vec<&'static str> {
    p.grants().iter().map(|g| g.as_str()).collect()
}

fn fmt_time(t: Option<Timestamp>, now: Timestamp) -> String {
    match t {
        None => "never".into(),
        Some(t) if t.as_unix_secs() <= now.as_unix_secs() => format!("{} (expired)", t.as_unix_secs()),
        Some(t) => {
            let s = t.secs_since(now);
            format!("{} (in {}h{:02}m)", t.as_unix_secs(), s / 3600, (s % 3600) / 60)
        }
    }
}

pub(crate) fn token_json(key: &StoreKey, t: &TokenSet, reveal: bool) -> Value {
    let hide = |s: &str| if reveal { s.to_owned() } else { "[redacted]".to_owned() };
    json!({
        "provider": key.provider_id, "client_id": key.client_id, "account": key.account,
        "identity": t.identity.as_str(), "token_type": t.token_type, "scopes": t.scopes,
        "access_token": hide(t.access_token.expose_secret()),
        "refresh_token": t.refresh_token.as_ref().map(|r| hide(r.expose_secret())),
        "issued_at": t.issued_at.as_unix_secs(),
        "expires_at": t.expires_at.map(Timestamp::as_unix_secs),
        "refresh_expires_at": t.refresh_expires_at.map(Timestamp::as_unix_secs),
        "params": t.params,
        "reauthorization_required": t.invalidated.map(|r| r.describe()),
    })
}

pub(crate) fn print_token(cli: &Cli, key: &StoreKey, t: &TokenSet, reveal: bool) {
    if cli.json {
        println!("{}", token_json(key, t, reveal));
        return;
    }
    let now = Timestamp::from_system_time(std::time::SystemTime::now());
    let hide = |s: &str| if reveal { s.to_owned() } else { "[redacted]".to_owned() };
    println!("provider       {}", key.provider_id);
    println!("client id      {}", key.client_id);
    println!("account        {} ({} token)", key.account, t.identity.as_str());
    if let Some(r) = t.invalidated {
        println!("status         must be authorized again: {}", r.describe());
    }
    println!("access token   {}", hide(t.access_token.expose_secret()));
    println!(
        "refresh token  {}",
        t.refresh_token.as_ref().map(|r| hide(r.expose_secret())).unwrap_or_else(|| "(none)".into())
    );
    println!("type / scopes  {} / {}", t.token_type, if t.scopes.is_empty() { "-".into() } else { t.scopes.join(" ") });
    println!("expires        {}", fmt_time(t.expires_at, now));
    println!("refresh until  {}", fmt_time(t.refresh_expires_at, now));
    for (k, v) in &t.params {
        println!("{k:<14} {v}");
    }
}

pub(crate) fn describe(k: &StoreKey) -> String {
    format!("{}/{} (client {})", k.provider_id, k.account, k.client_id)
}

/// Where a provider sends the user: its authorization URL or install-link template.
pub(crate) fn authorization_text(p: &Provider) -> String {
    match p.authorization() {
        AuthorizationEndpoint::Url(u) => u.to_string(),
        AuthorizationEndpoint::InstallLink(t) => t.clone(),
    }
}

pub(crate) fn provider_urls(p: &Provider) -> Value {
    json!({"authorize": authorization_text(p), "token": p.token_url().map(|u| u.to_string()), "api": p.api().map(|a| a.base_url.to_string())})
}
