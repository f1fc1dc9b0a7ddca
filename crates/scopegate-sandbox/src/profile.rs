//! The built-in profiles pointed at a sandbox.

use scopegate_core::Provider;

use crate::SandboxError;

/// The profile overrides that point built-in profile `id` at a sandbox running at `base`
/// (`http://127.0.0.1:PORT`), as TOML. Usable without a running sandbox (the CLI's `--sandbox URL`).
pub fn profile_overrides(base: &str, id: &str) -> Result<String, SandboxError> {
    profile_overrides_with(base, id, false)
}

/// [`profile_overrides`] for a sandbox that is `strict` or not: a strict sandbox requires PKCE,
/// so the profiles of the providers whose authorization is a URL (Yespo, Reteno, Yuvo) say
/// `pkce = "S256"` (Yotpo's install link has no place for it).
pub fn profile_overrides_with(base: &str, id: &str, strict: bool) -> Result<String, SandboxError> {
    let b = format!("{}/{id}", base.trim_end_matches('/'));
    // Inside the [authorization] table: a TOML table cannot be opened twice.
    let pkce = if strict { "pkce = \"S256\"\n" } else { "" };
    Ok(match id {
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
    })
}

/// Built-in profile `id` pointed at a sandbox running at `base`.
pub fn profile_at(base: &str, id: &str) -> Result<Provider, SandboxError> {
    profile_at_with(base, id, false)
}

/// Built-in profile `id` pointed at a sandbox running at `base` that is `strict` or not (see
/// [`profile_overrides_with`]).
pub fn profile_at_with(base: &str, id: &str, strict: bool) -> Result<Provider, SandboxError> {
    let overrides = profile_overrides_with(base, id, strict)?;
    Ok(Provider::builtin(id)?.with_overrides(&overrides, &format!("sandbox at {base}"))?)
}
