//! Validation: the schema as written ([`super::schema`]) becomes a [`Provider`] or a
//! [`ProfileError`] naming the origin, the field and the problem.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use url::Url;

use super::error::{invalid, missing};
use super::schema::{RawGroup, RawLifetime, RawProfile, RawRevocation, RawRight};
use super::specs::{RawSpecs, specs};
use super::{
    ApiConfig, AuthorizationEndpoint, ClientAuth, DEFAULT_PENDING_MAX_AGE_SECS, GrantType, Group, LifecyclePolicy,
    Lifetime, MAX_RIGHTS, ParamValue, PkceMode, ProfileError, Provider, Revocation, RevocationKind, Right, VerifyCall,
};
use crate::matrix::PermissionMatrix;
use crate::matrix::spec::{normalized_shape, parse_endpoint};
use crate::method::Method;

pub(crate) fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Checks an endpoint URL: absolute, https (http only for loopback), no credentials in it.
pub(crate) fn check_endpoint_url(url: &Url) -> Result<(), String> {
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(url) => {}
        "http" => {
            return Err("plain http is allowed only for loopback hosts (127.0.0.1, ::1, localhost); use https".into());
        }
        other => return Err(format!("scheme `{other}` is not http or https")),
    }
    if url.host().is_none() {
        return Err("has no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials (user:password@)".into());
    }
    Ok(())
}

pub(super) struct Validator<'a> {
    pub(super) origin: &'a str,
}

