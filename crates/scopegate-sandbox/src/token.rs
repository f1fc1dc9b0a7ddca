//! The token endpoint: client authentication (RFC 6749 §2.3.1), faults, and the
//! `authorization_code`, `refresh_token` and `client_credentials` grants.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use crate::http::{Answer, Req};
use crate::knobs::Fault;
use crate::random::random;
use crate::state::{CODE_MAX_AGE_SECS, Shared, State, Token};
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

/// What the sandbox answers when a rotated-out refresh token comes back in strict mode.
pub(crate) const REUSE_DETECTED: &str = "refresh token reuse detected; the grant is revoked";

/// How the next token answer is issued, as the fault (if any) says.
#[derive(Clone, Copy, Default)]
struct Issue {
    /// The access token dies after this many seconds.
    early: Option<u64>,
    /// No refresh token, in the answer or kept.
    no_refresh: bool,
}

/// `POST` of a token endpoint: counts, applies the next queued fault, then the grant.
pub(crate) fn token(shared: &Shared, provider: &str, req: &Req) -> Answer {
    let mut st = shared.lock();
    let grant = req.f("grant_type").unwrap_or("(none)").to_owned();
    let counters = st.count(provider);
    *counters.token_requests.entry(grant.clone()).or_default() += 1;
    let fault = st.faults.get_mut(provider).and_then(|q| (!q.is_empty()).then(|| q.remove(0)));
    let mut issue = Issue::default();
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
                extra_headers: Vec::new(),
            };
        }
        Some(Fault::ErrorIn200) => {
            st.count(provider).token_errors += 1;
            return Answer::oauth_error(200, "server_error", "the sandbox was told to put an error in a 200");
        }
        Some(Fault::Slow(d)) => delay = Some(d),
        Some(Fault::EarlyExpiry(s)) => issue.early = Some(s),
        Some(Fault::NoRefreshToken) => issue.no_refresh = true,
        None => {}
    }
    let mut answer = match token_grant(&mut st, provider, &grant, req, issue) {
        Ok(answer) | Err(answer) => answer,
    };
    if answer.status != 200 {
        st.count(provider).token_errors += 1;
    }
    answer.delay = delay;
    answer
}

/// One grant of the token endpoint, once the fault (if any) is applied. `Err`: an error answer.
fn token_grant(st: &mut State, provider: &str, grant: &str, req: &Req, issue: Issue) -> Result<Answer, Answer> {
    let Some((client_id, secret)) = client_credentials(req) else {
        return Err(Answer::oauth_error(401, "invalid_client", "client authentication is missing"));
    };
    let Some(app) = st.find_app(provider, &client_id).cloned() else {
        return Err(Answer::oauth_error(401, "invalid_client", "unknown client"));
    };
    if app.client_secret != secret {
        return Err(Answer::oauth_error(401, "invalid_client", "bad client credentials"));
    }
    let grants: &[&str] = match provider {
        "yespo" | "reteno" => &["authorization_code", "refresh_token"],
        "yotpo" => &["authorization_code"],
        _ => &["authorization_code", "refresh_token", "client_credentials"],
    };
    if !grants.contains(&grant) {
        return Err(Answer::oauth_error(400, "unsupported_grant_type", "this provider does not support that grant"));
    }
    let t = st.now();
    // The new token, whether the answer carries its refresh token, and the token it replaces.
    let (mut tok, with_refresh, replaced) = match grant {
        "authorization_code" => (code_grant(st, provider, &client_id, req, issue.early, t)?, true, None),
        "refresh_token" => {
            let (tok, rotate, old) = refresh_grant(st, provider, &client_id, req, issue.early, t)?;
            (tok, rotate, Some(old))
        }
        _ => {
            let family = st.new_family();
            let mut tok = new_token(provider, &client_id, family, issue.early, t);
            tok.refresh = None;
            tok.refresh_expires = None;
            (tok, false, None)
        }
    };
    if issue.no_refresh {
        tok.refresh = None;
        tok.refresh_expires = None;
    }
    if let Some(old) = replaced {
        if let Some(used) = old.refresh.clone().filter(|r| tok.refresh.as_ref() != Some(r)) {
            st.retire(used, &old);
        }
    }
    Ok(issue_token(st, tok, with_refresh))
}

