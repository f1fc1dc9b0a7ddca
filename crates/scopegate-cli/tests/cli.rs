//! The `scopegate` binary, run as a process: permission commands offline, token commands against
//! a `scopegate sandbox` process on loopback, and the demo.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use scopegate::Transport;
use scopegate::UreqTransport;
use scopegate_core::HttpRequest;
use scopegate_core::Method;

mod support;
use support::{BIN, SandboxProcess, TempDir};

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env_remove("SCOPEGATE_CLIENT_SECRET").output().expect("run scopegate")
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {:?}", text(o)))
}

#[test]
fn providers_and_provider_show() {
    let o = run(&["providers"]);
    assert_eq!(code(&o), 0);
    let (out, _) = text(&o);
    for id in ["yespo", "reteno", "yotpo", "yuvo"] {
        assert!(out.contains(id), "{out}");
    }
    let v = json(&run(&["providers", "--json"]));
    assert_eq!(v.as_array().unwrap().len(), 4);
    let v = json(&run(&["--json", "provider", "show", "yespo"]));
    assert_eq!(v["token_url"], "https://uaa.yespo.io/uaa/oauth/token");
    assert_eq!(v["rights"].as_array().unwrap().len(), 4);
    let (out, _) = text(&run(&["provider", "show", "yotpo"]));
    assert!(out.contains("not configured"), "{out}");

    // A profile file works wherever a provider is taken.
    let dir = TempDir::new("profile");
    let file = dir.0.join("mine.toml");
    std::fs::write(&file, "extends = \"yespo\"\nid = \"mine\"\n[token]\nurl = \"https://auth.example/token\"\n")
        .unwrap();
    let v = json(&run(&["provider", "show", file.to_str().unwrap(), "--json"]));
    assert_eq!(v["id"], "mine");
    assert_eq!(v["token_url"], "https://auth.example/token");
    let o = run(&["check", "--provider", file.to_str().unwrap(), "--rights", "events", "POST", "event"]);
    assert_eq!(code(&o), 0, "{:?}", text(&o));

    // Bad input: exit 2, saying what is wrong.
    let o = run(&["provider", "show", "nope"]);
    assert_eq!(code(&o), 2);
    assert!(text(&o).1.contains("unknown provider `nope`"));
    std::fs::write(&file, "id = \"x\"\n[token]\nurl = 5\n").unwrap();
    let o = run(&["provider", "show", file.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(text(&o).1.contains("token.url"), "{:?}", text(&o));
}

#[test]
fn check_exit_codes() {
    let ok =
        run(&["check", "--provider", "yespo", "--rights", "events_and_contacts", "PUT", "contact/42/subscriptions"]);
    assert_eq!(code(&ok), 0);
    assert!(text(&ok).0.contains("allowed: PUT contact/{id}/subscriptions"));
    let denied = run(&["--json", "check", "--provider", "yespo", "--rights", "events", "PUT", "contact/42"]);
    assert_eq!(code(&denied), 1);
    let v = json(&denied);
    assert_eq!(v["decision"], "denied");
    assert_eq!(v["would_allow"], serde_json::json!(["full_api", "events_and_contacts"]));
    let full_url = run(&[
        "check",
        "--provider",
        "reteno",
        "--rights",
        "messages",
        "POST",
        "https://reteno.com/api/v1/message/5/send?x=1",
    ]);
    assert_eq!(code(&full_url), 0);
    for (args, expect) in [
        (vec!["PUT", "contact/../admin"], "rejected"),
        (vec!["put", "contact/1"], "upper case"),
        (vec!["GET", "no/such/thing"], "unknown endpoint"),
        (vec!["GET", "https://evil.example/api/v1/contacts"], "rejected"),
    ] {
        let mut a = vec!["check", "--provider", "yespo", "--rights", "full_api"];
        a.extend(args);
        let o = run(&a);
        assert_eq!(code(&o), 2, "{a:?}");
        assert!(text(&o).1.contains(expect), "{a:?}: {:?}", text(&o));
    }
    let o = run(&["check", "--provider", "yespo", "--rights", "root", "GET", "contacts"]);
    assert_eq!(code(&o), 2);
    assert!(text(&o).1.contains("unknown right `root`"));
    let o = run(&["check", "--provider", "yotpo", "GET", "x"]);
    assert_eq!(code(&o), 2, "yotpo has no matrix");
    assert_eq!(code(&run(&["check", "--provider", "yespo"])), 2, "missing arguments");
}

#[test]
fn rights_for() {
    let o = run(&["rights-for", "--provider", "yespo", "PUT contact/42", "POST event"]);
    assert_eq!(code(&o), 0);
    assert_eq!(text(&o).0.trim(), "events_and_contacts");
    let v = json(&run(&["rights-for", "--json", "--provider", "yespo", "GET version"]));
    assert_eq!(v["rights"], serde_json::json!([]));
    let o = run(&["rights-for", "--provider", "yespo", "GET nothing", "PUT contact/1"]);
    assert_eq!(code(&o), 2);
    assert!(text(&o).1.contains("no right allows `GET nothing`"));
    assert_eq!(code(&run(&["rights-for", "--provider", "yespo", "PUT"])), 2);
}

fn get(url: &str) -> scopegate_core::HttpResponse {
    UreqTransport::default().send(&HttpRequest::new(Method::Get, url::Url::parse(url).unwrap())).unwrap()
}

/// Runs `login ... --no-browser` and plays the browser: reads the URL it prints, follows it to
/// the sandbox and on to the command's loopback listener.
fn login_as_user(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let url = loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            break None;
        }
        seen.push_str(&line);
        if let Some(u) = line.trim().strip_prefix("http://") {
            break Some(format!("http://{u}"));
        }
    };
    if let Some(url) = url {
        let mut waiting = String::new();
        err.read_line(&mut waiting).unwrap();
        assert!(waiting.contains("waiting up to 30 s for the authorization callback"), "{waiting}");
        seen.push_str(&waiting);
        let redirect = get(&url);
        assert_eq!(redirect.status(), 302);
        let page = get(redirect.header("location").unwrap());
        assert_eq!(page.status(), 200);
    }
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let mut out = child.wait_with_output().unwrap();
    out.stderr = format!("{seen}{rest}").into_bytes();
    out
}

