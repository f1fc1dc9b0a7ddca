//! The comparison router: matchit doing the permission check's job (route lookup + rights-bit
//! test), one router per method, the method pre-parsed, the path given with its leading `/`.

use scopegate_core::prelude::*;

/// matchit over a provider's endpoints: the value of a route is the rights mask that opens it
/// (`u64::MAX` for open groups).
#[derive(Debug)]
pub struct MatchitChecker {
    routers: Vec<(Method, matchit::Router<u64>)>,
}

impl MatchitChecker {
    /// The routers of `p`'s endpoints.
    pub fn new(p: &Provider) -> Self {
        let mut routers: Vec<(Method, matchit::Router<u64>)> = Vec::new();
        for e in p.matrix().endpoints() {
            let mask = if e.open { u64::MAX } else { e.allowed_by.bits() };
            let idx = match routers.iter().position(|(m, _)| *m == e.method) {
                Some(i) => i,
                None => {
                    routers.push((e.method, matchit::Router::new()));
                    routers.len() - 1
                }
            };
            routers[idx].1.insert(format!("/{}", e.template), mask).expect("route");
        }
        Self { routers }
    }

    /// Whether `rights` open `method path` (`path` with its leading `/`).
    #[inline]
    pub fn allows(&self, rights: u64, method: Method, path: &str) -> bool {
        for (m, r) in &self.routers {
            if *m == method {
                return r.at(path).is_ok_and(|hit| hit.value & rights != 0);
            }
        }
        false
    }
}
