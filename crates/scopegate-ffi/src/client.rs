//! `scopegate_client`: the blocking client (flows, single-flight refresh, token store) with the
//! built-in transport or the caller's transport callback.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use scopegate::Transport;
use scopegate::embed;
use scopegate::{Client, UreqTransport};
use scopegate_core::jose::SigningKey;
use scopegate_core::{ClientConfig, DEFAULT_ACCOUNT};

use crate::authorization::{pending_from, scopegate_authorization};
use crate::boundary::{Out, OutText, bytes, cstr, free_handle, guard, guard_value, handle, into_handle, opt_cstr};
use crate::failure::Failure;
use crate::http::scopegate_http_response;
use crate::provider::scopegate_provider;
use crate::result::scopegate_result;
use crate::transport::{CallbackTransport, scopegate_transport_callback};

/// The app's registration with the provider, and where its tokens live. The strings are read
/// during the call and not kept.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct scopegate_client_options {
    /// The client id (required).
    pub client_id: *const c_char,
    /// The client secret; NULL for a public client, or for one that authenticates with its
    /// private key (`private_key_jwt`: pass the key to `scopegate_client_new_with_key` or
    /// `scopegate_session_new_with_key`).
    pub client_secret: *const c_char,
    /// The redirect URI, exactly as registered; NULL when no authorization code flow is used.
    pub redirect_uri: *const c_char,
    /// NULL: tokens kept in memory (lost with the client); a `postgres://` or `postgresql://`
    /// connection string: a PostgreSQL store shared by every instance of a service on every
    /// host; else the path of a SQLite file (created 0600 when missing) that processes may share.
    /// Token sets are sealed at rest with the key in the environment variable
    /// `SCOPEGATE_STORE_KEY` (and `SCOPEGATE_STORE_OLD_KEYS`) when it is set. Must be NULL for a
    /// session.
    ///
    /// Formerly `store_path` (it is not only a path): renamed in place, same position and type,
    /// so the layout is unchanged and code compiled against the old header keeps working;
    /// source that sets `store_path` must now set `store`.
    pub store: *const c_char,
    /// The account the tokens belong to; NULL: `"default"`.
    pub account: *const c_char,
}

/// The options, read.
pub(crate) struct Options<'a> {
    pub(crate) config: ClientConfig,
    pub(crate) store: Option<&'a str>,
    pub(crate) account: Option<&'a str>,
}

/// Reads the options.
///
/// # Safety
/// `options` is NULL or points to options whose strings are NULL or NUL-terminated.
pub(crate) unsafe fn read_options<'a>(options: *const scopegate_client_options) -> Result<Options<'a>, Failure> {
    // SAFETY (all): by the caller's promise.
    let o = unsafe { handle(options, "options") }?;
    let client_id = unsafe { cstr(o.client_id, "options.client_id") }?;
    let mut config = ClientConfig::new(client_id)?;
    if let Some(secret) = unsafe { opt_cstr(o.client_secret, "options.client_secret") }? {
        config = config.with_secret(secret);
    }
    if let Some(uri) = unsafe { opt_cstr(o.redirect_uri, "options.redirect_uri") }? {
        config = config.with_redirect_uri(uri)?;
    }
    let store = unsafe { opt_cstr(o.store, "options.store") }?;
    let account = unsafe { opt_cstr(o.account, "options.account") }?;
    if account.is_some_and(str::is_empty) {
        return Err(Failure::invalid("options.account", "an account name is not empty"));
    }
    Ok(Options { config, store, account })
}

/// The client's private key for `private_key_jwt` (RFC 7523): NULL, or the PEM text of a
/// PKCS#8 key (ES256, RS256, EdDSA; an RSA key in PKCS#1 too), read during the call. The text
/// is a secret: wipe your copies.
///
/// # Safety
/// `pem` is NULL or a NUL-terminated string.
pub(crate) unsafe fn read_client_key(pem: *const c_char) -> Result<Option<SigningKey>, Failure> {
    // SAFETY: forwarded.
    let Some(pem) = (unsafe { opt_cstr(pem, "client_key_pem") })? else { return Ok(None) };
    SigningKey::from_pem(pem)
        .map(Some)
        .map_err(|e| Failure::invalid("client_key_pem", &format!("not a usable private key: {e}")))
}

