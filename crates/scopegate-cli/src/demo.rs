//! `scopegate demo`: the sandbox's demo (every built-in provider walked through its flows with
//! the real client, transport, SQLite store and loopback login), printed step by step. The exit
//! code is 1 if any step did not go as the provider's document says.

use scopegate_sandbox::demo::{Demo, DemoStep};
use serde_json::{Value, json};

use crate::fail::Fail;

pub(crate) fn run(json_out: bool) -> Result<u8, Fail> {
    let demo = Demo::start().map_err(|e| Fail::failed(e.to_string()))?;
    if !json_out {
        println!(
            "scopegate demo: sandbox at {} (loopback only), token store {}",
            demo.base_url(),
            demo.store_path().display()
        );
    }
    let mut log: Vec<Value> = Vec::new();
    let failed = demo.run(&mut |s: &DemoStep| {
        if json_out {
            log.push(json!({"provider": s.provider, "step": s.name, "ok": s.ok, "detail": s.detail}));
        } else {
            println!("{:<7} {:<48} {}  {}", s.provider, s.name, if s.ok { "ok  " } else { "FAIL" }, s.detail);
        }
    });
    if json_out {
        println!("{}", json!({"steps": log, "failed": failed}));
    } else if failed == 0 {
        println!("demo: every step went as the documents say");
    } else {
        println!("demo: {failed} step(s) failed");
    }
    Ok(if failed == 0 { 0 } else { 1 })
}
