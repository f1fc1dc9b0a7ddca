//! Opening the authorization URL in the user's browser, without a shell.
//!
//! The URL is passed as one argument to the platform's opener (`xdg-open`, `open`, or
//! `rundll32 url.dll,FileProtocolHandler` on Windows), never through `cmd /C start` or `sh -c`,
//! which would split it at `&` or run what follows a `|`. The opener starts with a cleared
//! environment plus the few variables a desktop session needs, so no variable holding the client
//! secret reaches the browser.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Environment variables the opener keeps (what finding the user's desktop and browser needs).
const KEPT_ENV: [&str; 14] = [
    "PATH",
    "HOME",
    "USER",
    "LANG",
    "LC_ALL",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_DIRS",
    "XDG_DATA_DIRS",
    "XDG_CURRENT_DESKTOP",
    "DBUS_SESSION_BUS_ADDRESS",
    "BROWSER",
    "SYSTEMROOT",
];

/// Whether the URL is one we hand to an opener: http(s), no spaces or control characters.
fn openable(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && !url.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// The platform's opener: program and the arguments before the URL.
fn system_opener() -> Option<(PathBuf, Vec<OsString>)> {
    if cfg!(target_os = "macos") {
        Some(("open".into(), vec![]))
    } else if cfg!(windows) {
        Some(("rundll32.exe".into(), vec!["url.dll,FileProtocolHandler".into()]))
    } else if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some() {
        Some(("xdg-open".into(), vec![]))
    } else {
        None
    }
}

/// Starts `program args... url` with the scrubbed environment; whether it started.
pub(super) fn launch(program: PathBuf, args: Vec<OsString>, url: &str) -> bool {
    if !openable(url) {
        return false;
    }
    let mut cmd = Command::new(program);
    cmd.args(args).arg(url).env_clear();
    for name in KEPT_ENV {
        if let Some(v) = std::env::var_os(name) {
            cmd.env(name, v);
        }
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().is_ok()
}

/// Tries the system browser; whether an opener started.
pub(super) fn open_system(url: &str) -> bool {
    match system_opener() {
        Some((program, args)) => launch(program, args, url),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_urls_are_opened() {
        assert!(openable("https://a.example/x?a=1&b=|2"));
        assert!(!openable("file:///etc/passwd"));
        assert!(!openable("https://a.example/x y"));
        assert!(!openable("https://a.example/\r\nx"));
        assert!(!openable("-n https://a.example"));
    }
}
