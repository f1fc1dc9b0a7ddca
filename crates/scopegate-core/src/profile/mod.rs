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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use url::Url;

use crate::matrix::spec::{normalized_shape, parse_endpoint};
use crate::matrix::{PermissionMatrix, Policy, Rights, UnknownRight};
use crate::method::Method;

/// Largest profile text accepted, in bytes.
pub const MAX_PROFILE_BYTES: usize = 1024 * 1024;
/// Most access rights one profile may declare (rights sets are 64-bit sets).
pub const MAX_RIGHTS: usize = 64;
/// Default for how long a pending authorization stays usable (RFC 6749 §4.1.2 recommends that
/// codes live at most 10 minutes; a login that takes longer is started again).
pub const DEFAULT_PENDING_MAX_AGE_SECS: u64 = 600;

pub use crate::matrix::spec::{EndpointTemplate, Group, Right, TemplateSegment};

const BUILTINS: [(&str, &str); 4] = [
    ("yespo", include_str!("../../providers/yespo.toml")),
    ("reteno", include_str!("../../providers/reteno.toml")),
    ("yotpo", include_str!("../../providers/yotpo.toml")),
    ("yuvo", include_str!("../../providers/yuvo.toml")),
];

/// A profile could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The text is not TOML, or a key or value does not fit the profile schema.
    #[error("{origin}{}: {message}", fmt_position(*.line, *.column))]
    Parse {
        /// Where the text came from (`builtin:yespo`, a file path, `<string>`...).
        origin: String,
        /// 1-based line of the problem, when known.
        line: Option<usize>,
        /// 1-based column of the problem, when known.
        column: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A field is present but its value is not acceptable.
    #[error("{origin}: field `{field}`: {problem}")]
    Invalid {
        /// Where the profile came from.
        origin: String,
        /// Dotted path of the field (`token.url`, `groups[2].endpoints[0]`).
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A required field is absent.
    #[error("{origin}: field `{field}` is required: {hint}")]
    Missing {
        /// Where the profile came from.
        origin: String,
        /// Dotted path of the missing field.
        field: String,
        /// What it is for.
        hint: String,
    },
    /// `extends` or a lookup named a built-in profile that does not exist.
    #[error("no built-in provider profile named `{id}` (built-in: {known})")]
    UnknownBuiltin {
        /// The id asked for.
        id: String,
        /// The built-in ids, comma separated.
        known: String,
    },
    /// A profile file could not be read.
    #[error("{path}: cannot read profile file: {error}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's reason.
        #[source]
        error: std::io::Error,
    },
    /// The profile text is larger than [`MAX_PROFILE_BYTES`].
    #[error("{origin}: profile is {len} bytes, more than the {limit}-byte limit")]
    TooLarge {
        /// Where the text came from.
        origin: String,
        /// Its length.
        len: usize,
        /// The limit.
        limit: usize,
    },
}

