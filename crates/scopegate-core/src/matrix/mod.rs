//! The permission matrix: "may a token with these rights call `METHOD path`?"
//!
//! A profile's rights and API-method groups are compiled into a [`PermissionMatrix`] when the
//! profile loads. [`PermissionMatrix::check`] answers without allocating, in tens of
//! nanoseconds; [`Policy::allows`] is the same check reduced to a `bool` for one fixed rights set.
//!
//! ## Path rules (fail closed)
//!
//! The path may be bare (`contact/42`), carry an API base path (`/api/v1/contact/42`) or be a
//! full URL under an API base URL (`https://yespo.io/api/v1/contact/42`). A query string or
//! fragment is ignored. Everything else that could make the checker and the server disagree is
//! rejected with a [`RejectReason`], never guessed:
//!
//! - **method case**: method names are case-sensitive (RFC 9110 §9.1); `get` is rejected
//!   ([`RejectReason::MethodCase`]), not read as `GET`;
//! - **trailing slash**: `contact/42/` is rejected ([`RejectReason::TrailingSlash`]): templates
//!   have none, and servers differ on whether `x/` is `x`;
//! - static segments compare byte for byte, case-sensitively (RFC 3986 §6.2.2.1);
//! - dot segments (`.`, `..`), empty segments (`//`), raw control bytes, NUL, non-ASCII bytes,
//!   characters outside RFC 3986 `pchar`, a `:` in the first segment of a bare path (it would read
//!   as a scheme), malformed `%` escapes and escapes of `/`, `\`, `%`, `.`, other unreserved
//!   characters or control bytes; a URL on another scheme, host or port, or with user info;
//!   more than [`MAX_PATH_BYTES`] bytes or [`MAX_SEGMENTS`] segments.
//!
//! A `{param}` matches exactly one non-empty segment; static segments win over parameters at the
//! same position, with backtracking (`contact/token/x` still matches `contact/{id}/x`).
//!
//! ```
//! use scopegate_core::prelude::*;
//!
//! let yespo = Provider::builtin("yespo")?;
//! let rights = yespo.rights_from_ids(["events_and_contacts"])?;
//! let policy = yespo.policy(rights);
//! assert!(policy.allows("PUT", "contact/12345/subscriptions"));
//! assert!(policy.allows("PUT", "https://yespo.io/api/v1/contact/12345/subscriptions?x=1"));
//! assert!(!policy.allows("POST", "message/email")); // needs `messages` or `full_api`
//! assert!(!policy.allows("GET", "contact/../contacts")); // rejected: dot segment
//! match policy.check("POST", "message/email") {
//!     Decision::Denied { would_allow, .. } => {
//!         assert_eq!(yespo.matrix().right_ids(would_allow), ["full_api", "messages"])
//!     }
//!     other => panic!("{other:?}"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Arc;

use url::Url;

use crate::method::Method;
use crate::profile::{Group, Right, TemplateSegment};

/// Longest path (after an API base is removed) the checker accepts.
pub const MAX_PATH_BYTES: usize = 2048;
/// Most segments a path may have.
pub const MAX_SEGMENTS: usize = 32;

const NONE: u32 = u32::MAX;
/// Above this many static children a node's children are found through the hashed index.
const LINEAR_LIMIT: u32 = 16;
/// Profiles with at most this many rights get an exact least-rights answer.
const EXACT_LIMIT: usize = 16;

/// A set of a profile's rights (bit `i` is the profile's `i`-th right).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rights(u64);

impl Rights {
    /// No rights.
    pub const EMPTY: Rights = Rights(0);

    /// The set with these bits.
    pub const fn from_bits(bits: u64) -> Self {
        Self(bits)
    }
    /// The bits.
    pub const fn bits(self) -> u64 {
        self.0
    }
    /// The set holding only right `index`.
    pub const fn single(index: usize) -> Self {
        Self(1u64 << index)
    }
    /// Whether right `index` is in the set.
    pub const fn contains(self, index: usize) -> bool {
        index < 64 && self.0 & (1u64 << index) != 0
    }
    /// Union.
    pub const fn union(self, other: Rights) -> Self {
        Self(self.0 | other.0)
    }
    /// Whether the sets share a right.
    pub const fn intersects(self, other: Rights) -> bool {
        self.0 & other.0 != 0
    }
    /// Whether empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Number of rights.
    pub const fn len(self) -> u32 {
        self.0.count_ones()
    }
    /// Indexes of the rights, ascending.
    pub fn indices(self) -> impl Iterator<Item = usize> {
        (0..64).filter(move |i| self.contains(*i))
    }
}

/// Why a request path was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// The method is not an HTTP method the checker knows.
    UnknownMethod,
    /// The method is known but not upper case.
    MethodCase,
    /// Nothing left after the API base was removed.
    EmptyPath,
    /// Longer than [`MAX_PATH_BYTES`].
    TooLong,
    /// More than [`MAX_SEGMENTS`] segments.
    TooManySegments,
    /// An empty segment (`//`, or a leading `/` that is not an API base path).
    EmptySegment,
    /// A `.` or `..` segment.
    DotSegment,
    /// A trailing `/`.
    TrailingSlash,
    /// A raw control byte (NUL included).
    ControlByte,
    /// A raw byte outside ASCII.
    NonAscii,
    /// A raw character that RFC 3986 does not allow in a path segment.
    ForbiddenCharacter,
    /// A `%` not followed by two hex digits.
    MalformedPercent,
    /// `%2F` or `%5C`: an encoded `/` or `\`.
    EncodedSlash,
    /// `%25`: an encoded `%` (double encoding).
    EncodedPercent,
    /// `%2E`: an encoded `.`.
    EncodedDot,
    /// An encoded unreserved character (letter, digit, `-`, `_`, `~`): would hide a static
    /// segment from the checker but not from the server.
    EncodedUnreserved,
    /// An encoded control byte.
    EncodedControl,
    /// A `:` in the first segment of a bare path (reads as a URL scheme).
    SchemeLike,
    /// A full URL on another scheme, host or port than the API.
    OtherOrigin,
    /// A full URL with user info (`user@host`).
    UserInfo,
    /// An absolute path or URL outside every API base path.
    NotUnderApiBase,
}

