//! Zero heap allocations in `allows_many`: the benchmark batch and the adversarial paths, in one
//! call each, measured with a counting global allocator.
//!
//! One test in this binary, so no other test thread allocates while it counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use scopegate_core::prelude::*;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: forwards the caller's layout to the system allocator unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with this layout (see `alloc`).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: same contract as `GlobalAlloc::realloc`, forwarded to `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[path = "../../../benches/requests.rs"]
mod requests;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    f();
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

#[test]
fn allows_many_does_not_allocate() {
    let p = Provider::builtin("yespo").unwrap();
    let policy = p.policy(p.rights_from_ids(["events_and_contacts"]).unwrap());
    let batch: Vec<(Method, &str)> =
        requests::yespo_batch64().into_iter().map(|(m, path)| (m.parse().unwrap(), path)).collect();
    assert_eq!(batch.len(), 64);
    let long_path = "a/".repeat(100_000);
    let deep = vec!["a"; 40].join("/");
    let adversarial: Vec<(Method, &str)> = [
        "",
        "/api/v1",
        "contact//1",
        "contact/./1",
        "contact/../contacts",
        "contact/..;/contacts",
        "contact/%2e%2e/x",
        "contact/%EF%BC%8E%EF%BC%8E/x",
        "contact/%C0%AE/x",
        "contact/1%2Fsubscriptions",
        "contact/%252e",
        "contact/%00",
        "%63ontacts",
        "contact/%zz",
        "contact/1\0",
        "contact/é",
        "contact/a b",
        "javascript:alert(1)",
        "https://evil.example/api/v1/contacts",
        "https://user@yespo.io/api/v1/contacts",
        "//evil.example/api/v1/contacts",
        "contact/1/",
        long_path.as_str(),
        deep.as_str(),
    ]
    .into_iter()
    .flat_map(|path| [(Method::Get, path), (Method::Put, path)])
    .collect();
    let mut out = vec![false; batch.len().max(adversarial.len())];

    let n = allocations_during(|| policy.allows_many(&batch, &mut out[..batch.len()]));
    assert_eq!(n, 0, "the batch allocated {n} times");
    assert_eq!(
        out[..64].iter().filter(|&&b| b).count(),
        (0..64).filter(|&i| policy.allows(batch[i].0.as_str(), batch[i].1)).count()
    );
    let n = allocations_during(|| policy.allows_many(&adversarial, &mut out[..adversarial.len()]));
    assert_eq!(n, 0, "the adversarial paths allocated {n} times");
    assert!(out[..adversarial.len()].iter().all(|&b| !b), "no adversarial path is allowed");

    // The counter does count: a deliberate allocation is seen.
    assert!(allocations_during(|| drop(std::hint::black_box(vec![1u8; 10]))) >= 1);
}
