//! `scopegate providers` and `scopegate provider show`.

use scopegate_core::Provider;
use serde_json::{Value, json};

use crate::args::Cli;
use crate::common::load_provider;
use crate::fail::{Fail, Result};
use crate::output::{authorization_text, grants};

pub(crate) fn list(cli: &Cli) -> Result<u8> {
    let list = Provider::builtins().map_err(|e| Fail::failed(e.to_string()))?;
    if cli.json {
        let v: Vec<Value> = list.iter().map(|p| json!({"id": p.id(), "name": p.name(), "grants": grants(p)})).collect();
        println!("{}", Value::Array(v));
    } else {
        for p in &list {
            println!("{:<8} {:<8} {}", p.id(), p.name(), grants(p).join(", "));
        }
    }
    Ok(0)
}

pub(crate) fn show(cli: &Cli, spec: &str) -> Result<u8> {
    let p = load_provider(spec, None)?;
    let authorization = authorization_text(&p);
    let token_url = p.token_url().map(|u| u.to_string());
    let rights: Vec<Value> = p.rights().iter().map(|r| json!({"id": r.id, "title": r.title})).collect();
    let groups: Vec<Value> = p
        .groups()
        .iter()
        .map(|g| json!({"id": g.id, "title": g.title, "open": g.open, "endpoints": g.endpoints.len()}))
        .collect();
    let v = json!({
        "id": p.id(), "name": p.name(), "origin": p.origin(),
        "authorization": authorization, "pkce": format!("{:?}", p.pkce()),
        "token_url": token_url, "token_url_hint": p.token_url_hint(),
        "client_auth": format!("{:?}", p.client_auth()), "grants": grants(&p),
        "api_base": p.api().map(|a| a.base_url.to_string()),
        "verify": p.api().and_then(|a| a.verify.as_ref()).map(|v| format!("{} {}", v.method.as_str(), v.url)),
        "revocation": p.revocation().map(|r| json!({"kind": format!("{:?}", r.kind), "url": r.url, "hint": r.url_hint})),
        "rights": rights, "groups": groups,
    });
    if cli.json {
        println!("{v}");
        return Ok(0);
    }
    println!("{} ({})  from {}", p.name(), p.id(), p.origin());
    println!("  authorization  {authorization}");
    match &token_url {
        Some(u) => println!("  token          {u}"),
        None => println!("  token          (not configured: {})", p.token_url_hint().unwrap_or("set token.url")),
    }
    println!("  client auth    {:?}    pkce {:?}", p.client_auth(), p.pkce());
    println!("  grants         {}", grants(&p).join(", "));
    if let Some(a) = p.api() {
        println!("  api            {}", a.base_url);
        if let Some(v) = &a.verify {
            println!("  verify         {} {}", v.method.as_str(), v.url);
        }
    }
    if let Some(r) = p.revocation() {
        println!("  revocation     {:?} {}", r.kind, r.url.as_deref().unwrap_or("(url not configured)"));
    }
    for r in p.rights() {
        println!("  right          {:<20} {}", r.id, r.title);
    }
    for g in p.groups() {
        let open = if g.open { " (no right needed)" } else { "" };
        println!("  group          {:<20} {} endpoints{open}", g.id, g.endpoints.len());
    }
    Ok(0)
}
