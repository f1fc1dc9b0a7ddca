//! Validation of the profile keys of discovery, private_key_jwt, PAR, DPoP and the device grant
//! (`[token] assertion_audience`, `[authorization] par` / `par_url`, `[dpop]`, `[device]`).
//! A profile without them loads as before.

use url::Url;

use super::error::{invalid, missing};
use super::schema::{RawDevice, RawDpop};
use super::{
    AssertionAudience, AuthorizationEndpoint, ClientAuth, DpopPolicy, GrantType, JwsAlgorithm, ProfileError,
    check_endpoint_url,
};

/// The validated values.
pub(super) struct Specs {
    pub(super) assertion_audience: AssertionAudience,
    pub(super) par: bool,
    pub(super) par_url: Option<Url>,
    pub(super) dpop: Option<DpopPolicy>,
    pub(super) device_url: Option<Url>,
}

/// What the keys are read from.
pub(super) struct RawSpecs<'a> {
    pub(super) assertion_audience: Option<String>,
    pub(super) par: Option<bool>,
    pub(super) par_url: Option<String>,
    pub(super) dpop: Option<RawDpop>,
    pub(super) device: Option<RawDevice>,
    pub(super) client_auth: ClientAuth,
    pub(super) issuer: Option<&'a str>,
    pub(super) grants: &'a [GrantType],
    pub(super) authorization: &'a AuthorizationEndpoint,
}

/// An endpoint URL of these keys, checked like every other endpoint of a profile.
fn url(origin: &str, field: &str, text: &str) -> Result<Url, ProfileError> {
    let url = Url::parse(text).map_err(|e| invalid(origin, field, format!("not an absolute url: {e}")))?;
    check_endpoint_url(&url).map_err(|p| invalid(origin, field, p))?;
    Ok(url)
}

/// Validates the keys (`origin` names the profile in errors).
pub(super) fn specs(origin: &str, raw: RawSpecs<'_>) -> Result<Specs, ProfileError> {
    {
        let o = origin;
        let assertion_audience = match raw.assertion_audience.as_deref() {
            None => AssertionAudience::TokenEndpoint,
            Some(_) if raw.client_auth != ClientAuth::PrivateKeyJwt => {
                return Err(invalid(
                    o,
                    "token.assertion_audience",
                    "applies only to client_auth = \"private_key_jwt\"",
                ));
            }
            Some("token_endpoint") => AssertionAudience::TokenEndpoint,
            Some("issuer") if raw.issuer.is_none() => {
                return Err(missing(
                    o,
                    "authorization.issuer",
                    "the issuer identifier a client assertion's `aud` names",
                ));
            }
            Some("issuer") => AssertionAudience::Issuer,
            Some(_) => return Err(invalid(o, "token.assertion_audience", "must be \"token_endpoint\" or \"issuer\"")),
        };
        let par_url = raw.par_url.as_deref().map(|u| url(o, "authorization.par_url", u)).transpose()?;
        let par = raw.par.unwrap_or(false);
        if par && par_url.is_none() {
            return Err(missing(
                o,
                "authorization.par_url",
                "the pushed authorization request endpoint (RFC 9126) that `par = true` sends requests to",
            ));
        }
        if par && matches!(raw.authorization, AuthorizationEndpoint::InstallLink(_)) {
            return Err(invalid(o, "authorization.par", "an install link cannot be pushed (it has no request_uri)"));
        }
        let dpop = match raw.dpop {
            None => None,
            Some(d) => {
                let alg = match d.alg.as_deref() {
                    None | Some("ES256") => JwsAlgorithm::Es256,
                    Some("EdDSA") => JwsAlgorithm::EdDsa,
                    Some("RS256") => {
                        return Err(invalid(
                            o,
                            "dpop.alg",
                            "RS256 keys are not generated per account: use \"ES256\" or \"EdDSA\"",
                        ));
                    }
                    Some(_) => return Err(invalid(o, "dpop.alg", "must be \"ES256\" or \"EdDSA\"")),
                };
                Some(DpopPolicy { required: d.required.unwrap_or(false), alg })
            }
        };
        let device_url = match raw.device {
            None => None,
            Some(d) => match d.url {
                Some(u) => Some(url(o, "device.url", &u)?),
                None => return Err(missing(o, "device.url", "the device authorization endpoint (RFC 8628 §3.1)")),
            },
        };
        if raw.grants.contains(&GrantType::DeviceCode) && device_url.is_none() {
            return Err(missing(o, "device.url", "the device authorization endpoint the device_code grant starts at"));
        }
        Ok(Specs { assertion_audience, par, par_url, dpop, device_url })
    }
}
