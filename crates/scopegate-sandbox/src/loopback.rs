//! A minimal HTTP/1.1 client for loopback URLs: the sandbox talks to nothing else.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use url::Url;

/// The most of an answer [`post_loopback_read`] reads.
const MAX_ANSWER: u64 = 64 * 1024;

/// A minimal HTTP/1.1 POST of a JSON body to a loopback URL: its status code.
pub(crate) fn post_loopback(url: &Url, body: &str) -> std::io::Result<u16> {
    let mut s = send(url, body)?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head)?;
    status(&head)
}

/// [`post_loopback`], with the answer's body (read until the server closes, at most 64 KiB).
pub(crate) fn post_loopback_read(url: &Url, body: &str) -> std::io::Result<(u16, String)> {
    let s = send(url, body)?;
    let mut raw = Vec::new();
    s.take(MAX_ANSWER).read_to_end(&mut raw)?;
    let code = status(raw.get(..12).unwrap_or_default())?;
    let text = String::from_utf8_lossy(&raw);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((code, body))
}

/// Connects to `url` (http on loopback only) and writes the request (`Connection: close`).
fn send(url: &Url, body: &str) -> std::io::Result<TcpStream> {
    let host = url.host_str().unwrap_or("");
    if url.scheme() != "http" || !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        return Err(std::io::Error::other("the url must be http on loopback"));
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let mut s = TcpStream::connect((if host == "[::1]" { "::1" } else { host }, port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    write!(
        s,
        "POST {target} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    Ok(s)
}

/// The status code of `HTTP/1.1 200 ...`.
fn status(head: &[u8]) -> std::io::Result<u16> {
    head.get(9..12)
        .and_then(|c| std::str::from_utf8(c).ok())
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))
}
