//! A built-in profile pointed at a sandbox gets a provider id of its own (issue 18): `--sandbox
//! https://X` with the built-in `yespo` kept the id `yespo`, so the real provider's stored token
//! (and, on refresh, its refresh token) went to X. Every way of pointing a built-in profile at a
//! sandbox gives `id@host:port`, so no store key is shared with the real provider.

use std::sync::Arc;

use scopegate::{Client, MemoryStore, TokenStore};
use scopegate_core::prelude::*;
use scopegate_sandbox::{
    PROVIDERS, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Sandbox, SandboxError, login_app, profile_at, profile_at_with,
    profile_overrides,
};

#[test]
fn every_way_to_point_a_profile_at_a_sandbox_gives_an_id_of_its_own() {
    let sb = Sandbox::start().unwrap();
    let authority = sb.base_url().trim_start_matches("http://").to_owned();
    for id in PROVIDERS {
        let want = format!("{id}@{authority}");
        assert_eq!(sb.profile(id).unwrap().id(), want, "Sandbox::profile");
        assert_eq!(profile_at(sb.base_url(), id).unwrap().id(), want, "profile_at");
        assert_eq!(profile_at_with(sb.base_url(), id, true).unwrap().id(), want, "profile_at_with");
        // The overrides text carries it too (what the C and other callers lay over a built-in).
        let laid = Provider::builtin(id).unwrap().with_overrides(&profile_overrides(sb.base_url(), id).unwrap(), "t");
        assert_eq!(laid.unwrap().id(), want, "profile_overrides");
        assert_eq!(Provider::builtin(id).unwrap().id(), id, "the built-in keeps its own");
    }
    // Another sandbox (another port, another host) is another provider again.
    let other = profile_at("http://localhost:9", "yespo").unwrap();
    assert_eq!(other.id(), "yespo@localhost:9");
    assert_eq!(profile_at("https://sandbox.example/", "yuvo").unwrap().id(), "yuvo@sandbox.example:443");
}

#[test]
fn the_real_providers_stored_token_is_not_the_sandboxes() {
    let sb = Sandbox::start().unwrap();
    let store = Arc::new(MemoryStore::new());
    // The real Yuvo token of this app and account, stored by an earlier login.
    let real = TokenSet::from_json(
        r#"{"format":"scopegate.token_set","version":1,"provider":"yuvo","identity":"user","access_token":"REAL-ACCESS","refresh_token":"REAL-REFRESH","issued_at":1}"#,
    )
    .unwrap();
    let real_client = Client::new(
        Provider::builtin("yuvo").unwrap(),
        ClientConfig::new(SANDBOX_CLIENT_ID).unwrap(),
        Arc::new(scopegate::UreqTransport::default()),
        store.clone(),
        "default",
    );
    store.save(&real_client.key(), &real).unwrap();
    // The same app and account pointed at the sandbox: no token there, nothing sent.
    let c = Client::new(
        sb.profile("yuvo").unwrap(),
        ClientConfig::new(SANDBOX_CLIENT_ID).unwrap().with_secret(SANDBOX_CLIENT_SECRET),
        Arc::new(sb.transport()),
        store.clone(),
        "default",
    );
    let refreshed = c.refresh();
    let seen = sb.counters("yuvo");
    assert_eq!(
        (seen.api_calls, seen.token_requests.values().sum::<u64>()),
        (0, 0),
        "the real refresh token went to the sandbox: {seen:?}, {refreshed:?}"
    );
    assert_eq!(refreshed.unwrap_err().kind(), ErrorKind::NotAuthorized);
    let e = c.access_token().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotAuthorized, "{e}");
    assert_ne!(c.key(), real_client.key());
    assert_eq!(store.load(&real_client.key()).unwrap(), Some(real), "the real token is untouched");
}

#[test]
fn the_sandboxes_own_calls_take_either_id_and_bad_urls_are_named() {
    let sb = Sandbox::start().unwrap();
    let p = sb.profile("yotpo").unwrap();
    // A login through the sandbox registers the app of the built-in provider the profile is for.
    let app = login_app(p.id(), "c", "s", "http://127.0.0.1:9/cb");
    assert_eq!(app.provider, "yotpo");
    assert_eq!(app.redirect_uri.as_deref(), Some("http://127.0.0.1:9/cb"));
    assert_eq!(sb.counters(p.id()).authorize, sb.counters("yotpo").authorize);
    for bad in ["ftp://127.0.0.1:9", "127.0.0.1:9", "http://u:S3CRETPW@127.0.0.1:9", "http://127.0.0.1:9/?x=1"] {
        let e = profile_at(bad, "yespo").unwrap_err();
        assert!(matches!(e, SandboxError::BadUrl(_)), "{bad}: {e:?}");
        assert!(!e.to_string().contains("S3CRETPW"), "{e}");
    }
}
