//! Zero heap allocations per permission check: every request of the benchmark batch and every
//! adversarial case, measured with a counting global allocator.
//!
//! One test in this binary, so no other test thread allocates while it counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use scopegate_core::prelude::*;
use scopegate_core::{Decision, Rights};

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

const ADVERSARIAL: &[&str] = &[
    "",
    "/api/v1",
    "contact//1",
    "contact/./1",
    "contact/../contacts",
    "contact/%2e%2e/x",
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
    "https://yespo.io/api/v3/contacts",
    "//evil.example/api/v1/contacts",
    "contact/1/",
];

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    f();
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

#[test]
fn checks_do_not_allocate() {
    let p = Provider::builtin("yespo").unwrap();
    let m = p.matrix().clone();
    let rights = p.rights_from_ids(["events_and_contacts"]).unwrap();
    let policy = p.policy(rights);
    let long_path = "a/".repeat(100_000);
    let deep = vec!["a"; 40].join("/");
    let batch = requests::yespo_batch64();
    assert_eq!(batch.len(), 64);

    for (method, path) in batch.iter() {
        let n = allocations_during(|| {
            std::hint::black_box(m.check(rights, method, path));
            std::hint::black_box(policy.allows(method, path));
        });
        assert_eq!(n, 0, "{method} {path} allocated {n} times");
    }
    let mut seen_rejections = 0;
    for path in ADVERSARIAL.iter().copied().chain([long_path.as_str(), deep.as_str()]) {
        let mut rejected = false;
        let n = allocations_during(|| {
            let d = m.check(Rights::from_bits(u64::MAX), "GET", path);
            rejected = matches!(d, Decision::Rejected(_));
            std::hint::black_box(d);
            std::hint::black_box(m.check(rights, "get", path));
        });
        assert_eq!(n, 0, "{path:.40?} allocated {n} times");
        seen_rejections += usize::from(rejected);
    }
    assert_eq!(seen_rejections, ADVERSARIAL.len() + 2, "every adversarial case was rejected");

    // The counter does count: a deliberate allocation is seen.
    assert!(allocations_during(|| drop(std::hint::black_box(vec![1u8; 10]))) >= 1);
}
