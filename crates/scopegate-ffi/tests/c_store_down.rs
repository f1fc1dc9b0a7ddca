//! Issue "nothing lost", from C: PostgreSQL stopped while a refresh is in flight
//! (`tests/c/store_down.c`). A test binary of its own: it stops the server, so no other
//! PostgreSQL test may run meanwhile.
#![allow(clippy::print_stderr)]

mod c_harness;

use c_harness::*;

#[test]
fn c_store_down() {
    if std::env::var_os("SCOPEGATE_TEST_PG").is_none() {
        assert!(std::env::var_os("SCOPEGATE_REQUIRE_PG").is_none(), "SCOPEGATE_REQUIRE_PG is set: run scripts/test");
        eprintln!("skipped: no PostgreSQL");
        return;
    }
    run("store_down", Lang::C, Variant::Plain);
    run("store_down", Lang::C, Variant::Sanitized);
}
