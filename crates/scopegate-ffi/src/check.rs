//! Permission checks against a provider's access-rights matrix: the fast decision, the detailed
//! one, rights by id and the least-rights query.

use std::ffi::c_char;

use scopegate_core::matrix::UncoveredReason;
use scopegate_core::{Decision, Method, RejectReason, Rights};

use crate::boundary::{Out, OutText, RejectReasonArg, cstr, guard, guard_value, handle, slice, write_truncated};
use crate::failure::Failure;
use crate::provider::scopegate_provider;
use crate::result::scopegate_result;

/// The answer to a permission check. 0 is not a decision, so zeroed memory never reads as
/// `ALLOWED`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum scopegate_decision {
    /// The rights allow the call.
    Allowed = 1,
    /// The endpoint exists and the rights do not open it.
    Denied = 2,
    /// No endpoint of the provider's matrix matches (fail closed).
    UnknownEndpoint = 3,
    /// The method or path breaks a rule of the check (or an argument was NULL).
    Rejected = 4,
}

/// Why a path (or method) was rejected: the rules of
/// `crates/scopegate-core/src/matrix/mod.rs`. `scopegate_reject_reason_message` explains each.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum scopegate_reject_reason {
    /// Not rejected.
    None = 0,
    /// Not an HTTP method the checker knows.
    UnknownMethod = 1,
    /// A known method not in upper case (`get`).
    MethodCase = 2,
    /// Nothing left after the API base was removed.
    EmptyPath = 3,
    /// Longer than 2048 bytes.
    TooLong = 4,
    /// More than 32 segments.
    TooManySegments = 5,
    /// An empty segment (`//`, or a stray leading `/`).
    EmptySegment = 6,
    /// A `.` or `..` segment.
    DotSegment = 7,
    /// A trailing `/`.
    TrailingSlash = 8,
    /// A raw control byte (NUL included).
    ControlByte = 9,
    /// A raw byte outside ASCII (a path that is not UTF-8 too).
    NonAscii = 10,
    /// A character RFC 3986 does not allow in a path segment.
    ForbiddenCharacter = 11,
    /// A `%` not followed by two hex digits.
    MalformedPercent = 12,
    /// `%2F` or `%5C`.
    EncodedSlash = 13,
    /// `%25` (double encoding).
    EncodedPercent = 14,
    /// `%2E`.
    EncodedDot = 15,
    /// An encoded letter, digit, `-`, `_` or `~`.
    EncodedUnreserved = 16,
    /// An encoded control byte.
    EncodedControl = 17,
    /// A `:` in the first segment of a bare path.
    SchemeLike = 18,
    /// A full URL on another scheme, host or port than the API.
    OtherOrigin = 19,
    /// A full URL with user info.
    UserInfo = 20,
    /// An absolute path or URL outside every API base path.
    NotUnderApiBase = 21,
    /// A reason added after this version of the header.
    Other = 999,
}

const REASONS: [(scopegate_reject_reason, RejectReason); 21] = {
    use RejectReason as R;
    use scopegate_reject_reason as C;
    [
        (C::UnknownMethod, R::UnknownMethod),
        (C::MethodCase, R::MethodCase),
        (C::EmptyPath, R::EmptyPath),
        (C::TooLong, R::TooLong),
        (C::TooManySegments, R::TooManySegments),
        (C::EmptySegment, R::EmptySegment),
        (C::DotSegment, R::DotSegment),
        (C::TrailingSlash, R::TrailingSlash),
        (C::ControlByte, R::ControlByte),
        (C::NonAscii, R::NonAscii),
        (C::ForbiddenCharacter, R::ForbiddenCharacter),
        (C::MalformedPercent, R::MalformedPercent),
        (C::EncodedSlash, R::EncodedSlash),
        (C::EncodedPercent, R::EncodedPercent),
        (C::EncodedDot, R::EncodedDot),
        (C::EncodedUnreserved, R::EncodedUnreserved),
        (C::EncodedControl, R::EncodedControl),
        (C::SchemeLike, R::SchemeLike),
        (C::OtherOrigin, R::OtherOrigin),
        (C::UserInfo, R::UserInfo),
        (C::NotUnderApiBase, R::NotUnderApiBase),
    ]
};

