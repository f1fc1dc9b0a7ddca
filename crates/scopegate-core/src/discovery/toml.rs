//! The profile TOML written from an authorization server's metadata (`scopegate provider
//! discover`): every choice commented with the metadata it comes from, so the user can see what
//! the server offers and change it. [`Provider::from_toml_str`](crate::Provider::from_toml_str)
//! loads it as written; the user adds the `[api]` part.

use std::fmt::Write as _;

use super::metadata::{DiscoveryError, ServerMetadata, parse_issuer};
use crate::profile::DEVICE_CODE_GRANT;
use crate::profile::Provider;

/// A TOML basic string.
fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list(items: &[&str]) -> String {
    format!("[{}]", items.iter().map(|s| q(s)).collect::<Vec<_>>().join(", "))
}

/// A comment line's text: one line, printable.
fn c(s: &str) -> String {
    s.chars().map(|ch| if ch.is_control() { ' ' } else { ch }).take(300).collect()
}

/// The profile id for an issuer: its host and port (and path), in `a-z0-9-`.
fn profile_id(issuer: &url::Url) -> String {
    let mut raw = issuer.host_str().unwrap_or("provider").to_ascii_lowercase();
    if let Some(p) = issuer.port() {
        let _ = write!(raw, "-{p}");
    }
    raw.push_str(issuer.path().trim_end_matches('/'));
    let mut id: String = raw.chars().map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' }).collect();
    while id.contains("--") {
        id = id.replace("--", "-");
    }
    let id: String = id.trim_matches('-').chars().take(64).collect();
    if id.is_empty() { "provider".into() } else { id.trim_end_matches('-').to_owned() }
}

