//! `scopegate sandbox --strict`: a sandbox process that requires PKCE.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use scopegate::Transport;
use scopegate::UreqTransport;
use scopegate_core::HttpRequest;
use scopegate_core::Method;

mod support;
use support::BIN;

fn get(url: &str) -> scopegate_core::HttpResponse {
    UreqTransport::default().send(&HttpRequest::new(Method::Get, url::Url::parse(url).unwrap())).unwrap()
}

#[test]
fn a_strict_sandbox_process_refuses_an_authorization_without_pkce() {
    let mut child = Command::new(BIN)
        .args(["sandbox", "--strict", "--json", "--consent", "approve"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let base = v["base_url"].as_str().unwrap().to_owned();
    assert_eq!(v["strict"], true);
    let authorize = format!(
        "{base}/yuvo/oauth/authorize/?response_type=code&client_id=sandbox-client&redirect_uri=http://127.0.0.1:9/cb&state=s"
    );
    let refused = get(&authorize);
    let location = refused.header("location").unwrap().to_owned();
    let strict: serde_json::Value = serde_json::from_slice(get(&format!("{base}/_sandbox/strict")).body()).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(location.contains("error=invalid_request") && location.contains("state=s"), "{location}");
    assert_eq!(strict["strict"], true);
}
