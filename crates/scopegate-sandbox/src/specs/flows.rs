//! The `/specs` server's endpoints: token (client credentials, authorization code, refresh,
//! device code; DPoP-bound when a proof comes), PAR, authorization, device authorization and
//! verification, and the protected resource.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sha2::Digest as _;
use url::Url;

use super::checks::{ProofFail, authenticate, proof};
use super::state::{
    DEVICE_CODE_LIFETIME_SECS, DEVICE_INTERVAL_SECS, Device, Pushed, REQUEST_URI_LIFETIME_SECS, SpecsCode, SpecsServer,
    SpecsState, SpecsToken,
};
use crate::http::{Answer, Req};
use crate::knobs::Consent;
use crate::random::random;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const ACCESS_LIFETIME_SECS: u64 = 3600;

fn nonce_answer(st: &mut SpecsState, s: &SpecsServer) -> Answer {
    st.counters.token_nonce_challenges += 1;
    Answer::oauth_error(400, "use_dpop_nonce", "Authorization server requires nonce in DPoP proof")
        .with_header("DPoP-Nonce", s.token_nonce.clone())
}

/// `POST /specs/token`.
pub(super) fn token(s: &SpecsServer, req: &Req) -> Answer {
    let mut guard = s.lock();
    let st = &mut *guard;
    let client_id = match authenticate(s, st, req, &s.url("/token")) {
        Ok(id) => id,
        Err(a) => return a,
    };
    let jkt = match proof(s, st, req, &s.url("/token"), &s.token_nonce, None) {
        Ok(j) => j,
        Err(ProofFail::Nonce) => return nonce_answer(st, s),
        Err(ProofFail::Invalid(why)) => {
            st.counters.proofs_refused += 1;
            return Answer::oauth_error(400, "invalid_dpop_proof", &why);
        }
    };
    let dpop_required = st.clients.iter().any(|c| c.id == client_id && c.dpop_required);
    if dpop_required && jkt.is_none() {
        return Answer::oauth_error(400, "invalid_dpop_proof", "this client must send a DPoP proof");
    }
    let now = s.now();
    let grant = req.f("grant_type").unwrap_or("");
    let subject = match grant {
        "client_credentials" => None,
        "authorization_code" => {
            let Some(code) = req.f("code").and_then(|c| st.codes.remove(c)) else {
                return Answer::oauth_error(400, "invalid_grant", "unknown or used code");
            };
            let pkce_ok = match (&code.challenge, req.f("code_verifier")) {
                (Some(ch), Some(v)) => URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(v.as_bytes())) == *ch,
                (None, None) => true,
                _ => false,
            };
            if code.client_id != client_id
                || Some(code.redirect_uri.as_str()) != req.f("redirect_uri")
                || now.saturating_sub(code.issued) > 600
                || !pkce_ok
            {
                return Answer::oauth_error(400, "invalid_grant", "the code does not match this request");
            }
            Some("sandbox-user".to_owned())
        }
        "refresh_token" => {
            let rt = req.f("refresh_token").unwrap_or("");
            let Some(i) = st.tokens.iter().position(|t| t.refresh.as_deref() == Some(rt) && t.client_id == client_id)
            else {
                return Answer::oauth_error(400, "invalid_grant", "unknown refresh token");
            };
            if st.tokens[i].jkt.is_some() && st.tokens[i].jkt != jkt {
                return Answer::oauth_error(400, "invalid_grant", "the refresh is not proven with the token's key");
            }
            st.tokens.remove(i).subject
        }
        DEVICE_GRANT => {
            let dc = req.f("device_code").unwrap_or("").to_owned();
            let Some(d) = st.devices.get_mut(&dc).filter(|d| d.client_id == client_id) else {
                return Answer::oauth_error(400, "invalid_grant", "unknown device_code");
            };
            if now >= d.expires {
                return Answer::oauth_error(400, "expired_token", "the device code has expired");
            }
            match d.decision {
                Some(true) => {}
                Some(false) => return Answer::oauth_error(400, "access_denied", "the user refused"),
                None => {
                    let early = now < d.last_poll.saturating_add(d.interval);
                    d.last_poll = now;
                    if early {
                        d.interval += 5;
                        st.counters.slow_downs += 1;
                        return Answer::oauth_error(400, "slow_down", "polling too fast: add 5 seconds");
                    }
                    return Answer::oauth_error(400, "authorization_pending", "the user has not decided yet");
                }
            }
            st.devices.remove(&dc);
            Some("sandbox-user".to_owned())
        }
        _ => return Answer::oauth_error(400, "unsupported_grant_type", "not a grant this server knows"),
    };
    let with_refresh = grant != "client_credentials";
    let token = SpecsToken {
        access: random(24),
        refresh: with_refresh.then(|| random(24)),
        client_id,
        jkt: jkt.clone(),
        expires: now + ACCESS_LIFETIME_SECS,
        subject,
    };
    let mut body = json!({
        "access_token": token.access, "token_type": if jkt.is_some() { "DPoP" } else { "Bearer" },
        "expires_in": ACCESS_LIFETIME_SECS,
    });
    if let Some(r) = &token.refresh {
        body["refresh_token"] = r.clone().into();
    }
    st.tokens.push(token);
    *st.counters.tokens.entry(grant.to_owned()).or_default() += 1;
    Answer::json(200, body)
}

