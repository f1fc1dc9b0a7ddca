//! Provider profiles: every provider quirk as data.
//!
//! A profile is a TOML document (see `providers/*.toml` for the four built-in ones). It is parsed
//! into [`Provider`], which has been validated: URLs parse and use https (plain http only for
//! loopback hosts), templates carry their placeholders, rights and groups reference each other
//! correctly. Every validation error names the profile's origin, the field and the problem.
//!
//! A user profile may start with `extends = "<built-in id>"` and set only what differs; the same
//! overriding is available in code through [`Provider::with_overrides`]. Tables merge key by key,
//! every other value (strings, numbers, arrays) replaces the inherited one.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use url::Url;

use crate::matrix::{PermissionMatrix, Policy, Rights, UnknownRight};
use crate::method::Method;

mod crypto;
mod error;
mod load;
mod schema;
mod specs;
mod validate;

pub use crate::matrix::spec::{EndpointTemplate, Group, Right, TemplateSegment};
pub use crypto::{AssertionAudience, JwsAlgorithm};
pub use error::ProfileError;
pub(crate) use validate::{check_endpoint_url, is_loopback_host};

/// Largest profile text accepted, in bytes.
pub const MAX_PROFILE_BYTES: usize = 1024 * 1024;
/// Most access rights one profile may declare (rights sets are 64-bit sets).
pub const MAX_RIGHTS: usize = 64;
/// Default for how long a pending authorization stays usable (RFC 6749 §4.1.2 recommends that
/// codes live at most 10 minutes; a login that takes longer is started again).
pub const DEFAULT_PENDING_MAX_AGE_SECS: u64 = 600;

/// Where the user is sent to authorize the app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthorizationEndpoint {
    /// An RFC 6749 §3.1 authorization endpoint; the request parameters go into its query.
    Url(Url),
    /// An install-link template with `{client_id}` and `{state}` placeholders (Yotpo's App Market
    /// link, whose route lives in the URL fragment and must be kept intact).
    InstallLink(String),
}

/// How the client authenticates to the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1, App. B).
    Basic,
    /// `client_id` and `client_secret` in the form body (RFC 6749 §2.3.1, allowed but not preferred).
    Body,
    /// `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9): a JWT signed with the client's
    /// private key ([`ClientConfig::with_client_key`](crate::ClientConfig::with_client_key)), no
    /// shared secret.
    PrivateKeyJwt,
    /// `client_id` and `client_secret` in the token URL's query string. **Unsafe**: RFC 6749 §2.3.1
    /// forbids it, because URLs end up in logs and proxies. Only for a provider that accepts
    /// nothing else; a profile must opt in with `client_auth = "query_unsafe"`.
    QueryUnsafe,
}

/// PKCE use (RFC 7636).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PkceMode {
    /// No PKCE parameters are sent.
    Off,
    /// `code_challenge_method=S256`.
    S256,
}

/// An OAuth 2.0 grant type the client can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GrantType {
    /// RFC 6749 §4.1.
    AuthorizationCode,
    /// RFC 6749 §6.
    RefreshToken,
    /// RFC 6749 §4.4.
    ClientCredentials,
    /// RFC 8628 §3.4: the device authorization grant (`device_code` in a profile).
    DeviceCode,
}

