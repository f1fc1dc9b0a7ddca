//! Text from outside (a provider's answer, a callback) made safe to quote in an error: control
//! characters out, length bounded, the request's secrets cut out.

/// Untrusted text from a provider, made safe to show: control characters dropped, at most 256
/// characters.
pub(crate) fn sanitize_text(s: &str) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(256).collect();
    if s.chars().filter(|c| !c.is_control()).count() > 256 {
        out.push_str("...");
    }
    out
}

/// `text` with every known secret (of at least 4 bytes) replaced by `[redacted]`.
pub(crate) fn cut_secrets(text: &str, known_secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for s in known_secrets.iter().filter(|s| s.len() >= 4) {
        if out.contains(*s) {
            out = out.replace(*s, crate::secret::REDACTED);
        }
    }
    out
}
