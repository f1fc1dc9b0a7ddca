//! A minimal HTTP/1.1 client for loopback URLs: the sandbox talks to nothing else.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use url::Url;

/// A minimal HTTP/1.1 POST to a loopback URL (the sandbox talks to nothing else).
pub(crate) fn post_loopback(url: &Url, body: &str) -> std::io::Result<u16> {
    let host = url.host_str().unwrap_or("");
    if url.scheme() != "http" || !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        return Err(std::io::Error::other("webhook url must be http on loopback"));
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
    let mut head = [0u8; 12];
    s.read_exact(&mut head)?;
    std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))
}