#[test]
fn login_tokens_and_calls_against_a_sandbox_process() {
    let sb = SandboxProcess::start();
    let dir = TempDir::new("sandbox");
    let store = dir.store();
    let s = |extra: &[&str]| {
        let mut a: Vec<String> = extra.iter().map(|x| x.to_string()).collect();
        a.extend([
            "--provider".into(),
            "yespo".into(),
            "--sandbox".into(),
            sb.url.clone(),
            "--store".into(),
            store.clone(),
        ]);
        a
    };
    let secret = "a-secret-only-the-environment-knows";
    let args =
        s(&["login", "--client-id", "cli-app", "--client-secret-env", "CLI_SECRET", "--no-browser", "--timeout", "30"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = login_as_user(&args, &[("CLI_SECRET", secret)]);
    let (out, err) = text(&o);
    assert_eq!(code(&o), 0, "{out}\n{err}");
    // Pointed at a sandbox, the profile has an id of its own (issue 18).
    let yespo_here = format!("yespo@{}", sb.url.trim_start_matches("http://"));
    assert!(out.contains(&format!("logged in: {yespo_here} / cli-app / account sandbox")), "{out}");
    assert!(!out.contains(secret) && !err.contains(secret), "the secret is never printed");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&store).unwrap().permissions().mode() & 0o777, 0o600);
    }

    let with_secret = |extra: &[&str]| {
        let a = s(extra);
        Command::new(BIN)
            .args(&a)
            .env("SCOPEGATE_TEST_SECRET", secret)
            .args(["--client-secret-env", "SCOPEGATE_TEST_SECRET"])
            .output()
            .unwrap()
    };
    // token show: redacted unless --reveal
    let shown = run(&s(&["token", "show"]).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code(&shown), 0, "{:?}", text(&shown));
    let revealed =
        json(&run(&s(&["token", "show", "--reveal", "--json"]).iter().map(String::as_str).collect::<Vec<_>>()));
    let access = revealed["access_token"].as_str().unwrap().to_owned();
    let refresh = revealed["refresh_token"].as_str().unwrap().to_owned();
    assert!(access.len() > 20);
    let (out, _) = text(&shown);
    assert!(out.contains("[redacted]") && !out.contains(&access) && !out.contains(&refresh), "{out}");
    let plain_json = json(&run(&s(&["token", "show", "--json"]).iter().map(String::as_str).collect::<Vec<_>>()));
    assert_eq!(plain_json["access_token"], "[redacted]");

    // call: allowed (0), refused by the provider (1), refused locally (1, nothing sent), bad input (2)
    let o = with_secret(&["call", "PUT", "contact/42/subscriptions", "--data", "{\"x\":1}"]);
    assert_eq!(code(&o), 0, "{:?}", text(&o));
    assert!(text(&o).0.contains("http 200"));
    let o = with_secret(&["call", "POST", "message/1/send", "--data", "{}"]);
    assert_eq!(code(&o), 1);
    assert!(text(&o).0.contains("http 403"));
    let o = with_secret(&["call", "POST", "message/1/send", "--rights", "events_and_contacts"]);
    assert_eq!(code(&o), 1);
    assert!(text(&o).1.contains("rights that allow it: full_api, messages"), "{:?}", text(&o));
    assert_eq!(code(&with_secret(&["call", "get", "contacts"])), 2);
    assert_eq!(code(&with_secret(&["call", "PUT", "contact/1", "--data", "{not json"])), 2);

    // refresh: new tokens, rotated
    let o = with_secret(&["token", "refresh", "--json", "--reveal"]);
    assert_eq!(code(&o), 0, "{:?}", text(&o));
    assert_ne!(json(&o)["refresh_token"].as_str().unwrap(), refresh);
    // refresh without a secret available: exit 2, says what to do
    let o = run(&s(&["token", "refresh", "--client-secret-env", "UNSET_VAR_FOR_TEST"])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert_eq!(code(&o), 2);
    assert!(text(&o).1.contains("UNSET_VAR_FOR_TEST"));

    // revoke: Yespo has no revocation endpoint: forgotten locally, then nothing is stored
    let o = with_secret(&["token", "revoke"]);
    assert_eq!(code(&o), 0, "{:?}", text(&o));
    assert!(text(&o).0.contains("forgotten locally"));
    let o = run(&s(&["token", "show"]).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code(&o), 1);
    assert!(text(&o).1.contains("scopegate login"), "{:?}", text(&o));
}

