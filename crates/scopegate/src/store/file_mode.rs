//! A token store's files are the user's alone.
//!
//! Before a store opens an existing file it checks that the file, and the directory holding it,
//! cannot be read or swapped by somebody else:
//! - the file (and SQLite's `-wal` and `-shm` beside it) is not a symbolic link, is owned by the
//!   user running scopegate, and has no permission bit for group or others (mode 0600);
//! - the directory is not a symbolic link, is owned by that user or by root, and cannot be
//!   written by group or others unless it is sticky (like /tmp, where others cannot remove or
//!   rename what is ours).
//!
//! A new file is created with mode 0600. Every refusal says what to fix.

use std::path::Path;

use super::StoreError;

fn unsafe_store(path: &Path, problem: String) -> StoreError {
    StoreError::Unsafe { path: path.display().to_string(), problem }
}

/// Checks `file` (when it exists) and its directory.
#[cfg(unix)]
pub(super) fn check(file: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::MetadataExt as _;
    let me = rustix::process::geteuid().as_raw();
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(m) = std::fs::symlink_metadata(dir) {
            if m.file_type().is_symlink() {
                return Err(unsafe_store(dir, "the directory is a symbolic link: give the real path".into()));
            }
            if m.uid() != me && m.uid() != 0 {
                return Err(unsafe_store(
                    dir,
                    format!(
                        "the directory belongs to user id {}, not to you ({me}): use a directory of yours",
                        m.uid()
                    ),
                ));
            }
            let sticky = m.mode() & 0o1000 != 0;
            if m.mode() & 0o022 != 0 && !sticky {
                return Err(unsafe_store(
                    dir,
                    format!(
                        "the directory can be written by group or others (mode {:o}): run chmod go-w {}",
                        m.mode() & 0o777,
                        dir.display()
                    ),
                ));
            }
        }
    }
    let beside = |suffix: &str| {
        let mut s = file.as_os_str().to_owned();
        s.push(suffix);
        std::path::PathBuf::from(s)
    };
    for f in [file.to_path_buf(), beside("-wal"), beside("-shm")] {
        let f = f.as_path();
        let Ok(m) = std::fs::symlink_metadata(f) else { continue };
        if m.file_type().is_symlink() {
            return Err(unsafe_store(f, "the file is a symbolic link: give the real path".into()));
        }
        if m.uid() != me {
            return Err(unsafe_store(
                f,
                format!("the file belongs to user id {}, not to you ({me}): it is not your token store", m.uid()),
            ));
        }
        if m.mode() & 0o077 != 0 {
            return Err(unsafe_store(
                f,
                format!(
                    "the file can be read or written by group or others (mode {:o}): run chmod 600 {}",
                    m.mode() & 0o777,
                    f.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Elsewhere the file's access control list is the user's business.
#[cfg(not(unix))]
pub(super) fn check(_file: &Path) -> Result<(), StoreError> {
    Ok(())
}

/// Creates the file with mode 0600 (owner only) when it does not exist yet.
pub(super) fn create(path: &Path) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}