impl RejectReason {
    /// A short lowercase explanation.
    pub const fn message(self) -> &'static str {
        match self {
            Self::UnknownMethod => "unknown http method",
            Self::MethodCase => "http methods are case-sensitive: use upper case (GET, PUT, ...)",
            Self::EmptyPath => "the path is empty",
            Self::TooLong => "the path is too long",
            Self::TooManySegments => "the path has too many segments",
            Self::EmptySegment => "the path has an empty segment (`//` or a stray leading `/`)",
            Self::DotSegment => "the path has a `.` or `..` segment",
            Self::TrailingSlash => "the path ends with `/`: remove the trailing slash",
            Self::ControlByte => "the path contains a control byte",
            Self::NonAscii => "the path contains non-ascii bytes: percent-encode them",
            Self::ForbiddenCharacter => "the path contains a character not allowed in a url path",
            Self::MalformedPercent => "the path has a `%` not followed by two hex digits",
            Self::EncodedSlash => "the path has an encoded `/` or `\\` (%2F, %5C)",
            Self::EncodedPercent => "the path has an encoded `%` (%25): double encoding",
            Self::EncodedDot => "the path has an encoded `.` (%2E)",
            Self::EncodedUnreserved => "the path percent-encodes a letter, digit, `-`, `_` or `~`",
            Self::EncodedControl => "the path has an encoded control byte",
            Self::SchemeLike => "the first path segment contains `:` and reads as a url scheme",
            Self::OtherOrigin => "the url is not on the provider's api host",
            Self::UserInfo => "the url carries user info (`user@host`)",
            Self::NotUnderApiBase => "the path is not under the provider's api base path",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// An endpoint of the matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointInfo {
    /// The method.
    pub method: Method,
    /// The template (`contact/{id}`).
    pub template: String,
    /// Index of its group in [`PermissionMatrix::groups`].
    pub group: usize,
    /// Whether the provider marks it deprecated.
    pub deprecated: bool,
    /// Whether its group needs no right.
    pub open: bool,
    /// The rights that open it (empty for an open group, or a group no right opens).
    pub allowed_by: Rights,
}

/// A group of the matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupInfo {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Needs no right.
    pub open: bool,
}

/// A right of the matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RightInfo {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
}

/// The answer to a permission check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision<'m> {
    /// The rights allow the call.
    Allowed(&'m EndpointInfo),
    /// The endpoint exists and the rights do not open it; `would_allow` lists the rights that
    /// would (empty when no right of the profile opens it).
    Denied {
        /// The endpoint.
        endpoint: &'m EndpointInfo,
        /// Rights that would allow it.
        would_allow: Rights,
    },
    /// No endpoint of the matrix matches (fail closed).
    UnknownEndpoint,
    /// The path (or method) was rejected.
    Rejected(RejectReason),
}

impl Decision<'_> {
    /// Whether the call is allowed.
    pub const fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed(_))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Node {
    param: u32,
    endpoint: u32,
    edges_start: u32,
    edges_len: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Edge {
    prefix: u64,
    /// Selects the first `min(len, 8)` bytes of a word.
    mask: u64,
    len: u32,
    off: u32,
    child: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Base {
    /// `scheme://host[:port]`, lower case, default port removed; empty when unknown.
    origin: String,
    /// Path with leading and trailing `/` (`/api/v1/`, or `/`).
    path: String,
}

/// A compiled permission matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermissionMatrix {
    rights: Vec<RightInfo>,
    groups: Vec<GroupInfo>,
    endpoints: Vec<EndpointInfo>,
    roots: [u32; 7],
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    arena: Vec<u8>,
    /// Open addressing: (hash of (node, segment), edge index + 1); 0 = empty slot.
    index: Vec<(u64, u32)>,
    index_mask: usize,
    /// `64 - log2(index.len())`: the slot of hash `h` is `h >> index_shift`.
    index_shift: u32,
    bases: Vec<Base>,
    /// The fast path's copy of the trie (see [`Hop`]): per method, the root's hop.
    hop_roots: [Hop; 7],
    /// Hop of every node (the fast path reads it for `{param}` children).
    hops: Vec<Hop>,
    /// Hash tables of the hops, then chained overflow slots.
    slots: Vec<Slot>,
}

/// What the fast path needs of a trie node, copied into every slot that leads to the node so that
/// a step reads one slot and no node: how to find a static child (compare the few in order, hash
/// the segment's first bytes, or hash the whole segment when `exact`), the `{param}` child, the
/// endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Hop {
    /// Bytes of the segment's first word that the hash reads: as many as the shortest static
    /// child has, at most 8.
    kmask: u64,
    /// Multiplier of the node's hash (chosen when the matrix is built).
    mul: u64,
    /// The rights that open the endpoint here.
    allowed_by: u64,
    /// First slot of the node's table.
    table: u32,
    /// The `{param}` child's node, or [`NONE`].
    param: u32,
    /// The endpoint, or [`NONE`].
    endpoint: u32,
    /// The slot of hash `h` is `table + (h >> shift)`.
    shift: u8,
    /// The endpoint's group needs no right.
    open: bool,
    /// Hash the whole segment (nodes with many children sharing their first bytes).
    exact: bool,
    /// With a few static children (at most [`SCAN_LIMIT`]): how many, stored in order from
    /// `table` and compared one after the other (no hash); `0` for a hashed table.
    scan: u8,
}

/// A static child in a hop's hash table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    /// The segment's first `min(len, 8)` bytes, zero padded.
    prefix: u64,
    /// Selects them (`0` in an empty slot, which then matches nothing).
    mask: u64,
    /// Its last 8 bytes when it has more than 8.
    suffix: u64,
    len: u32,
    /// Next slot of the chain, or [`NONE`].
    next: u32,
    /// Its text in `arena` (compared when longer than 16 bytes).
    off: u32,
    /// The child.
    child: Hop,
}

impl Hop {
    /// The slot of the node's hash table where a child with hash key `key` starts its chain (the
    /// key is the segment's first bytes under `kmask`, or [`exact_key`] when `exact`).
    #[inline(always)]
    fn slot_of(&self, key: u64) -> usize {
        self.table as usize + (key.wrapping_mul(self.mul) >> self.shift) as usize
    }
}