impl GrantType {
    /// The `grant_type` value.
    pub const fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::DeviceCode => DEVICE_CODE_GRANT,
        }
    }

    /// The name a profile's `token.grants` uses (`device_code` for the device grant, else
    /// [`as_str`](Self::as_str)).
    pub const fn profile_name(self) -> &'static str {
        match self {
            GrantType::DeviceCode => "device_code",
            other => other.as_str(),
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "authorization_code" => GrantType::AuthorizationCode,
            "refresh_token" => GrantType::RefreshToken,
            "client_credentials" => GrantType::ClientCredentials,
            "device_code" | DEVICE_CODE_GRANT => GrantType::DeviceCode,
            _ => return None,
        })
    }

    /// Form parameters the grant itself sends; an extra parameter may not repeat one of them.
    fn own_params(self) -> &'static [&'static str] {
        match self {
            GrantType::AuthorizationCode => {
                &["grant_type", "code", "redirect_uri", "code_verifier", "client_id", "client_secret"]
            }
            GrantType::RefreshToken => &["grant_type", "refresh_token", "scope", "client_id", "client_secret"],
            GrantType::ClientCredentials => &["grant_type", "scope", "client_id", "client_secret"],
            GrantType::DeviceCode => &["grant_type", "device_code", "client_id", "client_secret"],
        }
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `grant_type` of the device authorization grant (RFC 8628 §3.4).
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The profile's `[dpop]` table (RFC 9449).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DpopPolicy {
    /// `required = true`: every token request carries a DPoP proof, and the tokens are bound to
    /// the account's key.
    pub required: bool,
    /// The algorithm of the account's key (`alg`, default `ES256`; `EdDSA` also possible).
    pub alg: JwsAlgorithm,
}

/// How long a token lives when the token response does not say (`expires_in` absent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifetime {
    /// This many seconds from issue.
    Secs(u64),
    /// The token does not expire by time.
    Never,
}

/// The value of an extra form parameter a grant sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamValue {
    /// A fixed string.
    Literal(String),
    /// `{client_id}`: the client's id.
    ClientId,
    /// `{redirect_uri}`: the redirect URI used when the authorization was granted.
    RedirectUri,
    /// `{authorization_code}`: the code the token set was first obtained with.
    AuthorizationCode,
}

/// An API call made to check that a token works (Yespo: `GET https://yespo.io/api/v2/version`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyCall {
    /// The method.
    pub method: Method,
    /// The absolute URL.
    pub url: Url,
}

/// The provider's API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiConfig {
    /// Base URL that relative API paths are resolved against (always ends with `/`).
    pub base_url: Url,
    /// Other base URLs the same API methods are served under (Yespo: `/api/v2` beside `/api/v1`).
    /// The permission check accepts paths under any of them.
    pub extra_base_urls: Vec<Url>,
    /// The verification call, when the provider documents one.
    pub verify: Option<VerifyCall>,
    /// Other origins (`https://files.example.com`) the bearer token may be sent to, by the
    /// profile's explicit opt-in (`[api] send_token_to`). Without it, the token goes only to the
    /// origins and base paths of `base_url` and `extra_base_urls`.
    pub send_token_to: Vec<Url>,
}

/// Lifecycle rules of a provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LifecyclePolicy {
    /// After this many consecutive 401 answers on a working connection, the user must authorize
    /// (install) the app again (Yotpo: 3). `None`: no such rule.
    pub reinstall_after_consecutive_401: Option<u32>,
    /// Refresh this many seconds before the access token expires (default 60).
    pub refresh_margin_secs: u64,
}

/// How the provider ends an authorization from the app's side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevocationKind {
    /// An RFC 7009 revocation endpoint: `POST token=...&token_type_hint=...` with the same client
    /// authentication as the token endpoint.
    Rfc7009,
    /// A "remove application" (uninstall) endpoint called with the access token as a bearer
    /// token (Yotpo). The URL may contain `{account}` (Yotpo: the store's app_key).
    RemoveApplication {
        /// The HTTP method (default `POST`).
        method: Method,
    },
}

/// The profile's `[revocation]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// What kind of endpoint it is.
    pub kind: RevocationKind,
    /// Its URL (a template with `{account}` for [`RevocationKind::RemoveApplication`]); `None`
    /// when the provider's document names the endpoint but not its URL.
    pub url: Option<String>,
    /// What to tell the user while `url` is unset.
    pub url_hint: Option<String>,
}

