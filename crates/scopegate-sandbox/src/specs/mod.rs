//! The standards server under `/specs`: an authorization server whose issuer is
//! `{base}/specs`, with discovery (RFC 8414, OpenID Connect Discovery), private_key_jwt client
//! authentication (RFC 7523), pushed authorization requests (RFC 9126), the device grant
//! (RFC 8628) and DPoP (RFC 9449), and the failures a provider answers with:
//!
//! - a client assertion whose `aud` is neither the token endpoint nor the issuer (or that is
//!   expired, replayed, or signed by another key): `401 invalid_client`;
//! - a DPoP proof without the server's nonce: `400 use_dpop_nonce` at the token endpoint, `401`
//!   with `WWW-Authenticate: DPoP error="use_dpop_nonce"` at the resource, both with a
//!   `DPoP-Nonce` header;
//! - a device poll sooner than the interval: `slow_down` (the interval grows by 5 s);
//! - a `request_uri` used after its `expires_in` (60 s): `invalid_request_uri` on the redirect URI.
//!
//! Clients (every one with the secret `SPECS_SECRET` except `specs-jwt`): `specs-client`
//! (client_secret_basic, every grant), `specs-jwt` (private_key_jwt with
//! `Sandbox::specs_client_key`; other keys through `Sandbox::register_jwt_client` or
//! `POST /_sandbox/specs/jwt_client`), `specs-par` (PAR required), `specs-dpop` (DPoP required).
//! Any loopback redirect URI is accepted. Consent follows the sandbox's mode: denied when it is
//! `deny`, given otherwise. `GET /specs/api/me` is the protected resource.
//!
//! The router hands this server its requests with the sandbox's consent mode, read when the
//! request arrives; nothing here reaches into the rest of the sandbox.

mod checks;
mod flows;
pub(crate) mod state;

use serde_json::{Value, json};

use crate::http::{Answer, Req};
use crate::knobs::Consent;
use state::SpecsServer;

/// Answers a request of the `/specs` server, or `None` when it is not one.
pub(crate) fn route(s: &SpecsServer, consent: Consent, req: &Req) -> Option<Answer> {
    let path = req.path.as_str();
    let m = req.method.as_str();
    if m == "GET"
        && (path == "/.well-known/oauth-authorization-server/specs"
            || path == "/specs/.well-known/openid-configuration")
    {
        return Some(Answer::json(200, s.metadata()));
    }
    if path == "/_sandbox/specs/jwt_client" && m == "POST" {
        let v = req.json.as_ref();
        let id = v.and_then(|v| v.get("client_id")).and_then(Value::as_str);
        let jwk = v.and_then(|v| v.get("jwk")).and_then(Value::as_object);
        return Some(match (id, jwk) {
            (Some(id), Some(jwk)) => {
                s.register_jwt_client(id, jwk.clone());
                Answer::json(200, json!({"registered": true}))
            }
            _ => Answer::json(400, json!({"error": "expected {client_id, jwk}"})),
        });
    }
    let rest = path.strip_prefix("/specs")?;
    Some(match (m, rest) {
        ("POST", "/token") => flows::token(s, req),
        ("POST", "/par") => flows::par(s, req),
        ("GET", "/authorize") => flows::authorize(s, consent, req),
        ("POST", "/device") => flows::device_authorization(s, req),
        ("GET", "/device/verify") => flows::device_verify(s, consent, req),
        ("GET", "/api/me") => flows::resource(s, req),
        _ => Answer::json(404, json!({"error": "not_found"})),
    })
}
