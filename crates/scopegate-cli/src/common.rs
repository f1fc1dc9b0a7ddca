//! Setup shared by several commands: profiles, rights, the token store, client credentials and
//! the sandbox.

use std::io::IsTerminal as _;
use std::path::Path;
use std::sync::Arc;

use scopegate::embed;
use scopegate::{Client, StoreKey, TokenStore, UreqTransport};
use scopegate_core::ClientConfig;
use scopegate_core::Provider;
use scopegate_core::Rights;
use scopegate_core::jose::SigningKey;

use crate::args::{Cli, Who};
use crate::fail::{Fail, Result};

/// A built-in id, or a profile file; pointed at a sandbox when one is given.
pub(crate) fn load_provider(spec: &str, sandbox: Option<&str>) -> Result<Provider> {
    if let Some(base) = sandbox.filter(|b| !b.is_empty()) {
        return scopegate_sandbox::profile_at(base, spec).map_err(|e| Fail::input(e.to_string()));
    }
    if Provider::builtin_source(spec).is_some() {
        return Provider::builtin(spec).map_err(|e| Fail::input(e.to_string()));
    }
    let path = Path::new(spec);
    if path.exists() {
        return Provider::from_file(path).map_err(|e| Fail::input(e.to_string()));
    }
    let ids: Vec<&str> = Provider::builtin_ids().collect();
    Err(Fail::input(format!(
        "unknown provider `{spec}`: not a built-in id ({}) nor an existing profile file",
        ids.join(", ")
    )))
}

pub(crate) fn parse_rights(p: &Provider, list: &str) -> Result<Rights> {
    let ids: Vec<&str> = list.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    p.rights_from_ids(&ids).map_err(|e| {
        let known: Vec<&str> = p.rights().iter().map(|r| r.id.as_str()).collect();
        Fail::input(format!(
            "{e} (rights of {}: {})",
            p.id(),
            if known.is_empty() { "none".into() } else { known.join(", ") }
        ))
    })
}

/// Where the token store is: `--store`, else `$SCOPEGATE_STORE`, else the default SQLite file.
pub(crate) fn store_spec(cli: &Cli) -> Result<String> {
    Ok(match &cli.store {
        Some(s) => s.clone(),
        None => match std::env::var("SCOPEGATE_STORE").ok().filter(|s| !s.is_empty()) {
            Some(s) => s,
            None => embed::default_store_path().map_err(Fail::from)?.to_string_lossy().into_owned(),
        },
    })
}

pub(crate) use scopegate::embed::is_postgres;

/// The token store the command works on ([`store_spec`]); a `postgres://` or `postgresql://`
/// value is a PostgreSQL store. Sealed with the key in `$SCOPEGATE_STORE_KEY` (and
/// `$SCOPEGATE_STORE_OLD_KEYS`) when it is set.
pub(crate) fn open_store(cli: &Cli) -> Result<Arc<dyn TokenStore>> {
    let spec = store_spec(cli)?;
    embed::open_store(Some(&spec), embed::StoreKeys::FromEnv).map_err(Fail::from)
}

/// The client secret: from the named environment variable, else a hidden prompt on a terminal.
pub(crate) fn client_secret(var: Option<&str>, sandbox: bool) -> Result<String> {
    if let Some(var) = var {
        return match std::env::var(var) {
            Ok(s) if !s.is_empty() => Ok(s),
            _ => Err(Fail::input(format!("environment variable {var} (from --client-secret-env) is not set or empty"))),
        };
    }
    if sandbox {
        return Ok(scopegate_sandbox::SANDBOX_CLIENT_SECRET.into());
    }
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password("client secret (input hidden): ")
            .map_err(|e| Fail::input(format!("cannot read the client secret: {e}")));
    }
    Err(Fail::input(
        "no client secret: pass --client-secret-env VAR, naming an environment variable that holds it (never the secret itself)",
    ))
}

