//! The account's DPoP key lives in the token set (issue 23): the SQLite store keeps it with the
//! tokens, sealed with the rest when the store has a key (its private key never in clear in the
//! file then), and a token set without DPoP is stored exactly as before (no `dpop_key` field).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use scopegate::{KeyRing, SqliteStore, StoreKey, TokenStore};
use scopegate_core::dpop::DpopKey;
use scopegate_core::prelude::*;
use scopegate_core::profile::JwsAlgorithm;

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scopegate-dpop-store-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("tokens.sqlite3")
}

fn tokens(dpop: Option<DpopKey>) -> TokenSet {
    let mut t = TokenSet::from_json(
        r#"{"format":"scopegate.token_set","version":1,"provider":"as","identity":"user","access_token":"AT-1",
            "refresh_token":"RT-1","token_type":"Bearer","issued_at":1800000000}"#,
    )
    .unwrap();
    if let Some(k) = dpop {
        t.token_type = "DPoP".into();
        t.dpop_key = Some(k);
    }
    t.params = BTreeMap::new();
    t
}

fn raw_row(path: &Path) -> String {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row("SELECT CAST(data AS TEXT) FROM token_sets", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn the_dpop_key_is_stored_with_the_tokens_and_sealed_with_them() {
    let key = DpopKey::generate(JwsAlgorithm::Es256).unwrap();
    let pkcs8 = serde_json::to_value(key.to_stored()).unwrap()["pkcs8"].as_str().unwrap().to_owned();
    assert!(!format!("{:?} {key:?} {:?}", key.to_stored(), tokens(Some(key.clone()))).contains(&pkcs8));
    let k = StoreKey::new("as", "client-1", "default");

    // In clear (no store key): the row is the versioned JSON, key included.
    let path = temp_path("plain");
    let plain = SqliteStore::open(&path).unwrap();
    plain.save(&k, &tokens(Some(key.clone()))).unwrap();
    assert_eq!(plain.load(&k).unwrap(), Some(tokens(Some(key.clone()))));
    assert!(raw_row(&path).contains(&pkcs8));

    // Sealed: read back whole, and nothing of the private key is in the file.
    let path = temp_path("sealed");
    let sealed = SqliteStore::open(&path).unwrap().with_keys(KeyRing::new(&[7; 32], &[]));
    sealed.save(&k, &tokens(Some(key.clone()))).unwrap();
    let back = sealed.load(&k).unwrap().unwrap();
    assert_eq!(back.dpop_key.as_ref().map(DpopKey::thumbprint), Some(key.thumbprint()));
    assert_eq!(back, tokens(Some(key)));
    let file = std::fs::read(&path).unwrap();
    assert!(!file.windows(pkcs8.len()).any(|w| w == pkcs8.as_bytes()), "the key is sealed");

    // Without DPoP the stored JSON has no dpop_key at all.
    let path = temp_path("none");
    let plain = SqliteStore::open(&path).unwrap();
    plain.save(&k, &tokens(None)).unwrap();
    assert!(!raw_row(&path).contains("dpop_key"));
}
