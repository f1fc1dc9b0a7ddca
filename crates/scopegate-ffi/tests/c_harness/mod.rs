//! Building and running the C tests (`tests/c/*.c`) against a sandbox; shared by the C test
//! binaries.
#![allow(dead_code, unreachable_pub, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use scopegate_sandbox::{App, Sandbox, profile_overrides};

/// The system libraries libscopegate.a needs on Linux (`cargo rustc --print native-static-libs`;
/// `scripts/install` writes the same into scopegate.pc).
pub const NATIVE_LIBS: [&str; 7] = ["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-lm", "-ldl", "-lc"];

/// Where the loopback callbacks "arrive": nothing listens there, the C tests read the redirect.
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
pub const YOTPO_CLIENT_ID: &str = "c-tests-yotpo-app";
pub const YOTPO_CLIENT_SECRET: &str = "c-tests-yotpo-secret";

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// A `.c` file as C11.
    C,
    /// A `.c` file as C++17.
    Cxx,
    /// A `.cpp` file (tests/cpp) as C++17.
    Cpp,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Plain,
    Valgrind,
    Sanitized,
}

impl Variant {
    pub fn name(self) -> &'static str {
        match self {
            Variant::Plain => "plain",
            Variant::Valgrind => "valgrind",
            Variant::Sanitized => "asan",
        }
    }
}

pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn work_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c-tests")
}

/// The static library of this build: next to this test binary (target/<profile>/deps).
pub fn static_lib() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("deps dir");
    for candidate in [deps.join("libscopegate_ffi.a"), deps.join("../libscopegate_ffi.a")] {
        if candidate.exists() {
            return candidate;
        }
    }
    panic!("libscopegate_ffi.a (libscopegate.a once installed) not found next to {}", exe.display());
}

pub fn memcheck() -> bool {
    std::env::var_os("SCOPEGATE_C_MEMCHECK").is_some_and(|v| v == "1")
}

/// Builds `tests/c/<name>.c` and returns the program.
pub fn build(name: &str, lang: Lang, variant: Variant) -> PathBuf {
    let dir = if lang == Lang::Cpp { "tests/cpp" } else { "tests/c" };
    build_from(&crate_dir().join(dir), name, lang, variant)
}

