//! `scopegate token show|refresh|revoke`: the stored token set.

use scopegate::ClientError;
use scopegate_core::error::UsageError;
use serde_json::json;

use crate::args::{Cli, Who};
use crate::common::stored_client;
use crate::fail::{Fail, Result};
use crate::output::{describe, print_token};

pub(crate) fn show(cli: &Cli, who: &Who, reveal: bool) -> Result<u8> {
    let (client, _) = stored_client(cli, who, false)?;
    let tokens =
        client.stored()?.ok_or_else(|| Fail::failed(format!("no token stored for {}", describe(client.key()))))?;
    print_token(cli, client.key(), &tokens, reveal);
    Ok(0)
}

pub(crate) fn refresh(cli: &Cli, who: &Who, reveal: bool) -> Result<u8> {
    let (client, _) = stored_client(cli, who, true)?;
    let tokens = client.refresh()?;
    print_token(cli, client.key(), &tokens, reveal);
    Ok(0)
}

pub(crate) fn revoke(cli: &Cli, who: &Who, local: bool) -> Result<u8> {
    let (client, _) = stored_client(cli, who, !local)?;
    let has_endpoint = client.provider().revocation().is_some();
    let outcome = if local || !has_endpoint {
        if !client.forget()? {
            return Err(Fail::failed(format!("no token stored for {}", describe(client.key()))));
        }
        if local { "forgotten locally" } else { "forgotten locally (the profile has no revocation endpoint)" }
    } else {
        match client.revoke() {
            Ok(scopegate_core::revoke::Revoked::Done) => "revoked at the provider and forgotten",
            Ok(scopegate_core::revoke::Revoked::AlreadyGone) => "already uninstalled at the provider; forgotten",
            Err(ClientError::Usage(UsageError::RevocationEndpointNotConfigured { hint, .. })) => {
                return Err(Fail::input(format!("{hint}\n(or pass --local to only forget the token here)")));
            }
            Err(e) => return Err(e.into()),
        }
    };
    if cli.json {
        println!("{}", json!({"revoked": describe(client.key()), "outcome": outcome}));
    } else {
        println!("{}: {outcome}", describe(client.key()));
    }
    Ok(0)
}
