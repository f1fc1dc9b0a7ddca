//! Yespo and Reteno (the same UAA server on two hosts, `../shared/seeds/000_*` and `001_*`):
//! token lifetimes, the refresh request the document asks for, and the API whose groups the
//! app's registered rights open.

use scopegate_core::Decision;
use scopegate_core::Method;
use scopegate_core::Provider;
use serde_json::{Value, json};

use crate::http::{Answer, Req};
use crate::state::{State, Token};

/// "The default is 172,800 seconds for an Access Token".
pub(crate) const ACCESS_SECS: u64 = 172_800;
/// "... and 2,592,000 seconds for a Refresh Token."
pub(crate) const REFRESH_SECS: u64 = 2_592_000;

/// The refresh request "must contain ... a code you received during authorization", and its
/// request format carries the `redirect_uri` too.
pub(crate) fn check_refresh(req: &Req, old: &Token) -> Result<(), Answer> {
    if req.f("code") != old.code.as_deref() {
        return Err(Answer::oauth_error(400, "invalid_request", "code must be the one received during authorization"));
    }
    if req.f("redirect_uri") != old.redirect_uri.as_deref() {
        return Err(Answer::oauth_error(400, "invalid_request", "redirect_uri must be the callback url"));
    }
    Ok(())
}

/// The documented token answer: `scope: UseRestApi` and `expires_in`.
pub(crate) fn answer_fields(body: &mut Value) {
    body["scope"] = json!("UseRestApi");
    body["expires_in"] = json!(ACCESS_SECS);
}

/// An API call with a live token `tok`: the version call, else the profile's own matrix decides
/// with the app's registered rights.
pub(crate) fn api(st: &mut State, provider: &str, profile: &Provider, req: &Req, tok: &Token, rest: &str) -> Answer {
    if (req.method.as_str(), rest) == ("GET", "/api/v2/version") {
        return Answer::json(200, json!({"version": "sandbox-1.0", "protocolVersion": "2"}));
    }
    let app = st.find_app(provider, &tok.client_id).cloned();
    let rights = app.and_then(|a| profile.rights_from_ids(&a.rights).ok()).unwrap_or_default();
    let Ok(method) = req.method.parse::<Method>() else {
        return Answer::json(405, json!({"error": "method_not_allowed"}));
    };
    let full = format!("/{provider}{rest}");
    match profile.matrix().check_method(rights, method, &full) {
        Decision::Allowed(ep) => {
            Answer::json(200, json!({"ok": true, "method": method.as_str(), "endpoint": ep.template}))
        }
        Decision::Denied { endpoint, .. } => {
            st.count(provider).api_403 += 1;
            Answer::json(
                403,
                json!({"error": "forbidden", "message": format!("the app's access rights do not open {} {}", method.as_str(), endpoint.template)}),
            )
        }
        Decision::UnknownEndpoint => Answer::json(404, json!({"error": "not_found"})),
        Decision::Rejected(r) => Answer::json(400, json!({"error": "bad_request", "message": r.to_string()})),
    }
}
