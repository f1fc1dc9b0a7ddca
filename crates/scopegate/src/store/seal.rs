//! Token sets sealed at rest (optional, for [`SqliteStore`](super::SqliteStore) and the
//! PostgreSQL store).
//!
//! A sealed row holds `base64(nonce ‖ XChaCha20-Poly1305(token set JSON))` and the id of the key
//! that sealed it. The row's provider, client and account stay in clear (so keys can be listed)
//! and are the AEAD's associated data: a sealed token set moved to another row does not open.
//!
//! Keys are 32 bytes, given by the caller ([`KeyRing::new`]) or read from the environment
//! ([`KeyRing::from_env`]: `SCOPEGATE_STORE_KEY`, and `SCOPEGATE_STORE_OLD_KEYS` for keys being
//! rotated out), never from an argument. Writes always seal with the current key; reads open
//! with whichever configured key has the row's id, so keys rotate: set the new key, move the old
//! one to the old keys, and each row is sealed again at its next write. A row sealed with a key
//! that is not configured, or that does not open, is a clear error: never garbage, never a
//! silent re-login.
//!
//! With a key configured, a row in clear (no key id) is refused too ("the row is not sealed"):
//! whoever can write the table could otherwise plant a token set of their choosing. A store
//! written before a key was set is taken into use with one by an explicit step that seals its
//! rows in clear: `SqliteStore::seal_plain_rows`, `PostgresStore::seal_plain_rows`, or
//! `scopegate store seal` at the command line.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use scopegate_core::TokenSet;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::StoreKey;

/// The environment variable holding the current key (64 hex digits, or base64 of 32 bytes).
pub const KEY_ENV: &str = "SCOPEGATE_STORE_KEY";
/// The environment variable holding older keys still accepted for reading (comma-separated).
pub const OLD_KEYS_ENV: &str = "SCOPEGATE_STORE_OLD_KEYS";

const NONCE_BYTES: usize = 24;

/// One 32-byte key and its id.
struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl Key {
    fn new(bytes: &[u8; 32]) -> Key {
        // The id names the key without revealing it: a hash under a fixed label, shortened.
        let digest = Sha256::new().chain_update(b"scopegate store key id v1\0").chain_update(bytes).finalize();
        let id = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Key { id, cipher: XChaCha20Poly1305::new(bytes.into()) }
    }
}

/// The keys a store seals and opens token sets with. Its `Debug` shows key ids only.
pub struct KeyRing {
    current: Key,
    old: Vec<Key>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("current", &self.current.id)
            .field("old", &self.old.iter().map(|k| &k.id).collect::<Vec<_>>())
            .finish()
    }
}

/// A key or sealed row could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SealError(pub(super) String);

/// Reads a key written as 64 hex digits or as base64 of 32 bytes.
fn parse_key(text: &str, what: &str) -> Result<Zeroizing<[u8; 32]>, SealError> {
    let t = text.trim();
    let mut out = Zeroizing::new([0u8; 32]);
    if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        for (i, chunk) in t.as_bytes().chunks(2).enumerate() {
            let s = std::str::from_utf8(chunk).map_err(|_| SealError(format!("{what} is not hex")))?;
            out[i] = u8::from_str_radix(s, 16).map_err(|_| SealError(format!("{what} is not hex")))?;
        }
        return Ok(out);
    }
    let bytes = Zeroizing::new(
        STANDARD.decode(t).map_err(|_| SealError(format!("{what} is neither 64 hex digits nor base64 of 32 bytes")))?,
    );
    if bytes.len() != 32 {
        return Err(SealError(format!("{what} must be 32 bytes (64 hex digits, or base64), not {}", bytes.len())));
    }
    out.copy_from_slice(&bytes);
    Ok(out)
}

impl KeyRing {
    /// A key ring sealing with `current` and also opening rows sealed with any of `old`.
    pub fn new(current: &[u8; 32], old: &[[u8; 32]]) -> KeyRing {
        KeyRing { current: Key::new(current), old: old.iter().map(Key::new).collect() }
    }

