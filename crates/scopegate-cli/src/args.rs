//! The command line: commands, flags, defaults and help text.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "scopegate",
    version,
    about = "OAuth 2.0 for SaaS integrations: profiles, permissions, tokens, sandbox"
)]
pub(crate) struct Cli {
    /// Print data as JSON.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Token store: a SQLite file (created 0600), or a PostgreSQL connection string
    /// (postgres://user@host/db) shared by every instance of a service. Default: $SCOPEGATE_STORE,
    /// else scopegate/tokens.db in the user's data directory. Token sets are sealed with the key
    /// in $SCOPEGATE_STORE_KEY when it is set.
    #[arg(long, global = true, value_name = "PATH|URL")]
    pub(crate) store: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
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
        /// Log in with the device authorization grant (RFC 8628), for a machine without a
        /// browser: print the verification URI (complete with the code when the server gives
        /// one) and the code on stderr, and wait while the user approves on another device. No
        /// redirect URI is needed.
        #[arg(long, conflicts_with = "redirect_uri")]
        device: bool,
        /// The client's private key, a PKCS#8 PEM file (ES256, RS256 or EdDSA), for a profile
        /// with `client_auth = "private_key_jwt"` (no client secret is asked for then).
        #[arg(long, value_name = "PATH")]
        client_key_file: Option<std::path::PathBuf>,
    },
    /// Stored tokens: new (client credentials), show, refresh or revoke.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// The token store itself.
    Store {
        #[command(subcommand)]
        action: StoreAction,
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
        /// How consent is given: page (approve/deny buttons, for a person at a browser: the
        /// default here), approve (at once: the default of the sandbox from Rust and Python,
        /// for tests), deny.
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
pub(crate) enum ProviderAction {
    /// Show a built-in provider or a profile file.
    Show {
        /// Built-in id or profile file path.
        id: String,
    },
    /// Write a profile from an authorization server's metadata (RFC 8414 / OpenID Connect
    /// Discovery): endpoints, client authentication, PKCE, grants, issuer, PAR, DPoP, device.
    Discover {
        /// The issuer identifier (https; http only on loopback). The metadata must name it exactly.
        #[arg(value_name = "ISSUER_URL")]
        issuer: String,
        /// Where to write the profile (never overwritten).
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
    },
}

#[derive(Debug, clap::Args)]
pub(crate) struct Who {
    #[arg(long)]
    pub(crate) provider: String,
    #[arg(long)]
    pub(crate) account: Option<String>,
    /// The app's client id (default: the only one stored for this provider and account).
    #[arg(long)]
    pub(crate) client_id: Option<String>,
    /// Name of the environment variable holding the client secret (else a hidden prompt).
    #[arg(long, value_name = "VAR")]
    pub(crate) client_secret_env: Option<String>,
    /// The client's private key, a PKCS#8 PEM file, for a profile with
    /// `client_auth = "private_key_jwt"` (no client secret is asked for then).
    #[arg(long, value_name = "PATH")]
    pub(crate) client_key_file: Option<std::path::PathBuf>,
    /// The running sandbox the tokens came from.
    #[arg(long, value_name = "URL")]
    pub(crate) sandbox: Option<String>,
}

impl Who {
    /// What the user passed, to repeat it in hints.
    pub(crate) fn again(&self) -> crate::fail::Again<'_> {
        crate::fail::Again {
            provider: &self.provider,
            client_id: self.client_id.as_deref(),
            secret_env: self.client_secret_env.as_deref(),
            key_file: self.client_key_file.as_deref(),
            account: self.account.as_deref(),
            sandbox: self.sandbox.as_deref(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenAction {
    /// Get a token for the app itself (client credentials grant) and store it.
    New {
        #[command(flatten)]
        who: Who,
        /// A scope to ask for (repeat for several; none: the provider's default).
        #[arg(long = "scope", value_name = "S")]
        scopes: Vec<String>,
        /// Print the token values.
        #[arg(long)]
        reveal: bool,
    },
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

#[derive(Debug, Subcommand)]
pub(crate) enum StoreAction {
    /// Seal every token set the store (--store, $SCOPEGATE_STORE) holds in clear with the key in
    /// $SCOPEGATE_STORE_KEY, in one transaction. A store with a key refuses token sets in clear
    /// (anyone who can write it could have planted one): run this once, on a store you trust,
    /// when you start using a key with a store written without one.
    Seal,
}
