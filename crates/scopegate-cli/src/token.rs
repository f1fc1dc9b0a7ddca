//! `scopegate token new|show|refresh|revoke`: the stored token set.

use std::sync::Arc;

use scopegate::{Client, UreqTransport};
use scopegate_core::GrantType;
use scopegate_core::UsageError;
use serde_json::json;

use crate::args::{Cli, Who};
use crate::common::{config, credentials, default_account, load_provider, open_store, stored_client};
use crate::fail::{Fail, Result};
use crate::output::{describe, print_token};

/// Client credentials (RFC 6749 §4.4): a token for the app itself, stored under the account.
pub(crate) fn new(cli: &Cli, who: &Who, scopes: &[String], reveal: bool) -> Result<u8> {
    let provider = load_provider(&who.provider, who.sandbox.as_deref())?;
    if !provider.supports(GrantType::ClientCredentials) {
        return Err(Fail::input(format!(
            "provider `{}` has no client credentials grant in its profile (grants: {})",
            provider.id(),
            crate::output::grants(&provider).join(", ")
        )));
    }
    let client_id = match (&who.client_id, &who.sandbox) {
        (Some(c), _) => c.clone(),
        (None, Some(_)) => scopegate_sandbox::SANDBOX_CLIENT_ID.to_owned(),
        (None, None) => return Err(Fail::input("pass --client-id (the app's client id)")),
    };
    let creds = credentials(
        &provider,
        who.client_secret_env.as_deref(),
        who.client_key_file.as_deref(),
        who.sandbox.is_some(),
    )?;
    let store = open_store(cli)?;
    let account = who.account.clone().unwrap_or_else(|| default_account(who.sandbox.is_some()));
    let cfg = config(&client_id, creds, None)?;
    let client = Client::new(provider, cfg, Arc::new(UreqTransport::default()), store, account);
    let tokens = client.client_credentials(scopes).map_err(|e| who.again().fail(e))?;
    if !cli.json {
        println!("app token stored: {}", describe(&client.key()));
    }
    print_token(cli, &client.key(), &tokens, reveal);
    Ok(0)
}

pub(crate) fn show(cli: &Cli, who: &Who, reveal: bool) -> Result<u8> {
    let (client, _) = stored_client(cli, who, false)?;
    let tokens = client
        .stored()
        .map_err(|e| who.again().fail(e))?
        .ok_or_else(|| Fail::failed(format!("no token stored for {}", describe(&client.key()))))?;
    print_token(cli, &client.key(), &tokens, reveal);
    Ok(0)
}

pub(crate) fn refresh(cli: &Cli, who: &Who, reveal: bool) -> Result<u8> {
    let (client, _) = stored_client(cli, who, true)?;
    let tokens = client.refresh().map_err(|e| who.again().fail(e))?;
    print_token(cli, &client.key(), &tokens, reveal);
    Ok(0)
}

pub(crate) fn revoke(cli: &Cli, who: &Who, local: bool) -> Result<u8> {
    let (client, _) = stored_client(cli, who, !local)?;
    let has_endpoint = client.provider().revocation().is_some();
    let outcome = if local || !has_endpoint {
        if !client.forget().map_err(|e| who.again().fail(e))? {
            return Err(Fail::failed(format!("no token stored for {}", describe(&client.key()))));
        }
        if local { "forgotten locally" } else { "forgotten locally (the profile has no revocation endpoint)" }
    } else {
        match client.revoke() {
            Ok(scopegate_core::Revoked::Done) => "revoked at the provider and forgotten",
            Ok(scopegate_core::Revoked::AlreadyGone) => "already uninstalled at the provider; forgotten",
            Err(scopegate::Error::Usage(UsageError::RevocationEndpointNotConfigured { hint, .. })) => {
                return Err(Fail::input(format!("{hint}\n(or pass --local to only forget the token here)")));
            }
            Err(e) => return Err(who.again().fail(e)),
        }
    };
    if cli.json {
        println!("{}", json!({"revoked": describe(&client.key()), "outcome": outcome}));
    } else {
        println!("{}: {outcome}", describe(&client.key()));
    }
    Ok(0)
}
