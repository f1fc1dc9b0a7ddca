//! The sandbox's HTTP/1.1 socket: a listener on 127.0.0.1, one thread per connection, one
//! request per connection (every answer says `Connection: close`).
//!
//! Written here rather than taken from a crate: the server the sandbox used before (tiny_http
//! 0.12) could leave a new connection unserved while others were kept alive (its thread pool
//! queues a connection for a thread that another connection already took), and an async client
//! with a connection pool (reqwest, httpx) then waited for its total timeout. A testing tool
//! must not hang its user's tests; one request per connection, each on its own thread, cannot.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::http::Answer;
use crate::server::{Incoming, MAX_BODY};

/// Longest request head (request line and headers) read.
const MAX_HEAD: usize = 64 * 1024;

/// How long a connection may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A listening socket and its accept thread.
pub(crate) struct Socket {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Socket {
    /// Serves `listener` (bound by the caller), answering each request with `answer`.
    pub(crate) fn start(
        listener: TcpListener,
        answer: impl Fn(Incoming<'_>) -> Answer + Send + Sync + 'static,
    ) -> std::io::Result<Socket> {
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let answer = Arc::new(answer);
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let answer = Arc::clone(&answer);
                // One thread per connection: a slow answer (fault) holds up nobody else.
                std::thread::spawn(move || serve(conn, &*answer));
            }
        });
        Ok(Socket { addr, stop, thread: Some(thread) })
    }

    /// Stops accepting and closes the port (requests being answered finish on their threads).
    pub(crate) fn stop(&mut self) {
        let Some(thread) = self.thread.take() else { return };
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop; it sees the flag and drops the listener.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        let _ = thread.join();
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A request head, read.
struct Head {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Reads the request line and headers; `None` when they are not HTTP/1.x or too long.
fn read_head(reader: &mut impl BufRead) -> Option<Head> {
    let mut read = 0usize;
    let mut line = |reader: &mut dyn BufRead| -> Option<String> {
        let mut buf = Vec::new();
        let n = reader.take((MAX_HEAD - read) as u64).read_until(b'\n', &mut buf).ok()?;
        read += n;
        if n == 0 || !buf.ends_with(b"\n") {
            return None;
        }
        let text = String::from_utf8(buf).ok()?;
        Some(text.trim_end_matches(['\r', '\n']).to_owned())
    };
    let request_line = line(reader)?;
    let mut parts = request_line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if !version.starts_with("HTTP/1.") || parts.next().is_some() || method.is_empty() {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let l = line(reader)?;
        if l.is_empty() {
            break;
        }
        let (name, value) = l.split_once(':')?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    Some(Head { method: method.to_owned(), target: target.to_owned(), headers })
}

/// Reads one request from `conn`, answers it, closes the connection.
fn serve(conn: TcpStream, answer: &(dyn Fn(Incoming<'_>) -> Answer + Send + Sync)) {
    let _ = conn.set_read_timeout(Some(READ_TIMEOUT));
    let Ok(mut out) = conn.try_clone() else { return };
    let mut reader = BufReader::new(conn);
    let Some(head) = read_head(&mut reader) else {
        let _ = write(&mut out, &Answer::oauth_error(400, "invalid_request", "not an HTTP/1.1 request"));
        return;
    };
    if head.header("transfer-encoding").is_some() {
        let _ = write(&mut out, &Answer::oauth_error(411, "invalid_request", "send a Content-Length"));
        return;
    }
    let length = match head.header("content-length").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            let _ = write(&mut out, &Answer::oauth_error(400, "invalid_request", "bad Content-Length"));
            return;
        }
    };
    if length > 0 && head.header("expect").is_some_and(|e| e.eq_ignore_ascii_case("100-continue")) {
        let _ = out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    // A body over the limit is not read (the router answers 413 for `None`).
    let body = (length <= MAX_BODY)
        .then(|| {
            let mut body = vec![0u8; length];
            reader.read_exact(&mut body).ok().map(|_| body)
        })
        .flatten();
    let incoming = Incoming {
        method: &head.method,
        target: &head.target,
        authorization: head.header("authorization").map(str::to_owned),
        dpop: head.header("dpop").map(str::to_owned),
        content_type: head.header("content-type").unwrap_or_default().to_owned(),
        body,
    };
    let a = answer(incoming);
    if let Some(d) = a.delay {
        std::thread::sleep(d);
    }
    let _ = write(&mut out, &a);
    let _ = out.flush();
    let _ = out.shutdown(std::net::Shutdown::Write);
    // Drain what the client still sends (an unread body) so the close is not a reset.
    let mut sink = [0u8; 4096];
    let _ = reader.get_mut().set_read_timeout(Some(Duration::from_millis(200)));
    while matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
}

/// Writes `a` as an HTTP/1.1 response that closes the connection.
fn write(out: &mut TcpStream, a: &Answer) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", a.status, reason(a.status));
    for (name, value) in a.headers() {
        // A value with a line break would split the head (none of ours has one).
        if !value.contains(['\r', '\n']) {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", a.body.len()));
    out.write_all(head.as_bytes())?;
    out.write_all(a.body.as_bytes())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        302 => "Found",
        303 => "See Other",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "",
    }
}