impl From<RejectReason> for scopegate_reject_reason {
    fn from(r: RejectReason) -> Self {
        REASONS.iter().find(|(_, core)| *core == r).map_or(Self::Other, |(c, _)| *c)
    }
}

/// The detailed answer of `scopegate_check_detail`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct scopegate_decision_detail {
    /// The decision, as `scopegate_check` gives it.
    pub decision: scopegate_decision,
    /// Why, when `REJECTED`; `SCOPEGATE_REJECT_REASON_NONE` otherwise.
    pub reject_reason: scopegate_reject_reason,
    /// The matched endpoint's template (`contact/{id}/subscriptions`) when `ALLOWED` or
    /// `DENIED`, else NULL. Valid as long as the provider.
    pub endpoint_template: *const c_char,
    /// The id of the endpoint's group, like `endpoint_template`.
    pub group: *const c_char,
    /// Whether the provider marks the endpoint deprecated.
    pub deprecated: bool,
    /// Whether the endpoint's group needs no right.
    pub open: bool,
    /// The rights that open the endpoint, i.e., when `DENIED`, the rights that would allow the
    /// call (0 when no right of the profile does); `scopegate_rights_names` spells them.
    pub would_allow: u64,
}

/// A call for `scopegate_least_rights` and `scopegate_policy_allows_many`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct scopegate_call {
    /// The method (`GET`), NUL-terminated.
    pub method: *const c_char,
    /// The path (`contact/42`), NUL-terminated.
    pub path: *const c_char,
}

/// The decision for `method` on `path`, both as bytes.
fn decide<'p>(p: &'p scopegate_provider, rights: u64, method: &[u8], path: &[u8]) -> Decision<'p> {
    let Ok(path) = std::str::from_utf8(path) else {
        // Invalid UTF-8 holds a byte above 0x7f, which the check rejects anyway.
        return Decision::Rejected(RejectReason::NonAscii);
    };
    let matrix = p.provider.matrix();
    let rights = Rights::from_bits(rights);
    match Method::from_bytes(method) {
        Some(m) => matrix.check_method(rights, m, path),
        None => match std::str::from_utf8(method) {
            Ok(name) => matrix.check(rights, name, path),
            Err(_) => Decision::Rejected(RejectReason::UnknownMethod),
        },
    }
}

/// Whether the NUL-terminated string at `ptr`, from byte `from` on, is `rest` and then its
/// NUL. Reads byte by byte and stops at the first difference, so never past the string's NUL.
///
/// # Safety
/// `ptr` points to a NUL-terminated string whose first `from` bytes are not NUL.
#[inline(always)]
unsafe fn rest_is(ptr: *const c_char, from: usize, rest: &[u8]) -> bool {
    for (i, want) in rest.iter().enumerate() {
        // SAFETY: every byte before this one matched a non-NUL byte, so this one is readable.
        if unsafe { *ptr.add(from + i) } as u8 != *want {
            return false;
        }
    }
    // SAFETY: as above.
    unsafe { *ptr.add(from + rest.len()) == 0 }
}

/// The method a NUL-terminated upper-case name stands for, without measuring the string first
/// (the hot path of `scopegate_check`); `None` for anything else.
///
/// # Safety
/// `ptr` points to a NUL-terminated string.
#[inline(always)]
unsafe fn method_of(ptr: *const c_char) -> Option<Method> {
    // SAFETY (every block): reads stop at the first byte that differs, see `rest_is`.
    let m = match unsafe { *ptr } as u8 {
        b'G' if unsafe { rest_is(ptr, 1, b"ET") } => Method::Get,
        b'H' if unsafe { rest_is(ptr, 1, b"EAD") } => Method::Head,
        b'D' if unsafe { rest_is(ptr, 1, b"ELETE") } => Method::Delete,
        b'O' if unsafe { rest_is(ptr, 1, b"PTIONS") } => Method::Options,
        b'P' => match unsafe { *ptr.add(1) } as u8 {
            b'O' if unsafe { rest_is(ptr, 2, b"ST") } => Method::Post,
            b'U' if unsafe { rest_is(ptr, 2, b"T") } => Method::Put,
            b'A' if unsafe { rest_is(ptr, 2, b"TCH") } => Method::Patch,
            _ => return None,
        },
        _ => return None,
    };
    Some(m)
}

