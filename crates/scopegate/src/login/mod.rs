//! Loopback login (RFC 8252 §7.3, §8.3): no pasting of codes.
//!
//! Listens on the loopback address of the redirect URI, sends the user's browser to the
//! authorization URL, and waits for the callback. Only a request on the redirect path that
//! carries the login's `state` in a well-formed query may end the login, with a success or with
//! the provider's error; every other request (another path or method, a missing or wrong state,
//! duplicated or malformed parameters, an oversized head) is answered 400 and ignored, so nobody
//! else on the machine can abort it. Connections are served side by side, each with a deadline
//! for its request head (the `listener` module). A `localhost` redirect URI is served on both
//! 127.0.0.1 and `[::1]`, so no other process can take the other one. The port is closed at the end.

mod browser;
mod listener;

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use scopegate_core::TokenSet;
use scopegate_core::{AuthorizationStart, CallbackError, ClientConfig};
use scopegate_core::{Error, Provider, UsageError};
use url::Url;

use crate::client::Client;
use listener::{Listener, respond};

/// How the authorization URL reaches the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Browser {
    /// Try the system browser (`xdg-open`, `open`, `rundll32 url.dll` on Windows, never through
    /// a shell); print the URL when that fails.
    Open,
    /// Only hand the URL to the `show` callback.
    PrintOnly,
    /// Run this program with the URL as its one argument (no shell).
    Command(PathBuf),
}

/// Settings of a loopback login.
#[derive(Clone, Debug)]
pub struct LoginOptions {
    /// Give up after this long (default 5 minutes).
    pub timeout: Duration,
    /// How to show the URL.
    pub browser: Browser,
    /// How long one connection may take to send its request head (default 10 s); slower ones
    /// are dropped, and never hold up the others.
    pub head_timeout: Duration,
}

impl Default for LoginOptions {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(300), browser: Browser::Open, head_timeout: Duration::from_secs(10) }
    }
}

/// Where to listen, from the redirect URI: one address, or both loopback addresses for
/// `localhost`.
fn listen_addrs(redirect: &Url, provider: &Provider) -> Result<Vec<SocketAddr>, Error> {
    let not = |reason: &str| Error::from(UsageError::LoopbackRedirectUri { reason: reason.to_owned() });
    if redirect.scheme() != "http" {
        return Err(not("the scheme must be http (RFC 8252 §7.3)"));
    }
    let port = redirect.port().ok_or_else(|| not("the redirect uri must name a port"))?;
    if port == 0 && !provider.loopback_any_port() {
        return Err(UsageError::AnyPortNotAllowed { provider: provider.id().to_owned() }.into());
    }
    match redirect.host() {
        Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(vec![SocketAddr::from((ip, port))]),
        Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(vec![SocketAddr::from((ip, port))]),
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => {
            Ok(vec![SocketAddr::from((Ipv4Addr::LOCALHOST, port)), SocketAddr::from((Ipv6Addr::LOCALHOST, port))])
        }
        _ => Err(not("the host must be 127.0.0.1, [::1] or localhost")),
    }
}

/// Binds every address on one port. For `localhost` both loopback addresses are bound; a
/// machine without IPv6 has no [::1] for anybody else to take either, so only an address that is
/// taken (by another process) is an error.
fn bind(addrs: &[SocketAddr]) -> Result<Vec<TcpListener>, Error> {
    let listen_err =
        |addr: SocketAddr, e: std::io::Error| Error::Listen { addr: addr.to_string(), reason: e.to_string() };
    let first = TcpListener::bind(addrs[0]).map_err(|e| listen_err(addrs[0], e))?;
    let port = first.local_addr().map_err(|e| listen_err(addrs[0], e))?.port();
    let mut sockets = vec![first];
    for addr in &addrs[1..] {
        let addr = SocketAddr::new(addr.ip(), port);
        match TcpListener::bind(addr) {
            Ok(s) => sockets.push(s),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => return Err(listen_err(addr, e)),
            Err(_) => {} // no IPv6 on this machine
        }
    }
    Ok(sockets)
}

/// Runs a loopback login for `client`: `show` receives the authorization URL (to print it, or
/// to say that a browser was opened), and the client's registration, whose redirect URI decides
/// where to listen. Returns the stored token set.
pub fn loopback_login(
    client: &Client,
    options: &LoginOptions,
    mut show: impl FnMut(&str, bool),
) -> Result<TokenSet, Error> {
    let config: &ClientConfig = client.config();
    let redirect = config
        .redirect_uri()
        .ok_or_else(|| Error::from(UsageError::LoopbackRedirectUri { reason: "no redirect uri set".into() }))?;
    let redirect =
        Url::parse(redirect).map_err(|e| Error::from(UsageError::LoopbackRedirectUri { reason: e.to_string() }))?;
    let addrs = listen_addrs(&redirect, client.provider())?;
    let sockets = bind(&addrs)?;
    let bound =
        sockets[0].local_addr().map_err(|e| Error::Listen { addr: addrs[0].to_string(), reason: e.to_string() })?;
    // With port 0, the real port goes into the redirect URI sent to the provider.
    let login_client;
    let client = if redirect.port() == Some(0) {
        let mut actual = redirect.clone();
        let _ = actual.set_port(Some(bound.port()));
        login_client = client.with_redirect_uri(actual.as_str())?;
        &login_client
    } else {
        client
    };
    let AuthorizationStart { url, mut pending } = client.authorization_request()?;
    let opened = match &options.browser {
        Browser::Open => browser::open_system(&url),
        Browser::PrintOnly => false,
        Browser::Command(program) => browser::launch(program.clone(), Vec::new(), &url),
    };
    show(&url, opened);

    let mut listener = Listener::new(sockets, options.head_timeout)
        .map_err(|e| Error::Listen { addr: bound.to_string(), reason: e.to_string() })?;
    let deadline = Instant::now() + options.timeout;
    let path = redirect.path().to_owned();
    const NOT_OURS: &str = "This address only accepts the callback of the login in progress.";
    loop {
        let Some(arrival) = listener.next(deadline) else {
            return Err(Error::LoginTimeout { waited_secs: options.timeout.as_secs() });
        };
        let stream = arrival.stream;
        let Some(target) = arrival.target else {
            respond(stream, 400, "Bad request", NOT_OURS);
            continue;
        };
        let (req_path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
        if req_path != path {
            respond(stream, 400, "Bad request", NOT_OURS);
            continue;
        }
        if !pending.is_own_callback(query) {
            // Not our login (or forged, or malformed): keep waiting for the real one.
            respond(stream, 400, "Unexpected request", "This callback does not belong to the login in progress.");
            continue;
        }
        match client.exchange(&mut pending, query) {
            Ok(tokens) => {
                respond(
                    stream,
                    200,
                    "Signed in",
                    "You are signed in. You can close this window and return to the application.",
                );
                return Ok(tokens);
            }
            Err(Error::Callback(CallbackError::Denied(e))) => {
                let text = format!("The provider refused the authorization: {}", html_escape(&e.to_string()));
                respond(stream, 200, "Authorization refused", &text);
                return Err(Error::Callback(CallbackError::Denied(e)));
            }
            Err(e) => {
                respond(stream, 500, "Sign-in failed", &html_escape(&e.to_string()));
                return Err(e);
            }
        }
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
