//! Consent: automatic, or a page with Approve and Deny buttons; a code on approval,
//! `access_denied` on refusal.

use crate::apps::{SANDBOX_COMPANY, SANDBOX_STORE};
use crate::http::{Answer, Req, escape, with_params};
use crate::knobs::Consent;
use crate::random::random;
use crate::state::{Code, Pending, Shared, State};

/// What happens to an authorization request, by the consent mode.
pub(crate) fn decide(st: &mut State, pending: Pending) -> Answer {
    match st.consent {
        Consent::AutoApprove => approve(st, pending, None),
        Consent::AutoDeny => deny(st, pending),
        Consent::Page => {
            let id = random(16);
            let store_field = if pending.provider == "yotpo" {
                format!(
                    "<p><label>Store (app_key): <input name=\"app_key\" value=\"{}\"></label></p>",
                    escape(SANDBOX_STORE)
                )
            } else {
                String::new()
            };
            let text = format!(
                "<p>The application <b>{client}</b> asks for access to your sandbox {provider} account.</p>\
                 <form method=\"post\" action=\"/{provider}/consent\">\
                 <input type=\"hidden\" name=\"request\" value=\"{id}\">{store_field}\
                 <button name=\"decision\" value=\"approve\">Approve</button> \
                 <button name=\"decision\" value=\"deny\">Deny</button></form>",
                client = escape(&pending.client_id),
                provider = escape(&pending.provider),
            );
            st.pending.insert(id, pending);
            Answer::html(200, "Authorize application (sandbox)", &text)
        }
    }
}

/// `POST /{provider}/consent`: the consent page's answer.
pub(crate) fn consent(shared: &Shared, req: &Req) -> Answer {
    let mut st = shared.lock();
    let Some(pending) = req.f("request").and_then(|id| st.pending.remove(id)) else {
        return Answer::html(400, "Unknown request", "<p>This consent request is unknown or was already answered.</p>");
    };
    match req.f("decision") {
        Some("approve") => {
            let app_key = req.f("app_key").filter(|k| !k.is_empty()).map(str::to_owned);
            approve(&mut st, pending, app_key)
        }
        _ => deny(&mut st, pending),
    }
}

/// Consent given: a code, and the redirect that carries it.
fn approve(st: &mut State, p: Pending, app_key: Option<String>) -> Answer {
    st.count(&p.provider).approved += 1;
    let code = random(24);
    let app_key = (p.provider == "yotpo").then(|| app_key.unwrap_or_else(|| SANDBOX_STORE.to_owned()));
    let mut params = vec![("code", code.clone())];
    if let Some(k) = &app_key {
        params.push(("app_key", k.clone()));
    }
    st.codes.insert(
        code,
        Code {
            provider: p.provider.clone(),
            client_id: p.client_id,
            redirect_uri: p.redirect_uri.clone(),
            app_key,
            company: (p.provider == "yuvo").then(|| SANDBOX_COMPANY.to_owned()),
            issued: st.now(),
            challenge: p.challenge,
        },
    );
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Answer::redirect(with_params(&p.redirect_uri, &params, p.state.as_deref()))
}

/// Consent refused: `error=access_denied` (RFC 6749 §4.1.2.1).
fn deny(st: &mut State, p: Pending) -> Answer {
    st.count(&p.provider).denied += 1;
    Answer::redirect(with_params(
        &p.redirect_uri,
        &[("error", "access_denied"), ("error_description", "The user denied access")],
        p.state.as_deref(),
    ))
}
