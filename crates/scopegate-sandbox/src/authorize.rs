//! The authorization endpoint of the providers whose authorization is a URL (Yespo, Reteno,
//! Yuvo): client and redirect URI checks, the response type, PKCE; then consent decides.

use url::Url;

use crate::apps::App;
use crate::consent::decide;
use crate::http::{Answer, Req, with_params};
use crate::state::{Pending, Shared};

/// `GET` of an authorization endpoint (Yespo, Reteno, Yuvo): RFC 6749 §4.1.1.
pub(crate) fn authorize(shared: &Shared, provider: &str, req: &Req) -> Answer {
    let mut st = shared.lock();
    st.count(provider).authorize += 1;
    let client_id = req.q("client_id").unwrap_or("");
    let Some(app) = st.find_app(provider, client_id).cloned() else {
        return Answer::html(400, "Unknown application", "<p>No application is registered with this client_id.</p>");
    };
    let Some(redirect_uri) = req.q("redirect_uri").or(app.redirect_uri.as_deref()).map(str::to_owned) else {
        return Answer::html(400, "Missing redirect_uri", "<p>The request has no redirect_uri.</p>");
    };
    if !redirect_allowed(&app, &redirect_uri) {
        // RFC 6749 §4.1.2.1: never redirect to an unverified URI.
        return Answer::html(400, "Redirect URI mismatch", "<p>The redirect_uri is not registered for this app.</p>");
    }
    let state = req.q("state").map(str::to_owned);
    if req.q("response_type") != Some("code") {
        return Answer::redirect(with_params(
            &redirect_uri,
            &[("error", "unsupported_response_type")],
            state.as_deref(),
        ));
    }
    // PKCE (RFC 7636): a challenge is remembered with the code and verified at the token
    // endpoint; S256 only; in strict mode it is required.
    let refuse = |description: &str| {
        Answer::redirect(with_params(
            &redirect_uri,
            &[("error", "invalid_request"), ("error_description", description)],
            state.as_deref(),
        ))
    };
    let challenge = match (req.q("code_challenge"), req.q("code_challenge_method")) {
        (Some(c), Some("S256")) => Some(c.to_owned()),
        (Some(_), _) => return refuse("only S256 is supported"),
        (None, _) if st.strict => return refuse("code_challenge is required (PKCE with S256)"),
        (None, _) => None,
    };
    let pending =
        Pending { provider: provider.to_owned(), client_id: client_id.to_owned(), redirect_uri, state, challenge };
    decide(&mut st, pending)
}

/// Whether `uri` may receive the answer: the registered one, else any loopback `http` URI.
fn redirect_allowed(app: &App, uri: &str) -> bool {
    match &app.redirect_uri {
        Some(r) => r == uri,
        None => Url::parse(uri)
            .is_ok_and(|u| u.scheme() == "http" && matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))),
    }
}