const EMPTY_HOP: Hop = Hop {
    kmask: 0,
    mul: 0,
    allowed_by: 0,
    table: 0,
    param: NONE,
    endpoint: NONE,
    shift: 63,
    open: false,
    exact: false,
    scan: 0,
};
const EMPTY_SLOT: Slot = Slot { prefix: 1, mask: 0, suffix: 0, len: 0, next: NONE, off: 0, child: EMPTY_HOP };
/// Exact hops mix the length into the key.
const LEN_MIX: u64 = 0x9e37_79b9_7f4a_7c15;
/// Nodes with at most this many static children compare them in order: each comparison is a
/// branch the predictor learns, which costs less time than a hash on a repeated path.
const SCAN_LIMIT: usize = 3;
/// A node whose children share a hashed prefix more than this many at a time is hashed exactly.
const BUCKET_LIMIT: usize = 3;

/// The bytes selected by a `kmask` of `len` bytes.
const fn len_mask(len: usize) -> u64 {
    if len >= 8 { u64::MAX } else { (1u64 << (8 * len)) - 1 }
}

/// The last 8 bytes of a segment longer than 8 bytes, else 0.
fn suffix_word(seg: &[u8]) -> u64 {
    match seg.last_chunk::<8>() {
        Some(w) if seg.len() > 8 => u64::from_le_bytes(*w),
        _ => 0,
    }
}

/// Deterministic multipliers for the build-time search (xorshift, odd).
struct Multipliers(u64);

impl Iterator for Multipliers {
    type Item = u64;
    fn next(&mut self) -> Option<u64> {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Some(self.0 | 1)
    }
}

/// Picks a multiplier and table size for `keys`: collision free when one is found among a few
/// hundred tries (a table of at least twice the keys), else the fewest collisions (chained).
fn choose_hash(keys: &[u64], muls: &mut Multipliers) -> (u64, u32) {
    let mut bits = 1u32;
    while (1usize << bits) < 2 * keys.len() {
        bits += 1;
    }
    let mut best = (usize::MAX, 1u64, bits);
    let mut seen = Vec::new();
    for extra in 0..3u32 {
        let b = bits + extra;
        for _ in 0..256 {
            let mul = muls.next().unwrap_or(1);
            seen.clear();
            seen.resize(1usize << b, false);
            let collisions = keys
                .iter()
                .filter(|k| std::mem::replace(&mut seen[(k.wrapping_mul(mul) >> (64 - b)) as usize], true))
                .count();
            if collisions < best.0 {
                best = (collisions, mul, b);
            }
            if collisions == 0 {
                return (mul, b);
            }
        }
        if keys.len() > 64 {
            break; // large tables: chains are fine, do not grow
        }
    }
    (best.1, best.2)
}

