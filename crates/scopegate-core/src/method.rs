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
        let w = pack(b);
        Method::ALL.iter().copied().find(|m| PACKED[m.index()] == w)
    }
}

/// Bytes of a name of at most 8 bytes, little endian, zero padded.
const fn pack(b: &[u8]) -> u64 {
    let mut w = 0u64;
    let mut i = 0;
    while i < b.len() && i < 8 {
        w |= (b[i] as u64) << (8 * i);
        i += 1;
    }
    w
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
