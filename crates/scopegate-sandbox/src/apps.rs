//! The providers the sandbox emulates, the apps registered with them, and what a new sandbox
//! knows from the start: its own app, the Yotpo store and the Yuvo company its user grants.

use serde_json::{Value, json};

/// The client id every provider of a new sandbox knows.
pub const SANDBOX_CLIENT_ID: &str = "sandbox-client";
/// Its secret.
pub const SANDBOX_CLIENT_SECRET: &str = "sandbox-secret";
/// The store a Yotpo install is for unless the consent page says otherwise.
pub const SANDBOX_STORE: &str = "sandbox-store-1";
/// The Yuvo company the authorization code flow grants access to.
pub const SANDBOX_COMPANY: &str = "sandbox-company-1";

/// The providers the sandbox emulates.
pub const PROVIDERS: [&str; 4] = ["yespo", "reteno", "yotpo", "yuvo"];

/// An app registered with a provider of the sandbox. Its Debug form hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct App {
    /// `yespo`, `reteno`, `yotpo` or `yuvo`.
    pub provider: String,
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// The registered redirect URI (Yotpo needs one: its install link carries none). `None`:
    /// any loopback `http` redirect URI is accepted.
    pub redirect_uri: Option<String>,
    /// The access rights the app was registered with (Yespo/Reteno).
    pub rights: Vec<String>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("provider", &self.provider)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_uri", &self.redirect_uri)
            .field("rights", &self.rights)
            .finish()
    }
}

impl App {
    /// An app from the JSON form `POST /_sandbox/register` takes.
    pub(crate) fn from_json(v: &Value) -> Option<App> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        Some(App {
            provider: s("provider")?,
            client_id: s("client_id")?,
            client_secret: s("client_secret")?,
            redirect_uri: s("redirect_uri"),
            rights: v
                .get("rights")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default(),
        })
    }

    /// The JSON form `POST /_sandbox/register` takes (the secret included: it goes to loopback).
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "provider": self.provider, "client_id": self.client_id, "client_secret": self.client_secret,
            "redirect_uri": self.redirect_uri, "rights": self.rights,
        })
    }
}
