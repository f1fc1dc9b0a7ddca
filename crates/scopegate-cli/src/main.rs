//! `scopegate`: try, script and debug OAuth 2.0 integrations from the command line.
//!
//! Exit codes: 0 success; 1 the operation was refused or failed (a denied permission, a provider
//! error, a failed demo step); 2 bad input (arguments, profile, path, missing secret).
// A command-line program prints: that is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod call;
mod check;
mod common;
mod demo;
mod discover;
mod fail;
mod login;
mod output;
mod providers;
mod sandbox;
mod store;
mod token;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;

use crate::args::{Cli, Command, ProviderAction, StoreAction, TokenAction};
use crate::fail::Result;

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
        Command::Providers => providers::list(cli),
        Command::Provider { action: ProviderAction::Show { id } } => providers::show(cli, id),
        Command::Provider { action: ProviderAction::Discover { issuer, out } } => discover::run(cli, issuer, out),
        Command::Check { provider, rights, method, path } => check::check(cli, provider, rights, method, path),
        Command::RightsFor { provider, calls } => check::rights_for(cli, provider, calls),
        Command::Login {
            provider,
            client_id,
            client_secret_env,
            redirect_uri,
            account,
            sandbox,
            no_browser,
            timeout,
            device,
            client_key_file,
        } => {
            let args = login::LoginArgs {
                provider,
                client_id: client_id.as_deref(),
                secret_env: client_secret_env.as_deref(),
                key_file: client_key_file.as_deref(),
                redirect_uri: redirect_uri.as_deref(),
                account: account.as_deref(),
                sandbox: sandbox.as_deref(),
                no_browser: *no_browser,
                timeout: Duration::from_secs(*timeout),
                device: *device,
            };
            login::run(cli, &args)
        }
        Command::Token { action } => match action {
            TokenAction::New { who, scopes, reveal } => token::new(cli, who, scopes, *reveal),
            TokenAction::Show { who, reveal } => token::show(cli, who, *reveal),
            TokenAction::Refresh { who, reveal } => token::refresh(cli, who, *reveal),
            TokenAction::Revoke { who, local } => token::revoke(cli, who, *local),
        },
        Command::Store { action: StoreAction::Seal } => store::seal(cli),
        Command::Call { who, method, path, data, rights } => {
            call::run(cli, who, method, path, data.as_deref(), rights.as_deref())
        }
        Command::Sandbox { port, consent, strict } => sandbox::run(*port, consent, *strict, cli.json),
        Command::Demo => demo::run(cli.json),
    }
}