/// A validated provider profile.
#[derive(Clone, Debug, PartialEq)]
pub struct Provider {
    id: String,
    name: String,
    origin: String,
    authorization: AuthorizationEndpoint,
    pkce: PkceMode,
    scopes: Vec<String>,
    pending_max_age_secs: u64,
    loopback_any_port: bool,
    keep_callback_params: Vec<String>,
    require_callback_params: Vec<String>,
    account_param: Option<String>,
    authorization_params: Vec<(String, String)>,
    issuer: Option<String>,
    issuer_in_callback: bool,
    token_url: Option<Url>,
    token_url_hint: Option<String>,
    client_auth: ClientAuth,
    assertion_audience: AssertionAudience,
    par_url: Option<Url>,
    par: bool,
    dpop: Option<DpopPolicy>,
    device_url: Option<Url>,
    grants: Vec<GrantType>,
    access_lifetime: Lifetime,
    refresh_lifetime: Lifetime,
    token_type_required: bool,
    extra_params: BTreeMap<GrantType, Vec<(String, ParamValue)>>,
    api: Option<ApiConfig>,
    revocation: Option<Revocation>,
    lifecycle: LifecyclePolicy,
    rights: Vec<Right>,
    groups: Vec<Group>,
    matrix: Arc<PermissionMatrix>,
    raw: toml::Table,
}

