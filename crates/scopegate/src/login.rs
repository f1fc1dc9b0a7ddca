//! Loopback login (RFC 8252 §7.3, §8.3): no pasting of codes.
//!
//! Listens on the loopback address of the redirect URI, sends the user's browser to the
//! authorization URL, accepts exactly one callback on the redirect path with the right `state`,
//! answers the browser with a small page, exchanges the code and closes the port.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use scopegate_core::TokenSet;
use scopegate_core::{AuthorizationStart, CallbackError, ClientConfig};
use scopegate_core::{Blame, ErrorKind};
use url::Url;

use crate::client::{Client, ClientError};

/// Largest request head read from the browser.
const MAX_HEAD: usize = 8 * 1024;

/// How the authorization URL reaches the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Browser {
    /// Try the system browser (`xdg-open`, `open`, `start`); print the URL when that fails.
    Open,
    /// Only hand the URL to the `show` callback.
    PrintOnly,
}

/// Settings of a loopback login.
#[derive(Clone, Debug)]
pub struct LoginOptions {
    /// Give up after this long (default 5 minutes).
    pub timeout: Duration,
    /// How to show the URL.
    pub browser: Browser,
}

impl Default for LoginOptions {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(300), browser: Browser::Open }
    }
}

/// A loopback login failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// The redirect URI is not a loopback `http` URI.
    #[error("loopback login needs a redirect uri like http://127.0.0.1:8081/callback: {reason}")]
    NotLoopback {
        /// Why.
        reason: String,
    },
    /// The port could not be opened.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// Address.
        addr: String,
        /// The system's reason.
        reason: String,
    },
    /// No valid callback arrived in time.
    #[error("no authorization callback arrived within {secs} s; run the login again")]
    Timeout {
        /// The timeout.
        secs: u64,
    },
    /// The provider refused, or the exchange failed.
    #[error(transparent)]
    Client(#[from] ClientError),
}

impl LoginError {
    /// The kind, in the core's numbering: [`ErrorKind::Config`] for a redirect URI that cannot
    /// be listened on, [`ErrorKind::Listen`], [`ErrorKind::LoginTimeout`], or the client error's.
    pub fn kind(&self) -> ErrorKind {
        match self {
            LoginError::NotLoopback { .. } => ErrorKind::Config,
            LoginError::Listen { .. } => ErrorKind::Listen,
            LoginError::Timeout { .. } => ErrorKind::LoginTimeout,
            LoginError::Client(e) => e.kind(),
        }
    }

    /// Who is to blame.
    pub fn blame(&self) -> Blame {
        match self {
            LoginError::Client(e) => e.blame(),
            other => other.kind().default_blame(),
        }
    }
}

/// Where to listen, from the redirect URI.
fn listen_addr(redirect: &Url, any_port: bool) -> Result<SocketAddr, LoginError> {
    let not = |reason: &str| LoginError::NotLoopback { reason: reason.to_owned() };
    if redirect.scheme() != "http" {
        return Err(not("the scheme must be http (RFC 8252 §7.3)"));
    }
    let port = redirect.port().ok_or_else(|| not("the redirect uri must name a port"))?;
    if port == 0 && !any_port {
        return Err(not("port 0 (any port) needs `loopback_any_port = true` in the profile's [authorization]"));
    }
    match redirect.host() {
        Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(SocketAddr::from((ip, port))),
        Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(SocketAddr::from((ip, port))),
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => {
            Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        }
        _ => Err(not("the host must be 127.0.0.1, [::1] or localhost")),
    }
}

/// Runs a loopback login for `client`: `show` receives the authorization URL (to print it, or
/// to say that a browser was opened), and `config` is the client's registration, whose redirect
/// URI decides where to listen. Returns the stored token set.
pub fn loopback_login(
    client: &Client,
    options: &LoginOptions,
    mut show: impl FnMut(&str, bool),
) -> Result<TokenSet, LoginError> {
    let config: &ClientConfig = client.config();
    let redirect =
        config.redirect_uri().ok_or_else(|| LoginError::NotLoopback { reason: "no redirect uri set".into() })?;
    let redirect = Url::parse(redirect).map_err(|e| LoginError::NotLoopback { reason: e.to_string() })?;
    let addr = listen_addr(&redirect, client.provider().loopback_any_port())?;
    let listener =
        TcpListener::bind(addr).map_err(|e| LoginError::Listen { addr: addr.to_string(), reason: e.to_string() })?;
    let bound =
        listener.local_addr().map_err(|e| LoginError::Listen { addr: addr.to_string(), reason: e.to_string() })?;
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
    let opened = options.browser == Browser::Open && open_browser(&url);
    show(&url, opened);

    listener
        .set_nonblocking(true)
        .map_err(|e| LoginError::Listen { addr: bound.to_string(), reason: e.to_string() })?;
    let deadline = Instant::now() + options.timeout;
    let path = redirect.path().to_owned();
    loop {
        if Instant::now() >= deadline {
            return Err(LoginError::Timeout { secs: options.timeout.as_secs() });
        }
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            Err(_) => continue,
        };
        let Some(target) = read_request_target(&stream, deadline) else {
            respond(stream, 400, "Bad request", "This address only accepts the authorization callback.");
            continue;
        };
        let (req_path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
        if req_path != path {
            respond(stream, 404, "Not found", "This address only accepts the authorization callback.");
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
            Err(ClientError::Callback(CallbackError::StateMismatch | CallbackError::MissingState)) => {
                // Not our login (or forged): keep waiting for the real one.
                respond(stream, 400, "Unexpected request", "This callback does not belong to the login in progress.");
            }
            Err(ClientError::Callback(CallbackError::Denied(e))) => {
                let text = format!("The provider refused the authorization: {}", html_escape(&e.to_string()));
                respond(stream, 200, "Authorization refused", &text);
                return Err(ClientError::Callback(CallbackError::Denied(e)).into());
            }
            Err(e) => {
                respond(stream, 500, "Sign-in failed", &html_escape(&e.to_string()));
                return Err(e.into());
            }
        }
    }
}

/// Reads the request head and returns the target of a `GET` (path and query).
fn read_request_target(mut stream: &TcpStream, deadline: Instant) -> Option<String> {
    let _ = stream.set_nonblocking(false);
    let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
    let _ = stream.set_read_timeout(Some(left.min(Duration::from_secs(10))));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 || head.len() + n > MAX_HEAD {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end();
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    (method == "GET" && version.starts_with("HTTP/1.") && target.starts_with('/')).then(|| target.to_owned())
}

fn respond(mut stream: TcpStream, status: u16, title: &str, text: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Internal Server Error",
    };
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>{title}</h1><p>{text}</p></body></html>"
    );
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Tries to open the system browser; whether a launcher started.
fn open_browser(url: &str) -> bool {
    let candidates: &[(&str, &[&str])] = if cfg!(target_os = "macos") {
        &[("open", &[])]
    } else if cfg!(windows) {
        &[("cmd", &["/C", "start", ""])]
    } else {
        if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
            return false;
        }
        &[("xdg-open", &[])]
    };
    candidates.iter().any(|(cmd, args)| {
        std::process::Command::new(cmd)
            .args(*args)
            .arg(url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .is_ok()
    })
}