/// `POST /specs/par` (RFC 9126 §2).
pub(super) fn par(s: &SpecsServer, req: &Req) -> Answer {
    let mut guard = s.lock();
    let st = &mut *guard;
    let client_id = match authenticate(s, st, req, &s.url("/par")) {
        Ok(id) => id,
        Err(a) => return a,
    };
    if req.f("request_uri").is_some() {
        return Answer::oauth_error(400, "invalid_request", "request_uri must not be pushed");
    }
    if req.f("client_id").is_some_and(|c| c != client_id) {
        return Answer::oauth_error(400, "invalid_request", "client_id does not match the authenticated client");
    }
    let params: Vec<(String, String)> =
        req.form.iter().filter(|(k, _)| !k.starts_with("client_assertion") && k != "client_secret").cloned().collect();
    let uri = format!("urn:ietf:params:oauth:request_uri:{}", random(16));
    st.pushed.insert(uri.clone(), Pushed { client_id, params, expires: s.now() + REQUEST_URI_LIFETIME_SECS });
    st.counters.pushed += 1;
    Answer::json(201, json!({"request_uri": uri, "expires_in": REQUEST_URI_LIFETIME_SECS}))
}

fn redirect_with(redirect_uri: &str, pairs: &[(&str, &str)]) -> Answer {
    let mut u = match Url::parse(redirect_uri) {
        Ok(u) => u,
        Err(_) => return Answer::html(400, "Bad request", "<p>invalid redirect_uri</p>"),
    };
    {
        let mut q = u.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    Answer::redirect(u.to_string())
}

/// `GET /specs/authorize`: a pushed request by its `request_uri`, or the parameters themselves.
pub(super) fn authorize(s: &SpecsServer, consent: Consent, req: &Req) -> Answer {
    let mut guard = s.lock();
    let st = &mut *guard;
    let client_id = req.q("client_id").unwrap_or("").to_owned();
    let Some(client) = st.clients.iter().find(|c| c.id == client_id) else {
        return Answer::html(400, "Unknown client", "<p>no such client_id</p>");
    };
    let par_required = client.par_required;
    let params: Vec<(String, String)> = match req.q("request_uri") {
        Some(uri) => {
            let Some(p) = st.pushed.remove(uri).filter(|p| p.client_id == client_id) else {
                return Answer::html(400, "Invalid request_uri", "<p>unknown or used request_uri</p>");
            };
            if s.now() >= p.expires {
                st.counters.expired_request_uris += 1;
                let get = |k: &str| p.params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
                let (Some(r), state) = (get("redirect_uri"), get("state")) else {
                    return Answer::html(400, "Expired request_uri", "<p>the request_uri has expired</p>");
                };
                let mut pairs =
                    vec![("error", "invalid_request_uri"), ("error_description", "the request_uri has expired")];
                if let Some(st) = state.as_deref() {
                    pairs.push(("state", st));
                }
                // RFC 9207 §2: error responses name the issuer too.
                pairs.push(("iss", &s.issuer));
                return redirect_with(&r, &pairs);
            }
            p.params
        }
        None => req.query.clone(),
    };
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let Some(redirect_uri) =
        get("redirect_uri").filter(|r| Url::parse(r).is_ok_and(|u| scopegate_core::http::is_loopback(&u)))
    else {
        return Answer::html(400, "Bad request", "<p>a loopback redirect_uri is required</p>");
    };
    let state = get("state").unwrap_or_default();
    let iss = s.issuer.clone();
    if par_required && req.q("request_uri").is_none() {
        return redirect_with(
            &redirect_uri,
            &[
                ("error", "invalid_request"),
                ("error_description", "this client must push its request (PAR)"),
                ("state", &state),
                ("iss", &iss),
            ],
        );
    }
    if get("response_type").as_deref() != Some("code") {
        return redirect_with(
            &redirect_uri,
            &[("error", "unsupported_response_type"), ("state", &state), ("iss", &iss)],
        );
    }
    if consent == Consent::AutoDeny {
        return redirect_with(&redirect_uri, &[("error", "access_denied"), ("state", &state), ("iss", &iss)]);
    }
    let code = random(24);
    let challenge = get("code_challenge");
    st.codes
        .insert(code.clone(), SpecsCode { client_id, redirect_uri: redirect_uri.clone(), challenge, issued: s.now() });
    redirect_with(&redirect_uri, &[("code", &code), ("state", &state), ("iss", &iss)])
}

/// `POST /specs/device` (RFC 8628 §3.1).
pub(super) fn device_authorization(s: &SpecsServer, req: &Req) -> Answer {
    let mut guard = s.lock();
    let st = &mut *guard;
    let client_id = match authenticate(s, st, req, &s.url("/device")) {
        Ok(id) => id,
        Err(a) => return a,
    };
    let device_code = random(24);
    let raw = random(6).to_ascii_uppercase().replace(['-', '_'], "X");
    let user_code = format!("{}-{}", &raw[..4], &raw[4..8]);
    let now = s.now();
    st.devices.insert(
        device_code.clone(),
        Device {
            client_id,
            user_code: user_code.clone(),
            expires: now + DEVICE_CODE_LIFETIME_SECS,
            interval: DEVICE_INTERVAL_SECS,
            last_poll: now,
            decision: None,
        },
    );
    let verify = s.url("/device/verify");
    Answer::json(
        200,
        json!({
            "device_code": device_code, "user_code": user_code, "verification_uri": verify,
            "verification_uri_complete": format!("{verify}?user_code={user_code}"),
            "expires_in": DEVICE_CODE_LIFETIME_SECS, "interval": DEVICE_INTERVAL_SECS,
        }),
    )
}

/// `GET /specs/device/verify?user_code=..`: the user's decision, as the sandbox's consent mode
/// says (refused in `deny` mode, given otherwise).
pub(super) fn device_verify(s: &SpecsServer, consent: Consent, req: &Req) -> Answer {
    let approve = consent != Consent::AutoDeny;
    let mut st = s.lock();
    let code = req.q("user_code").unwrap_or("").to_ascii_uppercase();
    let now = s.now();
    match st.devices.values_mut().find(|d| d.user_code == code && d.decision.is_none() && now < d.expires) {
        Some(d) => {
            d.decision = Some(approve);
            let (title, text) = if approve { ("Device approved", "approved") } else { ("Device refused", "refused") };
            Answer::html(200, title, &format!("<p>The device was {text}. You may close this window.</p>"))
        }
        None => Answer::html(404, "Unknown code", "<p>no pending device with this code</p>"),
    }
}

/// `GET /specs/api/me`: Bearer for an unbound token; `DPoP` with a proof (and the resource's
/// nonce) for a bound one.
pub(super) fn resource(s: &SpecsServer, req: &Req) -> Answer {
    let mut guard = s.lock();
    let st = &mut *guard;
    let (scheme, value) = req.authorization.as_deref().and_then(|a| a.split_once(' ')).unwrap_or(("", ""));
    let refuse = |scheme: &str, error: &str| {
        Answer::json(401, json!({"error": error}))
            .with_header("WWW-Authenticate", format!("{scheme} error=\"{error}\""))
    };
    let now = s.now();
    let Some(tok) = st.tokens.iter().find(|t| t.access == value && now < t.expires) else {
        return refuse("Bearer", "invalid_token");
    };
    let (client_id, subject, bound) = (tok.client_id.clone(), tok.subject.clone(), tok.jkt.clone());
    match (scheme.to_ascii_lowercase().as_str(), bound) {
        ("bearer", None) => {}
        ("dpop", Some(jkt)) => match proof(s, st, req, &s.url("/api/me"), &s.resource_nonce, Some(value)) {
            Ok(Some(k)) if k == jkt => {}
            Ok(_) => return refuse("DPoP", "invalid_token"),
            Err(ProofFail::Nonce) => {
                st.counters.resource_nonce_challenges += 1;
                return refuse("DPoP", "use_dpop_nonce").with_header("DPoP-Nonce", s.resource_nonce.clone());
            }
            Err(ProofFail::Invalid(_)) => {
                st.counters.proofs_refused += 1;
                return refuse("DPoP", "invalid_dpop_proof");
            }
        },
        // A bound token as Bearer, or an unbound one as DPoP: refused (RFC 9449 §7.2).
        _ => return refuse("DPoP", "invalid_token"),
    }
    st.counters.api_ok += 1;
    Answer::json(200, json!({"client_id": client_id, "sub": subject}))
}
