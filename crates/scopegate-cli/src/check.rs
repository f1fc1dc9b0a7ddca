//! `scopegate check` and `scopegate rights-for`: the access-rights matrix, offline.

use scopegate_core::Decision;
use serde_json::{Value, json};

use crate::args::Cli;
use crate::common::{load_provider, parse_rights};
use crate::fail::{Fail, Result};

pub(crate) fn check(cli: &Cli, spec: &str, rights: &str, method: &str, path: &str) -> Result<u8> {
    let p = load_provider(spec, None)?;
    if !p.has_matrix() {
        return Err(Fail::input(format!("provider `{}` has no access-rights matrix in its profile", p.id())));
    }
    let r = parse_rights(&p, rights)?;
    let m = p.matrix();
    let (code, v) = match m.check(r, method, path) {
        Decision::Allowed(ep) => (
            0,
            json!({"decision": "allowed", "endpoint": format!("{} {}", ep.method.as_str(), ep.template),
                   "group": m.groups()[ep.group].id, "deprecated": ep.deprecated}),
        ),
        Decision::Denied { endpoint, would_allow } => (
            1,
            json!({"decision": "denied", "endpoint": format!("{} {}", endpoint.method.as_str(), endpoint.template),
                   "group": m.groups()[endpoint.group].id, "would_allow": m.right_ids(would_allow)}),
        ),
        Decision::UnknownEndpoint => (2, json!({"decision": "unknown_endpoint"})),
        Decision::Rejected(reason) => (2, json!({"decision": "rejected", "reason": reason.to_string()})),
    };
    if cli.json {
        println!("{v}");
    } else {
        match v["decision"].as_str() {
            Some("allowed") => {
                let dep = if v["deprecated"] == true { " (deprecated)" } else { "" };
                println!(
                    "allowed: {} in group {}{dep}",
                    v["endpoint"].as_str().unwrap_or(""),
                    v["group"].as_str().unwrap_or("")
                );
            }
            Some("denied") => {
                let would: Vec<&str> =
                    v["would_allow"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                println!(
                    "denied: {} (group {}); rights that allow it: {}",
                    v["endpoint"].as_str().unwrap_or(""),
                    v["group"].as_str().unwrap_or(""),
                    if would.is_empty() { "none".into() } else { would.join(", ") }
                );
            }
            Some("unknown_endpoint") => {
                eprintln!("unknown endpoint: no {method} endpoint of {} matches {path}", p.id())
            }
            _ => eprintln!("rejected path: {}", v["reason"].as_str().unwrap_or("")),
        }
    }
    Ok(code)
}

pub(crate) fn rights_for(cli: &Cli, spec: &str, calls: &[String]) -> Result<u8> {
    let p = load_provider(spec, None)?;
    if !p.has_matrix() {
        return Err(Fail::input(format!("provider `{}` has no access-rights matrix in its profile", p.id())));
    }
    let mut pairs = Vec::new();
    for c in calls {
        let (m, path) = c
            .trim()
            .split_once(' ')
            .ok_or_else(|| Fail::input(format!("`{c}` is not \"METHOD PATH\" (e.g. \"PUT contact/42\")")))?;
        pairs.push((m.to_owned(), path.trim().to_owned()));
    }
    match p.matrix().least_rights(&pairs) {
        Ok(r) => {
            let ids = p.matrix().right_ids(r);
            if cli.json {
                println!("{}", json!({"rights": ids}));
            } else if ids.is_empty() {
                println!("no right needed (every call is in an open group)");
            } else {
                println!("{}", ids.join(","));
            }
            Ok(0)
        }
        Err(uncovered) => {
            let list: Vec<Value> =
                uncovered.iter().map(|u| json!({"call": calls[u.index], "reason": u.reason.to_string()})).collect();
            if cli.json {
                println!("{}", json!({"uncovered": list}));
            } else {
                for u in &uncovered {
                    eprintln!("no right allows `{}`: {}", calls[u.index], u.reason);
                }
            }
            Ok(2)
        }
    }
}
