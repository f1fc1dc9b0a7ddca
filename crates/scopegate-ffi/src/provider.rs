//! `scopegate_provider`: a loaded provider profile (built-in, TOML text or file, overrides).

use std::ffi::{CString, c_char};
use std::sync::Arc;

use scopegate_core::Provider;

use crate::boundary::{Out, cstr, free_handle, guard, guard_value, handle, into_handle, text};
use crate::failure::Failure;
use crate::result::scopegate_result;

/// A provider profile: endpoints, flows, quirks and the access-rights matrix of one OAuth 2.0
/// provider.
///
/// Ownership: made by `scopegate_provider_builtin`, `_from_toml`, `_from_file` or
/// `_with_overrides`; the caller owns it and frees it with `scopegate_provider_free`. Clients and
/// sessions made from it keep their own reference, so it may be freed before them; strings
/// borrowed from it (`scopegate_provider_id`, a `scopegate_decision_detail`) live as long as it.
///
/// Thread safety: immutable; may be used from any number of threads at once.
pub struct scopegate_provider {
    pub(crate) provider: Arc<Provider>,
    id: CString,
    /// The template of every endpoint, by index in the matrix.
    pub(crate) templates: Vec<CString>,
    /// The id of every group, by index in the matrix.
    pub(crate) groups: Vec<CString>,
}

impl std::fmt::Debug for scopegate_provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("scopegate_provider").field("id", &self.provider.id()).finish_non_exhaustive()
    }
}

fn c_string(s: &str) -> CString {
    // Ids and templates are validated ASCII without NUL; a NUL would only shorten the C string.
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

impl scopegate_provider {
    pub(crate) fn new(provider: Provider) -> scopegate_provider {
        let m = provider.matrix();
        let templates = m.endpoints().iter().map(|e| c_string(&e.template)).collect();
        let groups = m.groups().iter().map(|g| c_string(&g.id)).collect();
        let id = c_string(provider.id());
        scopegate_provider { provider: Arc::new(provider), id, templates, groups }
    }
}

pub(crate) fn give(out: Out<*mut scopegate_provider>, provider: Provider) -> Result<(), Failure> {
    out.write(into_handle(scopegate_provider::new(provider)));
    Ok(())
}

/// Loads a built-in profile: `yespo`, `reteno`, `yotpo` or `yuvo`. On success `*out` is a new
/// provider (free it with `scopegate_provider_free`); `SCOPEGATE_RESULT_UNKNOWN_PROVIDER` when no
/// built-in profile has this id.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_provider_builtin(
    id: *const c_char,
    out: *mut *mut scopegate_provider,
) -> scopegate_result {
    guard(|| {
        // SAFETY (both): NUL-terminated `id` and writable `out`, or NULL, by contract.
        let out = unsafe { Out::new(out, "out") }?;
        let id = unsafe { cstr(id, "id") }?;
        give(out, Provider::builtin(id)?)
    })
}

/// Parses a profile from `len` bytes of TOML text at `toml` (no NUL needed). A profile with
/// `extends = "<built-in id>"` is laid over that built-in one. `SCOPEGATE_RESULT_INVALID_PROFILE`
/// when the text is not TOML or breaks the profile schema (the last error says where),
/// `SCOPEGATE_RESULT_UNKNOWN_PROVIDER` when `extends` names no built-in profile.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_provider_from_toml(
    toml: *const c_char,
    len: usize,
    out: *mut *mut scopegate_provider,
) -> scopegate_result {
    guard(|| {
        // SAFETY (both): `len` readable bytes at `toml` and writable `out`, or NULL, by contract.
        let out = unsafe { Out::new(out, "out") }?;
        let text = unsafe { text(toml, len, "toml") }?;
        give(out, Provider::from_toml_str(text, "<string>")?)
    })
}

/// Reads and parses a profile file (at most 1 MiB of UTF-8 TOML). `SCOPEGATE_RESULT_PROFILE`
/// when the file cannot be read, otherwise as `scopegate_provider_from_toml`.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_provider_from_file(
    path: *const c_char,
    out: *mut *mut scopegate_provider,
) -> scopegate_result {
    guard(|| {
        // SAFETY (both): NUL-terminated `path` and writable `out`, or NULL, by contract.
        let out = unsafe { Out::new(out, "out") }?;
        let path = unsafe { cstr(path, "path") }?;
        give(out, Provider::from_file(path)?)
    })
}

/// A copy of `base` with the fields of `overrides` (`len` bytes of TOML, same schema, every
/// field optional) laid over it, validated again: e.g. Yotpo's token URL, or every URL pointed
/// at a test server (`[token]\nurl = "http://127.0.0.1:8080/token"`). `base` is not changed.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_provider_with_overrides(
    base: *const scopegate_provider,
    overrides: *const c_char,
    len: usize,
    out: *mut *mut scopegate_provider,
) -> scopegate_result {
    guard(|| {
        // SAFETY (all): a live provider, `len` readable bytes and a writable `out`, or NULL.
        let out = unsafe { Out::new(out, "out") }?;
        let base = unsafe { handle(base, "base") }?;
        let text = unsafe { text(overrides, len, "overrides") }?;
        give(out, base.provider.with_overrides(text, "<overrides>")?)
    })
}

/// Frees a provider. NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn scopegate_provider_free(provider: *mut scopegate_provider) {
    // SAFETY: NULL or a provider made by this library and not freed yet, by contract.
    guard_value((), || unsafe { free_handle(provider) })
}

/// The profile's id (`yespo`), NUL-terminated, valid as long as `provider`; NULL for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn scopegate_provider_id(provider: *const scopegate_provider) -> *const c_char {
    guard_value(std::ptr::null(), || {
        // SAFETY: NULL or a live provider, by contract.
        unsafe { provider.as_ref() }.map_or(std::ptr::null(), |p| p.id.as_ptr())
    })
}

/// Every right of the profile as a rights set (bit i is the profile's i-th right); 0 for NULL
/// or a profile without rights.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn scopegate_provider_all_rights(provider: *const scopegate_provider) -> u64 {
    guard_value(0, || {
        // SAFETY: NULL or a live provider, by contract.
        unsafe { provider.as_ref() }.map_or(0, |p| p.provider.matrix().all_rights().bits())
    })
}
