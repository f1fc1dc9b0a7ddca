//! Client authentication at the provider's endpoints (RFC 6749 §2.3): HTTP Basic, form body,
//! the query (for profiles that must), or a signed client assertion (private_key_jwt, RFC 7523),
//! in the profile's style. Used by the token, revocation, PAR and device requests.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::authorize::ClientConfig;
use crate::client_assertion::AssertionPlan;
use crate::http::HttpRequest;
use crate::method::Method;
use crate::profile::{ClientAuth, Provider};
use crate::time::Timestamp;
use crate::usage::UsageError;

const FORM_SAFE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'*').remove(b'-').remove(b'.').remove(b'_');

/// `Authorization: Basic` value per RFC 6749 §2.3.1: id and secret are form-urlencoded
/// before being joined with `:` and base64-encoded.
///
/// A space is written `%20`, not `+`: both decode to a space under form decoding, and `%20` also
/// survives servers that decode with plain percent-decoding (Authlib does, which turns `+` into a
/// literal plus and fails the secret; found by the Authlib interop test).
pub fn basic_authorization(client_id: &str, client_secret: &str) -> String {
    let enc = |s: &str| percent_encoding::utf8_percent_encode(s, FORM_SAFE).to_string();
    let raw = zeroize::Zeroizing::new(format!("{}:{}", enc(client_id), enc(client_secret)));
    format!("Basic {}", STANDARD.encode(raw.as_bytes()))
}

pub(crate) fn check_provider(provider: &Provider, got: &str) -> Result<(), UsageError> {
    if provider.id() != got {
        return Err(UsageError::ProviderMismatch { expected: provider.id().to_owned(), got: got.to_owned() });
    }
    Ok(())
}

/// A form POST to `url` carrying the client's authentication in the profile's style (token and
/// revocation endpoints). Returns the request and the secret, for snippet redaction.
///
/// For `private_key_jwt` the request carries only `client_id`: the assertion holds `iat` and is
/// signed when the request leaves ([`AssertionPlan`]); the client's key must be set.
pub(crate) fn authenticated_post(
    provider: &Provider,
    client: &ClientConfig,
    url: &url::Url,
) -> Result<(HttpRequest, zeroize::Zeroizing<String>), UsageError> {
    let mut req = HttpRequest::new(Method::Post, url.clone());
    let secret = match provider.client_auth() {
        ClientAuth::PrivateKeyJwt => {
            AssertionPlan::new(provider, client)?;
            req.form_param("client_id", client.client_id());
            zeroize::Zeroizing::new(String::new())
        }
        style => {
            let secret = client
                .client_secret()
                .ok_or_else(|| UsageError::MissingClientSecret { provider: provider.id().to_owned() })?;
            match style {
                ClientAuth::Basic => {
                    let value = basic_authorization(client.client_id(), secret.expose_secret());
                    req.header("Authorization", value, true);
                }
                ClientAuth::Body => {
                    req.form_param("client_id", client.client_id());
                    req.form_param("client_secret", secret.expose_secret());
                }
                ClientAuth::QueryUnsafe | ClientAuth::PrivateKeyJwt => {
                    let mut u = url.clone();
                    u.query_pairs_mut()
                        .append_pair("client_id", client.client_id())
                        .append_pair("client_secret", secret.expose_secret());
                    req = HttpRequest::new(Method::Post, u);
                }
            }
            zeroize::Zeroizing::new(secret.expose_secret().to_owned())
        }
    };
    req.header("Content-Type", "application/x-www-form-urlencoded", false);
    req.header("Accept", "application/json", false);
    Ok((req, secret))
}

/// A form POST to `url` with the client's authentication in the profile's style, signed at
/// `now` when it is `private_key_jwt` (PAR, device authorization). Returns the request and the
/// secrets it carries, for snippet redaction.
pub(crate) fn authenticated_post_at(
    provider: &Provider,
    client: &ClientConfig,
    url: &url::Url,
    now: Timestamp,
) -> Result<(HttpRequest, Vec<Zeroizing<String>>), UsageError> {
    let (mut req, secret) = authenticated_post(provider, client, url)?;
    let mut secrets = vec![secret];
    if provider.client_auth() == crate::profile::ClientAuth::PrivateKeyJwt {
        let assertion = AssertionPlan::new(provider, client)?.apply(&mut req, now)?;
        secrets.push(Zeroizing::new(assertion.expose_secret().to_owned()));
    }
    Ok((req, secrets))
}
