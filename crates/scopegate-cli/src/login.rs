//! `scopegate login`: authorize in the browser over a loopback redirect and store the tokens.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use scopegate::{Browser, Client, LoginOptions, UreqTransport};
use scopegate_core::DEFAULT_ACCOUNT;
use scopegate_core::GrantType;

use crate::args::Cli;
use crate::common::{config, credentials, default_account, load_provider, open_store};
use crate::fail::{Fail, Result};
use crate::output::{print_token, token_json};

pub(crate) struct LoginArgs<'a> {
    pub(crate) provider: &'a str,
    pub(crate) client_id: Option<&'a str>,
    pub(crate) secret_env: Option<&'a str>,
    pub(crate) key_file: Option<&'a Path>,
    pub(crate) redirect_uri: Option<&'a str>,
    pub(crate) account: Option<&'a str>,
    pub(crate) sandbox: Option<&'a str>,
    pub(crate) no_browser: bool,
    pub(crate) timeout: Duration,
    pub(crate) device: bool,
}

impl LoginArgs<'_> {
    /// What the user passed, to repeat it in hints.
    fn again(&self) -> crate::fail::Again<'_> {
        crate::fail::Again {
            provider: self.provider,
            client_id: self.client_id,
            secret_env: self.secret_env,
            key_file: self.key_file,
            account: self.account,
            sandbox: self.sandbox,
        }
    }
}

pub(crate) fn run(cli: &Cli, a: &LoginArgs<'_>) -> Result<u8> {
    let store = open_store(cli)?;
    // The sandbox: a running one, or one of our own for the length of this command.
    let own_sandbox = match a.sandbox {
        Some("") => Some(
            scopegate_sandbox::Sandbox::start_on(
                0,
                if a.no_browser { scopegate_sandbox::Consent::AutoApprove } else { scopegate_sandbox::Consent::Page },
            )
            .map_err(|e| Fail::failed(e.to_string()))?,
        ),
        _ => None,
    };
    let sandbox_base = match (&own_sandbox, a.sandbox) {
        (Some(s), _) => Some(s.base_url().to_owned()),
        (None, Some(url)) => Some(url.trim_end_matches('/').to_owned()),
        (None, None) => None,
    };
    let provider = load_provider(a.provider, sandbox_base.as_deref())?;
    if a.device {
        return device(cli, a, provider, store, sandbox_base.is_some());
    }
    if !provider.supports(GrantType::AuthorizationCode) {
        return Err(Fail::input(format!(
            "provider `{}` has no authorization code grant to log in with",
            provider.id()
        )));
    }
    let client_id = match (a.client_id, &sandbox_base) {
        (Some(c), _) => c.to_owned(),
        (None, Some(_)) => scopegate_sandbox::SANDBOX_CLIENT_ID.to_owned(),
        (None, None) => return Err(Fail::input("pass --client-id (the app's client id)")),
    };
    let creds = credentials(&provider, a.secret_env, a.key_file, sandbox_base.is_some())?;
    let redirect = match (a.redirect_uri, &sandbox_base) {
        (Some(r), _) => r.to_owned(),
        (None, Some(_)) => {
            let port = scopegate_sandbox::demo::free_loopback_port()
                .map_err(|e| Fail::failed(format!("cannot find a free loopback port: {e}")))?;
            format!("http://127.0.0.1:{port}/callback")
        }
        (None, None) if provider.loopback_any_port() => "http://127.0.0.1:0/callback".into(),
        (None, None) => {
            return Err(Fail::input(format!(
                "pass --redirect-uri: the loopback URI registered with your {} app (e.g. http://127.0.0.1:8081/callback)",
                provider.name()
            )));
        }
    };
    if let Some(base) = &sandbox_base {
        let secret = creds.secret.as_deref().unwrap_or_default();
        let app = scopegate_sandbox::login_app(provider.id(), &client_id, secret, &redirect);
        scopegate_sandbox::register_remote(base, &app).map_err(|e| Fail::failed(e.to_string()))?;
    }
    // A profile whose callback names the account (Yotpo's app_key) stores the tokens under it,
    // unless the user named the account, which the login must then be for.
    let account = match a.account {
        Some(named) => named.to_owned(),
        None if provider.account_param().is_some() => DEFAULT_ACCOUNT.to_owned(),
        None => default_account(sandbox_base.is_some()),
    };
    let cfg = config(&client_id, creds, Some(&redirect))?;
    let client = Client::new(provider.clone(), cfg, Arc::new(UreqTransport::default()), store.clone(), account.clone());
    let options = LoginOptions {
        timeout: a.timeout,
        browser: if a.no_browser { Browser::PrintOnly } else { Browser::Open },
        ..LoginOptions::default()
    };
    let self_approve = own_sandbox.is_some() && a.no_browser;
    let json_out = cli.json;
    let mut follower = None;
    let tokens = scopegate::loopback_login(&client, &options, |url, opened| {
        if self_approve {
            eprintln!("sandbox: approving the authorization request ourselves (--no-browser)");
            let url = url.to_owned();
            follower = Some(std::thread::spawn(move || scopegate_sandbox::follow_as_browser(&url)));
        } else if opened {
            eprintln!("opened your browser at:\n  {url}");
        } else {
            eprintln!("open this URL in your browser:\n  {url}");
        }
        if !json_out {
            eprintln!(
                "waiting up to {} s for the authorization callback on {} ...",
                options.timeout.as_secs(),
                redirect_for_display(&redirect)
            );
        }
    })
    .map_err(|e| a.again().fail(e))?;
    if let Some(f) = follower {
        let _ = f.join();
    }
    logged_in(cli, &client, &provider, &tokens);
    Ok(0)
}