    /// From [`KEY_ENV`] (and [`OLD_KEYS_ENV`]); `Ok(None)` when [`KEY_ENV`] is not set. A value
    /// that is set but not a 32-byte key is an error naming the variable (never its value).
    pub fn from_env() -> Result<Option<KeyRing>, SealError> {
        let Some(current) = std::env::var(KEY_ENV).ok().filter(|v| !v.trim().is_empty()) else {
            if std::env::var(OLD_KEYS_ENV).is_ok_and(|v| !v.trim().is_empty()) {
                return Err(SealError(format!("{OLD_KEYS_ENV} is set without {KEY_ENV}: set the current key too")));
            }
            return Ok(None);
        };
        let current = Zeroizing::new(current);
        let key = parse_key(&current, KEY_ENV)?;
        let mut old = Vec::new();
        if let Ok(list) = std::env::var(OLD_KEYS_ENV) {
            let list = Zeroizing::new(list);
            for (i, k) in list.split(',').filter(|k| !k.trim().is_empty()).enumerate() {
                old.push(Key::new(&*parse_key(k, &format!("{OLD_KEYS_ENV} entry {}", i + 1))?));
            }
        }
        Ok(Some(KeyRing { current: Key::new(&key), old }))
    }

    /// The id of the key new rows are sealed with.
    pub fn current_id(&self) -> &str {
        &self.current.id
    }

    fn find(&self, id: &str) -> Option<&Key> {
        std::iter::once(&self.current).chain(&self.old).find(|k| k.id == id)
    }

    /// Seals a token set for the row `key`: `(sealed text, key id)`.
    pub(super) fn seal(&self, key: &StoreKey, tokens: &TokenSet) -> Result<(String, String), SealError> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|e| SealError(format!("cannot draw a nonce: {e}")))?;
        let plain = Zeroizing::new(tokens.to_json());
        let aad = associated_data(key);
        let sealed = self
            .current
            .cipher
            .encrypt((&nonce).into(), Payload { msg: plain.as_bytes(), aad: &aad })
            .map_err(|_| SealError("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok((STANDARD.encode(out), self.current.id.clone()))
    }

    /// Opens a row sealed with the key `id`.
    pub(super) fn open(&self, key: &StoreKey, sealed: &str, id: &str) -> Result<TokenSet, SealError> {
        let k = self.find(id).ok_or_else(|| {
            SealError(format!(
                "it is sealed with key {id}, which is not configured (current {}{}): set {KEY_ENV}, or add the key to {OLD_KEYS_ENV}",
                self.current.id,
                if self.old.is_empty() {
                    String::new()
                } else {
                    format!(", old {}", self.old.iter().map(|k| k.id.as_str()).collect::<Vec<_>>().join(", "))
                }
            ))
        })?;
        let bytes = STANDARD.decode(sealed).map_err(|_| SealError("the sealed data is not base64".into()))?;
        if bytes.len() < NONCE_BYTES + 16 {
            return Err(SealError("the sealed data is too short".into()));
        }
        let (nonce, body) = bytes.split_at(NONCE_BYTES);
        let nonce: &[u8; NONCE_BYTES] = nonce.try_into().map_err(|_| SealError("bad nonce".into()))?;
        let aad = associated_data(key);
        let plain = Zeroizing::new(
            k.cipher
                .decrypt(nonce.into(), Payload { msg: body, aad: &aad })
                .map_err(|_| SealError(format!("it does not open with key {id}: the data was altered or moved")))?,
        );
        let text = std::str::from_utf8(&plain).map_err(|_| SealError("the opened data is not utf-8".into()))?;
        TokenSet::from_json(text).map_err(|e| SealError(e.to_string()))
    }
}

