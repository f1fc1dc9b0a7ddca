//! Paths as the checker reads them: the byte classes of an RFC 3986 path segment, the
//! [`Scanner`] that splits and validates a path, the segment helpers both walks use (end search,
//! first-word loads, equality) and the removal of an API origin and base path.

use super::{MAX_PATH_BYTES, MAX_SEGMENTS, PermissionMatrix, RejectReason};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Base {
    /// `scheme://host[:port]`, lower case, default port removed; empty when unknown.
    pub(super) origin: String,
    /// Path with leading and trailing `/` (`/api/v1/`, or `/`).
    pub(super) path: String,
}

/// Byte-slice equality without a libc call (segments are short).
#[inline]
pub(super) fn eq_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        if x != y {
            return false;
        }
    }
    prefix_word(ca.remainder()) == prefix_word(cb.remainder())
}

/// The first 8 bytes of `seg`, little endian, zero padded: overlapping loads, no byte loop.
#[inline]
pub(super) fn prefix_word(seg: &[u8]) -> u64 {
    let n = seg.len();
    if let Some(head) = seg.first_chunk::<8>() {
        return u64::from_le_bytes(*head);
    }
    if n >= 4 {
        let lo = u32::from_le_bytes([seg[0], seg[1], seg[2], seg[3]]) as u64;
        let hi = u32::from_le_bytes([seg[n - 4], seg[n - 3], seg[n - 2], seg[n - 1]]) as u64;
        return lo | hi << (8 * (n - 4));
    }
    if n == 0 {
        return 0;
    }
    seg[0] as u64 | (seg[n / 2] as u64) << (8 * (n / 2)) | (seg[n - 1] as u64) << (8 * (n - 1))
}

/// The first `min(len, 8)` bytes of `path[start..start + len]` as a zero-padded word: one load
/// and a mask when the buffer has 8 bytes left.
#[inline(always)]
pub(super) fn load_prefix(path: &[u8], start: usize, len: usize) -> u64 {
    match path.get(start..).and_then(|r| r.first_chunk::<8>()) {
        Some(w) if len >= 8 => u64::from_le_bytes(*w),
        Some(w) => u64::from_le_bytes(*w) & ((1u64 << (8 * len)) - 1),
        None => prefix_word(&path[start..start + len]),
    }
}

// Byte classes of a path segment.
const C_OK: u8 = 0; // unreserved, sub-delims, '@'
const C_SLASH: u8 = 1;
const C_PERCENT: u8 = 2;
const C_COLON: u8 = 3;
const C_CONTROL: u8 = 4;
const C_NON_ASCII: u8 = 5;
const C_FORBIDDEN: u8 = 6;
const C_END: u8 = 7; // '?' or '#': the path ends here

const CLASS: [u8; 256] = {
    let mut t = [C_FORBIDDEN; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c < 0x20 || c == 0x7f {
            C_CONTROL
        } else if c >= 0x80 {
            C_NON_ASCII
        } else if c.is_ascii_alphanumeric() {
            C_OK
        } else {
            match c {
                b'-' | b'.' | b'_' | b'~' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';'
                | b'=' | b'@' => C_OK,
                b'/' => C_SLASH,
                b'%' => C_PERCENT,
                b':' => C_COLON,
                b'?' | b'#' => C_END,
                _ => C_FORBIDDEN,
            }
        };
        b += 1;
    }
    t
};

#[inline]
fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Splits a relative path into validated segments on demand: the walk asks for the next
/// segment only when it needs it, so every byte is read once.
pub(super) struct Scanner<'p> {
    pub(super) path: &'p [u8],
    pos: usize,
    /// Segment `i` spans `starts[i]..ends[i]`.
    pub(super) starts: [u16; MAX_SEGMENTS],
    pub(super) ends: [u16; MAX_SEGMENTS],
    pub(super) len: usize,
    /// The whole path (up to `?`/`#`) has been scanned.
    pub(super) done: bool,
}

impl<'p> Scanner<'p> {
    #[inline]
    pub(super) fn new(path: &'p [u8]) -> Self {
        Scanner { path, pos: 0, starts: [0; MAX_SEGMENTS], ends: [0; MAX_SEGMENTS], len: 0, done: false }
    }