/// Byte-slice equality without a libc call (segments are short).
#[inline]
fn eq_bytes(a: &[u8], b: &[u8]) -> bool {
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
fn prefix_word(seg: &[u8]) -> u64 {
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

/// Hash of a static segment for the hashed child index: node, length and first 8 bytes
/// (longer segments that share those are told apart by a full comparison).
#[inline(always)]
fn mix(node: u32, len: usize, prefix: u64) -> u64 {
    // Slots are taken from the high bits (Fibonacci hashing): they depend on every input bit,
    // where the low bits of a product see only the low (first) bytes of the segment.
    (((node as u64) << 32 | len as u64) ^ prefix.rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ prefix.wrapping_mul(0x517c_c1b7_2722_0a95)
}

/// The first `min(len, 8)` bytes of `path[start..start + len]` as a zero-padded word: one load
/// and a mask when the buffer has 8 bytes left.
#[inline(always)]
fn load_prefix(path: &[u8], start: usize, len: usize) -> u64 {
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
struct Scanner<'p> {
    path: &'p [u8],
    pos: usize,
    /// Segment `i` spans `starts[i]..ends[i]`.
    starts: [u16; MAX_SEGMENTS],
    ends: [u16; MAX_SEGMENTS],
    len: usize,
    /// The whole path (up to `?`/`#`) has been scanned.
    done: bool,
}

impl<'p> Scanner<'p> {
    #[inline]
    fn new(path: &'p [u8]) -> Self {
        Scanner { path, pos: 0, starts: [0; MAX_SEGMENTS], ends: [0; MAX_SEGMENTS], len: 0, done: false }
    }

    /// Scans and records the next segment.
    #[inline]
    fn next(&mut self) -> Result<(), RejectReason> {
        let path = self.path;
        let n = path.len();
        let start = self.pos;
        let mut i = start;
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
                    check_escape(h << 4 | l)?;
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
            _ => {}
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
    fn finish(&mut self) -> Result<(), RejectReason> {
        while !self.done {
            self.next()?;
        }
        Ok(())
    }
}

/// No template for the method: the answer is "unknown endpoint" unless the path is rejected.
#[cold]
#[inline(never)]
fn no_method_templates(path: &[u8]) -> Option<RejectReason> {
    Scanner::new(path).finish().err()
}

/// Index of the first `/`, `?` or `#` at or after `start`, or the path's length: eight bytes at
/// a time (exact zero-byte detection on the word xor each terminator).
#[inline(always)]
fn segment_end(path: &[u8], start: usize) -> usize {
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

/// What the fast walk concluded.
enum Greedy<'m> {
    /// The node of the endpoint found (the full search's answer).
    Found(&'m Hop),
    /// The path ended at a node without an endpoint, nothing to backtrack to, every segment
    /// valid: no endpoint matches.
    Unknown,
    /// No branch for the segment at `start` and nothing to backtrack to: no endpoint matches;
    /// the rest of the path is not validated yet.
    DeadEnd(usize),
    /// Let the full search decide.
    Unsure,
}

/// After a dead end with nothing to backtrack to, the answer is "unknown endpoint" if the rest of
/// the path (from `start`, after segments the walk accepted) is plainly valid; anything unusual
/// goes to the full search, which names the reason.
#[cold]
fn rest_is_plain(path: &[u8], mut start: usize) -> Greedy<'static> {
    let mut done = path[..start].iter().filter(|&&b| b == b'/').count();
    loop {
        let Some(end) = scan_ordinary(path, start) else { return Greedy::Unsure };
        let len = end - start;
        if len <= 2 && (len == 0 || path[start] == b'.' && (len == 1 || path[start + 1] == b'.')) {
            return Greedy::Unsure;
        }
        done += 1;
        if done > MAX_SEGMENTS {
            return Greedy::Unsure;
        }
        match path.get(end) {
            Some(b'/') => {
                start = end + 1;
                if matches!(path.get(start), None | Some(b'?' | b'#')) {
                    return Greedy::Unsure; // trailing slash
                }
            }
            _ => return Greedy::Unknown,
        }
    }
}

/// End of the segment starting at `start` when it holds only ordinary bytes and ends at `/`,
/// `?`, `#` or the end of the path; `None` for anything else (the slow path decides).
#[inline(always)]
fn scan_ordinary(path: &[u8], start: usize) -> Option<usize> {
    let rest = &path[start..];
    match rest.iter().position(|&b| CLASS[b as usize] != C_OK) {
        None => Some(path.len()),
        Some(k) => matches!(rest[k], b'/' | b'?' | b'#').then_some(start + k),
    }
}

#[inline]
fn check_escape(d: u8) -> Result<(), RejectReason> {
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

/// The exact hash key of a segment (for hops with `exact`).
#[inline(always)]
fn exact_key(prefix: u64, suffix: u64, len: usize) -> u64 {
    prefix ^ suffix.rotate_left(29) ^ (len as u64).wrapping_mul(LEN_MIX)
}

/// The fast path's tables, built from the flattened trie: a [`Hop`] per node with a hash table of
/// its static children, each slot holding the child's hop.
fn build_hops(
    nodes: &[Node],
    edges: &[Edge],
    arena: &[u8],
    roots: &[u32; 7],
    endpoints: &[EndpointInfo],
) -> ([Hop; 7], Vec<Hop>, Vec<Slot>) {
    let mut muls = Multipliers(0x2545_f491_4f6c_dd1d);
    // Table 0 (two empty slots) serves every node without static children.
    let mut slots = vec![EMPTY_SLOT; 2];
    let mut hops = Vec::with_capacity(nodes.len());
    let children = |n: &Node| &edges[n.edges_start as usize..(n.edges_start + n.edges_len) as usize];
    let text = |e: &Edge| &arena[e.off as usize..(e.off + e.len) as usize];
    for n in nodes {
        let mut hop = Hop { param: n.param, endpoint: n.endpoint, ..EMPTY_HOP };
        if let Some(e) = endpoints.get(n.endpoint as usize) {
            hop.open = e.open;
            hop.allowed_by = e.allowed_by.bits();
        }
        let kids = children(n);
        if !kids.is_empty() && kids.len() <= SCAN_LIMIT {
            hop.scan = kids.len() as u8;
            hop.table = slots.len() as u32;
            slots.extend(std::iter::repeat_n(EMPTY_SLOT, kids.len()));
        } else if !kids.is_empty() {
            let shortest = kids.iter().map(|e| e.len as usize).min().unwrap_or(8).min(8);
            hop.kmask = len_mask(shortest);
            let mut keys: Vec<u64> = kids.iter().map(|e| e.prefix & hop.kmask).collect();
            keys.sort_unstable();
            let largest = keys.chunk_by(|a, b| a == b).map(<[u64]>::len).max().unwrap_or(0);
            keys.dedup();
            if largest > BUCKET_LIMIT {
                hop.exact = true;
                hop.kmask = u64::MAX;
                keys = kids.iter().map(|e| exact_key(e.prefix, suffix_word(text(e)), e.len as usize)).collect();
            }
            let (mul, bits) = choose_hash(&keys, &mut muls);
            hop.mul = mul;
            hop.shift = (64 - bits) as u8;
            hop.table = slots.len() as u32;
            slots.extend(std::iter::repeat_n(EMPTY_SLOT, 1usize << bits));
        }
        hops.push(hop);
    }
    for (ni, n) in nodes.iter().enumerate() {
        let hop = hops[ni];
        for (i, e) in children(n).iter().enumerate() {
            let suffix = suffix_word(text(e));
            let slot = Slot {
                prefix: e.prefix,
                mask: e.mask,
                suffix,
                len: e.len,
                next: NONE,
                off: e.off,
                child: hops[e.child as usize],
            };
            if hop.scan != 0 {
                slots[hop.table as usize + i] = slot;
                continue;
            }
            let key = if hop.exact { exact_key(e.prefix, suffix, e.len as usize) } else { e.prefix & hop.kmask };
            let mut at = hop.slot_of(key);
            if slots[at].mask == 0 {
                slots[at] = slot;
            } else {
                while slots[at].next != NONE {
                    at = slots[at].next as usize;
                }
                slots[at].next = slots.len() as u32;
                slots.push(slot);
            }
        }
    }
    let hop_roots = roots.map(|r| if r == NONE { EMPTY_HOP } else { hops[r as usize] });
    (hop_roots, hops, slots)
}

impl PermissionMatrix {
    /// Compiles rights and groups; `bases` are the API base URLs paths may be given under.
    pub(crate) fn build(rights: &[Right], groups: &[Group], bases: &[&Url]) -> PermissionMatrix {
        let mut group_rights = vec![Rights::EMPTY; groups.len()];
        for (ri, r) in rights.iter().enumerate() {
            for (gi, gr) in group_rights.iter_mut().enumerate() {
                if r.all_groups || r.groups.contains(&gi) {
                    *gr = gr.union(Rights::single(ri));
                }
            }
        }
        let mut endpoints = Vec::new();
        // Build-time trie: children as vectors, flattened afterwards.
        struct BNode {
            param: u32,
            endpoint: u32,
            statics: Vec<(Vec<u8>, u32)>,
        }
        let mut bnodes: Vec<BNode> = Vec::new();
        let mut roots = [NONE; 7];
        for (gi, g) in groups.iter().enumerate() {
            for ep in &g.endpoints {
                let root = &mut roots[ep.method.index()];
                if *root == NONE {
                    *root = bnodes.len() as u32;
                    bnodes.push(BNode { param: NONE, endpoint: NONE, statics: Vec::new() });
                }
                let mut node = *root as usize;
                for seg in &ep.segments {
                    let next = match seg {
                        TemplateSegment::Static(s) => {
                            bnodes[node].statics.iter().find(|(k, _)| k.as_slice() == s.as_bytes()).map(|(_, c)| *c)
                        }
                        TemplateSegment::Param(_) => Some(bnodes[node].param).filter(|p| *p != NONE),
                    };
                    node = match next {
                        Some(c) => c as usize,
                        None => {
                            let c = bnodes.len() as u32;
                            bnodes.push(BNode { param: NONE, endpoint: NONE, statics: Vec::new() });
                            match seg {
                                TemplateSegment::Static(s) => bnodes[node].statics.push((s.as_bytes().to_vec(), c)),
                                TemplateSegment::Param(_) => bnodes[node].param = c,
                            }
                            c as usize
                        }
                    };
                }
                // Profile validation rejects two templates of one shape, so this is free.
                bnodes[node].endpoint = endpoints.len() as u32;
                endpoints.push(EndpointInfo {
                    method: ep.method,
                    template: ep.template.clone(),
                    group: gi,
                    deprecated: ep.deprecated,
                    open: g.open,
                    allowed_by: if g.open { Rights::EMPTY } else { group_rights[gi] },
                });
            }
        }
        // `walk` packs node indexes into 24 bits; profiles are far below that (64 rights, 1 MiB).
        assert!(bnodes.len() < 1 << 24, "permission matrix too large");
        let mut nodes = Vec::with_capacity(bnodes.len());
        let mut edges = Vec::new();
        let mut arena = Vec::new();
        for n in &bnodes {
            nodes.push(Node {
                param: n.param,
                endpoint: n.endpoint,
                edges_start: edges.len() as u32,
                edges_len: n.statics.len() as u32,
            });
            for (seg, child) in &n.statics {
                edges.push(Edge {
                    prefix: prefix_word(seg),
                    mask: if seg.len() >= 8 { u64::MAX } else { (1u64 << (8 * seg.len())) - 1 },
                    len: seg.len() as u32,
                    off: arena.len() as u32,
                    child: *child,
                });
                arena.extend_from_slice(seg);
            }
        }
        let hashed: usize = nodes.iter().filter(|n| n.edges_len > LINEAR_LIMIT).map(|n| n.edges_len as usize).sum();
        let size = (hashed * 2).next_power_of_two().max(2);
        let mut index = vec![(0u64, 0u32); if hashed == 0 { 0 } else { size }];
        for (ni, n) in nodes.iter().enumerate() {
            if n.edges_len <= LINEAR_LIMIT {
                continue;
            }
            for ei in n.edges_start..n.edges_start + n.edges_len {
                let e = &edges[ei as usize];
                let h = mix(ni as u32, e.len as usize, e.prefix);
                let mut slot = (h >> (64 - size.trailing_zeros())) as usize & (size - 1);
                while index[slot].1 != 0 {
                    slot = (slot + 1) & (size - 1);
                }
                index[slot] = (h, ei + 1);
            }
        }
        let (hop_roots, hops, slots) = build_hops(&nodes, &edges, &arena, &roots, &endpoints);
        let bases = bases
            .iter()
            .map(|u| {
                let mut origin = format!("{}://{}", u.scheme(), u.host_str().unwrap_or("").to_ascii_lowercase());
                if let Some(p) = u.port() {
                    origin.push_str(&format!(":{p}"));
                }
                let mut path = u.path().to_owned();
                if !path.ends_with('/') {
                    path.push('/');
                }
                Base { origin, path }
            })
            .collect();
        PermissionMatrix {
            rights: rights.iter().map(|r| RightInfo { id: r.id.clone(), title: r.title.clone() }).collect(),
            groups: groups
                .iter()
                .map(|g| GroupInfo { id: g.id.clone(), title: g.title.clone(), open: g.open })
                .collect(),
            endpoints,
            roots,
            nodes,
            edges,
            arena,
            index_mask: size - 1,
            index_shift: 64 - size.trailing_zeros(),
            index,
            bases,
            hop_roots,
            hops,
            slots,
        }
    }

    /// The rights, in profile order (bit `i` of [`Rights`] is `rights()[i]`).
    pub fn rights(&self) -> &[RightInfo] {
        &self.rights
    }
    /// The groups.
    pub fn groups(&self) -> &[GroupInfo] {
        &self.groups
    }
    /// Every endpoint.
    pub fn endpoints(&self) -> &[EndpointInfo] {
        &self.endpoints
    }
    /// Every right of the profile.
    pub fn all_rights(&self) -> Rights {
        Rights(if self.rights.len() >= 64 { u64::MAX } else { (1u64 << self.rights.len()) - 1 })
    }

    /// The rights set with these ids.
    pub fn rights_from_ids<S: AsRef<str>>(&self, ids: impl IntoIterator<Item = S>) -> Result<Rights, UnknownRight> {
        let mut set = Rights::EMPTY;
        for id in ids {
            let id = id.as_ref().trim();
            let i = self.rights.iter().position(|r| r.id == id).ok_or_else(|| UnknownRight {
                id: id.chars().take(64).collect(),
                known: self.rights.iter().map(|r| r.id.as_str()).collect::<Vec<_>>().join(", "),
            })?;
            set = set.union(Rights::single(i));
        }
        Ok(set)
    }

    /// The ids of a rights set.
    pub fn right_ids(&self, rights: Rights) -> Vec<&str> {
        rights.indices().filter_map(|i| self.rights.get(i)).map(|r| r.id.as_str()).collect()
    }

    /// May a token with `rights` call `method path`? Allocation-free.
    #[inline]
    pub fn check(&self, rights: Rights, method: &str, path: &str) -> Decision<'_> {
        let Some(m) = Method::from_bytes(method.as_bytes()) else {
            let lower_known = Method::ALL.iter().any(|k| k.as_str().eq_ignore_ascii_case(method));
            return Decision::Rejected(if lower_known {
                RejectReason::MethodCase
            } else {
                RejectReason::UnknownMethod
            });
        };
        self.check_method(rights, m, path)
    }

    /// [`check`](Self::check) with a parsed method.
    #[inline]
    pub fn check_method(&self, rights: Rights, method: Method, path: &str) -> Decision<'_> {
        self.decide(rights, method, path, true)
    }

    /// [`check_method`](Self::check_method) without the fast path: the full search alone. The
    /// two must agree on every input; tests compare them.
    #[doc(hidden)]
    pub fn check_method_thorough(&self, rights: Rights, method: Method, path: &str) -> Decision<'_> {
        self.decide(rights, method, path, false)
    }

    #[inline(always)]
    fn decide(&self, rights: Rights, method: Method, path: &str, fast: bool) -> Decision<'_> {
        let rel = match self.relative(path.as_bytes()) {
            Ok(r) => r,
            Err(reason) => return Decision::Rejected(reason),
        };
        let greedy = if fast { self.walk_fast(&self.hop_roots[method.index()], rel) } else { Greedy::Unsure };
        let found = match greedy {
            Greedy::Found(hop) => Ok(hop.endpoint),
            Greedy::Unknown => Err(None),
            Greedy::DeadEnd(start) => match rest_is_plain(rel, start) {
                Greedy::Unknown => Err(None),
                _ => self.search(method, rel),
            },
            Greedy::Unsure => self.search(method, rel),
        };
        match found {
            Ok(e) => {
                let ep = &self.endpoints[e as usize];
                if ep.open || ep.allowed_by.intersects(rights) {
                    Decision::Allowed(ep)
                } else {
                    Decision::Denied { endpoint: ep, would_allow: ep.allowed_by }
                }
            }
            Err(Some(reason)) => Decision::Rejected(reason),
            Err(None) => Decision::UnknownEndpoint,
        }
    }

    /// Whether `rights` allow `method path`: [`check`](Self::check)`(..).is_allowed()` without
    /// building the decision. Allocation-free; the hot path of [`Policy::allows`].
    #[inline]
    pub fn allows(&self, rights: Rights, method: &str, path: &str) -> bool {
        let Some(m) = Method::from_bytes(method.as_bytes()) else { return false };
        let Ok(rel) = self.relative(path.as_bytes()) else { return false };
        match self.walk_fast(&self.hop_roots[m.index()], rel) {
            Greedy::Found(hop) => hop.open || hop.allowed_by & rights.bits() != 0,
            // No endpoint matches (rejected or unknown, either way not allowed).
            Greedy::Unknown | Greedy::DeadEnd(_) => false,
            Greedy::Unsure => self.allows_thorough(rights, m, rel),
        }
    }

    #[cold]
    #[inline(never)]
    fn allows_thorough(&self, rights: Rights, method: Method, rel: &[u8]) -> bool {
        self.search(method, rel).is_ok_and(|e| {
            let ep = &self.endpoints[e as usize];
            ep.open || ep.allowed_by.intersects(rights)
        })
    }

    /// The full search: the endpoint, or the rejection (`None`: no endpoint matches).
    #[cold]
    #[inline(never)]
    fn search(&self, method: Method, rel: &[u8]) -> Result<u32, Option<RejectReason>> {
        let root = self.roots[method.index()];
        if root == NONE { Err(no_method_templates(rel)) } else { self.walk_slow(root, rel) }
    }

    /// The fast path: one pass, following the static child where there is one (a hash of the
    /// segment's first bytes picks the candidate slot, whose text is compared in place: a static
    /// segment is valid by construction), else the `{param}` (scanned and validated), storing
    /// nothing. This is the first branch the full static-first search would try, so an endpoint
    /// found here is the search's answer. Anything unusual (a byte to validate closely, a dot or
    /// empty segment, a dead end after a static branch where a `{param}` was the alternative)
    /// hands over to the full search, which starts again and owns every other verdict.
    #[inline(always)]
    fn walk_fast<'m>(&'m self, root: &'m Hop, path: &[u8]) -> Greedy<'m> {
        if path.len() > MAX_PATH_BYTES {
            return Greedy::Unsure;
        }
        // A reference, not a copy: the next step reads the hop where it lies (in the slot).
        let mut hop = root;
        let mut start = 0usize;
        // Whether a static branch was taken where a `{param}` was the alternative: then a dead end
        // needs the full search; otherwise it is final.
        let mut forked = false;
        loop {
            let found = if hop.exact { self.step_exact(hop, path, start) } else { self.step(hop, &path[start..]) };
            let end = match found {
                Some((child, len)) => {
                    forked |= hop.param != NONE;
                    hop = child;
                    start + len
                }
                None => {
                    if hop.param == NONE {
                        return if forked { Greedy::Unsure } else { Greedy::DeadEnd(start) };
                    }
                    let Some(end) = scan_ordinary(path, start) else { return Greedy::Unsure };
                    let len = end - start;
                    if len <= 2 && (len == 0 || path[start] == b'.' && (len == 1 || path[start + 1] == b'.')) {
                        return Greedy::Unsure;
                    }
                    hop = &self.hops[hop.param as usize];
                    end
                }
            };
            // No segment count check: templates have at most MAX_SEGMENTS segments (profile
            // validation), and each segment here descends one trie level.
            if path.get(end) == Some(&b'/') {
                // A trailing slash leaves an empty segment, which no branch accepts (no static is
                // empty, a param needs a byte): the full search then names it.
                start = end + 1;
                continue;
            }
            // The end of the path, `?` or `#` (a static match and `scan_ordinary` stop only there).
            return if hop.endpoint != NONE {
                Greedy::Found(hop)
            } else if forked {
                Greedy::Unsure
            } else {
                Greedy::Unknown
            };
        }
    }

    /// The static child of `hop` whose text starts `rest` and is followed by the end of the
    /// path, `/`, `?` or `#`; with its length.
    #[inline(always)]
    fn step(&self, hop: &Hop, rest: &[u8]) -> Option<(&Hop, usize)> {
        // The next 8 bytes, zero padded near the end of the path (static text has no NUL).
        let head = match rest.first_chunk::<8>() {
            Some(w) => u64::from_le_bytes(*w),
            None => prefix_word(rest),
        };
        if hop.scan != 0 {
            let table = hop.table as usize;
            for s in self.slots.get(table..table + usize::from(hop.scan)).unwrap_or_default() {
                if head & s.mask == s.prefix && self.ends_here(s, rest) {
                    return Some((&s.child, s.len as usize));
                }
            }
            return None;
        }
        let mut at = hop.slot_of(head & hop.kmask);
        loop {
            let s = &self.slots[at];
            if head & s.mask == s.prefix && self.ends_here(s, rest) {
                return Some((&s.child, s.len as usize));
            }
            if s.next == NONE {
                return None;
            }
            at = s.next as usize;
        }
    }

    /// Whether `rest`, whose first bytes match the slot's prefix, holds the slot's text followed
    /// by the end of the path, `/`, `?` or `#`.
    #[inline(always)]
    fn ends_here(&self, s: &Slot, rest: &[u8]) -> bool {
        let len = s.len as usize;
        let ends = match rest.get(len) {
            None => rest.len() == len,
            Some(b) => matches!(b, b'/' | b'?' | b'#'),
        };
        ends && (len <= 8 || self.long_eq(s, &rest[..len]))
    }

    /// [`step`](Self::step) for a hop hashed on whole segments.
    #[inline(never)]
    fn step_exact(&self, hop: &Hop, path: &[u8], start: usize) -> Option<(&Hop, usize)> {
        let end = segment_end(path, start);
        let seg = &path[start..end];
        let len = seg.len();
        let prefix = load_prefix(path, start, len);
        let suffix = suffix_word(seg);
        let mut at = hop.slot_of(exact_key(prefix, suffix, len));
        loop {
            let s = &self.slots[at];
            if s.len as usize == len && s.prefix == prefix && s.suffix == suffix && (len <= 16 || self.long_eq(s, seg))
            {
                return Some((&s.child, len));
            }
            if s.next == NONE {
                return None;
            }
            at = s.next as usize;
        }
    }

    /// Whether `seg` (as long as the slot's text, more than 8 bytes, first 8 already equal) is
    /// the slot's text: the last 8 bytes, then the middle when longer than 16.
    #[inline]
    fn long_eq(&self, s: &Slot, seg: &[u8]) -> bool {
        seg.last_chunk::<8>().is_some_and(|w| u64::from_le_bytes(*w) == s.suffix)
            && (seg.len() <= 16 || self.arena.get(s.off as usize..s.off as usize + seg.len()) == Some(seg))
    }

    /// The static child of a node with many children, through the hashed index.
    #[inline]
    fn static_hashed(&self, node: u32, path: &[u8], start: usize, end: usize) -> u32 {
        let len = end - start;
        let prefix = load_prefix(path, start, len);
        let h = mix(node, len, prefix);
        let mut slot = (h >> self.index_shift) as usize & self.index_mask;
        loop {
            let (key, ei) = self.index[slot];
            if ei == 0 {
                return NONE;
            }
            if key == h {
                let e = &self.edges[(ei - 1) as usize];
                if e.len as usize == len
                    && e.prefix == prefix
                    && (len <= 8 || eq_bytes(&self.arena[e.off as usize..(e.off + e.len) as usize], &path[start..end]))
                {
                    return e.child;
                }
            }
            slot = (slot + 1) & self.index_mask;
        }
    }

    /// The full static-first depth-first search, with validation of every byte.
    #[cold]
    #[inline(never)]
    fn walk_slow(&self, root: u32, path: &[u8]) -> Result<u32, Option<RejectReason>> {
        let mut scan = Scanner::new(path);
        match self.walk(root, &mut scan) {
            Some(Ok(e)) => Ok(e),
            Some(Err(reason)) => Err(Some(reason)),
            None => Err(scan.finish().err()),
        }
    }

    /// Removes any API origin and base path (a bare path is returned as it is).
    #[inline(always)]
    fn relative<'p>(&self, path: &'p [u8]) -> Result<&'p [u8], RejectReason> {
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

    /// The static child of `node` for segment `path[start..end]`, or [`NONE`] (slow path).
    fn static_child(&self, node: u32, n: &Node, path: &[u8], start: usize, end: usize) -> u32 {
        if n.edges_len > LINEAR_LIMIT {
            return self.static_hashed(node, path, start, end);
        }
        let seg = &path[start..end];
        let prefix = load_prefix(path, start, seg.len());
        let edges = &self.edges[n.edges_start as usize..(n.edges_start + n.edges_len) as usize];
        for e in edges {
            if e.prefix == prefix
                && e.len as usize == seg.len()
                && (seg.len() <= 8 || eq_bytes(&self.arena[e.off as usize..(e.off + e.len) as usize], seg))
            {
                return e.child;
            }
        }
        NONE
    }

    /// Static-first depth-first match, iterative: when a node offers both a static child and a
    /// `{param}`, the param branch is pushed as the alternative to come back to. Each trie node
    /// is reached by one choice sequence only, so the work is bounded by the number of nodes,
    /// whatever the path. Segments are scanned (validated) as the walk reaches them.
    #[inline]
    fn walk(&self, root: u32, scan: &mut Scanner<'_>) -> Option<Result<u32, RejectReason>> {
        // Pending alternatives, packed as node << 8 | segment index (at most one per segment).
        let mut pending = [0u32; MAX_SEGMENTS];
        let mut sp = 0usize;
        let mut node = root;
        let mut i = 0usize;
        loop {
            if i == scan.len && !scan.done {
                if let Err(reason) = scan.next() {
                    return Some(Err(reason));
                }
            }
            let n = &self.nodes[node as usize];
            if i == scan.len {
                if n.endpoint != NONE {
                    return Some(Ok(n.endpoint));
                }
            } else {
                let child = if n.edges_len == 0 {
                    NONE
                } else {
                    self.static_child(node, n, scan.path, scan.starts[i] as usize, scan.ends[i] as usize)
                };
                if child != NONE {
                    if n.param != NONE {
                        pending[sp] = n.param << 8 | (i as u32 + 1);
                        sp += 1;
                    }
                    node = child;
                    i += 1;
                    continue;
                }
                if n.param != NONE {
                    node = n.param;
                    i += 1;
                    continue;
                }
            }
            if sp == 0 {
                return None;
            }
            sp -= 1;
            node = pending[sp] >> 8;
            i = (pending[sp] & 0xff) as usize;
        }
    }

    /// Endpoints a rights set allows (open groups included).
    pub fn allowed_endpoints(&self, rights: Rights) -> impl Iterator<Item = &EndpointInfo> {
        self.endpoints.iter().filter(move |e| e.open || e.allowed_by.intersects(rights))
    }

    /// The smallest rights set that allows every call, or the calls no right allows.
    ///
    /// Among sets of the smallest size, the one opening the fewest endpoints wins (least
    /// privilege: `events_and_contacts` rather than `full_api`), then the one whose rights come
    /// first in the profile. Exact for every profile with up to 16 rights; above that a greedy
    /// cover is returned.
    pub fn least_rights<M: AsRef<str>, P: AsRef<str>>(&self, calls: &[(M, P)]) -> Result<Rights, Vec<Uncovered>> {
        let mut needs: Vec<Rights> = Vec::new();
        let mut uncovered = Vec::new();
        for (i, (m, p)) in calls.iter().enumerate() {
            let reason = match self.check(Rights::EMPTY, m.as_ref(), p.as_ref()) {
                Decision::Allowed(_) => continue,
                Decision::Denied { would_allow, .. } if !would_allow.is_empty() => {
                    needs.push(would_allow);
                    continue;
                }
                Decision::Denied { .. } => UncoveredReason::NoRightOpensIt,
                Decision::UnknownEndpoint => UncoveredReason::UnknownEndpoint,
                Decision::Rejected(r) => UncoveredReason::Rejected(r),
            };
            uncovered.push(Uncovered { index: i, reason });
        }
        if !uncovered.is_empty() {
            return Err(uncovered);
        }
        needs.sort_by_key(|r| r.0);
        needs.dedup();
        if needs.is_empty() {
            return Ok(Rights::EMPTY);
        }
        let n = self.rights.len();
        let covers = |s: Rights| needs.iter().all(|need| need.intersects(s));
        let opened = |s: Rights| self.allowed_endpoints(s).count();
        if n <= EXACT_LIMIT {
            // (size, endpoints opened, earlier rights first): smaller is better
            type Rank = (u32, usize, std::cmp::Reverse<u64>);
            let mut best: Option<(Rank, Rights)> = None;
            for bits in 1u64..(1u64 << n) {
                let s = Rights(bits);
                if best.is_some_and(|((size, _, _), _)| s.len() > size) || !covers(s) {
                    continue;
                }
                let key = (s.len(), opened(s), std::cmp::Reverse(bits.reverse_bits()));
                if best.is_none_or(|(b, _)| key < b) {
                    best = Some((key, s));
                }
            }
            return Ok(best.map_or(Rights::EMPTY, |(_, s)| s));
        }
        let mut chosen = Rights::EMPTY;
        let mut left = needs;
        while !left.is_empty() {
            let pick = (0..n)
                .max_by_key(|&i| (left.iter().filter(|nd| nd.contains(i)).count(), std::cmp::Reverse(i)))
                .unwrap_or(0);
            chosen = chosen.union(Rights::single(pick));
            left.retain(|nd| !nd.contains(pick));
        }
        Ok(chosen)
    }
}

