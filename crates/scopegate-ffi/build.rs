//! The shared library's SONAME: `libscopegate.so.<major>` (`libscopegate.so.0.<minor>` while the
//! major version is 0, since every 0.x release may break the ABI), the convention of cargo-c.
//! scripts/install installs cargo's `libscopegate_ffi.so` as `libscopegate.so.<version>` with the
//! links `libscopegate.so.<soname version>` and `libscopegate.so`.

fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets CARGO_PKG_VERSION_MAJOR");
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").expect("cargo sets CARGO_PKG_VERSION_MINOR");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "linux" || target_os == "android" || target_os.ends_with("bsd") {
        let version = if major == "0" { format!("0.{minor}") } else { major };
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libscopegate.so.{version}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