impl Provider {
    /// Profile id (`yespo`); a built-in profile pointed at a sandbox has one of its own
    /// (`yespo@127.0.0.1:8080`), so that it never shares a store key with the real provider.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Display name (`Yespo`).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Where the profile came from (`builtin:yotpo + overrides.toml`).
    pub fn origin(&self) -> &str {
        &self.origin
    }
    /// The authorization endpoint or install link.
    pub fn authorization(&self) -> &AuthorizationEndpoint {
        &self.authorization
    }
    /// PKCE mode.
    pub fn pkce(&self) -> PkceMode {
        self.pkce
    }
    /// Scopes requested by default (empty: no `scope` parameter).
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }
    /// How long a pending authorization stays usable, in seconds.
    pub fn pending_max_age_secs(&self) -> u64 {
        self.pending_max_age_secs
    }
    /// Whether the provider accepts a loopback redirect URI on any port (RFC 8252 §7.3), so a
    /// loopback login may listen on an ephemeral port (redirect URI with port 0).
    pub fn loopback_any_port(&self) -> bool {
        self.loopback_any_port
    }
    /// Callback parameters kept besides `code` (Yotpo: `app_key`).
    pub fn keep_callback_params(&self) -> &[String] {
        &self.keep_callback_params
    }
    /// Callback parameters that must be present (Yotpo: `app_key`).
    pub fn require_callback_params(&self) -> &[String] {
        &self.require_callback_params
    }
    /// The callback parameter that names the account the tokens belong to (`[callback] account`;
    /// Yotpo: `app_key`, the merchant's store). Token sets are stored under its value.
    pub fn account_param(&self) -> Option<&str> {
        self.account_param.as_deref()
    }
    /// The authorization server's issuer identifier (`[authorization] issuer`, RFC 9207 / RFC
    /// 8414): when set, a callback's `iss` must equal it.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }
    /// Whether the provider always names its issuer in the callback (`[authorization]
    /// issuer_in_callback`, RFC 9207 §3): a callback without `iss` is then refused.
    pub fn issuer_in_callback(&self) -> bool {
        self.issuer_in_callback
    }
    /// Extra parameters sent on the authorization request (`[authorization.extra_params]`, e.g.
    /// `prompt = "consent"`), in name order.
    pub fn authorization_params(&self) -> &[(String, String)] {
        &self.authorization_params
    }
    /// The token endpoint, when known.
    pub fn token_url(&self) -> Option<&Url> {
        self.token_url.as_ref()
    }
    /// Why the token endpoint is missing and how to set it, when the profile says.
    pub fn token_url_hint(&self) -> Option<&str> {
        self.token_url_hint.as_deref()
    }
    /// Client authentication style at the token endpoint.
    pub fn client_auth(&self) -> ClientAuth {
        self.client_auth
    }
    /// What a `private_key_jwt` assertion's `aud` is (`[token] assertion_audience`).
    pub fn assertion_audience(&self) -> AssertionAudience {
        self.assertion_audience
    }
    /// The pushed authorization request endpoint (RFC 9126, `[authorization] par_url`).
    pub fn par_url(&self) -> Option<&Url> {
        self.par_url.as_ref()
    }
    /// Whether authorization requests are pushed first (`[authorization] par = true`): the
    /// browser then gets only `client_id` and `request_uri`.
    pub fn uses_par(&self) -> bool {
        self.par
    }
    /// The `[dpop]` table, when the profile has one (RFC 9449).
    pub fn dpop(&self) -> Option<DpopPolicy> {
        self.dpop
    }
    /// Whether tokens must be DPoP-bound (`[dpop] required = true`).
    pub fn dpop_required(&self) -> bool {
        self.dpop.is_some_and(|d| d.required)
    }
    /// The device authorization endpoint (RFC 8628 §3.1, `[device] url`).
    pub fn device_authorization_url(&self) -> Option<&Url> {
        self.device_url.as_ref()
    }
    /// Grants the provider supports.
    pub fn grants(&self) -> &[GrantType] {
        &self.grants
    }
    /// Whether the provider supports a grant.
    pub fn supports(&self, grant: GrantType) -> bool {
        self.grants.contains(&grant)
    }
    /// Access-token lifetime when `expires_in` is absent.
    pub fn access_lifetime(&self) -> Lifetime {
        self.access_lifetime
    }
    /// Refresh-token lifetime when the response does not say.
    pub fn refresh_lifetime(&self) -> Lifetime {
        self.refresh_lifetime
    }
    /// Whether a token response without `token_type` is rejected (RFC 6749 §5.1: it is required).
    pub fn token_type_required(&self) -> bool {
        self.token_type_required
    }
    /// Extra form parameters a grant sends.
    pub fn extra_params(&self, grant: GrantType) -> &[(String, ParamValue)] {
        self.extra_params.get(&grant).map_or(&[], |v| v.as_slice())
    }
    /// Whether refreshing needs the authorization code the token set was first obtained with.
    pub fn refresh_needs_authorization_code(&self) -> bool {
        self.extra_params(GrantType::RefreshToken).iter().any(|(_, v)| *v == ParamValue::AuthorizationCode)
    }
    /// The API, when the profile describes it.
    pub fn api(&self) -> Option<&ApiConfig> {
        self.api.as_ref()
    }
    /// The revocation / remove-application endpoint, when the profile has one.
    pub fn revocation(&self) -> Option<&Revocation> {
        self.revocation.as_ref()
    }

    /// The lifecycle rules.
    pub fn lifecycle(&self) -> LifecyclePolicy {
        self.lifecycle
    }
    /// Access rights (at most [`MAX_RIGHTS`]).
    pub fn rights(&self) -> &[Right] {
        &self.rights
    }
    /// Groups of API methods.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }
    /// Index of a right by id.
    pub fn right_index(&self, id: &str) -> Option<usize> {
        self.rights.iter().position(|r| r.id == id)
    }
    /// The compiled permission matrix (empty when the profile has no rights and groups).
    pub fn matrix(&self) -> &Arc<PermissionMatrix> {
        &self.matrix
    }
    /// Whether the profile has an API-method matrix to check calls against.
    pub fn has_matrix(&self) -> bool {
        !self.groups.is_empty()
    }
    /// The rights set with these ids.
    pub fn rights_from_ids<S: AsRef<str>>(&self, ids: impl IntoIterator<Item = S>) -> Result<Rights, UnknownRight> {
        self.matrix.rights_from_ids(ids)
    }
    /// A policy for a rights set: the fastest `allows(method, path)`.
    pub fn policy(&self, rights: Rights) -> Policy {
        Policy::new(Arc::clone(&self.matrix), rights)
    }
}