    /// Scans and records the next segment.
    #[inline]
    pub(super) fn next(&mut self) -> Result<(), RejectReason> {
        let path = self.path;
        let n = path.len();
        let start = self.pos;
        let mut i = start;
        // Whether the segment escapes a byte outside ASCII (then its decoded form is checked).
        let mut high_escape = false;
        let end_class = loop {
            // Ordinary bytes, 8 at a time, then one at a time.
            while let Some(chunk) = path.get(i..).and_then(|r| r.first_chunk::<8>()) {
                let mut acc = 0u8;
                for &b in chunk {
                    acc |= CLASS[b as usize];
                }
                if acc != C_OK {
                    break;
                }
                i += 8;
            }
            match path[i.min(n)..].iter().position(|&b| CLASS[b as usize] != C_OK) {
                Some(k) => i += k,
                None => {
                    i = n;
                    break C_END;
                }
            }
            match CLASS[path[i] as usize] {
                C_SLASH => break C_SLASH,
                C_END => break C_END,
                C_PERCENT => {
                    let (Some(h), Some(l)) =
                        (path.get(i + 1).copied().and_then(hex), path.get(i + 2).copied().and_then(hex))
                    else {
                        return Err(RejectReason::MalformedPercent);
                    };
                    let d = h << 4 | l;
                    check_escape(d)?;
                    high_escape |= d >= 0x80;
                    i += 3;
                }
                C_COLON if self.len > 0 => i += 1,
                C_COLON => return Err(RejectReason::SchemeLike),
                C_CONTROL => return Err(RejectReason::ControlByte),
                C_NON_ASCII => return Err(RejectReason::NonAscii),
                _ => return Err(RejectReason::ForbiddenCharacter),
            }
        };
        if i > MAX_PATH_BYTES {
            return Err(RejectReason::TooLong);
        }
        match &path[start..i] {
            [] if self.len == 0 && end_class == C_END => return Err(RejectReason::EmptyPath),
            [] if end_class == C_END => return Err(RejectReason::TrailingSlash),
            [] => return Err(RejectReason::EmptySegment),
            [b'.'] | [b'.', b'.'] => return Err(RejectReason::DotSegment),
            seg => dot_like(seg, high_escape)?,
        }
        if self.len == MAX_SEGMENTS {
            return Err(RejectReason::TooManySegments);
        }
        self.starts[self.len] = start as u16;
        self.ends[self.len] = i as u16;
        self.len += 1;
        self.pos = i + 1;
        self.done = end_class == C_END;
        Ok(())
    }

    /// Validates the rest of the path (so that a rejection wins over "unknown endpoint").
    #[cold]
    pub(super) fn finish(&mut self) -> Result<(), RejectReason> {
        while !self.done {
            self.next()?;
        }
        Ok(())
    }
}

/// No template for the method: the answer is "unknown endpoint" unless the path is rejected.
#[cold]
#[inline(never)]
pub(super) fn no_method_templates(path: &[u8]) -> Option<RejectReason> {
    Scanner::new(path).finish().err()
}