/// A blocking OAuth 2.0 client for one provider, one app registration and one account:
/// client credentials, the authorization code exchange, access tokens refreshed when due (one
/// refresh at a time, across threads and, with a SQLite store, processes), revocation and API
/// calls.
///
/// Ownership: made by `scopegate_client_new` or `scopegate_client_new_with_transport`; the
/// caller frees it with `scopegate_client_free`, after every call on it has returned.
///
/// Thread safety: thread-safe; one client may be used from many threads at once (calls that
/// may refresh wait for one another).
pub struct scopegate_client {
    client: Client,
}

impl std::fmt::Debug for scopegate_client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("scopegate_client").field("client", &self.client).finish()
    }
}

/// # Safety
/// As the exports that call it.
unsafe fn make(
    provider: *const scopegate_provider,
    options: *const scopegate_client_options,
    key: Option<SigningKey>,
    transport: Arc<dyn Transport>,
    out: Out<*mut scopegate_client>,
) -> Result<(), Failure> {
    // SAFETY (both): forwarded.
    let p = unsafe { handle(provider, "provider") }?;
    let mut o = unsafe { read_options(options) }?;
    if let Some(key) = key {
        o.config = o.config.with_client_key(key);
    }
    let store = embed::open_store(o.store, embed::StoreKeys::FromEnv)?;
    let account = o.account.unwrap_or(DEFAULT_ACCOUNT);
    let client = Client::new(Arc::clone(&p.provider), o.config, transport, store, account);
    out.write(into_handle(scopegate_client { client }));
    Ok(())
}

/// A client that sends its requests with the built-in transport (rustls with the webpki roots,
/// plain http only to loopback hosts, no redirects followed, 10 s to connect, 30 s in all).
/// The client keeps its own reference to the provider.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_client_new(
    provider: *const scopegate_provider,
    options: *const scopegate_client_options,
    out: *mut *mut scopegate_client,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live provider, options and a writable `out`, or NULL, by contract.
        let out = unsafe { Out::new(out, "out") }?;
        unsafe { make(provider, options, None, Arc::new(UreqTransport::default()), out) }
    })
}

/// A client that sends its requests through `callback` (see `scopegate_transport_callback`),
/// called with `userdata`. Plain http to a host that is not loopback is refused before the
/// callback is called.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_client_new_with_transport(
    provider: *const scopegate_provider,
    options: *const scopegate_client_options,
    callback: scopegate_transport_callback,
    userdata: *mut c_void,
    out: *mut *mut scopegate_client,
) -> scopegate_result {
    guard(|| {
        // SAFETY: as `scopegate_client_new`; the callback and userdata as documented.
        let out = unsafe { Out::new(out, "out") }?;
        let transport = CallbackTransport::new(callback, userdata).ok_or_else(|| Failure::null("callback"))?;
        unsafe { make(provider, options, None, Arc::new(transport), out) }
    })
}

/// `scopegate_client_new`, or with a non-NULL `callback` `scopegate_client_new_with_transport`,
/// for a client that authenticates with its private key: `client_key_pem` (see
/// `scopegate_client_options`: the options struct's layout is a contract and does not grow) is
/// the PEM text of a PKCS#8 key (ES256, RS256, EdDSA), for a profile with
/// `[token] client_auth = "private_key_jwt"` (RFC 7523): every token, revocation, PAR and device
/// request then carries an assertion signed with it when it leaves (a fresh `jti`, `aud` the
/// token endpoint or the issuer, a short `exp`). The key is read during the call and never
/// shown. `SCOPEGATE_RESULT_INVALID_PARAMETER` when it is not a usable key; NULL is no key.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_client_new_with_key(
    provider: *const scopegate_provider,
    options: *const scopegate_client_options,
    client_key_pem: *const c_char,
    callback: scopegate_transport_callback,
    userdata: *mut c_void,
    out: *mut *mut scopegate_client,
) -> scopegate_result {
    guard(|| {
        // SAFETY: as `scopegate_client_new`; a NUL-terminated key or NULL; the callback and
        // userdata as documented, or NULL.
        let out = unsafe { Out::new(out, "out") }?;
        let key = unsafe { read_client_key(client_key_pem) }?;
        let transport: Arc<dyn Transport> = match CallbackTransport::new(callback, userdata) {
            Some(t) => Arc::new(t),
            None => Arc::new(UreqTransport::default()),
        };
        unsafe { make(provider, options, key, transport, out) }
    })
}

/// Frees a client. NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn scopegate_client_free(client: *mut scopegate_client) {
    // SAFETY: NULL or a client made by this library, not freed yet and not in use.
    guard_value((), || unsafe { free_handle(client) })
}

