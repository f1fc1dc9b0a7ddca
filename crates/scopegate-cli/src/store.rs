//! `scopegate store seal`: seals the token sets a store holds in clear.

use std::path::Path;

use scopegate::{KeyRing, PostgresStore, SqliteStore};
use serde_json::json;

use crate::args::Cli;
use crate::common::{is_postgres, store_spec};
use crate::fail::{Fail, Result};

/// Seals every token set the store holds in clear with the key in `$SCOPEGATE_STORE_KEY` (one
/// transaction), so that the store can be used with that key: with a key, rows in clear are
/// refused.
pub(crate) fn seal(cli: &Cli) -> Result<u8> {
    let keys = KeyRing::from_env().map_err(|e| Fail::input(e.to_string()))?.ok_or_else(|| {
        Fail::input(
            "no key to seal with: set SCOPEGATE_STORE_KEY (64 hex digits, or base64 of 32 bytes; e.g. from `openssl rand -hex 32`)",
        )
    })?;
    let key_id = keys.current_id().to_owned();
    let spec = store_spec(cli)?;
    let (shown, sealed) = if is_postgres(&spec) {
        let store = PostgresStore::connect(&spec).map_err(|e| Fail::failed(e.to_string()))?.with_keys(keys);
        let n = store.seal_plain_rows().map_err(|e| Fail::failed(e.to_string()))?;
        (store.describe().to_owned(), n)
    } else {
        // Sealing never creates a store: a wrong path is an error, not a new empty file.
        if !Path::new(&spec).is_file() {
            return Err(Fail::input(format!("no token store at {spec} (pass --store PATH|URL)")));
        }
        let store = SqliteStore::open(&spec).map_err(|e| Fail::failed(e.to_string()))?.with_keys(keys);
        let n = store.seal_plain_rows().map_err(|e| Fail::failed(e.to_string()))?;
        (store.path().display().to_string(), n)
    };
    if cli.json {
        println!("{}", json!({"store": shown, "sealed": sealed, "key_id": key_id}));
    } else {
        println!("{sealed} token set(s) sealed in {shown} with key {key_id}");
    }
    Ok(0)
}
