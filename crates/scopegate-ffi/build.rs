//! The shared library's SONAME: `libscopegate.so.<major>` (`libscopegate.so.0.<minor>` while the
//! major version is 0, and `libscopegate.so.0.0.<patch>` for 0.0.x, since those releases may
//! break the ABI), the convention of cargo-c.
//! scripts/install installs cargo's `libscopegate_ffi.so` as `libscopegate.so.<version>` with the
//! links `libscopegate.so.<soname version>` and `libscopegate.so`.

fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets CARGO_PKG_VERSION_MAJOR");
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").expect("cargo sets CARGO_PKG_VERSION_MINOR");
    let patch = std::env::var("CARGO_PKG_VERSION_PATCH").expect("cargo sets CARGO_PKG_VERSION_PATCH");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "linux" || target_os == "android" || target_os.ends_with("bsd") {
        let version = match (major.as_str(), minor.as_str()) {
            ("0", "0") => format!("0.0.{patch}"),
            ("0", _) => format!("0.{minor}"),
            _ => major,
        };
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libscopegate.so.{version}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