#[test]
fn yotpo_install_is_stored_under_the_app_key_and_uninstalls() {
    let sb = SandboxProcess::start();
    let dir = TempDir::new("yotpo");
    let store = dir.store();
    let base = ["--provider", "yotpo", "--sandbox", sb.url.as_str(), "--store", store.as_str()];
    let mut args = vec!["login", "--no-browser", "--timeout", "30"];
    args.extend(base);
    let o = login_as_user(&args, &[]);
    assert_eq!(code(&o), 0, "{:?}", text(&o));
    assert!(text(&o).0.contains("account sandbox-store-1"), "{:?}", text(&o));
    // Without --account: the error names the accounts that are stored.
    let mut wrong = vec!["token", "show"];
    wrong.extend(base);
    let o = run(&wrong);
    assert_eq!(code(&o), 1);
    let yotpo_here = format!("yotpo@{}", sb.url.trim_start_matches("http://"));
    assert!(text(&o).1.contains(&format!("accounts stored for {yotpo_here}: sandbox-store-1")), "{:?}", text(&o));
    let mut show = vec!["token", "show", "--json", "--account", "sandbox-store-1"];
    show.extend(base);
    let v = json(&run(&show));
    assert_eq!(v["params"]["app_key"], "sandbox-store-1");
    assert_eq!(v["expires_at"], serde_json::Value::Null);
    let mut revoke = vec!["token", "revoke", "--account", "sandbox-store-1"];
    revoke.extend(base);
    let o = run(&revoke);
    assert_eq!(code(&o), 0, "{:?}", text(&o));
    assert!(text(&o).0.contains("revoked at the provider"), "{:?}", text(&o));
    let counters = get(&format!("{}/_sandbox/counters", sb.url));
    let c: serde_json::Value = serde_json::from_slice(counters.body()).unwrap();
    assert_eq!(c["yotpo"]["uninstalls"], 1);
}

