//! HTTP methods known to profiles and requests.

use std::fmt;
use std::str::FromStr;

/// An HTTP method. Profiles and permission checks accept the upper-case names only
/// (`GET`, not `get`): method names are case-sensitive (RFC 9110 §9.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
    /// `OPTIONS`
    Options,
}

impl Method {
    /// Every method, in a fixed order (usable as an index with [`Method::index`]).
    pub const ALL: [Method; 7] =
        [Method::Get, Method::Head, Method::Post, Method::Put, Method::Patch, Method::Delete, Method::Options];

    /// The method's name as sent on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
        }
    }

    /// Position of this method in [`Method::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Parses an upper-case method name from bytes, without allocating (one packed-word
    /// comparison per method).
    #[inline]
    pub fn from_bytes(b: &[u8]) -> Option<Method> {
        if b.len() < 3 || b.len() > 7 {
            return None;
        }
        // Overlapping loads: bytes 0..4 and the last 4 (3-byte names: 0..2 and the last 2).
        let n = b.len();
        let w = if n >= 4 {
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64
                | (u32::from_le_bytes([b[n - 4], b[n - 3], b[n - 2], b[n - 1]]) as u64) << (8 * (n - 4))
        } else {
            u16::from_le_bytes([b[0], b[1]]) as u64 | (u16::from_le_bytes([b[n - 2], b[n - 1]]) as u64) << (8 * (n - 2))
        };
        // The length goes in byte 7 (names are at most 7 bytes): `GET\0` is not `GET`.
        let w = w | (n as u64) << 56;
        Method::ALL.iter().copied().find(|m| PACKED[m.index()] == w)
    }
}

/// Bytes of a name of at most 7 bytes, little endian, zero padded, with the length in byte 7.
const fn pack(b: &[u8]) -> u64 {
    let mut w = 0u64;
    let mut i = 0;
    while i < b.len() && i < 7 {
        w |= (b[i] as u64) << (8 * i);
        i += 1;
    }
    w | (b.len() as u64) << 56
}

const PACKED: [u64; 7] = {
    let mut t = [0u64; 7];
    let mut i = 0;
    while i < 7 {
        t[i] = pack(Method::ALL[i].as_str().as_bytes());
        i += 1;
    }
    t
};

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The method name is not one of the upper-case names of [`Method::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown http method `{0}` (expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, upper case)")]
pub struct UnknownMethod(pub String);

impl FromStr for Method {
    type Err = UnknownMethod;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Method::from_bytes(s.as_bytes()).ok_or_else(|| UnknownMethod(s.chars().take(16).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_round_trips_and_near_misses_do_not() {
        for m in Method::ALL {
            assert_eq!(Method::from_bytes(m.as_str().as_bytes()), Some(m));
            assert_eq!(m.as_str().parse::<Method>(), Ok(m));
        }
        for bad in
            ["", "G", "GE", "get", "Get", "GETS", "PUTT", "POS", "DELET", "OPTION", "OPTIONSS", "GET\0", "PU", "TRACE"]
        {
            assert_eq!(Method::from_bytes(bad.as_bytes()), None, "{bad:?}");
        }
    }
}
