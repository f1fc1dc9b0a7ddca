//! The built-in profiles pointed at a sandbox, each with a provider id of its own.

use scopegate_core::Provider;
use url::Url;

use crate::error::SandboxError;

/// The built-in provider a profile id stands for: `yespo` for `yespo` and for a profile pointed
/// at a sandbox (`yespo@127.0.0.1:8080`). The sandbox's own calls (counters, faults, app
/// registration) take either.
pub fn builtin_id(id: &str) -> &str {
    id.split_once('@').map_or(id, |(builtin, _)| builtin)
}

/// The sandbox base URL, checked: http or https, a host, no user info, query or fragment (it is
/// quoted in profiles and errors), and the `host:port` that names it in provider ids.
pub(crate) fn sandbox_base(base: &str) -> Result<(String, String), SandboxError> {
    let bad = |reason: &str| SandboxError::BadUrl(reason.to_owned());
    let url = Url::parse(base.trim()).map_err(|e| bad(&format!("not an absolute url: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the sandbox url must be http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("the sandbox url must not carry user info"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("the sandbox url must not carry a query or fragment"));
    }
    let host = url.host_str().ok_or_else(|| bad("the sandbox url has no host"))?;
    let port = url.port_or_known_default().ok_or_else(|| bad("the sandbox url has no port"))?;
    let shown = url.as_str().trim_end_matches('/').to_owned();
    Ok((shown, format!("{host}:{port}")))
}

/// The profile overrides that point built-in profile `id` at a sandbox running at `base`
/// (`http://127.0.0.1:PORT`), as TOML. Usable without a running sandbox (the CLI's `--sandbox URL`).
/// Yespo's, Reteno's and Yuvo's say `loopback_any_port = true` (the sandbox takes any loopback
/// redirect URI): a loopback login with `http://127.0.0.1:0/callback` listens on a free port.
///
/// They give the profile an id of its own, `id@host:port` (`yespo@127.0.0.1:8080`): every store
/// key of a profile pointed at a sandbox differs from the real provider's, so the real
/// provider's stored tokens are never sent to the sandbox URL.
pub fn profile_overrides(base: &str, id: &str) -> Result<String, SandboxError> {
    profile_overrides_with(base, id, false)
}

/// [`profile_overrides`] for a sandbox that is `strict` or not: a strict sandbox requires PKCE,
/// so the profiles of the providers whose authorization is a URL (Yespo, Reteno, Yuvo) say
/// `pkce = "S256"` (Yotpo's install link has no place for it).
pub fn profile_overrides_with(base: &str, id: &str, strict: bool) -> Result<String, SandboxError> {
    let (base, authority) = sandbox_base(base)?;
    let b = format!("{base}/{id}");
    // Inside the [authorization] table: a TOML table cannot be opened twice. The sandbox takes
    // any loopback redirect URI, so its profiles allow port 0 (a free port, RFC 8252 §7.3).
    let pkce = if strict { "pkce = \"S256\"\nloopback_any_port = true\n" } else { "loopback_any_port = true\n" };
    let tables = match id {
        "yespo" | "reteno" => format!(
            "[authorization]\nurl = \"{b}/uaa/oauth/authorize\"\n{pkce}\
             [token]\nurl = \"{b}/uaa/oauth/token\"\n\
             [api]\nbase_url = \"{b}/api/v1\"\nextra_base_urls = [\"{b}/api/v2\"]\nverify = \"GET {b}/api/v2/version\"\n"
        ),
        "yotpo" => format!(
            "[authorization]\ninstall_link = \"{b}/app/install/applications/{{client_id}}?state={{state}}\"\n\
             [token]\nurl = \"{b}/oauth/token\"\n\
             [revocation]\nurl = \"{b}/apps/{{account}}/uninstall\"\nmethod = \"DELETE\"\n\
             [api]\nbase_url = \"{b}/api\"\nverify = \"GET {b}/api/store\"\n"
        ),
        "yuvo" => format!(
            "[authorization]\nurl = \"{b}/oauth/authorize/\"\n{pkce}\
             [token]\nurl = \"{b}/oauth/token/\"\n\
             [api]\nbase_url = \"{b}\"\nverify = \"GET {b}/companies\"\n"
        ),
        other => return Err(SandboxError::UnknownProvider(other.to_owned())),
    };
    Ok(format!("id = \"{id}@{authority}\"\n{tables}"))
}

/// Built-in profile `id` pointed at a sandbox running at `base`.
pub fn profile_at(base: &str, id: &str) -> Result<Provider, SandboxError> {
    profile_at_with(base, id, false)
}

/// Built-in profile `id` pointed at a sandbox running at `base` that is `strict` or not (see
/// [`profile_overrides_with`]).
pub fn profile_at_with(base: &str, id: &str, strict: bool) -> Result<Provider, SandboxError> {
    let overrides = profile_overrides_with(base, id, strict)?;
    let (shown, _) = sandbox_base(base)?;
    Ok(Provider::builtin(id)?.with_overrides(&overrides, &format!("sandbox at {shown}"))?)
}
