//! The user's browser at a sandbox, for tests and demos: [`authorize_at`] (and
//! [`Sandbox::authorize`](crate::Sandbox::authorize)) gets the callback URL the sandbox
//! redirects to, for a web app's `exchange`; [`follow_as_browser`] goes on to the app's loopback
//! listener, for a `loopback_login`.

use scopegate::Transport as _;
use scopegate::UreqTransport;
use scopegate_core::{HttpRequest, Method};
use url::Url;

use crate::error::SandboxError;

/// What the user's browser gets at the sandbox running at `base` when it opens the
/// authorization URL `url` with consent given (the sandbox's default, [`Consent::AutoApprove`](crate::Consent::AutoApprove)):
/// the callback URL the sandbox redirects to (the app's redirect URI with `code` and `state`, or
/// with `error` when the sandbox is set to deny). Nothing is sent to the callback.
///
/// `url` must be one of that sandbox's URLs (same scheme, host and port, under its path):
/// [`SandboxError::Remote`] otherwise, and when the sandbox answers with anything but a
/// redirect (a consent page: [`Consent::Page`](crate::Consent::Page)).
pub fn authorize_at(base: &str, url: &str) -> Result<String, SandboxError> {
    let remote = |reason: String| SandboxError::Remote { base: base.to_owned(), reason };
    let base_url = Url::parse(base).map_err(|e| SandboxError::BadUrl(e.to_string()))?;
    let parsed = Url::parse(url).map_err(|e| remote(format!("not a url: {e}")))?;
    let under = parsed.origin() == base_url.origin()
        && parsed.path().starts_with(base_url.path().trim_end_matches('/'))
        && parsed.username().is_empty()
        && parsed.password().is_none();
    if !under {
        return Err(remote("the url is not one of this sandbox's".into()));
    }
    let answer =
        UreqTransport::default().send(&HttpRequest::new(Method::Get, parsed)).map_err(|e| remote(e.to_string()))?;
    match answer.header("location") {
        Some(location) if (300..400).contains(&answer.status()) => Ok(location.to_owned()),
        _ => Err(remote(format!("the authorization was not redirected (http {})", answer.status()))),
    }
}

/// What a browser does with an auto-approving sandbox for a loopback login: GET the
/// authorization URL, follow its redirect to the app's callback (the loopback listener).
/// Returns the callback's status. Call it from another thread than the one waiting in
/// [`loopback_login`](scopegate::loopback_login) (see the crate docs of `scopegate`).
pub fn follow_as_browser(url: &str) -> Result<u16, String> {
    let t = UreqTransport::default();
    let get = |u: &str| {
        let parsed = Url::parse(u).map_err(|e| e.to_string())?;
        t.send(&HttpRequest::new(Method::Get, parsed)).map_err(|e| e.to_string())
    };
    let first = get(url)?;
    let location = first.header("location").ok_or_else(|| format!("no redirect (http {})", first.status()))?.to_owned();
    Ok(get(&location)?.status())
}
