//! `scopegate sandbox`: the provider emulator in the foreground.

use serde_json::{Value, json};

use crate::fail::{Fail, Result};
use crate::output::{authorization_text, provider_urls};

pub(crate) fn run(port: u16, consent: &str, strict: bool, json_out: bool) -> Result<u8> {
    let consent = match consent {
        "page" => scopegate_sandbox::Consent::Page,
        "approve" => scopegate_sandbox::Consent::AutoApprove,
        "deny" => scopegate_sandbox::Consent::AutoDeny,
        other => return Err(Fail::input(format!("--consent {other}: use page, approve or deny"))),
    };
    let options = scopegate_sandbox::SandboxOptions { port, consent, strict };
    let sb = scopegate_sandbox::Sandbox::start_with(options).map_err(|e| Fail::failed(e.to_string()))?;
    // Written, not println!: whoever started us may stop reading, and the sandbox must go on.
    use std::io::Write as _;
    let mut text = format!("sandbox listening on {}\n", sb.base_url());
    if strict {
        text.push_str("strict mode: PKCE (S256) required, a reused refresh token revokes its grant\n");
    }
    for id in scopegate_sandbox::PROVIDERS {
        if let Ok(p) = sb.profile(id) {
            text.push_str(&format!("  {id:<7} authorize {}\n", authorization_text(&p)));
        }
    }
    text.push_str(&format!(
        "app: client id {} / secret {} (or register yours: POST {}/_sandbox/register)\n",
        scopegate_sandbox::SANDBOX_CLIENT_ID,
        scopegate_sandbox::SANDBOX_CLIENT_SECRET,
        sb.base_url()
    ));
    text.push_str(&format!(
        "use it: scopegate login --provider {} --sandbox {} ; stop with Ctrl-C\n",
        scopegate_sandbox::PROVIDERS[0],
        sb.base_url()
    ));
    if json_out {
        let profiles: serde_json::Map<String, Value> = scopegate_sandbox::PROVIDERS
            .iter()
            .filter_map(|id| sb.profile(id).ok().map(|p| (id.to_string(), provider_urls(&p))))
            .collect();
        text = format!(
            "{}\n",
            json!({"base_url": sb.base_url(), "strict": strict, "providers": profiles,
                   "client_id": scopegate_sandbox::SANDBOX_CLIENT_ID, "client_secret": scopegate_sandbox::SANDBOX_CLIENT_SECRET})
        );
    }
    let mut out = std::io::stdout();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    loop {
        std::thread::park();
    }
}
