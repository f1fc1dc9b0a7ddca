//! What the `/specs` server checks: client authentication (client_secret_basic, or a
//! private_key_jwt assertion, RFC 7523 §3) and DPoP proofs (RFC 9449 §4.3).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use scopegate_core::jose::{jwk_thumbprint, peek_header, verify_compact};
use serde_json::{Map, Value};
use sha2::Digest as _;

use super::state::{SpecsServer, SpecsState};
use crate::http::{Answer, Req};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn invalid_client(st: &mut SpecsState, assertion: bool, why: &str) -> Answer {
    if assertion {
        st.counters.assertions_refused += 1;
    }
    Answer::oauth_error(401, "invalid_client", why)
}

fn claims_unverified(jwt: &str) -> Option<Map<String, Value>> {
    let part = jwt.split('.').nth(1)?;
    match serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

/// The authenticated client's id, or the refusal. `endpoint` is the URL the request came to (an
/// assertion may name it, the token endpoint or the issuer as its `aud`).
pub(super) fn authenticate(s: &SpecsServer, st: &mut SpecsState, req: &Req, endpoint: &str) -> Result<String, Answer> {
    if let Some(jwt) = req.f("client_assertion") {
        if req.f("client_assertion_type") != Some(JWT_BEARER) {
            return Err(invalid_client(st, true, "client_assertion_type must be jwt-bearer"));
        }
        let unverified =
            claims_unverified(jwt).ok_or_else(|| invalid_client(st, true, "malformed client_assertion"))?;
        let id = req.f("client_id").or(unverified.get("iss").and_then(Value::as_str)).unwrap_or("").to_owned();
        let Some(jwk) = st.clients.iter().find(|c| c.id == id).and_then(|c| c.jwk.clone()) else {
            return Err(invalid_client(st, true, "no private_key_jwt client with this id"));
        };
        let claims = match verify_compact(jwt, &jwk) {
            Ok(v) => v.claims,
            Err(e) => return Err(invalid_client(st, true, &format!("client_assertion: {e}"))),
        };
        let s_claim = |k: &str| claims.get(k).and_then(Value::as_str);
        if s_claim("iss") != Some(&id) || s_claim("sub") != Some(&id) {
            return Err(invalid_client(st, true, "iss and sub must be the client_id"));
        }
        let accepted = [s.url("/token"), s.issuer.clone(), endpoint.to_owned()];
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => accepted.contains(a),
            Some(Value::Array(list)) => {
                list.iter().any(|a| a.as_str().is_some_and(|a| accepted.iter().any(|x| x == a)))
            }
            _ => false,
        };
        if !aud_ok {
            return Err(invalid_client(st, true, "aud must be the token endpoint or the issuer"));
        }
        let now = s.now();
        match claims.get("exp").and_then(Value::as_u64) {
            Some(exp) if exp > now => {}
            Some(_) => return Err(invalid_client(st, true, "the client_assertion has expired")),
            None => return Err(invalid_client(st, true, "exp is required")),
        }
        let jti = s_claim("jti").ok_or_else(|| invalid_client(st, true, "jti is required"))?.to_owned();
        if !st.seen_jti.insert(format!("assertion:{jti}")) {
            return Err(invalid_client(st, true, "the client_assertion's jti was used before"));
        }
        return Ok(id);
    }
    let (id, secret) = match &req.authorization {
        Some(a) if a.len() > 6 && a[..6].eq_ignore_ascii_case("basic ") => {
            let raw = STANDARD.decode(a[6..].trim()).ok().and_then(|b| String::from_utf8(b).ok()).unwrap_or_default();
            let (i, p) = raw.split_once(':').unwrap_or(("", ""));
            let dec =
                |x: &str| url::form_urlencoded::parse(format!("x={x}").as_bytes()).next().map(|(_, v)| v.into_owned());
            (dec(i).unwrap_or_default(), dec(p).unwrap_or_default())
        }
        _ => (req.f("client_id").unwrap_or("").to_owned(), req.f("client_secret").unwrap_or("").to_owned()),
    };
    match st.clients.iter().find(|c| c.id == id) {
        Some(c) if c.secret.as_deref().is_some_and(|x| !x.is_empty() && x == secret) => Ok(id),
        _ => Err(invalid_client(st, false, "client authentication failed")),
    }
}

/// Why a DPoP proof was not accepted.
pub(super) enum ProofFail {
    /// It lacks the server's current nonce: answer `use_dpop_nonce` with it.
    Nonce,
    /// Anything else.
    Invalid(String),
}

/// Checks the request's DPoP proof for `htm htu` (and `ath` of `token` at a resource) against
/// `nonce`; returns the key's thumbprint (`jkt`), or `None` when there is no proof.
pub(super) fn proof(
    s: &SpecsServer,
    st: &mut SpecsState,
    req: &Req,
    htu: &str,
    nonce: &str,
    token: Option<&str>,
) -> Result<Option<String>, ProofFail> {
    let Some(jws) = req.dpop.as_deref() else { return Ok(None) };
    let bad = |why: &str| ProofFail::Invalid(why.to_owned());
    let header = peek_header(jws).map_err(|_| bad("malformed proof"))?;
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err(bad("typ must be dpop+jwt"));
    }
    let jwk = header.get("jwk").and_then(Value::as_object).ok_or_else(|| bad("no jwk in the header"))?;
    if jwk.contains_key("d") {
        return Err(bad("the jwk holds a private key"));
    }
    let claims = verify_compact(jws, jwk).map_err(|e| bad(&format!("proof: {e}")))?.claims;
    let c = |k: &str| claims.get(k).and_then(Value::as_str);
    if c("htm") != Some(req.method.as_str()) {
        return Err(bad("htm does not match"));
    }
    if c("htu") != Some(htu) {
        return Err(bad("htu does not match"));
    }
    let now = s.now();
    match claims.get("iat").and_then(Value::as_u64) {
        Some(iat) if iat.abs_diff(now) <= 60 => {}
        _ => return Err(bad("iat is missing or too far from now")),
    }
    if let Some(t) = token {
        let ath = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(t.as_bytes()));
        if c("ath") != Some(ath.as_str()) {
            return Err(bad("ath does not match the access token"));
        }
    }
    if c("nonce") != Some(nonce) {
        return Err(ProofFail::Nonce);
    }
    let jti = c("jti").ok_or_else(|| bad("jti is required"))?;
    if !st.seen_jti.insert(format!("dpop:{jti}")) {
        return Err(bad("the proof's jti was used before"));
    }
    Ok(Some(jwk_thumbprint(jwk).ok_or_else(|| bad("unusable jwk"))?))
}
