//! Requests and answers as the handlers see them: a request parsed (query, form, JSON body,
//! `Authorization` and `DPoP` headers), an answer before it is written, and the small helpers
//! that build answers (HTML escaping, a redirect URI with parameters).

use std::time::Duration;

use serde_json::{Value, json};
use url::Url;

/// A request, parsed.
pub(crate) struct Req {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) form: Vec<(String, String)>,
    pub(crate) json: Option<Value>,
    pub(crate) authorization: Option<String>,
    /// The `DPoP` header (RFC 9449).
    pub(crate) dpop: Option<String>,
}

impl Req {
    /// A query parameter.
    pub(crate) fn q(&self, k: &str) -> Option<&str> {
        self.query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
    /// A form parameter.
    pub(crate) fn f(&self, k: &str) -> Option<&str> {
        self.form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
    /// The bearer token of the `Authorization` header.
    pub(crate) fn bearer(&self) -> Option<&str> {
        let a = self.authorization.as_deref()?;
        let (scheme, token) = a.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
    }
}

/// An answer, before it is written.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) body: String,
    pub(crate) location: Option<String>,
    /// Wait this long before answering (the `slow` fault).
    pub(crate) delay: Option<Duration>,
    /// More headers (`DPoP-Nonce`, `WWW-Authenticate`).
    pub(crate) extra_headers: Vec<(&'static str, String)>,
}

impl Answer {
    pub(crate) fn json(status: u16, v: Value) -> Answer {
        Answer {
            status,
            content_type: "application/json",
            body: v.to_string(),
            location: None,
            delay: None,
            extra_headers: Vec::new(),
        }
    }
    pub(crate) fn oauth_error(status: u16, error: &str, description: &str) -> Answer {
        Answer::json(status, json!({"error": error, "error_description": description}))
    }
    pub(crate) fn html(status: u16, title: &str, body: &str) -> Answer {
        let page = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
             <body style=\"font-family:sans-serif;margin:3em\"><h1>{t}</h1>{body}</body></html>",
            t = escape(title)
        );
        Answer {
            status,
            content_type: "text/html; charset=utf-8",
            body: page,
            location: None,
            delay: None,
            extra_headers: Vec::new(),
        }
    }
    pub(crate) fn redirect(to: String) -> Answer {
        Answer {
            status: 302,
            content_type: "text/plain",
            body: String::new(),
            location: Some(to),
            delay: None,
            extra_headers: Vec::new(),
        }
    }
    /// The headers of the answer.
    pub(crate) fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![("Content-Type", self.content_type.to_owned()), ("Cache-Control", "no-store".to_owned())];
        if let Some(l) = &self.location {
            h.push(("Location", l.clone()));
        }
        h.extend(self.extra_headers.iter().cloned());
        h
    }
    /// The answer with one more header.
    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Answer {
        self.extra_headers.push((name, value));
        self
    }
}

/// `s` safe inside HTML text and attribute values.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `uri` with `params` and the `state` added to its query.
pub(crate) fn with_params(uri: &str, params: &[(&str, &str)], state: Option<&str>) -> String {
    let Ok(mut u) = Url::parse(uri) else { return uri.to_owned() };
    {
        let mut q = u.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
        if let Some(s) = state {
            q.append_pair("state", s);
        }
    }
    u.into()
}
