//! `scopegate call`: the provider's API with the stored token.

use scopegate_core::Method;
use serde_json::{Value, json};

use crate::args::{Cli, Who};
use crate::common::{parse_rights, stored_client};
use crate::fail::{Fail, Result};

pub(crate) fn run(
    cli: &Cli,
    who: &Who,
    method: &str,
    path: &str,
    data: Option<&str>,
    rights: Option<&str>,
) -> Result<u8> {
    let m: Method = method.parse().map_err(|e| Fail::input(format!("{e} (methods are upper case: GET, POST, ...)")))?;
    if let Some(d) = data {
        serde_json::from_str::<Value>(d).map_err(|e| Fail::input(format!("--data is not JSON: {e}")))?;
    }
    let (mut client, _) = stored_client(cli, who, true)?;
    if let Some(r) = rights {
        let r = parse_rights(client.provider(), r)?;
        client = client.with_rights(r);
    }
    let resp = client.request(m, path, data.map(str::as_bytes)).map_err(|e| who.again().fail(e))?;
    let body: Value = serde_json::from_slice(resp.body())
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(resp.body()).chars().take(4096).collect()));
    if cli.json {
        println!("{}", json!({"status": resp.status(), "body": body}));
    } else {
        println!("http {}", resp.status());
        println!("{}", serde_json::to_string_pretty(&body).unwrap_or_default());
    }
    Ok(if (200..300).contains(&resp.status()) { 0 } else { 1 })
}