/// `grant_type=authorization_code`: the code once, for its client, within 10 minutes, with its
/// redirect URI and its PKCE verifier.
fn code_grant(
    st: &mut State,
    provider: &str,
    client_id: &str,
    req: &Req,
    early: Option<u64>,
    t: u64,
) -> Result<Token, Answer> {
    let Some(code_value) = req.f("code") else {
        return Err(Answer::oauth_error(400, "invalid_request", "code is required"));
    };
    // A code works once (RFC 6749 §4.1.2), for its client, within 10 minutes.
    let Some(code) = st.codes.remove(code_value) else {
        return Err(Answer::oauth_error(400, "invalid_grant", "unknown or used code"));
    };
    if code.provider != provider || code.client_id != client_id || t > code.issued + CODE_MAX_AGE_SECS {
        return Err(Answer::oauth_error(400, "invalid_grant", "code not valid for this client"));
    }
    if req.f("redirect_uri") != Some(code.redirect_uri.as_str()) {
        return Err(Answer::oauth_error(400, "invalid_grant", "redirect_uri does not match the authorization request"));
    }
    // RFC 7636 §4.6: a challenge that was sent is verified, strict or not.
    match (&code.challenge, req.f("code_verifier")) {
        (Some(_), None) => {
            return Err(Answer::oauth_error(400, "invalid_grant", "code_verifier is required (PKCE)"));
        }
        (Some(ch), Some(v)) if &scopegate_core::pkce::s256_challenge(&v.into()) != ch => {
            return Err(Answer::oauth_error(400, "invalid_grant", "PKCE verification failed"));
        }
        // RFC 9700 §2.1.1: a verifier for a code requested without a challenge is refused
        // (a PKCE downgrade), in strict mode.
        (None, Some(_)) if st.strict => {
            return Err(Answer::oauth_error(
                400,
                "invalid_grant",
                "code_verifier sent, but the authorization request had no code_challenge",
            ));
        }
        _ => {}
    }
    if provider == "yotpo" {
        yotpo::replace_store_token(st, client_id, code.app_key.as_deref());
    }
    let family = st.new_family();
    Ok(Token {
        code: matches!(provider, "yespo" | "reteno").then(|| code_value.to_owned()),
        redirect_uri: Some(code.redirect_uri),
        app_key: code.app_key,
        company: code.company,
        ..new_token(provider, client_id, family, early, t)
    })
}

/// `grant_type=refresh_token`: a live refresh token of this client; in strict mode, a
/// rotated-out one revokes its grant. Returns the new token, whether its refresh token is a new
/// one (rotation), and the token it replaces.
fn refresh_grant(
    st: &mut State,
    provider: &str,
    client_id: &str,
    req: &Req,
    early: Option<u64>,
    t: u64,
) -> Result<(Token, bool, Token), Answer> {
    let Some(rt) = req.f("refresh_token") else {
        return Err(Answer::oauth_error(400, "invalid_request", "refresh_token is required"));
    };
    let Some(i) = st
        .tokens
        .iter()
        .position(|x| x.provider == provider && x.client_id == client_id && x.refresh.as_deref() == Some(rt))
    else {
        let reused = st.retired.get(rt).filter(|r| r.provider == provider && r.client_id == client_id);
        if let (true, Some(family)) = (st.strict, reused.map(|r| r.family)) {
            // RFC 9700 §4.14.2: a rotated-out refresh token came back; one of the two holders
            // is an attacker, and the server cannot tell which: the whole grant is revoked.
            st.revoke_family(family);
            st.count(provider).reuse_detected += 1;
            return Err(Answer::oauth_error(400, "invalid_grant", REUSE_DETECTED));
        }
        return Err(Answer::oauth_error(400, "invalid_grant", "unknown, used or revoked refresh token"));
    };
    let old = st.tokens[i].clone();
    if old.refresh_expires.is_some_and(|e| t >= e) {
        st.tokens.remove(i);
        return Err(Answer::oauth_error(400, "invalid_grant", "refresh token expired"));
    }
    if matches!(provider, "yespo" | "reteno") {
        uaa::check_refresh(req, &old)?;
    }
    let rotate = provider != "yuvo" || yuvo::rotates(st);
    st.tokens.remove(i);
    let mut tok = Token {
        code: old.code.clone(),
        redirect_uri: old.redirect_uri.clone(),
        app_key: old.app_key.clone(),
        company: old.company.clone(),
        ..new_token(provider, client_id, old.family, early, t)
    };
    if !rotate {
        tok.refresh.clone_from(&old.refresh);
        tok.refresh_expires = old.refresh_expires;
    }
    Ok((tok, rotate, old))
}

/// A new token of `provider` in grant `family`, its lifetimes the provider's.
fn new_token(provider: &str, client_id: &str, family: u64, early: Option<u64>, t: u64) -> Token {
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
        code: None,
        redirect_uri: None,
        app_key: None,
        company: None,
        family,
    }
}

/// Keeps `tok` and answers it (with its refresh token when `with_refresh`).
fn issue_token(st: &mut State, tok: Token, with_refresh: bool) -> Answer {
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