fn decision_of(d: &Decision<'_>) -> scopegate_decision {
    match d {
        Decision::Allowed(_) => scopegate_decision::Allowed,
        Decision::Denied { .. } => scopegate_decision::Denied,
        Decision::UnknownEndpoint => scopegate_decision::UnknownEndpoint,
        Decision::Rejected(_) => scopegate_decision::Rejected,
    }
}

/// May a token with `rights` call `method` on `path` (`path_len` bytes, no NUL needed)? The path
/// may be bare (`contact/42`), carry the API base path, or be a full URL under the API base; a
/// query is ignored. Pure and allocation-free. NULL arguments, and a path that is not UTF-8,
/// give `SCOPEGATE_DECISION_REJECTED` (fail closed). Does not touch the last error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn scopegate_check(
    provider: *const scopegate_provider,
    rights: u64,
    method: *const c_char,
    path: *const c_char,
    path_len: usize,
) -> scopegate_decision {
    guard_value(scopegate_decision::Rejected, || {
        // SAFETY: a live provider, a NUL-terminated `method` and `path_len` readable bytes at
        // `path`, each checked for NULL first, by contract.
        let Some(p) = (unsafe { provider.as_ref() }) else { return scopegate_decision::Rejected };
        if method.is_null() || (path.is_null() && path_len > 0) {
            return scopegate_decision::Rejected;
        }
        let path: &[u8] =
            if path_len == 0 { &[] } else { unsafe { std::slice::from_raw_parts(path.cast::<u8>(), path_len) } };
        // The hot path: an upper-case method and an ASCII path (ASCII is UTF-8: the
        // word-at-a-time test is enough). Anything else takes the general one, which says why.
        match unsafe { method_of(method) } {
            Some(m) if path.is_ascii() => {
                // SAFETY: ASCII bytes are valid UTF-8.
                let path = unsafe { std::str::from_utf8_unchecked(path) };
                decision_of(&p.provider.matrix().check_method(Rights::from_bits(rights), m, path))
            }
            _ => {
                let method = unsafe { std::ffi::CStr::from_ptr(method) }.to_bytes();
                decision_of(&decide(p, rights, method, path))
            }
        }
    })
}

/// `scopegate_check` with the detail: the matched endpoint's template and group, whether it is
/// deprecated, the rights that would allow it, or why the path was rejected. Written to `*out`.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_check_detail(
    provider: *const scopegate_provider,
    rights: u64,
    method: *const c_char,
    path: *const c_char,
    path_len: usize,
    out: *mut scopegate_decision_detail,
) -> scopegate_result {
    guard(|| {
        // SAFETY: as `scopegate_check`, and a writable `out`.
        let out = unsafe { Out::new(out, "out") }?;
        let p = unsafe { handle(provider, "provider") }?;
        let method = unsafe { cstr(method, "method") }?;
        let path = unsafe { crate::boundary::bytes(path.cast::<u8>(), path_len, "path") }?;
        let decision = decide(p, rights, method.as_bytes(), path);
        let mut detail = scopegate_decision_detail {
            decision: decision_of(&decision),
            reject_reason: scopegate_reject_reason::None,
            endpoint_template: std::ptr::null(),
            group: std::ptr::null(),
            deprecated: false,
            open: false,
            would_allow: 0,
        };
        match decision {
            Decision::Allowed(ep) | Decision::Denied { endpoint: ep, .. } => {
                let all = p.provider.matrix().endpoints();
                let index = (ep as *const _ as usize - all.as_ptr() as usize)
                    / size_of::<scopegate_core::matrix::EndpointInfo>();
                detail.endpoint_template = p.templates.get(index).map_or(std::ptr::null(), |t| t.as_ptr());
                detail.group = p.groups.get(ep.group).map_or(std::ptr::null(), |g| g.as_ptr());
                detail.deprecated = ep.deprecated;
                detail.open = ep.open;
                detail.would_allow = ep.allowed_by.bits();
            }
            Decision::Rejected(r) => detail.reject_reason = r.into(),
            Decision::UnknownEndpoint => {}
        }
        out.write(detail);
        Ok(())
    })
}

