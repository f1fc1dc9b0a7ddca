//! `scopegate`: try, script and debug OAuth 2.0 integrations from the command line.
//!
//! Exit codes: 0 success; 1 the operation was refused or failed (a denied permission, a provider
//! error, a failed demo step); 2 bad input (arguments, profile, path, missing secret).
// A command-line program prints: that is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod demo;

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use scopegate::{
    Browser, Client, ClientError, LoginError, LoginOptions, SqliteStore, StoreKey, TokenStore, UreqTransport,
};
use scopegate_core::authorize::ClientConfig;
use scopegate_core::error::UsageError;
use scopegate_core::matrix::{Decision, Rights};
use scopegate_core::method::Method;
use scopegate_core::profile::{AuthorizationEndpoint, GrantType, Provider};
use scopegate_core::time::Timestamp;
use scopegate_core::token::TokenSet;
use scopegate_core::transport::Transport as _;
use serde_json::{Value, json};

#[derive(Debug, Parser)]
#[command(
    name = "scopegate",
    version,
    about = "OAuth 2.0 for SaaS integrations: profiles, permissions, tokens, sandbox"
)]
struct Cli {
    /// Print data as JSON.
    #[arg(long, global = true)]
    json: bool,
    /// Token store (SQLite file, created 0600). Default: scopegate/tokens.db in the user's data
    /// directory.
    #[arg(long, global = true, value_name = "PATH")]
    store: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the built-in provider profiles.
    Providers,
    /// Show one provider profile.
    Provider {
        #[command(subcommand)]
        action: ProviderAction,
    },
    /// May these rights call METHOD PATH? Exit 0 allowed, 1 denied, 2 bad input or rejected path.
    Check {
        #[arg(long)]
        provider: String,
        /// Comma-separated right ids (empty: none).
        #[arg(long, default_value = "")]
        rights: String,
        /// HTTP method, upper case.
        method: String,
        /// Path: bare (contact/42), with the API base path, or a full URL under the API base.
        path: String,
    },
    /// The least rights that cover these calls ("METHOD PATH" each).
    RightsFor {
        #[arg(long)]
        provider: String,
        #[arg(required = true, value_name = "\"METHOD PATH\"")]
        calls: Vec<String>,
    },
    /// Authorize the app in the browser (loopback redirect) and store the tokens.
    Login {
        #[arg(long)]
        provider: String,
        /// The app's client id (default with --sandbox: the sandbox's app).
        #[arg(long)]
        client_id: Option<String>,
        /// Name of the environment variable holding the client secret (else a hidden prompt).
        #[arg(long, value_name = "VAR")]
        client_secret_env: Option<String>,
        /// Redirect URI registered with the app (a loopback http URI).
        #[arg(long)]
        redirect_uri: Option<String>,
        /// Account name the tokens are stored under (Yotpo: the store's app_key, by default).
        #[arg(long)]
        account: Option<String>,
        /// Use the sandbox: a running one at URL, or (no URL) one started for this command.
        #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "")]
        sandbox: Option<String>,
        /// Do not open a browser: print the URL (with an in-process sandbox: approve it ourselves).
        #[arg(long)]
        no_browser: bool,
        /// Give up waiting for the callback after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Stored tokens: show, refresh or revoke.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Call the provider's API with the stored token.
    Call {
        #[command(flatten)]
        who: Who,
        /// HTTP method, upper case.
        method: String,
        /// Path under the API base URL, or a full URL.
        path: String,
        /// JSON body.
        #[arg(long)]
        data: Option<String>,
        /// Check the call against these rights first (comma-separated), refusing locally.
        #[arg(long)]
        rights: Option<String>,
    },
    /// Run the provider emulator in the foreground.
    Sandbox {
        /// Port on 127.0.0.1 (0: any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// How consent is given: page (approve/deny buttons), approve, deny.
        #[arg(long, default_value = "page")]
        consent: String,
        /// Strict mode: PKCE (S256) required, a reused refresh token revokes its grant.
        #[arg(long)]
        strict: bool,
    },
    /// Start the sandbox in-process and walk every built-in provider through its flows.
    Demo,
}

#[derive(Debug, Subcommand)]
enum ProviderAction {
    /// Show a built-in provider or a profile file.
    Show {
        /// Built-in id or profile file path.
        id: String,
    },
}

#[derive(Debug, clap::Args)]
struct Who {
    #[arg(long)]
    provider: String,
    #[arg(long)]
    account: Option<String>,
    /// The app's client id (default: the only one stored for this provider and account).
    #[arg(long)]
    client_id: Option<String>,
    /// Name of the environment variable holding the client secret (else a hidden prompt).
    #[arg(long, value_name = "VAR")]
    client_secret_env: Option<String>,
    /// The running sandbox the tokens came from.
    #[arg(long, value_name = "URL")]
    sandbox: Option<String>,
}

#[derive(Debug, Subcommand)]
enum TokenAction {
    /// Show the stored token set (values redacted unless --reveal).
    Show {
        #[command(flatten)]
        who: Who,
        /// Print the token values.
        #[arg(long)]
        reveal: bool,
    },
    /// Refresh now and store the result.
    Refresh {
        #[command(flatten)]
        who: Who,
        /// Print the token values.
        #[arg(long)]
        reveal: bool,
    },
    /// Revoke (or uninstall) at the provider, then forget locally.
    Revoke {
        #[command(flatten)]
        who: Who,
        /// Only forget locally; do not call the provider.
        #[arg(long)]
        local: bool,
    },
}

/// A failure with its exit code.
#[derive(Debug)]
struct Fail {
    code: u8,
    message: String,
}

impl Fail {
    fn input(message: impl Into<String>) -> Fail {
        Fail { code: 2, message: message.into() }
    }
    fn failed(message: impl Into<String>) -> Fail {
        Fail { code: 1, message: message.into() }
    }
}

impl From<ClientError> for Fail {
    fn from(e: ClientError) -> Fail {
        let code = match &e {
            ClientError::Usage(_)
            | ClientError::PathRejected(_)
            | ClientError::UnknownEndpoint { .. }
            | ClientError::InvalidPath { .. }
            | ClientError::NoApiBase(_) => 2,
            _ => 1,
        };
        let hint = match &e {
            ClientError::NotAuthorized { provider, .. } => format!("\nrun: scopegate login --provider {provider}"),
            ClientError::ReauthorizationRequired { provider, .. } => {
                format!("\nthe user must authorize again: scopegate login --provider {provider}")
            }
            _ => String::new(),
        };
        Fail { code, message: format!("{e}{hint}") }
    }
}

impl From<LoginError> for Fail {
    fn from(e: LoginError) -> Fail {
        match e {
            LoginError::Client(c) => c.into(),
            LoginError::NotLoopback { .. } => Fail::input(e.to_string()),
            other => Fail::failed(other.to_string()),
        }
    }
}

type Result<T> = std::result::Result<T, Fail>;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn run(cli: &Cli) -> Result<u8> {
    match &cli.command {
        Command::Providers => providers(cli),
        Command::Provider { action: ProviderAction::Show { id } } => provider_show(cli, id),
        Command::Check { provider, rights, method, path } => check(cli, provider, rights, method, path),
        Command::RightsFor { provider, calls } => rights_for(cli, provider, calls),
        Command::Login {
            provider,
            client_id,
            client_secret_env,
            redirect_uri,
            account,
            sandbox,
            no_browser,
            timeout,
        } => {
            let args = LoginArgs {
                provider,
                client_id: client_id.as_deref(),
                secret_env: client_secret_env.as_deref(),
                redirect_uri: redirect_uri.as_deref(),
                account: account.as_deref(),
                sandbox: sandbox.as_deref(),
                no_browser: *no_browser,
                timeout: Duration::from_secs(*timeout),
            };
            login(cli, &args)
        }
        Command::Token { action } => match action {
            TokenAction::Show { who, reveal } => token_show(cli, who, *reveal),
            TokenAction::Refresh { who, reveal } => token_refresh(cli, who, *reveal),
            TokenAction::Revoke { who, local } => token_revoke(cli, who, *local),
        },
        Command::Call { who, method, path, data, rights } => {
            call(cli, who, method, path, data.as_deref(), rights.as_deref())
        }
        Command::Sandbox { port, consent, strict } => sandbox(*port, consent, *strict, cli.json),
        Command::Demo => demo::run(cli.json),
    }
}

// --- providers and permissions -------------------------------------------------------------

/// A built-in id, or a profile file; pointed at a sandbox when one is given.
fn load_provider(spec: &str, sandbox: Option<&str>) -> Result<Provider> {
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

fn grants(p: &Provider) -> Vec<&'static str> {
    p.grants().iter().map(|g| g.as_str()).collect()
}

fn providers(cli: &Cli) -> Result<u8> {
    let list = Provider::builtins().map_err(|e| Fail::failed(e.to_string()))?;
    if cli.json {
        let v: Vec<Value> = list.iter().map(|p| json!({"id": p.id(), "name": p.name(), "grants": grants(p)})).collect();
        println!("{}", Value::Array(v));
    } else {
        for p in &list {
            println!("{:<8} {:<8} {}", p.id(), p.name(), grants(p).join(", "));
        }
    }
    Ok(0)
}

fn provider_show(cli: &Cli, spec: &str) -> Result<u8> {
    let p = load_provider(spec, None)?;
    let authorization = authorization_text(&p);
    let token_url = p.token_url().map(|u| u.to_string());
    let rights: Vec<Value> = p.rights().iter().map(|r| json!({"id": r.id, "title": r.title})).collect();
    let groups: Vec<Value> = p
        .groups()
        .iter()
        .map(|g| json!({"id": g.id, "title": g.title, "open": g.open, "endpoints": g.endpoints.len()}))
        .collect();
    let v = json!({
        "id": p.id(), "name": p.name(), "origin": p.origin(),
        "authorization": authorization, "pkce": format!("{:?}", p.pkce()),
        "token_url": token_url, "token_url_hint": p.token_url_hint(),
        "client_auth": format!("{:?}", p.client_auth()), "grants": grants(&p),
        "api_base": p.api().map(|a| a.base_url.to_string()),
        "verify": p.api().and_then(|a| a.verify.as_ref()).map(|v| format!("{} {}", v.method.as_str(), v.url)),
        "revocation": p.revocation().map(|r| json!({"kind": format!("{:?}", r.kind), "url": r.url, "hint": r.url_hint})),
        "rights": rights, "groups": groups,
    });
    if cli.json {
        println!("{v}");
        return Ok(0);
    }
    println!("{} ({})  from {}", p.name(), p.id(), p.origin());
    println!("  authorization  {authorization}");
    match &token_url {
        Some(u) => println!("  token          {u}"),
        None => println!("  token          (not configured: {})", p.token_url_hint().unwrap_or("set token.url")),
    }
    println!("  client auth    {:?}    pkce {:?}", p.client_auth(), p.pkce());
    println!("  grants         {}", grants(&p).join(", "));
    if let Some(a) = p.api() {
        println!("  api            {}", a.base_url);
        if let Some(v) = &a.verify {
            println!("  verify         {} {}", v.method.as_str(), v.url);
        }
    }
    if let Some(r) = p.revocation() {
        println!("  revocation     {:?} {}", r.kind, r.url.as_deref().unwrap_or("(url not configured)"));
    }
    for r in p.rights() {
        println!("  right          {:<20} {}", r.id, r.title);
    }
    for g in p.groups() {
        let open = if g.open { " (no right needed)" } else { "" };
        println!("  group          {:<20} {} endpoints{open}", g.id, g.endpoints.len());
    }
    Ok(0)
}

fn parse_rights(p: &Provider, list: &str) -> Result<Rights> {
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

fn check(cli: &Cli, spec: &str, rights: &str, method: &str, path: &str) -> Result<u8> {
    let p = load_provider(spec, None)?;
    if !p.has_matrix() {
        return Err(Fail::input(format!("provider `{}` has no access-rights matrix in its profile", p.id())));
    }
    let r = parse_rights(&p, rights)?;
    let m = p.matrix();
    let (code, v) = match m.check(r, method, path) {
        Decision::Allowed(ep) => (
            0,
            json!({"decision": "allowed", "endpoint": format!("{} {}", ep.method.as_str(), ep.template),
                   "group": m.groups()[ep.group].id, "deprecated": ep.deprecated}),
        ),
        Decision::Denied { endpoint, would_allow } => (
            1,
            json!({"decision": "denied", "endpoint": format!("{} {}", endpoint.method.as_str(), endpoint.template),
                   "group": m.groups()[endpoint.group].id, "would_allow": m.right_ids(would_allow)}),
        ),
        Decision::UnknownEndpoint => (2, json!({"decision": "unknown_endpoint"})),
        Decision::Rejected(reason) => (2, json!({"decision": "rejected", "reason": reason.to_string()})),
    };
    if cli.json {
        println!("{v}");
    } else {
        match v["decision"].as_str() {
            Some("allowed") => {
                let dep = if v["deprecated"] == true { " (deprecated)" } else { "" };
                println!(
                    "allowed: {} in group {}{dep}",
                    v["endpoint"].as_str().unwrap_or(""),
                    v["group"].as_str().unwrap_or("")
                );
            }
            Some("denied") => {
                let would: Vec<&str> =
                    v["would_allow"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                println!(
                    "denied: {} (group {}); rights that allow it: {}",
                    v["endpoint"].as_str().unwrap_or(""),
                    v["group"].as_str().unwrap_or(""),
                    if would.is_empty() { "none".into() } else { would.join(", ") }
                );
            }
            Some("unknown_endpoint") => {
                eprintln!("unknown endpoint: no {method} endpoint of {} matches {path}", p.id())
            }
            _ => eprintln!("rejected path: {}", v["reason"].as_str().unwrap_or("")),
        }
    }
    Ok(code)
}

fn rights_for(cli: &Cli, spec: &str, calls: &[String]) -> Result<u8> {
    let p = load_provider(spec, None)?;
    if !p.has_matrix() {
        return Err(Fail::input(format!("provider `{}` has no access-rights matrix in its profile", p.id())));
    }
    let mut pairs = Vec::new();
    for c in calls {
        let (m, path) = c
            .trim()
            .split_once(' ')
            .ok_or_else(|| Fail::input(format!("`{c}` is not \"METHOD PATH\" (e.g. \"PUT contact/42\")")))?;
        pairs.push((m.to_owned(), path.trim().to_owned()));
    }
    match p.matrix().least_rights(&pairs) {
        Ok(r) => {
            let ids = p.matrix().right_ids(r);
            if cli.json {
                println!("{}", json!({"rights": ids}));
            } else if ids.is_empty() {
                println!("no right needed (every call is in an open group)");
            } else {
                println!("{}", ids.join(","));
            }
            Ok(0)
        }
        Err(uncovered) => {
            let list: Vec<Value> =
                uncovered.iter().map(|u| json!({"call": calls[u.index], "reason": u.reason.to_string()})).collect();
            if cli.json {
                println!("{}", json!({"uncovered": list}));
            } else {
                for u in &uncovered {
                    eprintln!("no right allows `{}`: {}", calls[u.index], u.reason);
                }
            }
            Ok(2)
        }
    }
}

// --- tokens ----------------------------------------------------------------------------------

fn default_store_path() -> Result<PathBuf> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = if cfg!(windows) {
        env("APPDATA")
    } else if cfg!(target_os = "macos") {
        env("HOME").map(|h| h.join("Library/Application Support"))
    } else {
        env("XDG_DATA_HOME").or_else(|| env("HOME").map(|h| h.join(".local/share")))
    };
    let dir =
        dir.ok_or_else(|| Fail::input("no data directory (HOME is not set): pass --store PATH"))?.join("scopegate");
    Ok(dir.join("tokens.db"))
}

fn open_store(cli: &Cli) -> Result<Arc<SqliteStore>> {
    let path = match &cli.store {
        Some(p) => p.clone(),
        None => default_store_path()?,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        // Directories we create for the token store are private to the user.
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(|e| Fail::input(format!("cannot create {}: {e}", dir.display())))?;
    }
    SqliteStore::open(&path).map(Arc::new).map_err(|e| Fail::failed(format!("token store {}: {e}", path.display())))
}

/// The client secret: from the named environment variable, else a hidden prompt on a terminal.
fn client_secret(var: Option<&str>, sandbox: bool) -> Result<String> {
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

fn config(client_id: &str, secret: String, redirect: Option<&str>) -> Result<ClientConfig> {
    let mut c = ClientConfig::new(client_id).map_err(|e| Fail::input(e.to_string()))?.with_secret(secret);
    if let Some(r) = redirect {
        c = c.with_redirect_uri(r).map_err(|e| Fail::input(e.to_string()))?;
    }
    Ok(c)
}

/// The client for stored tokens of `who`.
fn stored_client(cli: &Cli, who: &Who, need_secret: bool) -> Result<(Client, Arc<SqliteStore>)> {
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
    let secret = if need_secret {
        client_secret(who.client_secret_env.as_deref(), who.sandbox.is_some())?
    } else {
        String::new()
    };
    let cfg = if secret.is_empty() {
        ClientConfig::new(&client_id).map_err(|e| Fail::input(e.to_string()))?
    } else {
        config(&client_id, secret, None)?
    };
    let client = Client::new(provider, cfg, Arc::new(UreqTransport::default()), store.clone(), account);
    Ok((client, store))
}

fn default_account(sandbox: bool) -> String {
    if sandbox { "sandbox".into() } else { "default".into() }
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

fn token_json(key: &StoreKey, t: &TokenSet, reveal: bool) -> Value {
    let hide = |s: &str| if reveal { s.to_owned() } else { "[redacted]".to_owned() };
    json!({
        "provider": key.provider_id, "client_id": key.client_id, "account": key.account,
        "token_type": t.token_type, "scopes": t.scopes,
        "access_token": hide(t.access_token.expose_secret()),
        "refresh_token": t.refresh_token.as_ref().map(|r| hide(r.expose_secret())),
        "issued_at": t.issued_at.as_unix_secs(),
        "expires_at": t.expires_at.map(Timestamp::as_unix_secs),
        "refresh_expires_at": t.refresh_expires_at.map(Timestamp::as_unix_secs),
        "params": t.params,
    })
}

fn print_token(cli: &Cli, key: &StoreKey, t: &TokenSet, reveal: bool) {
    if cli.json {
        println!("{}", token_json(key, t, reveal));
        return;
    }
    let now = Timestamp::from_system_time(std::time::SystemTime::now());
    let hide = |s: &str| if reveal { s.to_owned() } else { "[redacted]".to_owned() };
    println!("provider       {}", key.provider_id);
    println!("client id      {}", key.client_id);
    println!("account        {}", key.account);
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

struct LoginArgs<'a> {
    provider: &'a str,
    client_id: Option<&'a str>,
    secret_env: Option<&'a str>,
    redirect_uri: Option<&'a str>,
    account: Option<&'a str>,
    sandbox: Option<&'a str>,
    no_browser: bool,
    timeout: Duration,
}

fn free_loopback_port() -> Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Fail::failed(format!("cannot find a free loopback port: {e}")))
}

fn login(cli: &Cli, a: &LoginArgs<'_>) -> Result<u8> {
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
    let secret = client_secret(a.secret_env, sandbox_base.is_some())?;
    let redirect = match (a.redirect_uri, &sandbox_base) {
        (Some(r), _) => r.to_owned(),
        (None, Some(_)) => format!("http://127.0.0.1:{}/callback", free_loopback_port()?),
        (None, None) if provider.loopback_any_port() => "http://127.0.0.1:0/callback".into(),
        (None, None) => {
            return Err(Fail::input(format!(
                "pass --redirect-uri: the loopback URI registered with your {} app (e.g. http://127.0.0.1:8081/callback)",
                provider.name()
            )));
        }
    };
    if let Some(base) = &sandbox_base {
        register_with_sandbox(base, provider.id(), &client_id, &secret, &redirect)?;
    }
    let yotpo_like = provider.require_callback_params().iter().any(|p| p == "app_key");
    let account = a.account.map(str::to_owned).unwrap_or_else(|| default_account(sandbox_base.is_some()));
    let cfg = config(&client_id, secret, Some(&redirect))?;
    let client = Client::new(provider.clone(), cfg, Arc::new(UreqTransport::default()), store.clone(), account.clone());
    let options =
        LoginOptions { timeout: a.timeout, browser: if a.no_browser { Browser::PrintOnly } else { Browser::Open } };
    let self_approve = own_sandbox.is_some() && a.no_browser;
    let json_out = cli.json;
    let mut follower = None;
    let tokens = scopegate::loopback_login(&client, &options, |url, opened| {
        if self_approve {
            eprintln!("sandbox: approving the authorization request ourselves (--no-browser)");
            let url = url.to_owned();
            follower = Some(std::thread::spawn(move || follow_as_browser(&url)));
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
    })?;
    if let Some(f) = follower {
        let _ = f.join();
    }
    // Yotpo: the tokens belong to the store whose app_key came back, unless an account was named.
    let mut key = client.key().clone();
    if yotpo_like && a.account.is_none() {
        if let Some(app_key) = tokens.params.get("app_key") {
            let new_key = StoreKey::new(key.provider_id.clone(), key.client_id.clone(), app_key.clone());
            store.save(&new_key, &tokens).map_err(|e| Fail::failed(e.to_string()))?;
            store.delete(&key).map_err(|e| Fail::failed(e.to_string()))?;
            key = new_key;
        }
    }
    if cli.json {
        println!("{}", token_json(&key, &tokens, false));
    } else {
        println!("logged in: {} / {} / account {}", key.provider_id, key.client_id, key.account);
        print_token(cli, &key, &tokens, false);
    }
    Ok(0)
}

fn redirect_for_display(redirect: &str) -> String {
    if redirect.contains(":0/") { "a free loopback port".into() } else { redirect.to_owned() }
}

/// What a browser does with an auto-approving sandbox: GET the URL, follow its redirect to our
/// loopback listener.
fn follow_as_browser(url: &str) -> std::result::Result<u16, String> {
    let t = UreqTransport::default();
    let get = |u: &str| {
        let parsed = url::Url::parse(u).map_err(|e| e.to_string())?;
        t.send(&scopegate_core::http::HttpRequest::new(Method::Get, parsed)).map_err(|e| e.to_string())
    };
    let first = get(url)?;
    let location = first.header("location").ok_or_else(|| format!("no redirect (http {})", first.status()))?.to_owned();
    Ok(get(&location)?.status())
}

fn register_with_sandbox(base: &str, provider: &str, client_id: &str, secret: &str, redirect: &str) -> Result<()> {
    let body = json!({
        "provider": provider, "client_id": client_id, "client_secret": secret,
        "redirect_uri": if provider == "yotpo" { Some(redirect) } else { None },
        "rights": if matches!(provider, "yespo" | "reteno") { vec!["events_and_contacts"] } else { vec![] },
    });
    let url = url::Url::parse(&format!("{base}/_sandbox/register"))
        .map_err(|e| Fail::input(format!("--sandbox {base}: {e}")))?;
    let req = scopegate_core::http::HttpRequest::new(Method::Post, url).with_body("application/json", body.to_string());
    match UreqTransport::default().send(&req) {
        Ok(r) if r.status() == 200 => Ok(()),
        Ok(r) => Err(Fail::failed(format!("the sandbox at {base} refused the app registration (http {})", r.status()))),
        Err(e) => Err(Fail::failed(format!("no sandbox at {base}: {e} (start one with: scopegate sandbox)"))),
    }
}

fn token_show(cli: &Cli, who: &Who, reveal: bool) -> Result<u8> {
    let (client, _) = stored_client(cli, who, false)?;
    let tokens =
        client.stored()?.ok_or_else(|| Fail::failed(format!("no token stored for {}", describe(client.key()))))?;
    print_token(cli, client.key(), &tokens, reveal);
    Ok(0)
}

fn describe(k: &StoreKey) -> String {
    format!("{}/{} (client {})", k.provider_id, k.account, k.client_id)
}

fn token_refresh(cli: &Cli, who: &Who, reveal: bool) -> Result<u8> {
    let (client, _) = stored_client(cli, who, true)?;
    let tokens = client.refresh()?;
    print_token(cli, client.key(), &tokens, reveal);
    Ok(0)
}

fn token_revoke(cli: &Cli, who: &Who, local: bool) -> Result<u8> {
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

fn call(cli: &Cli, who: &Who, method: &str, path: &str, data: Option<&str>, rights: Option<&str>) -> Result<u8> {
    let m: Method = method.parse().map_err(|e| Fail::input(format!("{e} (methods are upper case: GET, POST, ...)")))?;
    if let Some(d) = data {
        serde_json::from_str::<Value>(d).map_err(|e| Fail::input(format!("--data is not JSON: {e}")))?;
    }
    let (mut client, _) = stored_client(cli, who, true)?;
    if let Some(r) = rights {
        let r = parse_rights(client.provider(), r)?;
        client = client.with_rights(r);
    }
    let resp = client.request(m, path, data.map(str::as_bytes))?;
    let body: Value = serde_json::from_slice(resp.body())
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(resp.body()).chars().take(4096).collect()));
    if cli.json {
        println!("{}", json!({"status": resp.status(), "body": body}));
    } else {
        println!("http {}", resp.status());
        println!("{}", serde_json::to_string_pretty(&body).unwrap_or_default());
    }
    Ok(if (200..300).contains(&resp.status()) { 0 } else { 1 })
}

/// Where a provider sends the user: its authorization URL or install-link template.
fn authorization_text(p: &Provider) -> String {
    match p.authorization() {
        AuthorizationEndpoint::Url(u) => u.to_string(),
        AuthorizationEndpoint::InstallLink(t) => t.clone(),
    }
}

fn provider_urls(p: &Provider) -> Value {
    json!({"authorize": authorization_text(p), "token": p.token_url().map(|u| u.to_string()), "api": p.api().map(|a| a.base_url.to_string())})
}

fn sandbox(port: u16, consent: &str, strict: bool, json_out: bool) -> Result<u8> {
    let consent = match consent {
        "page" => scopegate_sandbox::Consent::Page,
        "approve" => scopegate_sandbox::Consent::AutoApprove,
        "deny" => scopegate_sandbox::Consent::AutoDeny,
        other => return Err(Fail::input(format!("--consent {other}: use page, approve or deny"))),
    };
    let options = scopegate_sandbox::SandboxOptions { port, consent, strict };
    let sb = scopegate_sandbox::Sandbox::start_with(options).map_err(|e| Fail::failed(e.to_string()))?;
    // Written, not println!: whoever started us may stop reading, and the sandbox must go on.
    use std::io::Write as _;
    let mut text = format!("sandbox listening on {}\n", sb.base_url());
    if strict {
        text.push_str("strict mode: PKCE (S256) required, a reused refresh token revokes its grant\n");
    }
    for id in scopegate_sandbox::PROVIDERS {
        if let Ok(p) = sb.profile(id) {
            text.push_str(&format!("  {id:<7} authorize {}\n", authorization_text(&p)));
        }
    }
    text.push_str(&format!(
        "app: client id {} / secret {} (or register yours: POST {}/_sandbox/register)\n",
        scopegate_sandbox::SANDBOX_CLIENT_ID,
        scopegate_sandbox::SANDBOX_CLIENT_SECRET,
        sb.base_url()
    ));
    text.push_str(&format!(
        "use it: scopegate login --provider yespo --sandbox {} ; stop with Ctrl-C\n",
        sb.base_url()
    ));
    if json_out {
        let profiles: serde_json::Map<String, Value> = scopegate_sandbox::PROVIDERS
            .iter()
            .filter_map(|id| sb.profile(id).ok().map(|p| (id.to_string(), provider_urls(&p))))
            .collect();
        text = format!(
            "{}\n",
            json!({"base_url": sb.base_url(), "strict": strict, "providers": profiles,
                   "client_id": scopegate_sandbox::SANDBOX_CLIENT_ID, "client_secret": scopegate_sandbox::SANDBOX_CLIENT_SECRET})
        );
    }
    let mut out = std::io::stdout();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    loop {
        std::thread::park();
    }
}