impl Validator<'_> {
    pub(super) fn url(&self, field: &str, text: &str) -> Result<Url, ProfileError> {
        let url = Url::parse(text).map_err(|e| invalid(self.origin, field, format!("not an absolute url: {e}")))?;
        check_endpoint_url(&url).map_err(|p| invalid(self.origin, field, p))?;
        Ok(url)
    }

    fn ident(&self, field: &str, s: &str) -> Result<(), ProfileError> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok { Ok(()) } else { Err(invalid(self.origin, field, "must be 1-64 characters of a-z, 0-9, `_` or `-`")) }
    }

    /// A profile id: an identifier, or an identifier, `@` and the host and port of a stand-in the
    /// profile was pointed at (`yespo@127.0.0.1:8080`: a sandbox), which then never shares a
    /// store key with the real provider.
    fn provider_id(&self, id: &str) -> Result<(), ProfileError> {
        let Some((name, at)) = id.split_once('@') else { return self.ident("id", id) };
        self.ident("id", name)?;
        let ok = !at.is_empty()
            && at.len() <= 262
            && at.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-:[]".contains(&b));
        if ok {
            Ok(())
        } else {
            Err(invalid(
                self.origin,
                "id",
                "after `@` comes the host and port of the server the profile points at (a-z, 0-9, `.`, `-`, `:`, `[`, `]`)",
            ))
        }
    }

    fn param_name(&self, field: &str, s: &str) -> Result<(), ProfileError> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
        if ok {
            Ok(())
        } else {
            Err(invalid(self.origin, field, "parameter names are 1-64 characters of A-Z, a-z, 0-9, `_`, `-` or `.`"))
        }
    }

    fn lifetime(&self, field: &str, raw: Option<RawLifetime>, default: Lifetime) -> Result<Lifetime, ProfileError> {
        match raw {
            None => Ok(default),
            Some(RawLifetime::Secs(0)) => {
                Err(invalid(self.origin, field, "must be a positive number of seconds or \"never\""))
            }
            Some(RawLifetime::Secs(s)) => Ok(Lifetime::Secs(s)),
            Some(RawLifetime::Word(w)) if w == "never" => Ok(Lifetime::Never),
            Some(RawLifetime::Word(_)) => Err(invalid(self.origin, field, "must be a number of seconds or \"never\"")),
        }
    }

    pub(super) fn validate(&self, raw: RawProfile, table: toml::Table) -> Result<Provider, ProfileError> {
        let o = self.origin;
        let id = raw.id.ok_or_else(|| missing(o, "id", "the profile's identifier, e.g. \"yespo\""))?;
        self.provider_id(&id)?;
        let name = raw.name.unwrap_or_else(|| id.clone());
        if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
            return Err(invalid(o, "name", "must be 1-128 printable characters"));
        }

        // [authorization]
        let a = raw.authorization.unwrap_or_default();
        let authorization = match (a.url, a.install_link) {
            (Some(_), Some(_)) => {
                return Err(invalid(o, "authorization", "set either `url` or `install_link`, not both"));
            }
            (Some(u), None) => AuthorizationEndpoint::Url(self.url("authorization.url", &u)?),
            (None, Some(t)) => AuthorizationEndpoint::InstallLink(self.install_link(&t)?),
            (None, None) => {
                return Err(missing(
                    o,
                    "authorization.url",
                    "the authorization endpoint (or `authorization.install_link` for an install-link flow)",
                ));
            }
        };
        // RFC 9700 §2.1.1: PKCE unless the profile says otherwise (the built-in profiles say
        // what their providers' documents support).
        let pkce = match a.pkce.as_deref() {
            None | Some("S256") | Some("s256") => PkceMode::S256,
            Some("off") => PkceMode::Off,
            Some(_) => return Err(invalid(o, "authorization.pkce", "must be \"off\" or \"S256\"")),
        };
        let scopes = a.scopes.unwrap_or_default();
        for (i, s) in scopes.iter().enumerate() {
            // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
            if s.is_empty() || !s.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
            {
                return Err(invalid(
                    o,
                    format!("authorization.scopes[{i}]"),
                    "not a valid scope token (RFC 6749 §3.3)",
                ));
            }
        }
        let mut authorization_params = Vec::new();
        for (name, value) in a.extra_params.unwrap_or_default() {
            let field = format!("authorization.extra_params.{name}");
            self.param_name(&field, &name)?;
            const OWN: [&str; 7] = [
                "response_type",
                "client_id",
                "redirect_uri",
                "scope",
                "state",
                "code_challenge",
                "code_challenge_method",
            ];
            if OWN.contains(&name.as_str()) {
                return Err(invalid(o, &field, format!("the authorization request already sends `{name}`")));
            }
            if value.chars().any(char::is_control) || value.len() > 1024 {
                return Err(invalid(o, &field, "must be at most 1024 characters without control characters"));
            }
            if matches!(authorization, AuthorizationEndpoint::InstallLink(_)) {
                return Err(invalid(o, &field, "an install link takes no extra parameters"));
            }
            authorization_params.push((name, value));
        }
        let issuer = match a.issuer {
            None => None,
            Some(i) => {
                // RFC 8414 §2: an https URL without query or fragment.
                let url = self.url("authorization.issuer", &i)?;
                if url.query().is_some() || url.fragment().is_some() {
                    return Err(invalid(o, "authorization.issuer", "must not have a query or fragment (RFC 8414 §2)"));
                }
                Some(i)
            }
        };
        let issuer_in_callback = a.issuer_in_callback.unwrap_or(false);
        if issuer_in_callback && issuer.is_none() {
            return Err(missing(o, "authorization.issuer", "the issuer the callback's `iss` must equal"));
        }
        let pending_max_age_secs = a.max_age_secs.unwrap_or(DEFAULT_PENDING_MAX_AGE_SECS);
        if pending_max_age_secs == 0 {
            return Err(invalid(o, "authorization.max_age_secs", "must be positive"));
        }

        // [callback]
        let cb = raw.callback.unwrap_or_default();
        let keep_callback_params = cb.keep.unwrap_or_default();
        let require_callback_params = cb.require.unwrap_or_default();
        for (i, p) in keep_callback_params.iter().enumerate() {
            self.param_name(&format!("callback.keep[{i}]"), p)?;
            if matches!(p.as_str(), "code" | "state" | "error" | "error_description" | "error_uri") {
                return Err(invalid(o, format!("callback.keep[{i}]"), format!("`{p}` is handled by the flow itself")));
            }
        }
        for (i, p) in require_callback_params.iter().enumerate() {
            if !keep_callback_params.contains(p) {
                return Err(invalid(
                    o,
                    format!("callback.require[{i}]"),
                    format!("`{p}` must also be listed in callback.keep"),
                ));
            }
        }
        let account_param = cb.account;
        if let Some(p) = &account_param {
            if !require_callback_params.contains(p) {
                return Err(invalid(
                    o,
                    "callback.account",
                    format!("`{p}` must also be listed in callback.keep and callback.require"),
                ));
            }
        }

        // [token]
        let t = raw.token.unwrap_or_default();
        let token_url = t.url.as_deref().map(|u| self.url("token.url", u)).transpose()?;
        let client_auth = match t.client_auth.as_deref() {
            None | Some("basic") => ClientAuth::Basic,
            Some("body") => ClientAuth::Body,
            Some("query_unsafe") => ClientAuth::QueryUnsafe,
            Some("private_key_jwt") => ClientAuth::PrivateKeyJwt,
            Some(_) => {
                return Err(invalid(
                    o,
                    "token.client_auth",
                    "must be \"basic\", \"body\" or \"query_unsafe\" (or \"private_key_jwt\", RFC 7523)",
                ));
            }
        };
        let mut grants = Vec::new();
        for (i, g) in t.grants.unwrap_or_else(|| vec!["authorization_code".into()]).iter().enumerate() {
            let grant = GrantType::parse(g).ok_or_else(|| {
                invalid(
                    o,
                    format!("token.grants[{i}]"),
                    "must be authorization_code, refresh_token or client_credentials (or device_code, RFC 8628)",
                )
            })?;
            if grants.contains(&grant) {
                return Err(invalid(o, format!("token.grants[{i}]"), format!("`{g}` is listed twice")));
            }
            grants.push(grant);
        }
        if grants.is_empty() {
            return Err(invalid(o, "token.grants", "must list at least one grant"));
        }
        let access_lifetime = self.lifetime("token.access_lifetime", t.access_lifetime, Lifetime::Never)?;
        let refresh_lifetime = self.lifetime("token.refresh_lifetime", t.refresh_lifetime, Lifetime::Never)?;
        let mut extra_params = BTreeMap::new();
        for (grant_name, params) in t.extra_params.unwrap_or_default() {
            let field = format!("token.extra_params.{grant_name}");
            let grant = GrantType::parse(&grant_name)
                .ok_or_else(|| invalid(o, &field, "must be authorization_code, refresh_token or client_credentials"))?;
            let mut list = Vec::new();
            for (name, value) in params {
                let pf = format!("{field}.{name}");
                self.param_name(&pf, &name)?;
                if grant.own_params().contains(&name.as_str()) {
                    return Err(invalid(o, &pf, format!("the {grant} grant already sends `{name}`")));
                }
                let v = match value.as_str() {
                    "{client_id}" => ParamValue::ClientId,
                    "{redirect_uri}" => ParamValue::RedirectUri,
                    "{authorization_code}" => ParamValue::AuthorizationCode,
                    s if s.contains('{') || s.contains('}') => {
                        return Err(invalid(
                            o,
                            &pf,
                            "unknown placeholder (known: {client_id}, {redirect_uri}, {authorization_code})",
                        ));
                    }
                    s => ParamValue::Literal(s.to_owned()),
                };
                if v == ParamValue::AuthorizationCode && grant != GrantType::RefreshToken {
                    return Err(invalid(o, &pf, "{authorization_code} is only available to the refresh_token grant"));
                }
                list.push((name, v));
            }
            extra_params.insert(grant, list);
        }
        let token_url_hint = t.url_hint;
        let specs = specs(
            self.origin,
            RawSpecs {
                assertion_audience: t.assertion_audience,
                par: a.par,
                par_url: a.par_url,
                dpop: raw.dpop,
                device: raw.device,
                client_auth,
                issuer: issuer.as_deref(),
                grants: &grants,
                authorization: &authorization,
            },
        )?;

        // [api]
        let api = match raw.api {
            None => None,
            Some(api) => {
                let base =
                    api.base_url.ok_or_else(|| missing(o, "api.base_url", "the base URL of the provider's API"))?;
                let base_url = self.base_url("api.base_url", &base)?;
                let mut extra_base_urls = Vec::new();
                for (i, u) in api.extra_base_urls.unwrap_or_default().iter().enumerate() {
                    extra_base_urls.push(self.base_url(&format!("api.extra_base_urls[{i}]"), u)?);
                }
                let verify = match api.verify {
                    None => None,
                    Some(v) => {
                        let (m, u) = v.split_once(' ').ok_or_else(|| {
                            invalid(
                                o,
                                "api.verify",
                                "must be \"METHOD URL\", e.g. \"GET https://yespo.io/api/v2/version\"",
                            )
                        })?;
                        let method = m.parse::<Method>().map_err(|e| invalid(o, "api.verify", e.to_string()))?;
                        Some(VerifyCall { method, url: self.url("api.verify", u.trim())? })
                    }
                };
                let mut send_token_to = Vec::new();
                for (i, u) in api.send_token_to.unwrap_or_default().iter().enumerate() {
                    let field = format!("api.send_token_to[{i}]");
                    let url = self.url(&field, u)?;
                    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
                        return Err(invalid(o, &field, "must be an origin only: scheme://host[:port]"));
                    }
                    send_token_to.push(url);
                }
                Some(ApiConfig { base_url, extra_base_urls, verify, send_token_to })
            }
        };

        // [revocation]
        let revocation = match raw.revocation {
            None => None,
            Some(r) => Some(self.revocation(r)?),
        };

        // [lifecycle]
        let lc = raw.lifecycle.unwrap_or_default();
        if lc.reinstall_after_consecutive_401 == Some(0) {
            return Err(invalid(o, "lifecycle.reinstall_after_consecutive_401", "must be at least 1"));
        }
        let lifecycle = LifecyclePolicy {
            reinstall_after_consecutive_401: lc.reinstall_after_consecutive_401,
            refresh_margin_secs: lc.refresh_margin_secs.unwrap_or(60),
        };

        let (rights, groups) = self.matrix(raw.rights.unwrap_or_default(), raw.groups.unwrap_or_default())?;
        let bases: Vec<&Url> =
            api.iter().flat_map(|a| std::iter::once(&a.base_url).chain(&a.extra_base_urls)).collect();
        let matrix = Arc::new(PermissionMatrix::build(&rights, &groups, &bases));

        Ok(Provider {
            id,
            name,
            origin: o.to_owned(),
            authorization,
            pkce,
            scopes,
            pending_max_age_secs,
            loopback_any_port: a.loopback_any_port.unwrap_or(false),
            keep_callback_params,
            require_callback_params,
            account_param,
            authorization_params,
            issuer,
            issuer_in_callback,
            token_url,
            token_url_hint,
            client_auth,
            assertion_audience: specs.assertion_audience,
            par_url: specs.par_url,
            par: specs.par,
            dpop: specs.dpop,
            device_url: specs.device_url,
            grants,
            access_lifetime,
            refresh_lifetime,
            token_type_required: t.token_type_required.unwrap_or(true),
            extra_params,
            api,
            revocation,
            lifecycle,
            rights,
            groups,
            matrix,
            raw: table,
        })
    }

    fn revocation(&self, r: RawRevocation) -> Result<Revocation, ProfileError> {
        let o = self.origin;
        let kind = match r.kind.as_deref() {
            Some("rfc7009") => {
                if r.method.is_some() {
                    return Err(invalid(o, "revocation.method", "an rfc7009 endpoint is always called with POST"));
                }
                RevocationKind::Rfc7009
            }
            Some("remove_application") => {
                let method = match r.method.as_deref() {
                    None => Method::Post,
                    Some(m) => m.parse::<Method>().map_err(|e| invalid(o, "revocation.method", e.to_string()))?,
                };
                RevocationKind::RemoveApplication { method }
            }
            Some(_) => return Err(invalid(o, "revocation.kind", "must be \"rfc7009\" or \"remove_application\"")),
            None => return Err(missing(o, "revocation.kind", "\"rfc7009\" or \"remove_application\"")),
        };
        if let Some(u) = &r.url {
            let template = matches!(kind, RevocationKind::RemoveApplication { .. });
            let probe = if template { u.replace("{account}", "account") } else { u.clone() };
            if probe.contains('{') || probe.contains('}') {
                return Err(invalid(
                    o,
                    "revocation.url",
                    "unknown placeholder (known: {account}, remove_application only)",
                ));
            }
            self.url("revocation.url", &probe)?;
        } else if r.url_hint.is_none() {
            return Err(missing(o, "revocation.url", "the endpoint's URL (or `url_hint` saying where to find it)"));
        }
        Ok(Revocation { kind, url: r.url, url_hint: r.url_hint })
    }

    fn base_url(&self, field: &str, text: &str) -> Result<Url, ProfileError> {
        let mut url = self.url(field, text)?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid(self.origin, field, "must not have a query or fragment"));
        }
        if !url.path().ends_with('/') {
            let p = format!("{}/", url.path());
            url.set_path(&p);
        }
        Ok(url)
    }

    fn install_link(&self, template: &str) -> Result<String, ProfileError> {
        let field = "authorization.install_link";
        for needed in ["{client_id}", "{state}"] {
            if template.matches(needed).count() != 1 {
                return Err(invalid(self.origin, field, format!("must contain `{needed}` exactly once")));
            }
        }
        let probe = template.replace("{client_id}", "client").replace("{state}", "state");
        if probe.contains('{') || probe.contains('}') {
            return Err(invalid(self.origin, field, "unknown placeholder (known: {client_id}, {state})"));
        }
        let url = Url::parse(&probe).map_err(|e| invalid(self.origin, field, format!("not an absolute url: {e}")))?;
        check_endpoint_url(&url).map_err(|p| invalid(self.origin, field, p))?;
        Ok(template.to_owned())
    }

    fn matrix(
        &self,
        raw_rights: Vec<RawRight>,
        raw_groups: Vec<RawGroup>,
    ) -> Result<(Vec<Right>, Vec<Group>), ProfileError> {
        let o = self.origin;
        let mut groups: Vec<Group> = Vec::with_capacity(raw_groups.len());
        let mut seen_endpoints: BTreeMap<(Method, String), String> = BTreeMap::new();
        for (gi, g) in raw_groups.into_iter().enumerate() {
            let gf = format!("groups[{gi}]");
            let id = g.id.ok_or_else(|| missing(o, &format!("{gf}.id"), "the group's identifier"))?;
            self.ident(&format!("{gf}.id"), &id)?;
            if groups.iter().any(|x| x.id == id) {
                return Err(invalid(o, format!("{gf}.id"), format!("group `{id}` is defined twice")));
            }
            let mut endpoints = Vec::with_capacity(g.endpoints.len());
            for (ei, e) in g.endpoints.iter().enumerate() {
                let ef = format!("{gf}.endpoints[{ei}]");
                let ep = parse_endpoint(e).map_err(|p| invalid(o, &ef, p))?;
                let key = (ep.method, normalized_shape(&ep.segments));
                if let Some(other) = seen_endpoints.insert(key, ef.clone()) {
                    return Err(invalid(o, &ef, format!("`{e}` matches the same requests as {other}")));
                }
                endpoints.push(ep);
            }
            for (di, d) in g.deprecated.iter().enumerate() {
                let df = format!("{gf}.deprecated[{di}]");
                let dep = parse_endpoint(d).map_err(|p| invalid(o, &df, p))?;
                let hit = endpoints.iter_mut().find(|e| e.method == dep.method && e.template == dep.template);
                match hit {
                    Some(e) => e.deprecated = true,
                    None => return Err(invalid(o, &df, format!("`{d}` is not among this group's endpoints"))),
                }
            }
            groups.push(Group { id, title: g.title.unwrap_or_default(), open: g.open, endpoints });
        }
        if raw_rights.len() > MAX_RIGHTS {
            return Err(invalid(o, "rights", format!("at most {MAX_RIGHTS} rights are supported")));
        }
        let mut rights: Vec<Right> = Vec::with_capacity(raw_rights.len());
        for (ri, r) in raw_rights.into_iter().enumerate() {
            let rf = format!("rights[{ri}]");
            let id = r.id.ok_or_else(|| missing(o, &format!("{rf}.id"), "the right's identifier"))?;
            self.ident(&format!("{rf}.id"), &id)?;
            if rights.iter().any(|x| x.id == id) {
                return Err(invalid(o, format!("{rf}.id"), format!("right `{id}` is defined twice")));
            }
            let mut idx = BTreeSet::new();
            for (i, gid) in r.groups.iter().enumerate() {
                let pos = groups
                    .iter()
                    .position(|g| &g.id == gid)
                    .ok_or_else(|| invalid(o, format!("{rf}.groups[{i}]"), format!("no group `{gid}` is defined")))?;
                idx.insert(pos);
            }
            if r.all_groups && !r.groups.is_empty() {
                return Err(invalid(o, format!("{rf}.groups"), "must be empty when all_groups = true"));
            }
            rights.push(Right {
                id,
                title: r.title.unwrap_or_default(),
                all_groups: r.all_groups,
                groups: idx.into_iter().collect(),
            });
        }
        Ok((rights, groups))
    }
}