/// Index of the first `/`, `?` or `#` at or after `start`, or the path's length: eight bytes at
/// a time (exact zero-byte detection on the word xor each terminator).
#[inline(always)]
pub(super) fn segment_end(path: &[u8], start: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    #[inline(always)]
    fn zero_bytes(v: u64) -> u64 {
        v.wrapping_sub(ONES) & !v & HIGH
    }
    let mut i = start;
    while let Some(c) = path.get(i..).and_then(|r| r.first_chunk::<8>()) {
        let w = u64::from_le_bytes(*c);
        let t = zero_bytes(w ^ (b'/' as u64 * ONES))
            | zero_bytes(w ^ (b'?' as u64 * ONES))
            | zero_bytes(w ^ (b'#' as u64 * ONES));
        if t != 0 {
            // The lowest flagged byte is exact (false positives only follow a true one).
            return i + (t.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    path[i..].iter().position(|&b| matches!(b, b'/' | b'?' | b'#')).map_or(path.len(), |k| i + k)
}

/// End of the segment starting at `start` when it holds only ordinary bytes and ends at `/`,
/// `?`, `#` or the end of the path; `None` for anything else (the slow path decides).
///
/// Eight bytes at a time while they are letters, digits and `-` (what ids are made of, see
/// [`unlike_id`]); from the first other byte on, one byte at a time by the class table.
#[inline(always)]
pub(super) fn scan_ordinary(path: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    while let Some(c) = path.get(i..).and_then(|r| r.first_chunk::<8>()) {
        let odd = unlike_id(u64::from_le_bytes(*c));
        if odd != 0 {
            return scan_bytes(path, i + (odd.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    scan_bytes(path, i)
}

/// [`scan_ordinary`] one byte at a time from `at`.
#[inline(always)]
fn scan_bytes(path: &[u8], at: usize) -> Option<usize> {
    let rest = &path[at..];
    match rest.iter().position(|&b| CLASS[b as usize] != C_OK) {
        None => Some(path.len()),
        Some(k) => matches!(rest[k], b'/' | b'?' | b'#').then_some(at + k),
    }
}

/// The high bit of every byte of `w` that is not an ASCII letter, digit or `-` (exact, byte by
/// byte: no carry crosses a byte).
#[inline(always)]
pub(super) fn unlike_id(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // For 7-bit bytes `x`: `x + (0x80 - lo)` has the high bit iff `x >= lo`, `x + (0x7f - hi)`
    // iff `x > hi`; neither carries out of the byte.
    let x = w & LOW7;
    let digit = (x + (0x80 - 0x30) * ONES) & !(x + (0x7f - 0x39) * ONES);
    let l = x | (0x20 * ONES); // letters to lower case (and nothing else into a-z)
    let alpha = (l + (0x80 - 0x61) * ONES) & !(l + (0x7f - 0x7a) * ONES);
    let d = x ^ (b'-' as u64 * ONES);
    let dash = !(d + LOW7);
    !((digit | alpha | dash) & !w) & HIGH
}

/// Rejects a segment that some server would read as `.` or `..`: with a `;...` suffix removed
/// (Tomcat-style `..;`), or with its escapes decoded (overlong UTF-8 like `%C0%AE`, which must
/// not be decoded at all, and look-alike dots like the fullwidth `%EF%BC%8E`, which Unicode
/// normalization turns into `.`).
#[cold]
fn dot_like(seg: &[u8], high_escape: bool) -> Result<(), RejectReason> {
    let core = seg.split(|&b| b == b';').next().unwrap_or(seg);
    if matches!(core, [b'.'] | [b'.', b'.']) {
        return Err(RejectReason::DotSegment);
    }
    if !high_escape {
        return Ok(());
    }
    let mut decoded = [0u8; MAX_PATH_BYTES];
    let mut n = 0;
    let mut i = 0;
    while i < seg.len() {
        let b = seg[i];
        if b == b'%' {
            // The scan has checked every escape already.
            decoded[n] = hex(seg[i + 1]).unwrap_or(0) << 4 | hex(seg[i + 2]).unwrap_or(0);
            i += 3;
        } else {
            decoded[n] = b;
            i += 1;
        }
        n += 1;
    }
    let Ok(text) = std::str::from_utf8(&decoded[..n]) else {
        return Err(RejectReason::EncodedInvalidUtf8);
    };
    let core = text.split(';').next().unwrap_or(text);
    // U+002E, and what NFKC normalization makes a full stop of: U+2024, U+FE52, U+FF0E.
    let dot = |c: char| matches!(c, '.' | '\u{2024}' | '\u{FE52}' | '\u{FF0E}');
    let count = core.chars().count();
    if (1..=2).contains(&count) && core.chars().all(dot) {
        return Err(RejectReason::DotSegment);
    }
    Ok(())
}

#[inline]
fn check_escape(d: u8) -> Result<(), RejectReason> {
    if d == b'?' || d == b'#' {
        return Err(RejectReason::EncodedDelimiter);
    }
    if d == b'/' || d == b'\\' {
        return Err(RejectReason::EncodedSlash);
    }
    if d == b'%' {
        return Err(RejectReason::EncodedPercent);
    }
    if d == b'.' {
        return Err(RejectReason::EncodedDot);
    }
    if d.is_ascii_alphanumeric() || d == b'-' || d == b'_' || d == b'~' {
        return Err(RejectReason::EncodedUnreserved);
    }
    if d < 0x20 || d == 0x7f {
        return Err(RejectReason::EncodedControl);
    }
    Ok(())
}

fn starts_with_ignore_case(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

impl PermissionMatrix {
    /// Removes any API origin and base path (a bare path is returned as it is).
    #[inline(always)]
    pub(super) fn relative<'p>(&self, path: &'p [u8]) -> Result<&'p [u8], RejectReason> {
        match path.first() {
            Some(b'/' | b'h' | b'H') => self.relative_rooted(path),
            _ => Ok(path),
        }
    }

    #[inline(never)]
    fn relative_rooted<'p>(&self, path: &'p [u8]) -> Result<&'p [u8], RejectReason> {
        match path.first() {
            Some(b'/') => self.strip_base(path),
            Some(b'h' | b'H')
                if starts_with_ignore_case(path, b"http://") || starts_with_ignore_case(path, b"https://") =>
            {
                let scheme_len = if path[4] == b':' { 4 } else { 5 };
                let after = &path[scheme_len + 3..];
                let auth_len = after.iter().position(|&b| matches!(b, b'/' | b'?' | b'#')).unwrap_or(after.len());
                let authority = &after[..auth_len];
                if authority.contains(&b'@') {
                    return Err(RejectReason::UserInfo);
                }
                let scheme = &path[..scheme_len];
                let default_port: &[u8] = if scheme_len == 4 { b":80" } else { b":443" };
                let authority = authority.strip_suffix(default_port).unwrap_or(authority);
                let same = |b: &Base| {
                    let o = b.origin.as_bytes();
                    o.len() == scheme_len + 3 + authority.len()
                        && o[..scheme_len].eq_ignore_ascii_case(scheme)
                        && o[scheme_len + 3..].eq_ignore_ascii_case(authority)
                };
                if !self.bases.iter().any(same) {
                    return Err(RejectReason::OtherOrigin);
                }
                self.strip_base(&after[auth_len..])
            }
            _ => Ok(path),
        }
    }

    #[inline]
    fn strip_base<'p>(&self, path: &'p [u8]) -> Result<&'p [u8], RejectReason> {
        if self.bases.is_empty() {
            return path.strip_prefix(b"/").ok_or(RejectReason::EmptyPath);
        }
        for b in &self.bases {
            if let Some(rest) = path.strip_prefix(b.path.as_bytes()) {
                return Ok(rest);
            }
            // the base path itself without its trailing slash: nothing left
            if path == &b.path.as_bytes()[..b.path.len() - 1] {
                return Err(RejectReason::EmptyPath);
            }
        }
        Err(RejectReason::NotUnderApiBase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_word_matches_a_zero_padded_load() {
        let data = b"abcdefghijkl";
        for len in 0..=data.len() {
            let seg = &data[..len];
            let mut buf = [0u8; 8];
            buf[..len.min(8)].copy_from_slice(&seg[..len.min(8)]);
            assert_eq!(prefix_word(seg), u64::from_le_bytes(buf), "len {len}");
        }
    }

    #[test]
    fn segment_end_finds_the_first_terminator() {
        let cases: &[&[u8]] = &[
            b"",
            b"abc",
            b"abc/def",
            b"abcdefgh/x",
            b"abcdefghijklmno?q",
            b"a#b",
            b"abcdefghijklmnopqrstu",
            b"/x",
            b"abcdefg/",
            b"\x00\x01\xff/",
            b"abcdefgh\x2e\x2f",
            b"\x30\x2e\x2f\x2f/",
        ];
        for c in cases {
            for start in 0..=c.len() {
                let expected =
                    c[start..].iter().position(|&b| matches!(b, b'/' | b'?' | b'#')).map_or(c.len(), |k| start + k);
                assert_eq!(segment_end(c, start), expected, "{c:?} from {start}");
            }
        }
    }

    #[test]
    fn unlike_id_flags_exactly_the_other_bytes() {
        for b in 0..=255u8 {
            for at in 0..8 {
                // `b` at byte `at`, among ids bytes that vary with the position
                let mut w = *b"aZ09-qQ5";
                w[at] = b;
                let flags = unlike_id(u64::from_le_bytes(w));
                let id = b.is_ascii_alphanumeric() || b == b'-';
                assert_eq!(flags, if id { 0 } else { 0x80 << (8 * at) }, "{b:#04x} at {at}");
            }
        }
    }

    #[test]
    fn scan_ordinary_ends_where_the_class_table_says() {
        let cases: &[&[u8]] = &[
            b"3f2a9c1e-7b4d-4e8a-9f00-1234567890ab/884422",
            b"12345",
            b"12345/x",
            b"abcdefgh",
            b"abcdefgh/",
            b"abc.def~ghi!jkl/x",
            b"abcdefg%41",
            b"abcdefgh\0x",
            b"abcdefghij\xe9",
            b"abc?q=1",
            b"abcdefghijklmnop#f",
            b"a:b",
            b"",
        ];
        for c in cases {
            for start in 0..=c.len() {
                let rest = &c[start..];
                let expected = match rest.iter().position(|&b| CLASS[b as usize] != C_OK) {
                    None => Some(c.len()),
                    Some(k) => matches!(rest[k], b'/' | b'?' | b'#').then_some(start + k),
                };
                assert_eq!(scan_ordinary(c, start), expected, "{c:?} from {start}");
            }
        }
    }

    #[test]
    fn eq_bytes_is_equality() {
        let a = b"subscriptions-and-more";
        for i in 0..a.len() {
            for j in 0..a.len() {
                assert_eq!(eq_bytes(&a[..i], &a[..j]), a[..i] == a[..j]);
                assert_eq!(eq_bytes(&a[i..], &a[j..]), a[i..] == a[j..]);
            }
        }
        assert!(!eq_bytes(b"subscriptionX", b"subscriptionY"));
    }
}