/// The commented profile for `metadata` (see the module documentation).
pub fn profile_toml(m: &ServerMetadata) -> Result<String, DiscoveryError> {
    let issuer = m.issuer();
    let issuer_url = parse_issuer(issuer)?;
    let unusable = |reason: &str| DiscoveryError::Unusable { issuer: issuer.to_owned(), reason: reason.to_owned() };
    let authorize =
        m.string("authorization_endpoint")?.ok_or_else(|| unusable("its metadata has no authorization_endpoint"))?;
    let token = m.string("token_endpoint")?.ok_or_else(|| unusable("its metadata has no token_endpoint"))?;
    let methods = m.token_auth_methods();
    let grants_supported = m.grant_types();
    let device = m.string("device_authorization_endpoint")?;
    let mut grants: Vec<&str> = Vec::new();
    for (name, as_sent) in [
        ("authorization_code", "authorization_code"),
        ("refresh_token", "refresh_token"),
        ("client_credentials", "client_credentials"),
        ("device_code", DEVICE_CODE_GRANT),
    ] {
        if grants_supported.contains(&as_sent) && (name != "device_code" || device.is_some()) {
            grants.push(name);
        }
    }
    if grants.is_empty() {
        return Err(unusable("it supports none of authorization_code, refresh_token, client_credentials, device_code"));
    }

    let mut t = String::new();
    let w = &mut t;
    let _ = writeln!(w, "# Provider profile written by `scopegate provider discover` from the metadata of");
    let _ =
        writeln!(w, "# {} (RFC 8414 / OpenID Connect Discovery 1.0).", c(m.source().map_or(issuer, |u| u.as_str())));
    let _ = writeln!(w, "# Check every choice below, then add the API part, e.g.:");
    let _ = writeln!(w, "#   [api]");
    let _ = writeln!(w, "#   base_url = \"https://api.example.com/v1\"");
    let _ = writeln!(w, "id = {}", q(&profile_id(&issuer_url)));
    let _ = writeln!(w, "name = {}", q(&c(issuer)));

    // [authorization]
    let _ = writeln!(w, "\n[authorization]");
    let _ = writeln!(w, "url = {}", q(authorize));
    let _ = writeln!(w, "# RFC 9207 / RFC 8414 §3.3: the callback's `iss` must be this issuer.");
    let _ = writeln!(w, "issuer = {}", q(issuer));
    if m.flag("authorization_response_iss_parameter_supported") {
        let _ = writeln!(w, "# authorization_response_iss_parameter_supported: every callback names the issuer.");
        let _ = writeln!(w, "issuer_in_callback = true");
    }
    let pkce = m.strings("code_challenge_methods_supported")?;
    let _ = writeln!(w, "# code_challenge_methods_supported: {}", c(&shown(&pkce)));
    let _ = writeln!(w, "pkce = {}", q(if pkce.is_empty() || pkce.contains(&"S256") { "S256" } else { "off" }));
    if let Some(par) = m.string("pushed_authorization_request_endpoint")? {
        let required = m.flag("require_pushed_authorization_requests");
        let why = if required { " (the server requires them)" } else { "" };
        let _ = writeln!(w, "# RFC 9126: pushed authorization requests{why}.");
        let _ = writeln!(w, "par_url = {}", q(par));
        let _ = writeln!(w, "par = {required}");
    }
    let scopes = m.strings("scopes_supported")?;
    let mut ask: Vec<&str> = ["openid", "offline_access"].into_iter().filter(|s| scopes.contains(s)).collect();
    if !grants.contains(&"refresh_token") {
        ask.retain(|s| *s != "offline_access");
    }
    if !scopes.is_empty() {
        let _ = writeln!(w, "# scopes_supported: {}", c(&scopes.join(" ")));
    }
    if !ask.is_empty() {
        let _ = writeln!(w, "scopes = {}", list(&ask));
    }
    if ask.contains(&"offline_access") {
        let _ = writeln!(w, "[authorization.extra_params]");
        let _ = writeln!(w, "# OpenID providers issue a refresh token for offline_access only with consent.");
        let _ = writeln!(w, "prompt = \"consent\"");
    }

    // [token]
    let _ = writeln!(w, "\n[token]");
    let _ = writeln!(w, "url = {}", q(token));
    let _ = writeln!(w, "# token_endpoint_auth_methods_supported: {}", c(&methods.join(", ")));
    let auth = if methods.contains(&"client_secret_basic") {
        "basic"
    } else if methods.contains(&"client_secret_post") {
        "body"
    } else if methods.contains(&"private_key_jwt") {
        "private_key_jwt"
    } else {
        let _ = writeln!(
            w,
            "# None of client_secret_basic, client_secret_post, private_key_jwt: check what your client uses."
        );
        "basic"
    };
    if methods.contains(&"private_key_jwt") {
        let algs = m.strings("token_endpoint_auth_signing_alg_values_supported")?;
        let _ = writeln!(
            w,
            "# private_key_jwt (RFC 7523) is offered (signing algs: {}): client_auth = \"private_key_jwt\",",
            c(&shown(&algs))
        );
        let _ =
            writeln!(w, "# with the client's PKCS#8 key; assertion_audience = \"issuer\" to name the issuer as `aud`.");
    }
    let _ = writeln!(w, "client_auth = {}", q(auth));
    let _ = writeln!(w, "# grant_types_supported: {}", c(&grants_supported.join(", ")));
    let _ = writeln!(w, "grants = {}", list(&grants));

    if let Some(d) = device.filter(|_| grants.contains(&"device_code")) {
        let _ = writeln!(w, "\n[device]");
        let _ = writeln!(w, "# RFC 8628 §3.1: the device authorization endpoint (`scopegate login --device`).");
        let _ = writeln!(w, "url = {}", q(d));
    }

    let dpop = m.strings("dpop_signing_alg_values_supported")?;
    if !dpop.is_empty() {
        let _ = writeln!(w, "\n# RFC 9449: the server accepts DPoP proofs signed with {}.", c(&dpop.join(", ")));
        let alg = ["ES256", "EdDSA"].into_iter().find(|a| dpop.contains(a));
        match alg {
            Some(alg) => {
                let _ = writeln!(w, "# required = true binds every token to the account's key (some clients must).");
                let _ = writeln!(w, "[dpop]");
                let _ = writeln!(w, "required = false");
                let _ = writeln!(w, "alg = {}", q(alg));
            }
            None => {
                let _ = writeln!(w, "# (none of them is ES256 or EdDSA, the algorithms scopegate's DPoP keys use)");
            }
        }
    }

    if let Some(r) = m.string("revocation_endpoint")? {
        let _ = writeln!(w, "\n[revocation]");
        let _ = writeln!(w, "kind = \"rfc7009\"");
        let _ = writeln!(w, "url = {}", q(r));
    }
    Ok(t)
}

fn shown(items: &[&str]) -> String {
    if items.is_empty() { "(not listed)".to_owned() } else { items.join(", ") }
}

impl Provider {
    /// A profile from an authorization server's metadata (the JSON of its well-known document),
    /// after checking that the document's `issuer` is `issuer` (RFC 8414 §3.3). The profile is
    /// the one [`profile_toml`] writes: endpoints, client authentication, PKCE, grants, `issuer`
    /// (RFC 9207), PAR, DPoP and the device endpoint; it has no `[api]` part.
    pub fn from_discovery(issuer: &str, metadata_json: &str) -> Result<Provider, DiscoveryError> {
        parse_issuer(issuer)?;
        let metadata = ServerMetadata::parse(issuer, metadata_json.as_bytes())?;
        let text = profile_toml(&metadata)?;
        Ok(Provider::from_toml_str(&text, &format!("discovery:{issuer}"))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_strings() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(profile_id(&u("https://Login.Example.com/tenant/v2.0/")), "login-example-com-tenant-v2-0");
        assert_eq!(profile_id(&u("http://127.0.0.1:4000")), "127-0-0-1-4000");
        assert_eq!(q("a\"b\\c\n"), r#""a\"b\\c\u000A""#);
    }
}