/// A call [`PermissionMatrix::least_rights`] cannot cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Uncovered {
    /// Position of the call in the input.
    pub index: usize,
    /// Why.
    pub reason: UncoveredReason,
}

/// Why no right allows a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UncoveredReason {
    /// No endpoint of the matrix matches.
    UnknownEndpoint,
    /// The call was rejected.
    Rejected(RejectReason),
    /// The endpoint exists, and no right of the profile opens its group.
    NoRightOpensIt,
}

impl fmt::Display for UncoveredReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownEndpoint => f.write_str("no endpoint of the provider's matrix matches"),
            Self::Rejected(r) => write!(f, "rejected: {r}"),
            Self::NoRightOpensIt => f.write_str("no right of the provider opens this endpoint's group"),
        }
    }
}

/// A right id that the profile does not define.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown right `{id}` (rights of this provider: {known})")]
pub struct UnknownRight {
    /// The id given.
    pub id: String,
    /// The profile's right ids, comma separated.
    pub known: String,
}

/// One rights set bound to a matrix: the fastest "may I call this?" for hot paths.
#[derive(Clone, Debug)]
pub struct Policy {
    matrix: Arc<PermissionMatrix>,
    rights: Rights,
}

impl Policy {
    /// A policy for `rights` on `matrix`.
    pub fn new(matrix: Arc<PermissionMatrix>, rights: Rights) -> Self {
        Self { matrix, rights }
    }
    /// The rights.
    pub fn rights(&self) -> Rights {
        self.rights
    }
    /// The matrix.
    pub fn matrix(&self) -> &PermissionMatrix {
        &self.matrix
    }
    /// Whether the call is allowed. Allocation-free.
    #[inline]
    pub fn allows(&self, method: &str, path: &str) -> bool {
        self.matrix.allows(self.rights, method, path)
    }
    /// The detailed decision.
    pub fn check(&self, method: &str, path: &str) -> Decision<'_> {
        self.matrix.check(self.rights, method, path)
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
    fn the_fast_path_uses_every_table_kind_on_the_test_matrices() {
        // The property tests (tests/matrix_props.rs) compare the fast path with the full search on
        // Yespo's matrix and on a wide one; this checks that between them every kind of table is
        // built: compared in order, hashed on first bytes (with a chain), hashed on whole segments.
        let yespo = crate::profile::Provider::builtin("yespo").expect("yespo");
        let m = yespo.matrix();
        assert!(m.hops.iter().any(|h| h.scan != 0));
        assert!(m.hops.iter().any(|h| h.scan == 0 && !h.exact && h.table != 0));
        let mut endpoints: Vec<String> = (0..40).map(|i| format!("\"GET res{i}/{{id}}\"")).collect();
        endpoints.push("\"GET resource\"".into());
        let wide = crate::profile::Provider::from_toml_str(
            &format!(
                "id = \"w\"\n[authorization]\nurl = \"https://w.example/\"\n[[groups]]\nid = \"g\"\nopen = true\nendpoints = [{}]\n",
                endpoints.join(", ")
            ),
            "w",
        )
        .expect("wide");
        assert!(wide.matrix().hops.iter().any(|h| h.exact));
        // A chain: two children of a hashed table in one slot.
        assert!(m.slots.iter().any(|s| s.next != NONE) || wide.matrix().slots.iter().any(|s| s.next != NONE));
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
