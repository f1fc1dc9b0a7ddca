//! The trie of the endpoint templates (built when the profile loads) and the full search: a
//! static-first depth-first walk that validates every byte and owns every verdict the fast path
//! ([`super::hop`]) hands over.

use url::Url;

use super::path::{Base, Scanner, eq_bytes, load_prefix, no_method_templates, prefix_word};
use super::spec::{Group, Right, TemplateSegment};
use super::{EndpointInfo, GroupInfo, MAX_SEGMENTS, NONE, PermissionMatrix, RejectReason, RightInfo, Rights};
use crate::method::Method;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Node {
    pub(super) param: u32,
    pub(super) endpoint: u32,
    pub(super) edges_start: u32,
    pub(super) edges_len: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Edge {
    pub(super) prefix: u64,
    /// Selects the first `min(len, 8)` bytes of a word.
    pub(super) mask: u64,
    pub(super) len: u32,
    pub(super) off: u32,
    pub(super) child: u32,
}

/// Above this many static children a node's children are found through the hashed index.
const LINEAR_LIMIT: u32 = 16;

/// Hash of a static segment for the hashed child index: node, length and first 8 bytes
/// (longer segments that share those are told apart by a full comparison).
#[inline(always)]
fn mix(node: u32, len: usize, prefix: u64) -> u64 {
    // Slots are taken from the high bits (Fibonacci hashing): they depend on every input bit,
    // where the low bits of a product see only the low (first) bytes of the segment.
    (((node as u64) << 32 | len as u64) ^ prefix.rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ prefix.wrapping_mul(0x517c_c1b7_2722_0a95)
}

impl PermissionMatrix {
    /// Compiles rights and groups into the trie; `bases` are the API base URLs paths may be given
    /// under. The fast path's tables are left empty: [`PermissionMatrix::build`] derives them
    /// from the trie.
    pub(super) fn build_trie(rights: &[Right], groups: &[Group], bases: &[&Url]) -> PermissionMatrix {
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
            hop_roots: Default::default(),
            slots: Vec::new(),
        }
    }

    #[cold]
    #[inline(never)]
    pub(super) fn allows_thorough(&self, rights: Rights, method: Method, rel: &[u8]) -> bool {
        self.search(method, rel).is_ok_and(|e| {
            let ep = &self.endpoints[e as usize];
            ep.open || ep.allowed_by.intersects(rights)
        })
    }

    /// The full search: the endpoint, or the rejection (`None`: no endpoint matches).
    #[cold]
    #[inline(never)]
    pub(super) fn search(&self, method: Method, rel: &[u8]) -> Result<u32, Option<RejectReason>> {
        let root = self.roots[method.index()];
        if root == NONE { Err(no_method_templates(rel)) } else { self.walk_slow(root, rel) }
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
}
