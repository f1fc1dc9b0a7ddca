//! The permission matrix: "may a token with these rights call `METHOD path`?"
//!
//! A profile's rights and API-method groups are compiled into a [`PermissionMatrix`] when the
//! profile loads. [`PermissionMatrix::check`] answers without allocating, in tens of
//! nanoseconds; [`Policy::allows`] is the same check reduced to a `bool` for one fixed rights set,
//! and [`Policy::allows_many`] the same for a batch of calls in one call.
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
//!   characters or control bytes; escapes of `?` and `#`; escapes that do not decode to valid
//!   UTF-8 (an overlong `.` like `%C0%AE`); a segment that some server would read as a dot
//!   segment: `..;` (a `;...` suffix removed, as Tomcat does) or look-alike dots that Unicode
//!   normalization folds into `.` (`%EF%BC%8E`); a URL on another scheme, host or port, or with user info;
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

use crate::method::Method;

mod hop;
mod many;
mod named;
mod path;
pub(crate) mod spec;
mod trie;

use hop::{Greedy, Hop, Slot, build_hops, rest_is_plain};
pub use named::NamedRights;
use path::Base;
use spec::{Group, Right};
use trie::{Edge, Node};
use url::Url;

/// Longest path (after an API base is removed) the checker accepts.
pub const MAX_PATH_BYTES: usize = 2048;
/// Most segments a path may have.
pub const MAX_SEGMENTS: usize = 32;

const NONE: u32 = u32::MAX;
/// Profiles with at most this many rights get an exact least-rights answer.
const EXACT_LIMIT: usize = 16;

/// A set of a profile's rights (bit `i` is the profile's `i`-th right).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
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
    /// A `.` or `..` segment, also in disguise: with a `;...` suffix (`..;`), or made of
    /// percent-encoded look-alike dots (`%EF%BC%8E`).
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
    /// `%3F` or `%23`: an encoded `?` or `#`, which a server may decode into the end of the path.
    EncodedDelimiter,
    /// Percent-encoded bytes that are not valid UTF-8 (an overlong `.` or `/`, like `%C0%AE`).
    EncodedInvalidUtf8,
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
            Self::DotSegment => "the path has a `.` or `..` segment (also as `..;` or encoded look-alike dots)",
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
            Self::EncodedDelimiter => "the path has an encoded `?` or `#` (%3F, %23)",
            Self::EncodedInvalidUtf8 => {
                "the path percent-encodes bytes that are not valid utf-8 (an overlong `.` or `/`)"
            }
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
    /// Hash tables of the hops, the `{param}` children's hops, then chained overflow slots.
    slots: Vec<Slot>,
}

impl PermissionMatrix {
    /// Compiles rights and groups; `bases` are the API base URLs paths may be given under. The
    /// trie (and its full search) first, then the fast path's tables, derived from it.
    pub(crate) fn build(rights: &[Right], groups: &[Group], bases: &[&Url]) -> PermissionMatrix {
        let mut m = PermissionMatrix::build_trie(rights, groups, bases);
        (m.hop_roots, m.slots) = build_hops(&m.nodes, &m.edges, &m.arena, &m.roots, &m.endpoints);
        m
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
            Greedy::Found(hop, _) => Ok(hop.endpoint),
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
        // The body of `allows_method`, written out: calling it instead makes this function small
        // enough that the whole walk is inlined into every caller (238.8 instead of 262.5
        // instructions per check on batch64, `benches/callgrind`), which benches/README.md
        // explains was left out ("`#[inline(always)]` on `PermissionMatrix::allows`").
        let Some(m) = Method::from_bytes(method.as_bytes()) else { return false };
        let Ok(rel) = self.relative(path.as_bytes()) else { return false };
        match self.walk_fast(&self.hop_roots[m.index()], rel) {
            Greedy::Found(hop, _) => hop.open || hop.allowed_by & rights.bits() != 0,
            // No endpoint matches (rejected or unknown, either way not allowed).
            Greedy::Unknown | Greedy::DeadEnd(_) => false,
            Greedy::Unsure => self.allows_thorough(rights, m, rel),
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