/// The client's private key from `--client-key-file` (a PKCS#8 PEM file), if given.
pub(crate) fn client_key(path: Option<&Path>) -> Result<Option<SigningKey>> {
    let Some(path) = path else { return Ok(None) };
    let pem = std::fs::read_to_string(path)
        .map_err(|e| Fail::input(format!("cannot read the client key file {}: {e}", path.display())))?;
    let pem = zeroize::Zeroizing::new(pem);
    SigningKey::from_pem(&pem)
        .map(Some)
        .map_err(|e| Fail::input(format!("the client key file {} is not a usable private key: {e}", path.display())))
}

/// How the client authenticates: `--client-key-file` (private_key_jwt), else the secret
/// ([`client_secret`]). A profile with `client_auth = "private_key_jwt"` needs the key.
pub(crate) struct Credentials {
    pub(crate) secret: Option<String>,
    pub(crate) key: Option<SigningKey>,
}

pub(crate) fn credentials(
    provider: &Provider,
    secret_env: Option<&str>,
    key_file: Option<&Path>,
    sandbox: bool,
) -> Result<Credentials> {
    let key = client_key(key_file)?;
    let pkjwt = provider.client_auth() == scopegate_core::profile::ClientAuth::PrivateKeyJwt;
    if pkjwt && key.is_none() {
        return Err(Fail::input(format!(
            "provider `{}` authenticates clients with private_key_jwt: pass --client-key-file PATH (the client's PKCS#8 PEM key)",
            provider.id()
        )));
    }
    let secret = if key.is_some() && secret_env.is_none() { None } else { Some(client_secret(secret_env, sandbox)?) };
    Ok(Credentials { secret, key })
}

pub(crate) fn config(client_id: &str, credentials: Credentials, redirect: Option<&str>) -> Result<ClientConfig> {
    let mut c = ClientConfig::new(client_id).map_err(|e| Fail::input(e.to_string()))?;
    if let Some(secret) = credentials.secret.filter(|s| !s.is_empty()) {
        c = c.with_secret(secret);
    }
    if let Some(key) = credentials.key {
        c = c.with_client_key(key);
    }
    if let Some(r) = redirect {
        c = c.with_redirect_uri(r).map_err(|e| Fail::input(e.to_string()))?;
    }
    Ok(c)
}

/// The client for stored tokens of `who`.
pub(crate) fn stored_client(cli: &Cli, who: &Who, need_secret: bool) -> Result<(Client, Arc<dyn TokenStore>)> {
    let provider = load_provider(&who.provider, who.sandbox.as_deref())?;
    let store = open_store(cli)?;
    let account = who.account.clone().unwrap_or_else(|| default_account(who.sandbox.is_some()));
    let client_id = match &who.client_id {
        Some(c) => c.clone(),
        None => {
            let all: Vec<StoreKey> = store
                .keys()
                .map_err(|e| Fail::failed(e.to_string()))?
                .into_iter()
                .filter(|k| k.provider_id == provider.id())
                .collect();
            let keys: Vec<&StoreKey> = all.iter().filter(|k| k.account == account).collect();
            match keys.as_slice() {
                [one] => one.client_id.clone(),
                [] => {
                    let mut others: Vec<&str> = all.iter().map(|k| k.account.as_str()).collect();
                    others.sort_unstable();
                    others.dedup();
                    let hint = if others.is_empty() {
                        String::new()
                    } else {
                        format!(" (accounts stored for {}: {}; pass --account)", provider.id(), others.join(", "))
                    };
                    return Err(Fail::failed(format!(
                        "no token stored for {}/{account}{hint}: run scopegate login --provider {}{}",
                        provider.id(),
                        who.provider,
                        if who.account.is_some() { format!(" --account {account}") } else { String::new() }
                    )));
                }
                _ => return Err(Fail::input("several apps have tokens for this account: pass --client-id")),
            }
        }
    };
    let creds = if need_secret {
        credentials(&provider, who.client_secret_env.as_deref(), who.client_key_file.as_deref(), who.sandbox.is_some())?
    } else {
        Credentials { secret: None, key: client_key(who.client_key_file.as_deref())? }
    };
    let cfg = config(&client_id, creds, None)?;
    let client = Client::new(provider, cfg, Arc::new(UreqTransport::default()), store.clone(), account);
    Ok((client, store))
}

pub(crate) fn default_account(sandbox: bool) -> String {
    if sandbox { "sandbox".into() } else { "default".into() }
}
