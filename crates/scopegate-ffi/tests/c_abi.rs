//! The C tests of the C ABI (`tests/c/*.c`), built here with
//! `gcc -std=c11 -Wall -Wextra -Werror -pedantic` (and `permissions.c` also with
//! `g++ -std=c++17`), and the tests of the C++ wrapper `include/scopegate.hpp`
//! (`tests/cpp/*.cpp`, `g++ -std=c++17 -Wall -Wextra -Werror -pedantic`), linked against the
//! static library cargo built for this test (`libscopegate_ffi.a`, installed as
//! `libscopegate.a`), and run against a sandbox started here on 127.0.0.1 (an ephemeral port).
//!
//! With `SCOPEGATE_C_MEMCHECK=1` (scripts/test sets it) each C test also runs under valgrind
//! (`--error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite`) and built with
//! `-fsanitize=address,undefined`; valgrind must then be installed.
#![allow(clippy::print_stderr)] // the tests report what they skip

mod c_harness;

use std::process::Command;

use c_harness::*;

#[test]
fn c_permissions() {
    run("permissions", Lang::C, Variant::Plain);
}

#[test]
fn cxx_permissions() {
    run("permissions", Lang::Cxx, Variant::Plain);
}

#[test]
fn cpp_wrapper() {
    run("wrapper", Lang::Cpp, Variant::Plain);
}

#[test]
fn valgrind_cpp_wrapper() {
    run("wrapper", Lang::Cpp, Variant::Valgrind);
}

#[test]
fn asan_cpp_wrapper() {
    run("wrapper", Lang::Cpp, Variant::Sanitized);
}

#[test]
fn c_client() {
    run("client", Lang::C, Variant::Plain);
}

#[test]
fn c_observe() {
    run("observe", Lang::C, Variant::Plain);
}

#[test]
fn asan_observe() {
    run("observe", Lang::C, Variant::Sanitized);
}

#[test]
fn c_session() {
    run("session", Lang::C, Variant::Plain);
}

#[test]
fn valgrind_permissions() {
    run("permissions", Lang::C, Variant::Valgrind);
}

#[test]
fn valgrind_client() {
    run("client", Lang::C, Variant::Valgrind);
}

#[test]
fn valgrind_session() {
    run("session", Lang::C, Variant::Valgrind);
}

#[test]
fn asan_permissions() {
    run("permissions", Lang::C, Variant::Sanitized);
}

#[test]
fn asan_client() {
    run("client", Lang::C, Variant::Sanitized);
}

#[test]
fn asan_session() {
    run("session", Lang::C, Variant::Sanitized);
}

/// The memory checks have teeth: a handle leaked on purpose fails both.
#[test]
fn memory_checks_catch_a_leaked_handle() {
    for (variant, says) in [(Variant::Valgrind, "definitely lost"), (Variant::Sanitized, "LeakSanitizer")] {
        let Some(ran) = execute("leak_canary", Lang::C, variant) else { return };
        assert!(ran.stdout.contains("leak_canary: ok"), "{}\n{}", ran.stdout, ran.stderr);
        assert!(!ran.success, "{}: the leak went unnoticed\n{}", variant.name(), ran.stderr);
        assert!(ran.stderr.contains(says), "{}: {}", variant.name(), ran.stderr);
    }
}

/// The C side of the bench (`bench/check_batch64.c`, timed by `bench/run`) builds with the
/// tests' flags and decides the batch64 requests as `PermissionMatrix::check` does.
#[test]
fn bench_program_builds_and_agrees_with_rust() {
    let bin = build_from(&crate_dir().join("bench"), "check_batch64", Lang::C, Variant::Plain);
    let batch = scopegate_benches::requests::yespo_batch64();
    let requests = work_dir().join("batch64.txt");
    std::fs::write(&requests, batch.iter().map(|(m, p)| format!("{m} {p}\n")).collect::<String>()).unwrap();
    let out = Command::new(&bin).arg(&requests).args(["10", "1"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let yespo = scopegate_core::Provider::builtin("yespo").unwrap();
    let rights = yespo.rights_from_ids(["events_and_contacts"]).unwrap();
    let allowed = batch.iter().filter(|(m, p)| yespo.matrix().check(rights, m, p).is_allowed()).count();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("(allowed {allowed} of 64)")), "{stdout}");
}

/// An ignored `scopegate_result` does not compile under `-Werror`: SCOPEGATE_NODISCARD is
/// `warn_unused_result` in GNU C11, `[[nodiscard]]` in C23 and C++17. A use of the result
/// compiles in each.
#[test]
fn an_ignored_result_does_not_compile() {
    let dir = work_dir().join("nodiscard");
    std::fs::create_dir_all(&dir).unwrap();
    let ignored = "#include <scopegate.h>\nint main(void) {\n    scopegate_provider *p = 0;\n    \
                   scopegate_provider_builtin(\"yespo\", &p);\n    scopegate_provider_free(p);\n    return 0;\n}\n";
    let used = ignored.replace(
        "    scopegate_provider_builtin(\"yespo\", &p);\n",
        "    if (scopegate_provider_builtin(\"yespo\", &p) != SCOPEGATE_RESULT_OK) return 1;\n",
    );
    for (compiler, std, ext) in [("gcc", "-std=c11", "c"), ("gcc", "-std=c2x", "c"), ("g++", "-std=c++17", "cpp")] {
        for (name, source, compiles) in [("ignored", ignored, false), ("used", used.as_str(), true)] {
            let file = dir.join(format!("{name}{}.{ext}", std.trim_start_matches("-std=")));
            std::fs::write(&file, source).unwrap();
            let out = Command::new(compiler)
                // Compiled, not only parsed: GNU C's warn_unused_result is checked after parsing.
                .args([std, "-Wall", "-Wextra", "-Werror", "-c", "-I"])
                .arg(crate_dir().join("../../include"))
                .arg(&file)
                .arg("-o")
                .arg(file.with_extension("o"))
                .output()
                .expect("run the C compiler");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.success(), compiles, "{compiler} {std}, the result {name}:\n{stderr}");
            if !compiles {
                assert!(stderr.contains("unused-result") || stderr.contains("nodiscard"), "{compiler} {std}: {stderr}");
            }
        }
    }
}

#[test]
fn c_sandbox_helpers() {
    run("sandbox_helpers", Lang::C, Variant::Plain);
}

#[test]
fn valgrind_sandbox_helpers() {
    run("sandbox_helpers", Lang::C, Variant::Valgrind);
}
