//! The fast path: a copy of the trie made for one-pass walks (a [`Hop`] per node, its static
//! children in a small table of [`Slot`]s that hold the child's hop), and the walk itself, which
//! answers the common case and hands anything unusual to the full search ([`super::trie`]).

use super::path::{load_prefix, prefix_word, scan_ordinary, segment_end};
use super::trie::{Edge, Node};
use super::{EndpointInfo, MAX_PATH_BYTES, MAX_SEGMENTS, NONE, PermissionMatrix};

/// What the fast path needs of a trie node, copied into every slot that leads to the node so that
/// a step reads one slot and no node: how to find a static child (compare the few in order, hash
/// the segment's first bytes, or hash the whole segment when `exact`), the `{param}` child, the
/// endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Hop {
    /// Bytes of the segment's first word that the hash reads: as many as the shortest static
    /// child has, at most 8.
    kmask: u64,
    /// Multiplier of the node's hash (chosen when the matrix is built).
    mul: u64,
    /// The rights that open the endpoint here.
    pub(super) allowed_by: u64,
    /// First slot of the node's table.
    table: u32,
    /// The slot holding the `{param}` child's hop (a slot no static segment matches), or
    /// [`NONE`]: the walk reads slots only.
    param: u32,
    /// The endpoint, or [`NONE`].
    pub(super) endpoint: u32,
    /// The slot of hash `h` is `table + (h >> shift)`.
    shift: u8,
    /// The endpoint's group needs no right.
    pub(super) open: bool,
    /// How the static children are found: [`NO_STATICS`]; with a few (at most [`SCAN_LIMIT`]),
    /// how many, stored in order from `table` and compared one after the other (no hash);
    /// [`HASHED`] on the segment's first bytes; [`EXACT`], hashed on the whole segment (nodes
    /// with many children sharing their first bytes).
    kind: u8,
    /// On the way from the root to this node, a static branch was taken where a `{param}` was
    /// the alternative: a dead end here needs the full search, which backtracks; otherwise it is
    /// final. (A trie node is reached by one sequence of choices, so this is the node's.)
    forked: bool,
}

/// [`Hop::kind`]: no static child (the step goes straight to the `{param}`).
const NO_STATICS: u8 = 0;
/// [`Hop::kind`]: a hash table on the segment's first bytes.
const HASHED: u8 = SCAN_LIMIT as u8 + 1;
/// [`Hop::kind`]: a hash table on whole segments.
const EXACT: u8 = SCAN_LIMIT as u8 + 2;

/// A static child in a hop's hash table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Slot {
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

