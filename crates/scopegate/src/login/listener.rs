//! The loopback listener: many connections at once, none able to hold it.
//!
//! Sockets are non-blocking and polled in one loop, so a slow or idle connection (a browser's
//! preconnect, or somebody sending a byte every few seconds) never blocks the real callback. Each
//! connection has a deadline for its whole request head, the number of open connections is
//! capped, and accept errors (EMFILE) back off instead of spinning.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Largest request head read from a connection.
pub(super) const MAX_HEAD: usize = 8 * 1024;
/// Longest request line accepted.
const MAX_REQUEST_LINE: usize = 4 * 1024;
/// Most connections kept open at once; the oldest is dropped past it.
const MAX_CONNECTIONS: usize = 64;
/// Pause when nothing happened.
const IDLE_PAUSE: Duration = Duration::from_millis(5);
/// Longest pause after accept errors.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// A request head that arrived: the target of a well-formed `GET`, or `None` for anything else.
#[derive(Debug)]
pub(super) struct Arrival {
    pub(super) stream: TcpStream,
    pub(super) target: Option<String>,
}

#[derive(Debug)]
struct Connection {
    stream: TcpStream,
    head: Vec<u8>,
    since: Instant,
}

/// The listening sockets and the connections not yet answered.
#[derive(Debug)]
pub(super) struct Listener {
    sockets: Vec<TcpListener>,
    connections: Vec<Connection>,
    head_timeout: Duration,
    backoff: Duration,
}

impl Listener {
    pub(super) fn new(sockets: Vec<TcpListener>, head_timeout: Duration) -> std::io::Result<Listener> {
        for s in &sockets {
            s.set_nonblocking(true)?;
        }
        Ok(Listener { sockets, connections: Vec::new(), head_timeout, backoff: Duration::ZERO })
    }

    /// The next complete request head, waiting at most until `deadline`.
    pub(super) fn next(&mut self, deadline: Instant) -> Option<Arrival> {
        while Instant::now() < deadline {
            let mut progress = self.accept();
            let now = Instant::now();
            let mut i = 0;
            while i < self.connections.len() {
                match self.read(i, now) {
                    Step::Pending => i += 1,
                    Step::Progress => {
                        progress = true;
                        i += 1;
                    }
                    Step::Drop => {
                        self.connections.swap_remove(i);
                    }
                    Step::Complete => {
                        let c = self.connections.swap_remove(i);
                        let target = parse_head(&c.head);
                        let _ = c.stream.set_nonblocking(false);
                        let _ = c.stream.set_write_timeout(Some(Duration::from_secs(2)));
                        return Some(Arrival { stream: c.stream, target });
                    }
                    Step::TooLarge => {
                        let c = self.connections.swap_remove(i);
                        let _ = c.stream.set_nonblocking(false);
                        let _ = c.stream.set_write_timeout(Some(Duration::from_secs(2)));
                        return Some(Arrival { stream: c.stream, target: None });
                    }
                }
            }
            if !progress {
                std::thread::sleep(
                    IDLE_PAUSE.max(self.backoff).min(deadline.saturating_duration_since(Instant::now())),
                );
            }
        }
        None
    }

    /// Accepts what is waiting; whether anything was accepted.
    fn accept(&mut self) -> bool {
        let mut accepted = false;
        for s in &self.sockets {
            loop {
                match s.accept() {
                    Ok((stream, _)) => {
                        self.backoff = Duration::ZERO;
                        if stream.set_nonblocking(true).is_err() {
                            continue;
                        }
                        if self.connections.len() >= MAX_CONNECTIONS {
                            // The oldest is the likeliest to be idle or hostile.
                            self.connections.remove(0);
                        }
                        self.connections.push(Connection { stream, head: Vec::new(), since: Instant::now() });
                        accepted = true;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => {
                        // EMFILE and the like: back off instead of spinning.
                        self.backoff = (self.backoff * 2).clamp(Duration::from_millis(10), MAX_ACCEPT_BACKOFF);
                        break;
                    }
                }
            }
        }
        accepted
    }

    fn read(&mut self, i: usize, now: Instant) -> Step {
        let c = &mut self.connections[i];
        if now.duration_since(c.since) > self.head_timeout {
            return Step::Drop;
        }
        let mut buf = [0u8; 1024];
        let mut progress = false;
        loop {
            match c.stream.read(&mut buf) {
                Ok(0) => return Step::Drop,
                Ok(n) => {
                    progress = true;
                    c.head.extend_from_slice(&buf[..n]);
                    if head_end(&c.head).is_some() {
                        return Step::Complete;
                    }
                    if c.head.len() > MAX_HEAD {
                        return Step::TooLarge;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    return if progress { Step::Progress } else { Step::Pending };
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Step::Drop,
            }
        }
    }
}

enum Step {
    Pending,
    Progress,
    Drop,
    Complete,
    TooLarge,
}

fn head_end(head: &[u8]) -> Option<usize> {
    head.windows(4).position(|w| w == b"\r\n\r\n")
}

/// The target (path and query) of a well-formed `GET` request head; `None` for anything else:
/// another method, a malformed or oversized request line, a head without its end.
pub(super) fn parse_head(head: &[u8]) -> Option<String> {
    let end = head_end(head)?;
    let head = &head[..end];
    let line_end = head.iter().position(|&b| b == b'\r').unwrap_or(head.len());
    let line = &head[..line_end];
    if line.len() > MAX_REQUEST_LINE || head.get(line_end + 1).is_some_and(|&b| b != b'\n') {
        return None;
    }
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || method != "GET" || !matches!(version, "HTTP/1.1" | "HTTP/1.0") {
        return None;
    }
    if !target.starts_with('/') || target.bytes().any(|b| !(0x21..=0x7e).contains(&b)) {
        return None;
    }
    Some(target.to_owned())
}

/// Answers with a small HTML page and closes the connection.
pub(super) fn respond(mut stream: TcpStream, status: u16, title: &str, text: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn request_heads() {
        assert_eq!(
            parse_head(b"GET /cb?code=1&state=2 HTTP/1.1\r\nHost: x\r\n\r\n").as_deref(),
            Some("/cb?code=1&state=2")
        );
        for bad in [
            &b"POST /cb HTTP/1.1\r\n\r\n"[..],
            b"GET /cb HTTP/1.1\r\n",
            b"GET  /cb HTTP/1.1\r\n\r\n",
            b"GET cb HTTP/1.1\r\n\r\n",
            b"GET /c b HTTP/1.1\r\n\r\n",
            b"GET /cb HTTP/2\r\n\r\n",
            b"GET /cb HTTP/1.1 x\r\n\r\n",
            b"GET /\xff HTTP/1.1\r\n\r\n",
            b"\r\n\r\n",
        ] {
            assert_eq!(parse_head(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_REQUEST_LINE));
        assert_eq!(parse_head(long.as_bytes()), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
        /// Arbitrary bytes never panic the parser, and what it accepts is a clean GET target.
        #[test]
        fn arbitrary_heads_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), tail in any::<bool>()) {
            let mut head = bytes;
            if tail {
                head.extend_from_slice(b"\r\n\r\n");
            }
            if let Some(t) = parse_head(&head) {
                prop_assert!(t.starts_with('/'));
                prop_assert!(t.bytes().all(|b| (0x21..=0x7e).contains(&b)));
            }
        }

        #[test]
        fn get_lines_round_trip(target in "/[!-~]{0,100}") {
            let head = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            prop_assert_eq!(parse_head(head.as_bytes()), Some(target));
        }
    }
}