fn fmt_position(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// The schema as written (every field optional, so partial override files parse too).

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    // Read from the table before deserializing; declared so the schema accepts it.
    #[allow(dead_code)]
    extends: Option<String>,
    id: Option<String>,
    name: Option<String>,
    authorization: Option<RawAuthorization>,
    callback: Option<RawCallback>,
    token: Option<RawToken>,
    api: Option<RawApi>,
    revocation: Option<RawRevocation>,
    lifecycle: Option<RawLifecycle>,
    rights: Option<Vec<RawRight>>,
    groups: Option<Vec<RawGroup>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuthorization {
    loopback_any_port: Option<bool>,
    url: Option<String>,
    install_link: Option<String>,
    pkce: Option<String>,
    scopes: Option<Vec<String>>,
    max_age_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCallback {
    keep: Option<Vec<String>>,
    require: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToken {
    url: Option<String>,
    url_hint: Option<String>,
    client_auth: Option<String>,
    grants: Option<Vec<String>>,
    access_lifetime: Option<RawLifetime>,
    refresh_lifetime: Option<RawLifetime>,
    token_type_required: Option<bool>,
    extra_params: Option<BTreeMap<String, BTreeMap<String, String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawLifetime {
    Secs(u64),
    Word(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApi {
    base_url: Option<String>,
    extra_base_urls: Option<Vec<String>>,
    verify: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRevocation {
    kind: Option<String>,
    url: Option<String>,
    url_hint: Option<String>,
    method: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLifecycle {
    reinstall_after_consecutive_401: Option<u32>,
    refresh_margin_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRight {
    id: Option<String>,
    title: Option<String>,
    #[serde(default)]
    all_groups: bool,
    #[serde(default)]
    groups: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    id: Option<String>,
    title: Option<String>,
    #[serde(default)]
    open: bool,
    #[serde(default)]
    endpoints: Vec<String>,
    #[serde(default)]
    deprecated: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// The validated profile.

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
}

impl GrantType {
    /// The `grant_type` value.
    pub const fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "authorization_code" => GrantType::AuthorizationCode,
            "refresh_token" => GrantType::RefreshToken,
            "client_credentials" => GrantType::ClientCredentials,
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
        }
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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
    token_url: Option<Url>,
    token_url_hint: Option<String>,
    client_auth: ClientAuth,
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
    /// Ids of the built-in profiles.
    pub fn builtin_ids() -> impl Iterator<Item = &'static str> {
        BUILTINS.iter().map(|(id, _)| *id)
    }

    /// The TOML text of a built-in profile.
    pub fn builtin_source(id: &str) -> Option<&'static str> {
        BUILTINS.iter().find(|(i, _)| *i == id).map(|(_, s)| *s)
    }

    /// Loads a built-in profile (`yespo`, `reteno`, `yotpo`, `yuvo`).
    pub fn builtin(id: &str) -> Result<Provider, ProfileError> {
        let src = Self::builtin_source(id).ok_or_else(|| unknown_builtin(id))?;
        Self::from_toml_str(src, &format!("builtin:{id}"))
    }

    /// Loads every built-in profile.
    pub fn builtins() -> Result<Vec<Provider>, ProfileError> {
        Self::builtin_ids().map(Self::builtin).collect()
    }

    /// Parses a profile from TOML text. `origin` names the text in error messages (a path,
    /// `<string>`...). A profile with `extends = "<built-in id>"` is merged onto that built-in.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Provider, ProfileError> {
        let table = parse_table(text, origin)?;
        let base = match table.get("extends") {
            Some(toml::Value::String(id)) => {
                let src = Self::builtin_source(id).ok_or_else(|| unknown_builtin(id))?;
                let mut base = parse_table(src, &format!("builtin:{id}"))?;
                base.remove("extends");
                Some((base, format!("builtin:{id} + {origin}")))
            }
            Some(_) => return Err(invalid(origin, "extends", "must be a string naming a built-in profile")),
            None => None,
        };
        match base {
            Some((mut base, merged_origin)) => {
                let mut table = table;
                table.remove("extends");
                merge(&mut base, table);
                Self::from_table(base, &merged_origin)
            }
            None => Self::from_table(table, origin),
        }
    }

    /// Reads and parses a profile file (at most [`MAX_PROFILE_BYTES`]).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Provider, ProfileError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|error| ProfileError::Io { path: shown.clone(), error })?;
        let text = std::str::from_utf8(&bytes).map_err(|e| ProfileError::Parse {
            origin: shown.clone(),
            line: None,
            column: None,
            message: format!("profile is not valid utf-8 (at byte {})", e.valid_up_to()),
        })?;
        Self::from_toml_str(text, &shown)
    }

    /// Parses a profile from raw bytes (must be UTF-8 TOML).
    pub fn from_toml_bytes(bytes: &[u8], origin: &str) -> Result<Provider, ProfileError> {
        let text = std::str::from_utf8(bytes).map_err(|e| ProfileError::Parse {
            origin: origin.to_owned(),
            line: None,
            column: None,
            message: format!("profile is not valid utf-8 (at byte {})", e.valid_up_to()),
        })?;
        Self::from_toml_str(text, origin)
    }

    /// A copy of this profile with the fields of `overrides` (TOML text, same schema, every field
    /// optional) laid over it, validated again. Example: point Yotpo at its token endpoint with
    /// `[token]\nurl = "https://..."`, or every URL at a local server.
    pub fn with_overrides(&self, overrides: &str, origin: &str) -> Result<Provider, ProfileError> {
        let table = parse_table(overrides, origin)?;
        if table.contains_key("extends") {
            return Err(invalid(origin, "extends", "is not allowed in an override"));
        }
        let mut base = self.raw.clone();
        merge(&mut base, table);
        Self::from_table(base, &format!("{} + {origin}", self.origin))
    }

    fn from_table(table: toml::Table, origin: &str) -> Result<Provider, ProfileError> {
        let raw: RawProfile = toml::Value::Table(table.clone()).try_into().map_err(|e: toml::de::Error| {
            ProfileError::Parse { origin: origin.to_owned(), line: None, column: None, message: e.message().to_owned() }
        })?;
        Validator { origin }.validate(raw, table)
    }

    /// Profile id (`yespo`).
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

fn unknown_builtin(id: &str) -> ProfileError {
    ProfileError::UnknownBuiltin {
        id: id.chars().take(64).collect(),
        known: Provider::builtin_ids().collect::<Vec<_>>().join(", "),
    }
}

fn invalid(origin: &str, field: impl Into<String>, problem: impl Into<String>) -> ProfileError {
    ProfileError::Invalid { origin: origin.to_owned(), field: field.into(), problem: problem.into() }
}

fn missing(origin: &str, field: &str, hint: &str) -> ProfileError {
    ProfileError::Missing { origin: origin.to_owned(), field: field.to_owned(), hint: hint.to_owned() }
}

/// Parses TOML text into a table and checks it against the schema, so that schema errors in
/// user files come with a line and column.
fn parse_table(text: &str, origin: &str) -> Result<toml::Table, ProfileError> {
    if text.len() > MAX_PROFILE_BYTES {
        return Err(ProfileError::TooLarge { origin: origin.to_owned(), len: text.len(), limit: MAX_PROFILE_BYTES });
    }
    let positioned = |e: toml::de::Error| {
        let (line, column) = match e.span() {
            Some(span) => {
                let (l, c) = line_col(text, span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        // `message()` only: the Display form quotes the source line, which we do not echo.
        ProfileError::Parse { origin: origin.to_owned(), line, column, message: e.message().trim().to_owned() }
    };
    let table: toml::Table = toml::from_str(text).map_err(positioned)?;
    let _: RawProfile = toml::from_str(text).map_err(|e| {
        // Schema errors ("invalid type: integer `5`, expected a string") name the field too.
        let field = e.span().and_then(|span| field_at(text, span.start));
        match (positioned(e), field) {
            (ProfileError::Parse { origin, line, column, message }, Some(f)) if !message.starts_with(&f) => {
                ProfileError::Parse { origin, line, column, message: format!("{f}: {message}") }
            }
            (err, _) => err,
        }
    })?;
    Ok(table)
}

/// The dotted name (`token.url`) of the `key = value` line at `offset`, under the nearest table
/// header above it. `None` when the line is not a simple key line.
fn field_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let start = text.get(..offset)?.rfind('\n').map_or(0, |p| p + 1);
    let line = text[start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let bare =
        |k: &str| !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if !bare(key) {
        return None;
    }
    let table = text[..start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|h| h.trim_start_matches('[').split(']').next().unwrap_or("").trim().to_owned());
    Some(match table {
        Some(t) if bare(&t) => format!("{t}.{key}"),
        _ => key.to_owned(),
    })
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.as_bytes().get(..offset).unwrap_or_default();
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    (line, column)
}

/// Deep merge: tables merge key by key, anything else in `over` replaces what `base` had.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

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

struct Validator<'a> {
    origin: &'a str,
}

impl Validator<'_> {
    fn url(&self, field: &str, text: &str) -> Result<Url, ProfileError> {
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

    fn validate(&self, raw: RawProfile, table: toml::Table) -> Result<Provider, ProfileError> {
        let o = self.origin;
        let id = raw.id.ok_or_else(|| missing(o, "id", "the profile's identifier, e.g. \"yespo\""))?;
        self.ident("id", &id)?;
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
        let pkce = match a.pkce.as_deref() {
            None | Some("off") => PkceMode::Off,
            Some("S256") | Some("s256") => PkceMode::S256,
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

        // [token]
        let t = raw.token.unwrap_or_default();
        let token_url = t.url.as_deref().map(|u| self.url("token.url", u)).transpose()?;
        let client_auth = match t.client_auth.as_deref() {
            None | Some("basic") => ClientAuth::Basic,
            Some("body") => ClientAuth::Body,
            Some("query_unsafe") => ClientAuth::QueryUnsafe,
            Some(_) => {
                return Err(invalid(o, "token.client_auth", "must be \"basic\", \"body\" or \"query_unsafe\""));
            }
        };
        let mut grants = Vec::new();
        for (i, g) in t.grants.unwrap_or_else(|| vec!["authorization_code".into()]).iter().enumerate() {
            let grant = GrantType::parse(g).ok_or_else(|| {
                invalid(
                    o,
                    format!("token.grants[{i}]"),
                    "must be authorization_code, refresh_token or client_credentials",
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
                Some(ApiConfig { base_url, extra_base_urls, verify })
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
            token_url,
            token_url_hint,
            client_auth,
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