/// Whether `rights` allow each of `calls_len` calls: `out[i]` is whether
/// `scopegate_check(provider, rights, calls[i].method, calls[i].path, strlen(calls[i].path))`
/// would answer `SCOPEGATE_DECISION_ALLOWED`, decided in one call (the batch form of the check:
/// no crossing or frame per call). A call with a NULL method or path, or whose
/// path is not UTF-8, is not allowed. Pure and allocation-free; `out` holds `calls_len` bools.
/// `SCOPEGATE_RESULT_NULL_PARAMETER` when `provider` is NULL, or `calls` or `out` is while
/// `calls_len` is not 0 (nothing written then).
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_policy_allows_many(
    provider: *const scopegate_provider,
    rights: u64,
    calls: *const scopegate_call,
    calls_len: usize,
    out: *mut bool,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live provider, `calls_len` readable calls whose strings are NULL or
        // NUL-terminated, and `calls_len` writable bools at `out`, each checked for NULL first,
        // by contract.
        let p = unsafe { handle(provider, "provider") }?;
        let calls = unsafe { slice(calls, calls_len, "calls") }?;
        if calls.is_empty() {
            return Ok(());
        }
        if out.is_null() {
            return Err(Failure::null("out"));
        }
        let out = unsafe { std::slice::from_raw_parts_mut(out, calls_len) };
        unsafe { allows_many(p.provider.matrix(), Rights::from_bits(rights), calls, out) };
        Ok(())
    })
}

/// The body of `scopegate_policy_allows_many`: one call after the other, each parsed (method,
/// path measured) and checked in turn, the check inlined (`PermissionMatrix::allows_method_bytes`:
/// the path's bytes need no UTF-8 check first), so the parse of a call overlaps the end of the
/// check before it.
///
/// # Safety
/// Every `method` and `path` of `calls` is NULL or points to a NUL-terminated string.
unsafe fn allows_many(
    matrix: &scopegate_core::PermissionMatrix,
    rights: Rights,
    calls: &[scopegate_call],
    out: &mut [bool],
) {
    for (c, o) in calls.iter().zip(out.iter_mut()) {
        *o = !c.method.is_null() && !c.path.is_null() && {
            // SAFETY: non-NULL and NUL-terminated, by contract; the strings outlive the call.
            let path = unsafe { std::ffi::CStr::from_ptr(c.path) }.to_bytes();
            // The path as bytes: one that is not UTF-8 is not allowed, with no check first.
            unsafe { method_of(c.method) }.is_some_and(|m| matrix.allows_method_bytes(rights, m, path))
        };
    }
}

/// Parses a list of right ids separated by commas or spaces (`"events_and_contacts, messages"`)
/// into a rights set (bit i is the profile's i-th right); the empty list is 0.
/// `SCOPEGATE_RESULT_UNKNOWN_RIGHT` when an id is not one of the profile's (the last error lists
/// them).
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_rights_parse(
    provider: *const scopegate_provider,
    list: *const c_char,
    out: *mut u64,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live provider, a NUL-terminated list and a writable `out`, or NULL.
        let out = unsafe { Out::new(out, "out") }?;
        let p = unsafe { handle(provider, "provider") }?;
        let list = unsafe { cstr(list, "list") }?;
        let ids = list.split(|c: char| c == ',' || c.is_ascii_whitespace()).filter(|s| !s.is_empty());
        let rights =
            p.provider.rights_from_ids(ids).map_err(|e| Failure::new(scopegate_result::UnknownRight, e.to_string()))?;
        out.write(rights.bits());
        Ok(())
    })
}

/// Writes the ids of a rights set, comma-separated (`full_api,messages`), into `buf` like every
/// text output (see `scopegate_last_error`). Bits beyond the profile's rights are ignored.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_rights_names(
    provider: *const scopegate_provider,
    rights: u64,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live provider and an output buffer, or NULL, by contract.
        let out = unsafe { OutText::new(buf, len, out_n) }?;
        let p = unsafe { handle(provider, "provider") }?;
        out.write(p.provider.matrix().right_ids(Rights::from_bits(rights)).join(",").as_bytes())
    })
}