/// # Safety
/// `client` is NULL or a live client.
pub(crate) unsafe fn client<'a>(client: *mut scopegate_client) -> Result<&'a Client, Failure> {
    // SAFETY: forwarded.
    unsafe { client_ref(client.cast_const()) }
}

/// The client behind a handle argument.
///
/// # Safety
/// `client` is NULL or a live client handle.
pub(crate) unsafe fn client_ref<'a>(client: *const scopegate_client) -> Result<&'a Client, Failure> {
    // SAFETY: forwarded; only shared access is taken (the client is thread-safe).
    unsafe { handle(client, "client") }.map(|c| &c.client)
}

/// Gets a token for the app itself (client credentials grant, the profile's default scopes)
/// and stores it. `SCOPEGATE_RESULT_IDENTITY_MISMATCH` when the account holds a user's token.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_client_client_credentials(client: *mut scopegate_client) -> scopegate_result {
    // SAFETY: NULL or a live client, by contract.
    guard(|| unsafe { self::client(client) }?.client_credentials(&[]).map(drop).map_err(Failure::from))
}

/// `scopegate_client_client_credentials` asking for these scopes (separated by spaces).
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_client_client_credentials_scopes(
    client: *mut scopegate_client,
    scopes: *const c_char,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live client and a NUL-terminated string, or NULL, by contract.
        let c = unsafe { self::client(client) }?;
        let scopes: Vec<String> = unsafe { cstr(scopes, "scopes") }?.split_whitespace().map(str::to_owned).collect();
        c.client_credentials(&scopes).map(drop).map_err(Failure::from)
    })
}

/// Writes a valid access token into `buf` (like every text output: see
/// `scopegate_last_error`): the stored one, refreshed first when it expires within the
/// profile's margin (one refresh however many threads ask). The token is a secret.
/// `SCOPEGATE_RESULT_NOT_AUTHORIZED` when none is stored,
/// `SCOPEGATE_RESULT_REAUTHORIZATION_REQUIRED` when only the user can help.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_client_access_token(
    client: *mut scopegate_client,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live client and an output buffer, or NULL, by contract.
        let out = unsafe { OutText::new(buf, len, out_n) }?;
        let tokens = unsafe { self::client(client) }?.access_token()?;
        out.write(tokens.access_token.expose_secret().as_bytes())
    })
}

/// Refreshes the stored token now, whatever its expiry, and stores the result.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_client_refresh(client: *mut scopegate_client) -> scopegate_result {
    // SAFETY: NULL or a live client, by contract.
    guard(|| unsafe { self::client(client) }?.refresh().map(drop).map_err(Failure::from))
}

/// Revokes the stored authorization at the provider (RFC 7009, or the profile's
/// remove-application endpoint), then forgets it. When the provider refuses or cannot be
/// reached, the token stays stored. `SCOPEGATE_RESULT_CONFIG` when the profile has no such
/// endpoint (use `scopegate_client_forget`).
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_client_revoke(client: *mut scopegate_client) -> scopegate_result {
    // SAFETY: NULL or a live client, by contract.
    guard(|| unsafe { self::client(client) }?.revoke().map(drop).map_err(Failure::from))
}

/// Forgets the stored token locally, without telling the provider (after Yotpo's uninstall
/// webhook, say).
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_client_forget(client: *mut scopegate_client) -> scopegate_result {
    // SAFETY: NULL or a live client, by contract.
    guard(|| unsafe { self::client(client) }?.forget().map(drop).map_err(Failure::from))
}

/// Starts an authorization (authorization code flow, the profile's scopes; the client needs a
/// redirect URI): `*out` holds the URL for the user's browser and the pending authorization to
/// keep until the callback (see `scopegate_authorization`).
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_client_start_authorization(
    client: *mut scopegate_client,
    out: *mut *mut scopegate_authorization,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live client and a writable `out`, or NULL, by contract.
        let out = unsafe { Out::new(out, "out") }?;
        let start = unsafe { self::client(client) }?.authorization_request()?;
        out.write(into_handle(scopegate_authorization::from(start)));
        Ok(())
    })
}

