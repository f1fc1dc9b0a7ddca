//! A sealed store reads only sealed rows (issue 18): with a key configured, a row without a key
//! id is refused, so that whoever can write the table cannot plant a token set; a store written
//! without a key is sealed by one explicit step, `seal_plain_rows`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use scopegate::{KeyRing, SqliteStore, StoreError, StoreKey, TokenStore, Update};
use scopegate_core::prelude::*;

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scopegate-seal-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("tokens.sqlite3")
}

fn tokens(tag: &str) -> TokenSet {
    TokenSet {
        provider_id: "yespo".into(),
        access_token: AccessToken::new(format!("AT-{tag}")),
        refresh_token: Some(RefreshToken::new(format!("RT-{tag}"))),
        token_type: "Bearer".into(),
        scopes: vec![],
        issued_at: Timestamp::from_unix_secs(1_800_000_000),
        expires_at: None,
        refresh_expires_at: None,
        redirect_uri: None,
        authorization_code: None,
        params: BTreeMap::new(),
        identity: Identity::User,
        consecutive_401: 0,
        invalidated: None,
        dpop_key: None,
    }
}

fn key(account: &str) -> StoreKey {
    StoreKey::new("yespo", "client-1", account)
}

fn raw_key_id(path: &Path, account: &str) -> Option<String> {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row("SELECT key_id FROM token_sets WHERE account = ?1", [account], |r| r.get(0))
        .unwrap()
}

/// Plants a row the way anybody who can write the file could: plain JSON, no key id.
fn plant(path: &Path, account: &str, tokens: &TokenSet) {
    rusqlite::Connection::open(path)
        .unwrap()
        .execute(
            "INSERT INTO token_sets (provider_id, client_id, account, data, key_id, updated_at)
             VALUES ('yespo', 'client-1', ?1, ?2, NULL, 0)",
            rusqlite::params![account, tokens.to_json()],
        )
        .unwrap();
}

fn assert_not_sealed(e: &StoreError) {
    assert!(matches!(e, StoreError::Sealed { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("not sealed") && text.contains("scopegate store seal"), "{text}");
    assert!(!text.contains("AT-") && !text.contains("RT-"), "{text}");
}

#[test]
fn with_a_key_an_unsealed_row_is_refused() {
    let path = temp_path("planted");
    let sealed = SqliteStore::open(&path).unwrap().with_keys(KeyRing::new(&[1; 32], &[]));
    sealed.save(&key("real"), &tokens("real")).unwrap();
    plant(&path, "planted", &tokens("planted"));
    assert_eq!(raw_key_id(&path, "planted"), None);
    let e = sealed.load(&key("planted")).unwrap_err();
    assert_not_sealed(&e);
    // An update does not run on it either (nothing is read from it, nothing overwritten).
    let mut ran = false;
    let e = sealed
        .update(&key("planted"), &mut |_| {
            ran = true;
            Ok(Update::Keep)
        })
        .unwrap_err();
    assert!(!ran, "the closure never saw the planted token set");
    assert!(e.to_string().contains("not sealed"), "{e}");
    // The sealed row is unaffected, and a store without a key still reads plain rows.
    assert_eq!(sealed.load(&key("real")).unwrap(), Some(tokens("real")));
    let plain = SqliteStore::open(&path).unwrap();
    assert_eq!(plain.load(&key("planted")).unwrap(), Some(tokens("planted")));
}

#[test]
fn seal_plain_rows_is_the_explicit_step() {
    let path = temp_path("seal");
    let plain = SqliteStore::open(&path).unwrap();
    plain.save(&key("a"), &tokens("a")).unwrap();
    plain.save(&key("b"), &tokens("b")).unwrap();
    // Without a key there is nothing to seal with: an error naming what to set, nothing changed.
    let e = plain.seal_plain_rows().unwrap_err();
    assert!(matches!(e, StoreError::Sealed { .. }) && e.to_string().contains("SCOPEGATE_STORE_KEY"), "{e}");
    let k1 = SqliteStore::open(&path).unwrap().with_keys(KeyRing::new(&[1; 32], &[]));
    k1.save(&key("sealed-before"), &tokens("s")).unwrap();
    let id1 = raw_key_id(&path, "sealed-before").unwrap();
    assert_eq!(k1.seal_plain_rows().unwrap(), 2, "a and b; the sealed row is left as it is");
    assert_eq!(raw_key_id(&path, "a").as_deref(), Some(id1.as_str()));
    assert_eq!(k1.load(&key("a")).unwrap(), Some(tokens("a")));
    assert_eq!(k1.load(&key("b")).unwrap(), Some(tokens("b")));
    assert_eq!(k1.seal_plain_rows().unwrap(), 0, "nothing left in clear");
    // No token in clear left in the file (secure_delete zeroes the old pages).
    drop((plain, k1));
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
    drop(conn);
    let raw = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
    assert!(!raw.contains("AT-a") && !raw.contains("RT-b"), "a token in clear is left in the file");
    // Rows sealed with an old key are not rows in clear: left for their next write.
    let k2 = SqliteStore::open(&path).unwrap().with_keys(KeyRing::new(&[2; 32], &[[1; 32]]));
    assert_eq!(k2.seal_plain_rows().unwrap(), 0);
    assert_eq!(raw_key_id(&path, "a").as_deref(), Some(id1.as_str()));
}

#[test]
fn an_unreadable_row_in_clear_stops_the_sealing_and_changes_nothing() {
    let path = temp_path("unreadable");
    let plain = SqliteStore::open(&path).unwrap();
    plain.save(&key("good"), &tokens("good")).unwrap();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "INSERT INTO token_sets (provider_id, client_id, account, data, key_id, updated_at)
             VALUES ('yespo', 'client-1', 'zz-bad', 'not json', NULL, 0)",
            [],
        )
        .unwrap();
    let mut other = tokens("other");
    other.provider_id = "reteno".into();
    plant(&path, "zz-other-provider", &other);
    let sealed = SqliteStore::open(&path).unwrap().with_keys(KeyRing::new(&[1; 32], &[]));
    let e = sealed.seal_plain_rows().unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { ref key, .. } if key.ends_with("zz-bad")), "{e:?}");
    assert_eq!(raw_key_id(&path, "good"), None, "rolled back: nothing sealed");
    rusqlite::Connection::open(&path).unwrap().execute("DELETE FROM token_sets WHERE account = 'zz-bad'", []).unwrap();
    let e = sealed.seal_plain_rows().unwrap_err();
    assert!(e.to_string().contains("another provider"), "{e}");
    assert_eq!(raw_key_id(&path, "good"), None, "rolled back: nothing sealed");
}
