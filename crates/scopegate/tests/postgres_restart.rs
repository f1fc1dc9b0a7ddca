//! The PostgreSQL server stopped and started under a running client (`scripts/pg stop|start`):
//! clear errors while it is down, nothing lost, and calls succeed again afterwards with the same
//! client. A test binary of its own, so no other PostgreSQL test runs meanwhile.
#![cfg(feature = "postgres")]
#![allow(clippy::print_stderr)]

mod support;

use std::time::{Duration, Instant};

use scopegate::{PostgresOptions, PostgresStore, StoreKey, TokenStore, Update};
use scopegate_core::prelude::*;
use support::{pg_script, pg_url};

fn tokens(n: u32) -> TokenSet {
    TokenSet::from_json(&format!(
        r#"{{"format":"scopegate.token_set","version":1,"provider":"yespo","identity":"user","access_token":"RESTART-ACCESS-{n}","refresh_token":"RESTART-REFRESH-{n}","issued_at":1}}"#
    ))
    .unwrap()
}

#[test]
fn the_server_stopped_and_started_under_a_running_client() {
    let Some(url) = pg_url() else { return };
    let opts = PostgresOptions { connect_timeout: Duration::from_secs(2), ..PostgresOptions::default() };
    let store = PostgresStore::connect_with(&url, opts).unwrap();
    let key = StoreKey::new("yespo", format!("restart-{}", std::process::id()), "default");
    store.save(&key, &tokens(1)).unwrap();
    assert_eq!(store.load(&key).unwrap(), Some(tokens(1)));

    // The server goes away in the middle of a refresh: the renewed tokens come back with the error.
    let e = store
        .update(&key, &mut |_| {
            pg_script("stop");
            Ok(Update::Put(Box::new(tokens(2))))
        })
        .unwrap_err();
    match e {
        scopegate::Error::NotSaved { error, tokens: renewed } => {
            assert_eq!(*renewed, tokens(2), "the renewed token set is handed back");
            assert!(error.to_string().contains("postgres://"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    // While it is down: clear errors, in time.
    for _ in 0..3 {
        let started = Instant::now();
        let e = store.load(&key).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        let text = e.to_string();
        assert!(text.contains("postgres://postgres@") && text.contains("/scopegate"), "{text}");
        assert_eq!(scopegate::Error::from(e).kind(), ErrorKind::Store);
    }
    pg_script("start");
    // The same store works again, and nothing committed was lost.
    let deadline = Instant::now() + Duration::from_secs(20);
    let got = loop {
        match store.load(&key) {
            Ok(t) => break t,
            Err(e) => {
                assert!(Instant::now() < deadline, "never recovered: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    };
    assert_eq!(got, Some(tokens(1)), "the last committed token set");
    store.save(&key, &tokens(3)).unwrap();
    assert_eq!(store.load(&key).unwrap(), Some(tokens(3)));
}