/// Completes an authorization: `pending` (`pending_len` bytes from
/// `scopegate_authorization_pending`) and `callback`, the URL the browser came back to (or its
/// query). Checks the callback (state, expiry, the provider's error), exchanges the code and
/// stores the tokens under the account they belong to. `SCOPEGATE_RESULT_AUTHORIZATION_DENIED`
/// when the user refused; the provider's `error` is in the last error.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_client_exchange(
    client: *mut scopegate_client,
    pending: *const c_char,
    pending_len: usize,
    callback: *const c_char,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live client, `pending_len` readable bytes and a NUL-terminated callback, or
        // NULL, by contract.
        let c = unsafe { self::client(client) }?;
        let mut pending = unsafe { pending_from(pending, pending_len) }?;
        let callback = unsafe { cstr(callback, "callback") }?;
        c.exchange(&mut pending, callback).map(drop).map_err(Failure::from)
    })
}

/// Calls the provider's API: `method` (`GET`) on `path` (under the profile's API base, an
/// absolute path, or a full URL inside the API), with `body_len` bytes of JSON (or none). The
/// URL must stay inside the profile's API (`SCOPEGATE_RESULT_ORIGIN_REFUSED`, before any
/// request); the bearer token is refreshed when due; a 401 is answered by one refresh and one
/// retry. Any status is an answer: `*out` is the response (free it with
/// `scopegate_http_response_free`).
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_client_request(
    client: *mut scopegate_client,
    method: *const c_char,
    path: *const c_char,
    body: *const u8,
    body_len: usize,
    out: *mut *mut scopegate_http_response,
) -> scopegate_result {
    guard(|| {
        // SAFETY: a live client, NUL-terminated strings, `body_len` readable bytes and a
        // writable `out`, or NULL, by contract.
        let out = unsafe { Out::new(out, "out") }?;
        let c = unsafe { self::client(client) }?;
        let method = crate::boundary::method(unsafe { cstr(method, "method") }?)?;
        let path = unsafe { cstr(path, "path") }?;
        let body = if body.is_null() && body_len == 0 { None } else { Some(unsafe { bytes(body, body_len, "body") }?) };
        let response = c.request(method, path, body)?;
        out.write(into_handle(scopegate_http_response::received(response)));
        Ok(())
    })
}

/// Called with the client's token set whenever it changes: after a login (exchange), a refresh,
/// client credentials, a dead-grant mark or a change of the 401 count, once the store holds it
/// and before any other thread can read it from the client; and also when the provider renewed
/// the tokens and the store could not write them (the client's call then returns
/// `SCOPEGATE_RESULT_NOT_SAVED`). This is C's `update_token`.
///
/// `token_set_json` is the token set's versioned JSON (the format `scopegate_token_set` reads),
/// `len` bytes and NUL-terminated, secrets included; it is valid only during the call: copy it
/// to keep it, and wipe your copies when done. The callback runs on the thread that called the
/// client's function (several at once when the client is shared: `userdata` must be
/// thread-safe then). It may call the same client again.
pub type scopegate_token_change_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, token_set_json: *const c_char, len: usize)>;

/// The callback and its userdata.
struct TokenChangeHook {
    callback: unsafe extern "C" fn(*mut c_void, *const c_char, usize),
    userdata: *mut c_void,
}

impl TokenChangeHook {
    fn call(&self, change: &scopegate::TokenChange<'_>) {
        let mut json = zeroize::Zeroizing::new(change.tokens.to_json().into_bytes());
        let len = json.len();
        json.push(0);
        // SAFETY: the callback is the caller's, called as documented; the text lives for the call.
        unsafe { (self.callback)(self.userdata, json.as_ptr().cast(), len) };
    }
}

// SAFETY: the C caller promises that the callback and `userdata` may be used from the threads
// that call the client (documented on `scopegate_token_change_callback`).
unsafe impl Send for TokenChangeHook {}
// SAFETY: as above.
unsafe impl Sync for TokenChangeHook {}

/// Sets the client's token-change callback (see `scopegate_token_change_callback`), called
/// with `userdata`; a NULL `cb` removes it. It replaces any earlier one.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn scopegate_client_on_token_change(
    client: *mut scopegate_client,
    cb: scopegate_token_change_callback,
    userdata: *mut c_void,
) -> scopegate_result {
    guard(|| {
        // SAFETY: NULL or a live client, by contract.
        let c = unsafe { self::client(client) }?;
        let Some(callback) = cb else {
            c.set_token_hook(None);
            return Ok(());
        };
        let hook = TokenChangeHook { callback, userdata };
        c.set_token_hook(Some(Arc::new(move |change: &scopegate::TokenChange<'_>| hook.call(change))));
        Ok(())
    })
}