#[test]
fn login_with_an_in_process_sandbox_and_bad_login_input() {
    let dir = TempDir::new("inproc");
    // A store in a directory that does not exist yet: created, private to the user.
    let store = dir.0.join("new/dir/tokens.db").to_string_lossy().into_owned();
    let o = run(&["login", "--provider", "yuvo", "--sandbox", "--no-browser", "--store", &store, "--timeout", "30"]);
    assert_eq!(code(&o), 0, "{:?}", text(&o));
    assert!(text(&o).1.contains("approving the authorization request ourselves"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.0.join("new/dir")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert_eq!(std::fs::metadata(&store).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // No client id, no secret, no redirect: exit 2 with what to do.
    let o = run(&["login", "--provider", "yespo", "--store", &store]);
    assert_eq!(code(&o), 2);
    assert!(text(&o).1.contains("--client-id"));
    let o = run(&["login", "--provider", "yespo", "--client-id", "x", "--store", &store]);
    assert_eq!(code(&o), 2);
    assert!(text(&o).1.contains("--client-secret-env"), "{:?}", text(&o));
    let o = Command::new(BIN)
        .args(["login", "--provider", "yespo", "--client-id", "x", "--client-secret-env", "S", "--store", &store])
        .env("S", "x")
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    assert!(text(&o).1.contains("--redirect-uri"), "{:?}", text(&o));
    // The secret is never an argument.
    assert_eq!(code(&run(&["login", "--provider", "yespo", "--client-secret", "x"])), 2);
    let _ = Path::new(&store);
}

#[test]
fn demo_walks_every_provider() {
    let o = run(&["demo"]);
    let (out, err) = text(&o);
    assert_eq!(code(&o), 0, "{out}\n{err}");
    assert!(out.contains("every step went as the documents say"));
    for id in ["yespo", "reteno", "yotpo", "yuvo"] {
        assert!(out.lines().any(|l| l.starts_with(id)), "{id}: {out}");
    }
    assert!(!out.contains("FAIL"));
    let v = json(&run(&["demo", "--json"]));
    assert_eq!(v["failed"], 0);
    assert!(v["steps"].as_array().unwrap().len() >= 20);
}

#[test]
fn sandbox_json_and_bad_options() {
    let mut child =
        Command::new(BIN).args(["sandbox", "--json", "--consent", "deny"]).stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let base = v["base_url"].as_str().unwrap().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"));
    assert_eq!(v["providers"]["yuvo"]["token"], format!("{base}/yuvo/oauth/token/"));
    // consent refused by the sandbox: access_denied comes back to the redirect URI
    let r = get(&format!(
        "{base}/yuvo/oauth/authorize/?response_type=code&client_id=sandbox-client&redirect_uri=http://127.0.0.1:9/cb&state=s"
    ));
    assert!(r.header("location").unwrap().contains("error=access_denied"));
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(code(&run(&["sandbox", "--consent", "maybe"])), 2);
    assert_eq!(code(&run(&["sandbox", "--port", "notaport"])), 2);
}
