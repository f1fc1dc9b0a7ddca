//! The schema as written (every field optional, so partial override files parse too).

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProfile {
    // Read from the table before deserializing; declared so the schema accepts it.
    #[allow(dead_code)]
    extends: Option<String>,
    pub(super) id: Option<String>,
    pub(super) name: Option<String>,
    pub(super) authorization: Option<RawAuthorization>,
    pub(super) callback: Option<RawCallback>,
    pub(super) token: Option<RawToken>,
    pub(super) api: Option<RawApi>,
    pub(super) revocation: Option<RawRevocation>,
    pub(super) lifecycle: Option<RawLifecycle>,
    pub(super) dpop: Option<RawDpop>,
    pub(super) device: Option<RawDevice>,
    pub(super) rights: Option<Vec<RawRight>>,
    pub(super) groups: Option<Vec<RawGroup>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAuthorization {
    pub(super) loopback_any_port: Option<bool>,
    pub(super) url: Option<String>,
    pub(super) install_link: Option<String>,
    pub(super) pkce: Option<String>,
    pub(super) scopes: Option<Vec<String>>,
    pub(super) max_age_secs: Option<u64>,
    pub(super) extra_params: Option<BTreeMap<String, String>>,
    pub(super) issuer: Option<String>,
    pub(super) issuer_in_callback: Option<bool>,
    pub(super) par: Option<bool>,
    pub(super) par_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCallback {
    pub(super) keep: Option<Vec<String>>,
    pub(super) require: Option<Vec<String>>,
    pub(super) account: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawToken {
    pub(super) url: Option<String>,
    pub(super) url_hint: Option<String>,
    pub(super) client_auth: Option<String>,
    pub(super) grants: Option<Vec<String>>,
    pub(super) access_lifetime: Option<RawLifetime>,
    pub(super) refresh_lifetime: Option<RawLifetime>,
    pub(super) token_type_required: Option<bool>,
    pub(super) assertion_audience: Option<String>,
    pub(super) extra_params: Option<BTreeMap<String, BTreeMap<String, String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawLifetime {
    Secs(u64),
    Word(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApi {
    pub(super) base_url: Option<String>,
    pub(super) extra_base_urls: Option<Vec<String>>,
    pub(super) verify: Option<String>,
    pub(super) send_token_to: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRevocation {
    pub(super) kind: Option<String>,
    pub(super) url: Option<String>,
    pub(super) url_hint: Option<String>,
    pub(super) method: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLifecycle {
    pub(super) reinstall_after_consecutive_401: Option<u32>,
    pub(super) refresh_margin_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRight {
    pub(super) id: Option<String>,
    pub(super) title: Option<String>,
    #[serde(default)]
    pub(super) all_groups: bool,
    #[serde(default)]
    pub(super) groups: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGroup {
    pub(super) id: Option<String>,
    pub(super) title: Option<String>,
    #[serde(default)]
    pub(super) open: bool,
    #[serde(default)]
    pub(super) endpoints: Vec<String>,
    #[serde(default)]
    pub(super) deprecated: Vec<String>,
}

/// `[dpop]` (RFC 9449).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDpop {
    pub(super) required: Option<bool>,
    pub(super) alg: Option<String>,
}

/// `[device]` (RFC 8628).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDevice {
    pub(super) url: Option<String>,
}