/// `login --device`: the device authorization grant (RFC 8628). The verification URI (the
/// complete one, with the code, when the server gives it) and the code go to stderr; the command
/// waits while the user approves on another device.
fn device(
    cli: &Cli,
    a: &LoginArgs<'_>,
    provider: scopegate_core::Provider,
    store: Arc<dyn scopegate::TokenStore>,
    sandbox: bool,
) -> Result<u8> {
    if !provider.supports(GrantType::DeviceCode) {
        return Err(Fail::input(format!(
            "provider `{}` has no device authorization grant in its profile: it needs `device_code` in [token] grants and [device] url (`scopegate provider discover` writes both when the server has them)",
            provider.id()
        )));
    }
    let client_id = match a.client_id {
        Some(c) => c.to_owned(),
        None => return Err(Fail::input("pass --client-id (the app's client id)")),
    };
    let creds = credentials(&provider, a.secret_env, a.key_file, sandbox)?;
    let account = a.account.map_or_else(|| default_account(sandbox), str::to_owned);
    let cfg = config(&client_id, creds, None)?;
    let client = Client::new(provider.clone(), cfg, Arc::new(UreqTransport::default()), store, account);
    let tokens = client
        .device_login(|code| {
            eprintln!("to authorize this device, open:\n  {}", code.uri());
            if code.verification_uri_complete.is_some() {
                eprintln!("and check that it shows the code {}", code.user_code);
            } else {
                eprintln!("and enter the code {}", code.user_code);
            }
            let now = scopegate_core::Timestamp::from_system_time(std::time::SystemTime::now());
            eprintln!(
                "waiting for the approval (the code expires in {} s; polling every {} s) ...",
                code.expires_at.secs_since(now),
                code.interval_secs
            );
        })
        .map_err(|e| a.again().fail(e))?;
    logged_in(cli, &client, &provider, &tokens);
    Ok(0)
}

/// What a successful login prints.
fn logged_in(cli: &Cli, client: &Client, provider: &scopegate_core::Provider, tokens: &scopegate_core::TokenSet) {
    let key = client.key();
    for note in login_notes(provider, tokens) {
        eprintln!("note: {note}");
    }
    if cli.json {
        println!("{}", token_json(&key, tokens, false));
    } else {
        println!("logged in: {} / {} / account {}", key.provider_id, key.client_id, key.account);
        print_token(cli, &key, tokens, false);
    }
}

fn redirect_for_display(redirect: &str) -> String {
    if redirect.contains(":0/") { "a free loopback port".into() } else { redirect.to_owned() }
}

/// What the user should know about a login that succeeded: scopes the provider did not grant,
/// and a missing refresh token on a provider that has refreshes.
fn login_notes(provider: &scopegate_core::Provider, tokens: &scopegate_core::TokenSet) -> Vec<String> {
    let mut notes = Vec::new();
    let missing: Vec<&str> =
        provider.scopes().iter().filter(|s| !tokens.scopes.contains(s)).map(String::as_str).collect();
    if !missing.is_empty() {
        notes.push(format!(
            "the provider granted fewer scopes than were asked for: not granted {}; granted {}",
            missing.join(" "),
            if tokens.scopes.is_empty() { "none".to_owned() } else { tokens.scopes.join(" ") }
        ));
    }
    if tokens.refresh_token.is_none() && provider.supports(GrantType::RefreshToken) {
        notes.push(
            "the provider issued no refresh token, so this login ends when the access token expires. \
             OpenID-style providers issue one only when asked: add `prompt = \"consent\"` (or what your \
             provider documents, e.g. `access_type = \"offline\"`) to [authorization.extra_params] in the profile"
                .to_owned(),
        );
    }
    notes
}
