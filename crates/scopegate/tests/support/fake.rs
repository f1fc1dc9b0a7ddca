//! A fake provider in process (the transport is pluggable): token endpoint with refresh
//! rotation, an API that checks the bearer token, request counters, scripted failures.
#![allow(dead_code, unreachable_pub)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use scopegate::Transport;
use scopegate_core::prelude::*;

/// A provider: token endpoint with refresh rotation (a used refresh token is dead), an API that
/// checks the bearer token, request counters, and scripted failures.
#[derive(Default)]
pub struct FakeProvider {
    pub state: Mutex<State>,
    pub token_requests: AtomicUsize,
    pub api_requests: AtomicUsize,
    /// Transport failures to inject before the next token request: (may have been sent).
    pub fail_next: Mutex<Vec<bool>>,
    /// Status to answer the next API calls with, in order (then 200).
    pub api_script: Mutex<Vec<u16>>,
    /// Answer the next token requests with 503 + Retry-After: 0.
    pub busy: AtomicUsize,
    /// Canned outcomes for the next token requests, in pop order.
    pub token_script: Mutex<Vec<Result<HttpResponse, TransportError>>>,
    pub revoke_requests: AtomicUsize,
    /// Lifetime of the access tokens issued (0: 3600 s).
    pub expires_in: AtomicU64,
    /// Extra time a token request takes, in ms (on top of the 15 ms every one takes).
    pub token_delay_ms: AtomicU64,
    /// A spent refresh token presented again revokes the whole grant (reuse detection, as
    /// OpenID-certified servers do).
    pub reuse_revokes_grant: AtomicBool,
    /// `invalid_grant` answers given.
    pub invalid_grants: AtomicUsize,
}

#[derive(Default)]
pub struct State {
    pub issued: u32,
    pub live_refresh: Vec<String>,
    pub live_access: Vec<String>,
    pub spent_refresh: Vec<String>,
}

impl FakeProvider {
    fn issue(&self, st: &mut State) -> HttpResponse {
        let expires_in = match self.expires_in.load(Ordering::SeqCst) {
            0 => 3600,
            s => s,
        };
        st.issued += 1;
        let (at, rt) = (format!("AT{}", st.issued), format!("RT{}", st.issued));
        st.live_access.push(at.clone());
        st.live_refresh.push(rt.clone());
        HttpResponse::new(
            200,
            format!(
                r#"{{"access_token":"{at}","token_type":"Bearer","refresh_token":"{rt}","expires_in":{expires_in}}}"#
            ),
        )
    }
}

impl Transport for FakeProvider {
    fn send(&self, req: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let host = req.url().host_str().unwrap_or("").to_owned();
        if req.url().path().ends_with("/revoke") {
            self.revoke_requests.fetch_add(1, Ordering::SeqCst);
            if let Some(canned) = self.token_script.lock().unwrap().pop() {
                return canned;
            }
            let form: Vec<(String, String)> = url::form_urlencoded::parse(&req.body()).into_owned().collect();
            let token = form.iter().find(|(n, _)| n == "token").map(|(_, v)| v.clone()).unwrap_or_default();
            let mut st = self.state.lock().unwrap();
            st.live_refresh.retain(|t| *t != token);
            st.live_access.clear(); // RFC 7009 §2.1: access tokens of the grant end too
            return Ok(HttpResponse::new(200, ""));
        }
        if req.url().path().ends_with("/token") {
            if let Some(canned) = self.token_script.lock().unwrap().pop() {
                self.token_requests.fetch_add(1, Ordering::SeqCst);
                return canned;
            }
            if let Some(sent) = self.fail_next.lock().unwrap().pop() {
                return Err(if sent {
                    TransportError::Timeout { host, phase: "response" }
                } else {
                    TransportError::Connect { host, reason: "refused".into() }
                });
            }
            self.token_requests.fetch_add(1, Ordering::SeqCst);
            if self.busy.load(Ordering::SeqCst) > 0 {
                self.busy.fetch_sub(1, Ordering::SeqCst);
                return Ok(HttpResponse::new(503, "busy").with_header("Retry-After", "0"));
            }
            // widen any race
            thread::sleep(Duration::from_millis(15 + self.token_delay_ms.load(Ordering::SeqCst)));
            let form: Vec<(String, String)> = url::form_urlencoded::parse(&req.body()).into_owned().collect();
            let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let mut st = self.state.lock().unwrap();
            return Ok(match get("grant_type").as_deref() {
                Some("authorization_code") => self.issue(&mut st),
                Some("refresh_token") => {
                    let rt = get("refresh_token").unwrap_or_default();
                    match st.live_refresh.iter().position(|r| *r == rt) {
                        Some(i) => {
                            st.live_refresh.remove(i);
                            st.spent_refresh.push(rt);
                            self.issue(&mut st)
                        }
                        None => {
                            if self.reuse_revokes_grant.load(Ordering::SeqCst) && st.spent_refresh.contains(&rt) {
                                st.live_refresh.clear();
                                st.live_access.clear();
                            }
                            self.invalid_grants.fetch_add(1, Ordering::SeqCst);
                            HttpResponse::new(400, r#"{"error":"invalid_grant"}"#)
                        }
                    }
                }
                _ => HttpResponse::new(400, r#"{"error":"unsupported_grant_type"}"#),
            });
        }
        self.api_requests.fetch_add(1, Ordering::SeqCst);
        if let Some(status) = self.api_script.lock().unwrap().pop() {
            return Ok(HttpResponse::new(status, "scripted"));
        }
        let bearer = req.header_value("authorization").unwrap_or("").trim_start_matches("Bearer ").to_owned();
        let ok = self.state.lock().unwrap().live_access.contains(&bearer);
        Ok(if ok {
            HttpResponse::new(200, format!("{{\"path\":\"{}\"}}", req.url().path()))
        } else {
            HttpResponse::new(401, "")
        })
    }
}