/// The smallest rights set that allows every one of `calls_len` calls, written to `*out`
/// (exact for profiles of up to 16 rights). When a call cannot be allowed by any right, the
/// result says why for the first such call (`SCOPEGATE_RESULT_UNKNOWN_ENDPOINT`,
/// `SCOPEGATE_RESULT_PATH_REJECTED`, or `SCOPEGATE_RESULT_PERMISSION_DENIED` when no right opens
/// it) and the last error lists every such call by its index.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_least_rights(
    provider: *const scopegate_provider,
    calls: *const scopegate_call,
    calls_len: usize,
    out: *mut u64,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live provider, `calls_len` readable calls whose strings are NUL-terminated,
        // and a writable `out`, or NULL, by contract.
        let out = unsafe { Out::new(out, "out") }?;
        let p = unsafe { handle(provider, "provider") }?;
        let raw = unsafe { slice(calls, calls_len, "calls") }?;
        let mut list = Vec::with_capacity(raw.len());
        for c in raw {
            list.push((unsafe { cstr(c.method, "calls[].method") }?, unsafe { cstr(c.path, "calls[].path") }?));
        }
        match p.provider.matrix().least_rights(&list) {
            Ok(rights) => {
                out.write(rights.bits());
                Ok(())
            }
            Err(uncovered) => {
                let result = match uncovered.first().map(|u| u.reason) {
                    Some(UncoveredReason::UnknownEndpoint) => scopegate_result::UnknownEndpoint,
                    Some(UncoveredReason::Rejected(_)) => scopegate_result::PathRejected,
                    _ => scopegate_result::PermissionDenied,
                };
                let each: Vec<String> = uncovered.iter().map(|u| format!("call {}: {}", u.index, u.reason)).collect();
                Err(Failure::new(result, format!("no rights set allows every call: {}", each.join("; "))))
            }
        }
    })
}

