//! The token endpoint: client authentication (RFC 6749 §2.3.1), faults, and the
//! `authorization_code`, `refresh_token` and `client_credentials` grants.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use crate::Fault;
use crate::server::{Answer, Req};
use crate::state::{CODE_MAX_AGE_SECS, Shared, State, Token, now, random};
use crate::{uaa, yotpo, yuvo};

/// The client's credentials: Basic (form-urlencoded id and secret, RFC 6749 §2.3.1) or body.
fn client_credentials(req: &Req) -> Option<(String, String)> {
    if let Some(a) = &req.authorization {
        let (scheme, b64) = a.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let raw = String::from_utf8(STANDARD.decode(b64.trim()).ok()?).ok()?;
        let (id, secret) = raw.split_once(':')?;
        let dec =
            |s: &str| url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned());
        return Some((dec(id)?, dec(secret)?));
    }
    Some((req.f("client_id")?.to_owned(), req.f("client_secret")?.to_owned()))
}

/// `POST` of a token endpoint: counts, applies the next queued fault, then the grant.
pub(crate) fn token(shared: &Shared, provider: &str, req: &Req) -> Answer {
    let mut st = shared.lock();
    let grant = req.f("grant_type").unwrap_or("(none)").to_owned();
    let counters = st.count(provider);
    *counters.token_requests.entry(grant.clone()).or_default() += 1;
    let fault = st.faults.get_mut(provider).and_then(|q| (!q.is_empty()).then(|| q.remove(0)));
    let mut early = None;
    let mut delay = None;
    match fault {
        Some(Fault::Status(s)) => {
            st.count(provider).token_errors += 1;
            return Answer::html(s, "Server error", "<p>The sandbox was told to fail this request.</p>");
        }
        Some(Fault::MalformedJson) => {
            st.count(provider).token_errors += 1;
            return Answer {
                status: 200,
                content_type: "application/json",
                body: "{\"access_token\": ".into(),
                location: None,
                delay: None,
            };
        }
        Some(Fault::ErrorIn200) => {
            st.count(provider).token_errors += 1;
            return Answer::oauth_error(200, "server_error", "the sandbox was told to put an error in a 200");
        }
        Some(Fault::Slow(d)) => delay = Some(d),
        Some(Fault::EarlyExpiry(s)) => early = Some(s),
        None => {}
    }
    let mut answer = token_grant(&mut st, provider, &grant, req, early);
    if answer.status != 200 {
        st.count(provider).token_errors += 1;
    }
    answer.delay = delay;
    answer
}

