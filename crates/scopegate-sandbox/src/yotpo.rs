//! Yotpo (`../shared/seeds/002_*`): the install link, one never-expiring token per store, the
//! remove application endpoint, the merchant-side uninstall and its webhook, `GET /api/store`.

use serde_json::json;

use crate::consent::decide;
use crate::error::SandboxError;
use crate::http::{Answer, Req};
use crate::loopback::post_loopback;
use crate::state::{Pending, Shared, State, Token};

/// The install link (path form: a URL fragment never reaches a server): consent, then the app's
/// registered redirect URI.
pub(crate) fn install(shared: &Shared, client_id: &str, req: &Req) -> Answer {
    let mut st = shared.lock();
    st.count("yotpo").authorize += 1;
    let Some(app) = st.find_app("yotpo", client_id).cloned() else {
        return Answer::html(404, "Unknown application", "<p>No Yotpo app has this id.</p>");
    };
    let Some(redirect_uri) = app.redirect_uri.clone() else {
        return Answer::html(
            400,
            "No redirect URL registered",
            "<p>Register the app's redirect URL with the sandbox first (POST /_sandbox/register).</p>",
        );
    };
    let pending = Pending {
        provider: "yotpo".into(),
        client_id: client_id.to_owned(),
        redirect_uri,
        state: req.q("state").map(str::to_owned),
        challenge: None,
    };
    decide(&mut st, pending)
}

/// One token per store: a new install replaces the old token.
pub(crate) fn replace_store_token(st: &mut State, client_id: &str, app_key: Option<&str>) {
    st.tokens.retain(|x| !(x.provider == "yotpo" && x.client_id == client_id && x.app_key.as_deref() == app_key));
}

/// `GET /api/store`.
pub(crate) fn store(tok: &Token) -> Answer {
    Answer::json(200, json!({"store": {"app_key": tok.app_key, "name": "Sandbox store"}}))
}

/// The remove application endpoint (`DELETE /apps/{app_key}/uninstall`, bearer token).
pub(crate) fn remove_application(shared: &Shared, app_key: &str, req: &Req) -> Answer {
    let mut st = shared.lock();
    st.count("yotpo").uninstalls += 1;
    let Some(tok) = st.live_token("yotpo", req.bearer()).cloned() else {
        return Answer::json(401, json!({"error": "unauthorized"}));
    };
    if tok.app_key.as_deref() != Some(app_key) {
        return Answer::json(403, json!({"error": "forbidden", "message": "the token belongs to another store"}));
    }
    st.tokens.retain(|x| x.access != tok.access);
    Answer::json(200, json!({"status": "uninstalled", "app_key": app_key}))
}

/// `POST /_sandbox/yotpo/uninstall?app_key=..`: [`merchant_uninstall`] for a script or a test in
/// another process.
pub(crate) fn merchant_uninstall_request(shared: &Shared, req: &Req) -> Answer {
    match req.q("app_key") {
        Some(k) => match merchant_uninstall(shared, k) {
            Ok(delivered) => Answer::json(200, json!({"uninstalled": k, "webhook_delivered": delivered})),
            Err(e) => Answer::json(404, json!({"error": e.to_string()})),
        },
        None => Answer::json(400, json!({"error": "expected ?app_key="})),
    }
}

/// The merchant disconnects the app in the Yotpo admin: the store's token is deleted and the
/// uninstall webhook POSTed when one is set. Returns whether it was delivered.
pub(crate) fn merchant_uninstall(shared: &Shared, app_key: &str) -> Result<bool, SandboxError> {
    let webhook = {
        let mut st = shared.lock();
        let before = st.tokens.len();
        st.tokens.retain(|x| !(x.provider == "yotpo" && x.app_key.as_deref() == Some(app_key)));
        if st.tokens.len() == before {
            return Err(SandboxError::NotInstalled(app_key.to_owned()));
        }
        st.webhook.clone()
    };
    let Some(url) = webhook else { return Ok(false) };
    let body = json!({"event": "app_uninstalled", "app_key": app_key}).to_string();
    let delivered = post_loopback(&url, &body).is_ok_and(|s| (200..300).contains(&s));
    if delivered {
        shared.lock().count("yotpo").webhooks += 1;
    }
    Ok(delivered)
}
