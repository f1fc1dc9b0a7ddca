//! Which app a login through the sandbox registers, and registering an app with a sandbox that
//! runs in another process.

use serde_json::Value;
use url::Url;

use crate::apps::{App, PROVIDERS};
use crate::error::SandboxError;
use crate::loopback::post_loopback_read;
use crate::profile::{builtin_id, sandbox_base};

/// The app a login through the sandbox registers for `provider`: Yotpo's with its redirect URI
/// (its install link carries none, so the sandbox must know where to send the merchant back);
/// Yespo's and Reteno's with the `events_and_contacts` right (what the sandbox's own app has);
/// Yuvo's with neither (any loopback redirect URI is accepted).
///
/// `provider` is a built-in id or the id of a profile pointed at a sandbox
/// (`yotpo@127.0.0.1:PORT`): the app is registered with the built-in provider.
pub fn login_app(provider: &str, client_id: &str, client_secret: &str, redirect_uri: &str) -> App {
    let provider = builtin_id(provider);
    App {
        provider: provider.to_owned(),
        client_id: client_id.to_owned(),
        client_secret: client_secret.to_owned(),
        redirect_uri: (provider == "yotpo").then(|| redirect_uri.to_owned()),
        rights: if matches!(provider, "yespo" | "reteno") { vec!["events_and_contacts".into()] } else { vec![] },
    }
}

/// Registers `app` (or replaces it, by provider and client id) with the sandbox running at
/// `base_url` (`http://127.0.0.1:PORT`, loopback only): `POST /_sandbox/register`. The app's
/// provider is a built-in id or the id of a profile pointed at a sandbox.
pub fn register_remote(base_url: &str, app: &App) -> Result<(), SandboxError> {
    let provider = builtin_id(&app.provider);
    if !PROVIDERS.contains(&provider) {
        return Err(SandboxError::UnknownProvider(app.provider.clone()));
    }
    let app = App { provider: provider.to_owned(), ..app.clone() };
    // Checked before it is quoted in an error: no user info.
    let (base, _) = sandbox_base(base_url)?;
    let remote = |reason: String| SandboxError::Remote { base: base.clone(), reason };
    let url = Url::parse(&format!("{base}/_sandbox/register")).map_err(|e| remote(format!("not a url: {e}")))?;
    let (status, body) = post_loopback_read(&url, &app.to_json().to_string())
        .map_err(|e| remote(format!("no sandbox answers there: {e} (start one with: scopegate sandbox)")))?;
    if status == 200 {
        return Ok(());
    }
    let why = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
        .map(|e| format!(": {e}"))
        .unwrap_or_default();
    Err(remote(format!("the app registration was refused (http {status}){why}")))
}
