//! The sandbox's request router never panics: a known crash, and a bounded property test of
//! arbitrary methods, paths and bodies through the in-process transport.

use proptest::prelude::*;
use scopegate::Transport;
use scopegate_core::{HttpRequest, Method};
use scopegate_sandbox::Sandbox;

fn send(sb: &Sandbox, method: Method, path: &str, body: Vec<u8>) -> Option<u16> {
    let url = url::Url::parse(&format!("{}{path}", sb.base_url())).ok()?;
    let req = HttpRequest::new(method, url).with_body("application/x-www-form-urlencoded", body);
    sb.transport().send(&req).ok().map(|r| r.status())
}

/// `DELETE /yotpo/apps/uninstall` sliced `&p[6..5]` and panicked.
#[test]
fn remove_application_without_an_app_key_is_404() {
    let sb = Sandbox::start().unwrap();
    for path in ["/yotpo/apps/uninstall", "/yotpo/apps//uninstall", "/yotpo/apps/uninstall/uninstall"] {
        let status = send(&sb, Method::Delete, path, Vec::new());
        assert!(matches!(status, Some(404) | Some(401)), "{path}: {status:?}");
    }
    assert_eq!(send(&sb, Method::Delete, "/yotpo/apps/uninstall", Vec::new()), Some(404));
}

const METHODS: [Method; 5] = [Method::Get, Method::Post, Method::Delete, Method::Put, Method::Patch];

fn path() -> impl Strategy<Value = String> {
    let prefix = prop_oneof![
        Just(""),
        Just("/yotpo"),
        Just("/yotpo/apps/"),
        Just("/yotpo/app/install/applications/"),
        Just("/yespo/uaa/oauth/"),
        Just("/yuvo/oauth/token/"),
        Just("/reteno/api/v1/"),
        Just("/_sandbox/"),
        Just("/_sandbox/yotpo/uninstall"),
    ];
    let piece = prop_oneof![
        "[a-z/%.?#&=;_0-9A-F-]{0,6}",
        Just("uninstall".to_owned()),
        Just("apps".to_owned()),
        Just("/".to_owned()),
        Just("..".to_owned()),
        Just("%2F".to_owned()),
        Just("?state=".to_owned()),
    ];
    (prefix, proptest::collection::vec(piece, 0..8)).prop_map(|(p, rest)| format!("{p}{}", rest.concat()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_requests_never_panic(
        m in 0..METHODS.len(),
        path in path(),
        body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        thread_local!(static SB: Sandbox = Sandbox::start().unwrap());
        SB.with(|sb| {
            let _ = send(sb, METHODS[m], &path, body);
        });
    }
}
