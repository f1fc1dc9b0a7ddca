//! The router: every request, from a socket or from the in-process transport, is parsed here
//! and handed to the one handler that answers its path. No handler routes to another.

use scopegate_core::Provider;
use serde_json::json;

use crate::apps::PROVIDERS;
use crate::http::{Answer, Req};
use crate::state::Shared;
use crate::{authorize, consent, control, specs, token, uaa, yotpo, yuvo};

/// Largest request body read.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// A request as it arrives, before it is parsed: from a socket or from the in-process transport.
pub(crate) struct Incoming<'a> {
    pub(crate) method: &'a str,
    /// Path and query, as on the request line.
    pub(crate) target: &'a str,
    pub(crate) authorization: Option<String>,
    pub(crate) dpop: Option<String>,
    pub(crate) content_type: String,
    /// `None`: the body could not be read or is larger than the sandbox reads.
    pub(crate) body: Option<Vec<u8>>,
}

/// Answers one request: the one entry of the HTTP server and of the in-process transport.
pub(crate) fn respond(shared: &Shared, incoming: Incoming<'_>) -> Answer {
    let Some(body) = incoming.body.filter(|b| b.len() <= MAX_BODY) else {
        return Answer::oauth_error(413, "invalid_request", "body too large");
    };
    let (path, query) = incoming.target.split_once('?').unwrap_or((incoming.target, ""));
    let content_type = incoming.content_type;
    let form = if content_type.starts_with("application/x-www-form-urlencoded") {
        url::form_urlencoded::parse(&body).into_owned().collect()
    } else {
        Vec::new()
    };
    let req = Req {
        method: incoming.method.to_owned(),
        path: path.to_owned(),
        query: url::form_urlencoded::parse(query.as_bytes()).into_owned().collect(),
        form,
        json: if content_type.starts_with("application/json") { serde_json::from_slice(&body).ok() } else { None },
        authorization: incoming.authorization,
        dpop: incoming.dpop,
    };
    route(shared, &req)
}

/// Which handler answers a request.
fn route(shared: &Shared, req: &Req) -> Answer {
    let path = req.path.as_str();
    // The `/specs` server first: it answers its own paths (and its metadata and control paths)
    // and gives the others back. It receives its state and the consent mode, nothing more.
    let consent = shared.lock().consent;
    if let Some(answer) = specs::route(&shared.specs, consent, req) {
        return answer;
    }
    if (req.method.as_str(), path) == ("POST", "/_sandbox/yotpo/uninstall") {
        return yotpo::merchant_uninstall_request(shared, req);
    }
    if let Some(rest) = path.strip_prefix("/_sandbox/") {
        return control::control(shared, req, rest);
    }
    if path == "/" || path.is_empty() {
        return index(shared);
    }
    let Some((provider, rest)) = path[1..].split_once('/') else {
        return Answer::json(404, json!({"error": "not_found"}));
    };
    let Some(profile) = shared.profiles.get(provider) else {
        return Answer::json(404, json!({"error": "not_found", "message": format!("no provider `{provider}` here")}));
    };
    let rest = format!("/{rest}");
    let m = req.method.as_str();
    match (provider, m, rest.as_str()) {
        ("yespo" | "reteno", "GET", "/uaa/oauth/authorize") => authorize::authorize(shared, provider, req),
        ("yespo" | "reteno", "POST", "/uaa/oauth/token") => token::token(shared, provider, req),
        ("yuvo", "GET", "/oauth/authorize/") => authorize::authorize(shared, provider, req),
        ("yuvo", "POST", "/oauth/token/") => token::token(shared, provider, req),
        ("yotpo", "GET", p) if p.starts_with("/app/install/applications/") => {
            let client_id = &p["/app/install/applications/".len()..];
            yotpo::install(shared, client_id, req)
        }
        ("yotpo", "POST", "/oauth/token") => token::token(shared, provider, req),
        ("yotpo", "DELETE" | "POST", p) if app_key_of(p).is_some() => {
            let raw = app_key_of(p).unwrap_or_default();
            let app_key: String = url::form_urlencoded::parse(format!("k={}", raw.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            yotpo::remove_application(shared, &app_key, req)
        }
        // `/apps/...` that is not `/apps/{app_key}/uninstall` (no app key, or more segments).
        ("yotpo", _, p) if p.starts_with("/apps/") => Answer::json(404, json!({"error": "not_found"})),
        (_, "POST", "/consent") => consent::consent(shared, req),
        _ => api(shared, provider, profile, req, &rest),
    }
}

/// The `{app_key}` of `/apps/{app_key}/uninstall`, when there is one (not empty, one segment).
fn app_key_of(path: &str) -> Option<&str> {
    path.strip_prefix("/apps/")?.strip_suffix("/uninstall").filter(|k| !k.is_empty() && !k.contains('/'))
}

fn index(shared: &Shared) -> Answer {
    let b = &shared.base;
    let items: String = PROVIDERS.iter().map(|p| format!("<li><code>{b}/{p}/</code></li>")).collect();
    Answer::html(200, "scopegate sandbox", &format!("<p>Providers emulated here:</p><ul>{items}</ul>"))
}

/// An API call: 401 without a live token, else the provider's own API.
fn api(shared: &Shared, provider: &str, profile: &Provider, req: &Req, rest: &str) -> Answer {
    let mut st = shared.lock();
    st.count(provider).api_calls += 1;
    let Some(tok) = st.live_token(provider, req.bearer()).cloned() else {
        st.count(provider).api_401 += 1;
        return Answer::json(401, json!({"error": "unauthorized", "message": "missing, expired or revoked token"}));
    };
    match (provider, req.method.as_str(), rest) {
        ("yotpo", "GET", "/api/store") => yotpo::store(&tok),
        ("yuvo", "GET", "/companies") => yuvo::companies(&tok),
        ("yespo" | "reteno", _, _) => uaa::api(&mut st, provider, profile, req, &tok, rest),
        _ => Answer::json(404, json!({"error": "not_found"})),
    }
}