impl Default for Hop {
    /// A node with no child and no endpoint.
    fn default() -> Hop {
        EMPTY_HOP
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
    kind: NO_STATICS,
    forked: false,
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

/// The exact hash key of a segment (for hops with `exact`).
#[inline(always)]
fn exact_key(prefix: u64, suffix: u64, len: usize) -> u64 {
    prefix ^ suffix.rotate_left(29) ^ (len as u64).wrapping_mul(LEN_MIX)
}

/// The fast path's tables, built from the flattened trie: a [`Hop`] per node with a hash table of
/// its static children, each slot holding the child's hop.
pub(super) fn build_hops(
    nodes: &[Node],
    edges: &[Edge],
    arena: &[u8],
    roots: &[u32; 7],
    endpoints: &[EndpointInfo],
) -> ([Hop; 7], Vec<Slot>) {
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
            hop.kind = kids.len() as u8;
            hop.table = slots.len() as u32;
            slots.extend(std::iter::repeat_n(EMPTY_SLOT, kids.len()));
        } else if !kids.is_empty() {
            hop.kind = HASHED;
            let shortest = kids.iter().map(|e| e.len as usize).min().unwrap_or(8).min(8);
            hop.kmask = len_mask(shortest);
            let mut keys: Vec<u64> = kids.iter().map(|e| e.prefix & hop.kmask).collect();
            keys.sort_unstable();
            let largest = keys.chunk_by(|a, b| a == b).map(<[u64]>::len).max().unwrap_or(0);
            keys.dedup();
            if largest > BUCKET_LIMIT {
                hop.kind = EXACT;
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
    // Parents come before their children in `nodes`.
    for (ni, n) in nodes.iter().enumerate() {
        let forked = hops[ni].forked;
        for e in children(n) {
            hops[e.child as usize].forked = forked || n.param != NONE;
        }
        if let Some(p) = hops.get_mut(n.param as usize) {
            p.forked = forked;
        }
    }
    // A slot for each `{param}` child's hop.
    let mut param_slot = vec![NONE; nodes.len()];
    for (ni, n) in nodes.iter().enumerate() {
        if n.param != NONE {
            param_slot[ni] = slots.len() as u32;
            slots.push(EMPTY_SLOT);
        }
    }
    for (hop, p) in hops.iter_mut().zip(&param_slot) {
        hop.param = *p;
    }
    for (ni, n) in nodes.iter().enumerate() {
        let hop = hops[ni];
        if let Some(&p) = param_slot.get(ni).filter(|p| **p != NONE) {
            slots[p as usize].child = hops[n.param as usize];
        }
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
            if hop.kind <= SCAN_LIMIT as u8 {
                slots[hop.table as usize + i] = slot;
                continue;
            }
            let key =
                if hop.kind == EXACT { exact_key(e.prefix, suffix, e.len as usize) } else { e.prefix & hop.kmask };
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
    (hop_roots, slots)
}

/// What the fast walk concluded.
pub(super) enum Greedy<'m> {
    /// The node of the endpoint found (the full search's answer), and where the path's
    /// segments end (its length, or the offset of its `?` or `#`).
    Found(&'m Hop, usize),
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
pub(super) fn rest_is_plain(path: &[u8], mut start: usize) -> Greedy<'static> {
    let mut done = path[..start].iter().filter(|&&b| b == b'/').count();
    loop {
        let Some(end) = scan_ordinary(path, start) else { return Greedy::Unsure };
        let len = end - start;
        // A segment that starts with `.` may be a dot segment in disguise (`..;`): the full
        // search decides.
        if len == 0 || path[start] == b'.' {
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

/// A fast walk in progress (see [`PermissionMatrix::walk_fast`]).
#[derive(Clone, Copy, Debug)]
pub(super) struct Walk<'m> {
    /// A reference, not a copy: the next step reads the hop where it lies (in the slot). A copied
    /// hop went through the stack and stalled on store forwarding.
    hop: &'m Hop,
    /// Where the next segment starts.
    start: usize,
}

impl<'m> Walk<'m> {
    #[inline(always)]
    pub(super) fn new(root: &'m Hop) -> Self {
        Walk { hop: root, start: 0 }
    }
}

impl PermissionMatrix {
    /// The fast path: one pass, following the static child where there is one (a hash of the
    /// segment's first bytes picks the candidate slot, whose text is compared in place: a static
    /// segment is valid by construction), else the `{param}` (scanned and validated), storing
    /// nothing. This is the first branch the full static-first search would try, so an endpoint
    /// found here is the search's answer. Anything unusual (a byte to validate closely, a dot or
    /// empty segment, a dead end after a static branch where a `{param}` was the alternative)
    /// hands over to the full search, which starts again and owns every other verdict.
    #[inline(always)]
    pub(super) fn walk_fast<'m>(&'m self, root: &'m Hop, path: &[u8]) -> Greedy<'m> {
        if path.len() > MAX_PATH_BYTES {
            return Greedy::Unsure;
        }
        let mut walk = Walk::new(root);
        loop {
            if let Some(done) = self.advance(&mut walk, path) {
                return done;
            }
        }
    }

    /// One segment of a fast walk: `None` while the walk goes on.
    #[inline(always)]
    pub(super) fn advance<'m>(&'m self, walk: &mut Walk<'m>, path: &[u8]) -> Option<Greedy<'m>> {
        let (hop, start) = (walk.hop, walk.start);
        let found = match hop.kind {
            NO_STATICS => None,
            EXACT => self.step_exact(hop, path, start),
            _ => self.step(hop, &path[start..]),
        };
        let end = match found {
            Some((child, len)) => {
                walk.hop = child;
                start + len
            }
            None => {
                if hop.param == NONE {
                    return Some(if hop.forked { Greedy::Unsure } else { Greedy::DeadEnd(start) });
                }
                let Some(end) = scan_ordinary(path, start) else { return Some(Greedy::Unsure) };
                let len = end - start;
                // Empty, or starting with `.` (perhaps a dot segment in disguise, `..;`): the full
                // search decides.
                if len == 0 || path[start] == b'.' {
                    return Some(Greedy::Unsure);
                }
                walk.hop = &self.slots[hop.param as usize].child;
                end
            }
        };
        // No segment count check: templates have at most MAX_SEGMENTS segments (profile
        // validation), and each segment here descends one trie level.
        if path.get(end) == Some(&b'/') {
            // A trailing slash leaves an empty segment, which no branch accepts (no static is
            // empty, a param needs a byte): the full search then names it.
            walk.start = end + 1;
            return None;
        }
        // The end of the path, `?` or `#` (a static match and `scan_ordinary` stop only there).
        let hop = walk.hop;
        Some(if hop.endpoint != NONE {
            Greedy::Found(hop, end)
        } else if hop.forked {
            Greedy::Unsure
        } else {
            Greedy::Unknown
        })
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
        if hop.kind != HASHED {
            let table = hop.table as usize;
            for s in &self.slots[table..table + usize::from(hop.kind)] {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_path_uses_every_table_kind_on_the_test_matrices() {
        // The property tests (tests/matrix_props.rs) compare the fast path with the full search on
        // Yespo's matrix and on a wide one; this checks that between them every kind of table is
        // built: compared in order, hashed on first bytes (with a chain), hashed on whole segments.
        let yespo = crate::profile::Provider::builtin("yespo").expect("yespo");
        let m = yespo.matrix();
        let hops = |m: &PermissionMatrix| m.slots.iter().map(|s| s.child).chain(m.hop_roots).collect::<Vec<_>>();
        assert!(hops(m).iter().any(|h| (1..=SCAN_LIMIT as u8).contains(&h.kind)));
        assert!(hops(m).iter().any(|h| h.kind == HASHED));
        assert!(hops(m).iter().any(|h| h.kind == NO_STATICS && h.param != NONE));
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
        assert!(hops(wide.matrix()).iter().any(|h| h.kind == EXACT));
        // A chain: two children of a hashed table in one slot.
        assert!(m.slots.iter().any(|s| s.next != NONE) || wide.matrix().slots.iter().any(|s| s.next != NONE));
    }
}