/// Builds `<dir>/<name>.c` and returns the program.
pub fn build_from(dir: &Path, name: &str, lang: Lang, variant: Variant) -> PathBuf {
    let bin_dir = work_dir().join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let suffix = if lang == Lang::Cxx { "-cxx" } else { "" };
    let out = bin_dir.join(format!("{name}{suffix}-{}", variant.name()));
    let c_dir = crate_dir().join("tests/c");
    let mut cmd = Command::new(if lang == Lang::C { "gcc" } else { "g++" });
    match lang {
        Lang::C => cmd.args(["-std=c11", "-pedantic"]),
        Lang::Cxx => cmd.args(["-std=c++17", "-pedantic", "-x", "c++"]),
        Lang::Cpp => cmd.args(["-std=c++17", "-pedantic"]),
    };
    cmd.args(["-Wall", "-Wextra", "-Werror", "-g", "-O1"]);
    if variant == Variant::Sanitized {
        cmd.args(["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]);
    }
    cmd.arg("-I").arg(crate_dir().join("../../include"));
    cmd.arg("-I").arg(&c_dir);
    cmd.arg(dir.join(format!("{name}.{}", if lang == Lang::Cpp { "cpp" } else { "c" })));
    if lang == Lang::Cxx {
        cmd.args(["-x", "none"]);
    }
    cmd.arg(static_lib()).args(NATIVE_LIBS).arg("-o").arg(&out);
    let output = cmd.output().expect("run the C compiler (gcc, g++)");
    assert!(
        output.status.success(),
        "building {name} ({}) failed:\n{:?}\n{}",
        variant.name(),
        cmd,
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

/// A sandbox and the environment the C tests read.
pub struct Fixture {
    _sandbox: Sandbox,
    env: Vec<(String, String)>,
}

pub fn fixture(dir: &Path) -> Fixture {
    let sandbox = Sandbox::start().expect("start the sandbox");
    let base = sandbox.base_url().to_owned();
    sandbox
        .register(App {
            provider: "yotpo".into(),
            client_id: YOTPO_CLIENT_ID.into(),
            client_secret: YOTPO_CLIENT_SECRET.into(),
            redirect_uri: Some(REDIRECT_URI.into()),
            rights: vec![],
        })
        .expect("register the yotpo app");
    let yotpo = dir.join("yotpo.toml");
    let overrides = profile_overrides(&base, "yotpo").unwrap();
    std::fs::write(&yotpo, format!("extends = \"yotpo\"\n{overrides}")).unwrap();
    let env = vec![
        ("SCOPEGATE_TEST_DIR".into(), dir.display().to_string()),
        ("SCOPEGATE_TEST_SANDBOX".into(), base.clone()),
        ("SCOPEGATE_TEST_REDIRECT_URI".into(), REDIRECT_URI.into()),
        ("SCOPEGATE_TEST_YUVO_OVERRIDES".into(), profile_overrides(&base, "yuvo").unwrap()),
        ("SCOPEGATE_TEST_YOTPO_PROFILE".into(), yotpo.display().to_string()),
        ("SCOPEGATE_TEST_YOTPO_CLIENT_ID".into(), YOTPO_CLIENT_ID.into()),
        ("SCOPEGATE_TEST_YOTPO_CLIENT_SECRET".into(), YOTPO_CLIENT_SECRET.into()),
        ("SCOPEGATE_TEST_PG_SCRIPT".into(), crate_dir().join("../../scripts/pg").display().to_string()),
    ];
    Fixture { _sandbox: sandbox, env }
}

/// What a C test printed and how it ended.
pub struct Ran {
    pub success: bool,
    pub status: String,
    pub stdout: String,
    pub stderr: String,
}

/// Builds and runs one C test against a fresh sandbox; `None` when the variant is skipped.
pub fn execute(name: &str, lang: Lang, variant: Variant) -> Option<Ran> {
    if variant != Variant::Plain && !memcheck() {
        eprintln!("skipped: {name} ({}) runs with SCOPEGATE_C_MEMCHECK=1 (scripts/test)", variant.name());
        return None;
    }
    let bin = build(name, lang, variant);
    let dir = work_dir().join(format!("{}-{}", bin.file_name().unwrap().to_string_lossy(), std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fixture = fixture(&dir);
    let mut cmd = command(&bin, variant);
    cmd.envs(fixture.env.iter().map(|(k, v)| (k, v)));
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("start {:?}: {e}", cmd.get_program()));
    // Read both pipes while the program runs: one that writes more than a pipe holds (valgrind's
    // reports) would otherwise block until the time limit.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>));
    let limit = if variant == Variant::Valgrind { Duration::from_secs(600) } else { Duration::from_secs(120) };
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = std::fs::remove_dir_all(&dir);
    Some(Ran {
        success: status.success(),
        status: status.to_string(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    })
}

/// The command that runs a built C test in `variant` (under valgrind, or with the sanitizers'
/// options).
pub fn command(bin: &Path, variant: Variant) -> Command {
    let mut cmd = match variant {
        Variant::Valgrind => {
            let mut c = Command::new("valgrind");
            c.args([
                "--quiet",
                "--error-exitcode=1",
                "--leak-check=full",
                "--errors-for-leak-kinds=definite",
                "--show-leak-kinds=definite",
            ]);
            c.arg(bin);
            // Valgrind replaces operator new: the C++ test's allocation counter sees nothing.
            c.env("SCOPEGATE_TEST_VALGRIND", "1");
            c
        }
        _ => Command::new(bin),
    };
    if variant == Variant::Sanitized {
        cmd.env("ASAN_OPTIONS", "detect_leaks=1");
        cmd.env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1");
    }
    cmd
}

/// Builds and runs one C test; panics with its output unless it exits 0 having finished.
pub fn run(name: &str, lang: Lang, variant: Variant) {
    let Some(ran) = execute(name, lang, variant) else { return };
    let Ran { success, status, stdout, stderr } = ran;
    assert!(success, "{name} ({}) failed: {status}\n--- stdout\n{stdout}\n--- stderr\n{stderr}", variant.name());
    assert!(stdout.contains(&format!("{name}: ok")), "{name} did not finish:\n{stdout}\n{stderr}");
}