/// Writes what a reject reason means into `buf`, like `scopegate_result_message` (cut to fit,
/// never fails; an unknown value gives "unknown reason").
#[unsafe(no_mangle)]
pub unsafe extern "C" fn scopegate_reject_reason_message(
    reason: RejectReasonArg,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) {
    guard_value((), || {
        let text = match reason.0 {
            0 => "not rejected",
            n => REASONS.iter().find(|(c, _)| *c as u32 == n).map_or("unknown reason", |(_, r)| r.message()),
        };
        // SAFETY: `len` writable bytes at `buf` (or NULL) and `out_n` (or NULL), by contract.
        unsafe { write_truncated(text, buf, len, out_n) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hot path of `scopegate_check` (methods parsed from the C string, ASCII paths) decides
    /// as `PermissionMatrix::check` does, on every method spelling and odd path.
    /// Paths a C caller may pass: allowed, unknown, rejected by a path rule, a full URL, and
    /// bytes that are not UTF-8.
    const ODD_PATHS: [&[u8]; 12] = [
        b"contact/12345/subscriptions",
        b"version",
        b"message/email",
        b"orders/551",
        b"contact/../contacts",
        b"contact/12345/",
        b"",
        b"https://yespo.io/api/v1/contact/1?x=1",
        "contact/\u{e9}".as_bytes(),
        b"contact/%C3%A9",
        &[b'c', 0xff, b'x'],
        b"contact/1?q=\xc3",
    ];

    #[test]
    fn the_fast_path_agrees_with_the_matrix() {
        let p = scopegate_provider::new(scopegate_core::Provider::builtin("yespo").unwrap());
        let rights = p.provider.rights_from_ids(["events_and_contacts"]).unwrap();
        let methods = [
            "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "get", "Get", "GETT", "GE", "G", "", "P", "PO",
            "POS", "POSTS", "PUTT", "PATC", "PATCHY", "DELET", "DELETES", "OPTION", "OPTIONSS", "BREW", "CONNECT",
            "TRACE", "HEADS", "\u{c9}",
        ];
        let paths = ODD_PATHS;
        for m in methods {
            let c_method = std::ffi::CString::new(m).unwrap();
            for path in paths {
                // SAFETY: a live provider, a NUL-terminated method, `path.len()` bytes.
                let got =
                    unsafe { scopegate_check(&p, rights.bits(), c_method.as_ptr(), path.as_ptr().cast(), path.len()) };
                let want = match std::str::from_utf8(path) {
                    Ok(text) => decision_of(&p.provider.matrix().check(rights, m, text)),
                    Err(_) => scopegate_decision::Rejected,
                };
                assert_eq!(got, want, "{m} {}", String::from_utf8_lossy(path));
            }
        }
    }

    /// `scopegate_policy_allows_many` answers as `scopegate_check` does one call at a time, on
    /// every method spelling and odd path, NULLs included.
    #[test]
    fn allows_many_agrees_with_check_one_by_one() {
        let p = scopegate_provider::new(scopegate_core::Provider::builtin("yespo").unwrap());
        let rights = p.provider.rights_from_ids(["events_and_contacts"]).unwrap().bits();
        let methods = ["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "get", "PUTS", "", "P"];
        let paths = ODD_PATHS;
        let c_methods: Vec<std::ffi::CString> = methods.iter().map(|m| std::ffi::CString::new(*m).unwrap()).collect();
        let c_paths: Vec<std::ffi::CString> = paths.iter().map(|p| std::ffi::CString::new(*p).unwrap()).collect();
        let mut calls = Vec::new();
        for m in &c_methods {
            for path in &c_paths {
                calls.push(scopegate_call { method: m.as_ptr(), path: path.as_ptr() });
            }
        }
        calls.push(scopegate_call { method: std::ptr::null(), path: c_paths[1].as_ptr() });
        calls.push(scopegate_call { method: c_methods[0].as_ptr(), path: std::ptr::null() });
        assert!(calls.len() > 64, "more than one batch of 64");
        let mut out = vec![false; calls.len()];
        // SAFETY: a live provider, `calls.len()` calls of NULL or NUL-terminated strings, as many bools.
        let r = unsafe { scopegate_policy_allows_many(&p, rights, calls.as_ptr(), calls.len(), out.as_mut_ptr()) };
        assert_eq!(r, scopegate_result::Ok);
        let mut allowed = 0;
        for (c, got) in calls.iter().zip(&out) {
            let want = !c.method.is_null()
                && !c.path.is_null()
                // SAFETY: as above.
                && unsafe {
                    let len = std::ffi::CStr::from_ptr(c.path).to_bytes().len();
                    scopegate_check(&p, rights, c.method, c.path, len) == scopegate_decision::Allowed
                };
            assert_eq!(*got, want, "{c:?}");
            allowed += usize::from(want);
        }
        assert!(allowed >= 4, "some are allowed ({allowed})");
        // NULLs: refused with nothing written; an empty batch needs no arrays.
        let mut one = [true];
        // SAFETY: NULL where the function says it checks for it.
        unsafe {
            assert_eq!(
                scopegate_policy_allows_many(std::ptr::null(), rights, calls.as_ptr(), 1, one.as_mut_ptr()),
                scopegate_result::NullParameter
            );
            assert_eq!(
                scopegate_policy_allows_many(&p, rights, std::ptr::null(), 1, one.as_mut_ptr()),
                scopegate_result::NullParameter
            );
            assert_eq!(
                scopegate_policy_allows_many(&p, rights, calls.as_ptr(), 1, std::ptr::null_mut()),
                scopegate_result::NullParameter
            );
            assert_eq!(
                scopegate_policy_allows_many(&p, rights, std::ptr::null(), 0, std::ptr::null_mut()),
                scopegate_result::Ok
            );
        }
        assert_eq!(one, [true]);
    }

    #[test]
    fn every_reject_reason_has_its_own_value() {
        let mut seen = std::collections::BTreeSet::new();
        for (c, r) in REASONS {
            assert!(seen.insert(c as u32));
            assert_eq!(scopegate_reject_reason::from(r), c);
        }
    }
}
