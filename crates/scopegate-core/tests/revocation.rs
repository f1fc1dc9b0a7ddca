//! Revocation (RFC 7009) and remove-application requests, their answers, and the profile table.

mod common;

use common::*;
use scopegate_core::Blame;
use scopegate_core::low_level::basic_authorization;
use scopegate_core::low_level::{RevocationError, RevocationFlow, TokenFlow};
use scopegate_core::prelude::*;
use scopegate_core::profile::RevocationKind;
use scopegate_core::{Revoked, UsageError};

fn tokens(p: &Provider, with_refresh: bool) -> TokenSet {
    let rt = if with_refresh { r#","refresh_token":"RT-SECRET-1""# } else { "" };
    let mut flow = TokenFlow::authorization_code(p, &client(), grant(p, "CODE1")).unwrap();
    drive(&mut flow, T0, json(200, &format!(r#"{{"access_token":"AT-SECRET-1","token_type":"bearer"{rt}}}"#))).unwrap()
}

fn with_rfc7009(id: &str) -> Provider {
    provider(id)
        .with_overrides("[revocation]\nkind = \"rfc7009\"\nurl = \"https://auth.example/revoke\"\n", "test")
        .unwrap()
}

#[test]
fn rfc7009_revokes_the_refresh_token_with_basic_auth() {
    let p = with_rfc7009("yuvo");
    let flow = RevocationFlow::new(&p, &client(), &tokens(&p, true), "default").unwrap();
    let req = flow.request();
    assert_eq!(req.method(), Method::Post);
    assert_eq!(req.url().as_str(), "https://auth.example/revoke");
    assert!(!req.follow_redirects());
    assert_eq!(req.header_value("Authorization"), Some(basic_authorization(CLIENT_ID, CLIENT_SECRET).as_str()));
    assert_eq!(body_string(req), "token=RT-SECRET-1&token_type_hint=refresh_token");
}

#[test]
fn rfc7009_revokes_the_access_token_when_there_is_no_refresh_token_with_body_auth() {
    let p = with_rfc7009("yotpo").with_overrides("[token]\nurl = \"https://auth.example/token\"\n", "t").unwrap();
    let flow = RevocationFlow::new(&p, &client(), &tokens(&p, false), "STORE42").unwrap();
    let req = flow.request();
    assert_eq!(req.header_value("Authorization"), None);
    assert_eq!(
        body_string(req),
        format!("client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}&token=AT-SECRET-1&token_type_hint=access_token")
    );
}

#[test]
fn rfc7009_answers() {
    let p = with_rfc7009("yuvo");
    let t = tokens(&p, true);
    let flow = || RevocationFlow::new(&p, &client(), &t, "default").unwrap();
    assert_eq!(flow().handle_response(&HttpResponse::new(200, "")), Ok(Revoked::Done));
    match flow().handle_response(&json(400, r#"{"error":"unsupported_token_type"}"#)) {
        Err(e @ RevocationError::Refused(_)) => {
            assert_eq!(Error::from(e.clone()).blame(), Blame::Remote);
            assert!(e.to_string().contains("unsupported_token_type"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    let e = flow().handle_response(&json(401, r#"{"error":"invalid_client"}"#)).unwrap_err();
    assert_eq!(Error::from(e.clone()).blame(), Blame::Local);
    assert_eq!(
        flow().handle_response(&HttpResponse::new(302, "").with_header("Location", "https://x/")),
        Err(RevocationError::Redirect { status: 302 })
    );
    // A server error quoting the token: the snippet never shows it. 401 is not "already gone" here.
    match flow().handle_response(&HttpResponse::new(401, "bad token RT-SECRET-1")) {
        Err(RevocationError::HttpStatus { status: 401, snippet }) => assert!(!snippet.contains("RT-SECRET-1")),
        other => panic!("{other:?}"),
    }
}

fn yotpo_with_removal(url: &str, method: Option<&str>) -> Provider {
    let m = method.map(|m| format!("method = \"{m}\"\n")).unwrap_or_default();
    yotpo().with_overrides(&format!("[revocation]\nurl = \"{url}\"\n{m}"), "test").unwrap()
}

#[test]
fn yotpo_remove_application_needs_its_url() {
    let p = yotpo();
    assert!(matches!(p.revocation().map(|r| &r.kind), Some(RevocationKind::RemoveApplication { .. })));
    let err = RevocationFlow::new(&p, &client(), &tokens(&p, false), "STORE42").unwrap_err();
    assert!(matches!(err, UsageError::RevocationEndpointNotConfigured { .. }));
    assert!(err.to_string().contains("remove application endpoint"), "{err}");
}

#[test]
fn yotpo_remove_application_request_and_answers() {
    let p = yotpo_with_removal("https://api.yotpo.test/apps/{account}/remove", Some("DELETE"));
    let t = tokens(&p, false);
    let flow = || RevocationFlow::new(&p, &client(), &t, "STORE-4.2_~ 42/x").unwrap();
    let f = flow();
    assert_eq!(f.request().method(), Method::Delete);
    assert_eq!(f.request().url().as_str(), "https://api.yotpo.test/apps/STORE-4.2_~%2042%2Fx/remove");
    assert_eq!(f.request().header_value("Authorization"), Some("Bearer AT-SECRET-1"));
    assert!(!format!("{f:?}").contains("AT-SECRET-1"));
    assert_eq!(flow().handle_response(&HttpResponse::new(204, "")), Ok(Revoked::Done));
    assert_eq!(flow().handle_response(&HttpResponse::new(401, "")), Ok(Revoked::AlreadyGone));
    assert_eq!(flow().handle_response(&HttpResponse::new(404, "")), Ok(Revoked::AlreadyGone));
    assert!(matches!(
        flow().handle_response(&HttpResponse::new(500, "oops")),
        Err(RevocationError::HttpStatus { status: 500, .. })
    ));
    // Default method: POST.
    let p = yotpo_with_removal("https://api.yotpo.test/remove", None);
    let f = RevocationFlow::new(&p, &client(), &tokens(&p, false), "S").unwrap();
    assert_eq!(f.request().method(), Method::Post);
}

#[test]
fn no_revocation_table_is_a_usage_error() {
    let p = provider("yuvo");
    let err = RevocationFlow::new(&p, &client(), &tokens(&p, true), "default").unwrap_err();
    assert_eq!(err, UsageError::NoRevocationEndpoint { provider: "yuvo".into() });
}

#[test]
fn tokens_of_another_provider_are_refused() {
    let p = with_rfc7009("yuvo");
    let other = provider("yespo");
    let err = RevocationFlow::new(&p, &client(), &tokens(&other, true), "default").unwrap_err();
    assert!(matches!(err, UsageError::ProviderMismatch { .. }));
}

#[test]
fn revocation_table_validation() {
    let base = provider("yuvo");
    let cases = [
        ("[revocation]\nurl = \"https://a.example/r\"\n", "revocation.kind"),
        ("[revocation]\nkind = \"magic\"\nurl = \"https://a.example/r\"\n", "revocation.kind"),
        ("[revocation]\nkind = \"rfc7009\"\n", "revocation.url"),
        ("[revocation]\nkind = \"rfc7009\"\nurl = \"http://a.example/r\"\n", "revocation.url"),
        ("[revocation]\nkind = \"rfc7009\"\nurl = \"https://a.example/r\"\nmethod = \"GET\"\n", "revocation.method"),
        ("[revocation]\nkind = \"rfc7009\"\nurl = \"https://a.example/{account}\"\n", "revocation.url"),
        ("[revocation]\nkind = \"remove_application\"\nurl = \"https://a.example/{x}\"\n", "revocation.url"),
        (
            "[revocation]\nkind = \"remove_application\"\nurl = \"https://a.example/\"\nmethod = \"FETCH\"\n",
            "revocation.method",
        ),
        ("[revocation]\nkind = \"rfc7009\"\nurl = \"https://a.example/\"\nextra = 1\n", "extra"),
    ];
    for (text, field) in cases {
        let err = base.with_overrides(text, "case").unwrap_err().to_string();
        assert!(err.contains(field), "{text:?}: {err}");
    }
}