fn associated_data(key: &StoreKey) -> Vec<u8> {
    let mut aad = b"scopegate token set v1\0".to_vec();
    for part in [&key.provider_id, &key.client_id, &key.account] {
        aad.extend_from_slice(&(part.len() as u64).to_le_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

/// How a row is written: the token set as JSON, or sealed.
pub(super) fn encode(
    ring: Option<&KeyRing>,
    key: &StoreKey,
    tokens: &TokenSet,
) -> Result<(Zeroizing<String>, Option<String>), SealError> {
    match ring {
        None => Ok((Zeroizing::new(tokens.to_json()), None)),
        Some(r) => {
            let (sealed, id) = r.seal(key, tokens)?;
            Ok((Zeroizing::new(sealed), Some(id)))
        }
    }
}

/// What a store with a key says of a row in clear.
pub(super) const NOT_SEALED: &str = "the row is not sealed, and a key is configured: it is refused, since whoever can write the store could have planted it. If the store was written before the key was set, seal its rows once: scopegate store seal (or seal_plain_rows)";

/// Reads a row written by [`encode`]. Without a key only a clear row opens; with one only a
/// sealed row does (a clear one is refused: [`NOT_SEALED`]).
pub(super) fn decode(
    ring: Option<&KeyRing>,
    key: &StoreKey,
    data: &str,
    key_id: Option<&str>,
) -> Result<TokenSet, SealError> {
    match (key_id, ring) {
        (None, Some(_)) => Err(SealError(NOT_SEALED.into())),
        (None, None) => TokenSet::from_json(data).map_err(|e| SealError(e.to_string())),
        (Some(id), Some(r)) => r.open(key, data, id),
        (Some(id), None) => {
            Err(SealError(format!("it is sealed with key {id}, and no key is configured: set {KEY_ENV}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> TokenSet {
        TokenSet::from_json(
            r#"{"format":"scopegate.token_set","version":1,"provider":"p","identity":"user","access_token":"AT-secret-1","refresh_token":"RT-secret-1","issued_at":1}"#,
        )
        .unwrap()
    }

    #[test]
    fn seal_open_rotate_and_refuse() {
        let key = StoreKey::new("p", "c", "a");
        let (k1, k2) = ([1u8; 32], [2u8; 32]);
        let one = KeyRing::new(&k1, &[]);
        let (sealed, id1) = one.seal(&key, &tokens()).unwrap();
        assert!(!sealed.contains("AT-secret-1") && !sealed.contains("RT-secret-1"));
        assert_eq!(one.open(&key, &sealed, &id1).unwrap(), tokens());
        // rotated: the new ring opens old rows, seals with the new key
        let two = KeyRing::new(&k2, &[k1]);
        assert_eq!(two.open(&key, &sealed, &id1).unwrap(), tokens());
        let (resealed, id2) = two.seal(&key, &tokens()).unwrap();
        assert_ne!(id1, id2);
        assert_eq!(two.current_id(), id2);
        // without the old key: a clear error naming both ids
        let only_two = KeyRing::new(&k2, &[]);
        let e = only_two.open(&key, &sealed, &id1).unwrap_err().to_string();
        assert!(e.contains(&id1) && e.contains(&id2) && e.contains(OLD_KEYS_ENV), "{e}");
        assert!(only_two.open(&key, &resealed, &id2).is_ok());
        // moved to another row: refused
        let other = StoreKey::new("p", "c", "b");
        assert!(one.open(&other, &sealed, &id1).unwrap_err().to_string().contains("altered or moved"));
        // a key that claims the id but is another (tampered id): refused, never garbage
        let mut bytes = STANDARD.decode(&sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(one.open(&key, &STANDARD.encode(bytes), &id1).is_err());
        // no key configured
        assert!(decode(None, &key, &sealed, Some(&id1)).unwrap_err().to_string().contains(KEY_ENV));
        // a clear row reads without a key only
        assert_eq!(decode(None, &key, &tokens().to_json(), None).unwrap(), tokens());
        let e = decode(Some(&one), &key, &tokens().to_json(), None).unwrap_err().to_string();
        assert!(e.contains("not sealed") && !e.contains("AT-secret-1"), "{e}");
        assert!(!format!("{one:?}").contains("[1, 1"), "Debug shows ids only");
    }

    #[test]
    fn keys_are_hex_or_base64_of_32_bytes() {
        assert_eq!(*parse_key(&"ab".repeat(32), "k").unwrap(), [0xab; 32]);
        assert_eq!(*parse_key(&STANDARD.encode([7u8; 32]), "k").unwrap(), [7; 32]);
        let e = parse_key("c2hvcnQ=", "MY_VAR").unwrap_err().to_string();
        assert!(e.contains("MY_VAR") && e.contains("32 bytes") && !e.contains("c2hvcnQ"), "{e}");
        assert!(parse_key("not a key!", "k").is_err());
    }
}