/// One grant of the token endpoint, once the fault (if any) is applied.
fn token_grant(st: &mut State, provider: &str, grant: &str, req: &Req, early: Option<u64>) -> Answer {
    let Some((client_id, secret)) = client_credentials(req) else {
        return Answer::oauth_error(401, "invalid_client", "client authentication is missing");
    };
    let Some(app) = st.find_app(provider, &client_id).cloned() else {
        return Answer::oauth_error(401, "invalid_client", "unknown client");
    };
    if app.client_secret != secret {
        return Answer::oauth_error(401, "invalid_client", "bad client credentials");
    }
    let grants: &[&str] = match provider {
        "yespo" | "reteno" => &["authorization_code", "refresh_token"],
        "yotpo" => &["authorization_code"],
        _ => &["authorization_code", "refresh_token", "client_credentials"],
    };
    if !grants.contains(&grant) {
        return Answer::oauth_error(400, "unsupported_grant_type", "this provider does not support that grant");
    }
    let t = now();
    match grant {
        "authorization_code" => {
            let Some(code_value) = req.f("code") else {
                return Answer::oauth_error(400, "invalid_request", "code is required");
            };
            // A code works once (RFC 6749 §4.1.2), for its client, within 10 minutes.
            let Some(code) = st.codes.remove(code_value) else {
                return Answer::oauth_error(400, "invalid_grant", "unknown or used code");
            };
            if code.provider != provider || code.client_id != client_id || t > code.issued + CODE_MAX_AGE_SECS {
                return Answer::oauth_error(400, "invalid_grant", "code not valid for this client");
            }
            if req.f("redirect_uri") != Some(code.redirect_uri.as_str()) {
                return Answer::oauth_error(
                    400,
                    "invalid_grant",
                    "redirect_uri does not match the authorization request",
                );
            }
            if let Some(ch) = &code.challenge {
                let ok = req.f("code_verifier").is_some_and(|v| &scopegate_core::pkce::s256_challenge(&v.into()) == ch);
                if !ok {
                    return Answer::oauth_error(400, "invalid_grant", "PKCE verification failed");
                }
            }
            if provider == "yotpo" {
                yotpo::replace_store_token(st, &client_id, code.app_key.as_deref());
            }
            let tok = new_token(
                provider,
                &client_id,
                Some(code_value.to_owned()),
                Some(code.redirect_uri),
                code.app_key,
                code.company,
                early,
                t,
            );
            issue(st, tok, true)
        }
        "refresh_token" => {
            let Some(rt) = req.f("refresh_token") else {
                return Answer::oauth_error(400, "invalid_request", "refresh_token is required");
            };
            let Some(i) = st
                .tokens
                .iter()
                .position(|x| x.provider == provider && x.client_id == client_id && x.refresh.as_deref() == Some(rt))
            else {
                return Answer::oauth_error(400, "invalid_grant", "unknown, used or revoked refresh token");
            };
            let old = st.tokens[i].clone();
            if old.refresh_expires.is_some_and(|e| t >= e) {
                st.tokens.remove(i);
                return Answer::oauth_error(400, "invalid_grant", "refresh token expired");
            }
            if matches!(provider, "yespo" | "reteno") {
                if let Err(answer) = uaa::check_refresh(req, &old) {
                    return answer;
                }
            }
            let rotate = provider != "yuvo" || yuvo::rotates(st);
            st.tokens.remove(i);
            let mut tok =
                new_token(provider, &client_id, old.code, old.redirect_uri, old.app_key, old.company, early, t);
            if !rotate {
                tok.refresh = old.refresh;
                tok.refresh_expires = old.refresh_expires;
            }
            issue(st, tok, rotate)
        }
        _ => {
            let mut tok = new_token(provider, &client_id, None, None, None, None, early, t);
            tok.refresh = None;
            tok.refresh_expires = None;
            issue(st, tok, false)
        }
    }
}

/// A new token of `provider`, its lifetimes the provider's.
#[allow(clippy::too_many_arguments)]
fn new_token(
    provider: &str,
    client_id: &str,
    code: Option<String>,
    redirect_uri: Option<String>,
    app_key: Option<String>,
    company: Option<String>,
    early: Option<u64>,
    t: u64,
) -> Token {
    let (access_secs, refresh_secs, refresh) = match provider {
        "yespo" | "reteno" => (Some(uaa::ACCESS_SECS), Some(uaa::REFRESH_SECS), true),
        "yotpo" => (None, None, false), // Yotpo: the token does not expire
        _ => (Some(yuvo::ACCESS_SECS), None, true),
    };
    Token {
        provider: provider.to_owned(),
        client_id: client_id.to_owned(),
        access: random(32),
        refresh: refresh.then(|| random(32)),
        access_expires: early.or(access_secs).map(|s| t + s),
        refresh_expires: refresh_secs.map(|s| t + s),
        code: if matches!(provider, "yespo" | "reteno") { code } else { None },
        redirect_uri,
        app_key,
        company,
    }
}

/// Keeps `tok` and answers it (with its refresh token when `with_refresh`).
fn issue(st: &mut State, tok: Token, with_refresh: bool) -> Answer {
    let mut body = json!({"access_token": tok.access, "token_type": "bearer"});
    match tok.provider.as_str() {
        "yespo" | "reteno" => uaa::answer_fields(&mut body),
        "yuvo" => yuvo::answer_fields(&mut body),
        _ => {} // Yotpo: no expires_in, the token does not expire
    }
    if with_refresh {
        if let Some(r) = &tok.refresh {
            body["refresh_token"] = json!(r);
        }
    }
    st.tokens.push(tok);
    Answer::json(200, body)
}
