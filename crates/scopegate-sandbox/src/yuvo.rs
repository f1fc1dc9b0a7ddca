//! Yuvo (`../shared/seeds/003_*`): token lifetime, the refresh answer that sometimes keeps the
//! refresh token, and `GET /companies`.

use serde_json::{Value, json};

use crate::http::Answer;
use crate::state::{State, Token};

/// `"expires_in": 3600` in the document's examples.
pub(crate) const ACCESS_SECS: u64 = 3600;

/// Whether this refresh answer carries a new refresh token: "A new refresh token might be
/// returned too", so every second answer omits it and the old one stays valid.
pub(crate) fn rotates(st: &mut State) -> bool {
    st.yuvo_refreshes += 1;
    st.yuvo_refreshes % 2 == 1
}

/// The documented token answer: `token_type: Bearer` and `expires_in`.
pub(crate) fn answer_fields(body: &mut Value) {
    body["token_type"] = json!("Bearer");
    body["expires_in"] = json!(ACCESS_SECS);
}

/// `GET /companies`: the company the authorization code flow granted (none for a client
/// credentials token).
pub(crate) fn companies(tok: &Token) -> Answer {
    let companies: Vec<Value> = tok
        .company
        .iter()
        .map(|c| json!({"id": c, "name": "Sandbox Company", "uen_code": "SBX0001", "sector": "Testing"}))
        .collect();
    Answer::json(200, json!(companies))
}
