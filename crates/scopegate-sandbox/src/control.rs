//! The control endpoints under `/_sandbox/`, for scripts and tests in other processes.
//! Two of them belong to the room they steer, and the router sends them there: Yotpo's merchant
//! uninstall (`/_sandbox/yotpo/uninstall`, `yotpo.rs`) and the `/specs` server's client
//! registration (`/_sandbox/specs/jwt_client`).

use serde_json::{Value, json};
use url::Url;

use crate::apps::{App, PROVIDERS};
use crate::http::{Answer, Req};
use crate::knobs::{Consent, Fault};
use crate::state::Shared;

/// `/_sandbox/{rest}`.
pub(crate) fn control(shared: &Shared, req: &Req, rest: &str) -> Answer {
    match (req.method.as_str(), rest) {
        ("POST", "register") => {
            let Some(app) = req.json.as_ref().and_then(App::from_json) else {
                return Answer::json(
                    400,
                    json!({"error": "expected {provider, client_id, client_secret, redirect_uri?, rights?}"}),
                );
            };
            match shared.lock().register(app) {
                Ok(()) => Answer::json(200, json!({"registered": true})),
                Err(e) => Answer::json(400, json!({"error": e.to_string()})),
            }
        }
        ("GET", "counters") => {
            let st = shared.lock();
            let map: serde_json::Map<String, Value> = PROVIDERS
                .iter()
                .map(|p| ((*p).to_owned(), st.counters.get(*p).cloned().unwrap_or_default().to_json()))
                .collect();
            Answer::json(200, Value::Object(map))
        }
        ("POST", "fault") => {
            let v = req.json.as_ref();
            let provider = v.and_then(|v| v.get("provider")).and_then(Value::as_str).unwrap_or("");
            let fault = v.and_then(|v| v.get("fault")).and_then(Value::as_str).and_then(Fault::parse);
            match fault {
                Some(f) if PROVIDERS.contains(&provider) => {
                    shared.lock().faults.entry(provider.to_owned()).or_default().push(f);
                    Answer::json(200, json!({"queued": true}))
                }
                _ => Answer::json(
                    400,
                    json!({"error": "expected {provider, fault: 500|slow:MS|malformed-json|error-in-200|early-expiry:S|no-refresh-token}"}),
                ),
            }
        }
        ("POST", "strict") => match req.json.as_ref().and_then(|v| v.get("on")).and_then(Value::as_bool) {
            Some(on) => {
                shared.lock().strict = on;
                Answer::json(200, json!({"strict": on}))
            }
            None => Answer::json(400, json!({"error": "expected {on: true|false}"})),
        },
        ("GET", "strict") => Answer::json(200, json!({"strict": shared.lock().strict})),
        ("POST", "consent") => {
            let mode = req.json.as_ref().and_then(|v| v.get("mode")).and_then(Value::as_str);
            let c = match mode {
                Some("approve") => Consent::AutoApprove,
                Some("deny") => Consent::AutoDeny,
                Some("page") => Consent::Page,
                _ => return Answer::json(400, json!({"error": "expected {mode: approve|deny|page}"})),
            };
            shared.lock().consent = c;
            Answer::json(200, json!({"consent": mode}))
        }
        ("POST", "webhook") => {
            let url =
                req.json.as_ref().and_then(|v| v.get("url")).and_then(Value::as_str).and_then(|u| Url::parse(u).ok());
            match url {
                Some(u) => {
                    shared.lock().webhook = Some(u);
                    Answer::json(200, json!({"webhook": true}))
                }
                None => Answer::json(400, json!({"error": "expected {url}"})),
            }
        }
        _ => Answer::json(404, json!({"error": "not_found"})),
    }
}
