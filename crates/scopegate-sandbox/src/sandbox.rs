//! A running sandbox: starting it (its socket: `socket.rs`), its
//! public knobs, and stopping it. Every request goes to the router (`server.rs`).

use std::collections::HashMap;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopegate_core::jose::SigningKey;
use scopegate_core::{Provider, Timestamp};
use serde_json::{Map, Value};
use url::Url;

use crate::apps::{App, PROVIDERS};
use crate::clock::SandboxClock;
use crate::counters::Counters;
use crate::error::SandboxError;
use crate::knobs::{Consent, Fault};
use crate::profile::{builtin_id, profile_at, profile_at_with};
use crate::server::respond;
use crate::socket::Socket;
use crate::specs::state::{SpecsCounters, SpecsServer};
use crate::state::{Shared, State};
use crate::transport::SandboxTransport;
use crate::yotpo;

/// How a sandbox starts ([`Sandbox::start_with`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SandboxOptions {
    /// Port on 127.0.0.1 (0: ephemeral).
    pub port: u16,
    /// How consent is given.
    pub consent: Consent,
    /// Strict mode (see [`Sandbox::set_strict`]).
    pub strict: bool,
}

impl Default for SandboxOptions {
    /// An ephemeral port, consent automatic, not strict: what [`Sandbox::start`] does.
    fn default() -> SandboxOptions {
        SandboxOptions { port: 0, consent: Consent::AutoApprove, strict: false }
    }
}

/// A running sandbox. Dropping it stops the server and closes the port.
pub struct Sandbox {
    shared: Arc<Shared>,
    socket: Option<Socket>,
    addr: std::net::SocketAddr,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("base_url", &self.shared.base).finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Starts on an ephemeral port of 127.0.0.1, consent automatic.
    pub fn start() -> Result<Sandbox, SandboxError> {
        Sandbox::start_on(0, Consent::AutoApprove)
    }

    /// Starts on `port` of 127.0.0.1 (0: ephemeral).
    pub fn start_on(port: u16, consent: Consent) -> Result<Sandbox, SandboxError> {
        Sandbox::start_with(SandboxOptions { port, consent, strict: false })
    }

    /// Starts as `options` say.
    pub fn start_with(options: SandboxOptions) -> Result<Sandbox, SandboxError> {
        let SandboxOptions { port, consent, strict } = options;
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))
            .map_err(|e| SandboxError::Start { port, reason: e.to_string() })?;
        let addr = listener.local_addr().map_err(|e| SandboxError::Start { port, reason: e.to_string() })?;
        let base = format!("http://{addr}");
        let profiles: HashMap<String, Provider> = PROVIDERS
            .iter()
            .map(|p| profile_at(&base, p).map(|prof| ((*p).to_owned(), prof)))
            .collect::<Result<_, _>>()?;
        let clock = SandboxClock::default();
        let specs = SpecsServer::new(&base, clock.clone());
        let state = Mutex::new(State::new(consent, strict, clock));
        let shared = Arc::new(Shared { base, state, profiles, specs });
        let sh = Arc::clone(&shared);
        let socket = Socket::start(listener, move |incoming| respond(&sh, incoming))
            .map_err(|e| SandboxError::Start { port, reason: e.to_string() })?;
        Ok(Sandbox { shared, socket: Some(socket), addr })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.shared.base
    }

    /// Plays the user's browser at this sandbox's authorization page: the callback URL it
    /// redirects to, for [`Client::exchange`](scopegate::Client::exchange) (see
    /// [`authorize_at`](crate::authorize_at)).
    pub fn authorize(&self, url: &str) -> Result<String, SandboxError> {
        crate::authorize_at(&self.shared.base, url)
    }

    /// Built-in profile `id` with every URL pointed at this sandbox (and, while the sandbox is
    /// strict, `pkce = "S256"` for Yespo, Reteno and Yuvo: see [`profile_at_with`]).
    pub fn profile(&self, id: &str) -> Result<Provider, SandboxError> {
        profile_at_with(&self.shared.base, id, self.is_strict())
    }

    /// Turns strict mode on or off; each request is judged by the mode when it arrives. In
    /// strict mode:
    /// - an authorization request to Yespo, Reteno or Yuvo without a `code_challenge` (or with a
    ///   method other than `S256`) is refused with `error=invalid_request` on the redirect URI,
    ///   and a token request carrying a `code_verifier` for a code requested without a
    ///   challenge is `invalid_grant` (RFC 9700 §2.1.1). (A challenge that was sent is verified
    ///   at the token endpoint whether strict or not);
    /// - a refresh token that was rotated out, presented again, is answered `invalid_grant`
    ///   ("refresh token reuse detected; the grant is revoked") and revokes its whole grant
    ///   (RFC 9700 §4.14.2): the current refresh token and the access tokens descended from the
    ///   same authorization code or client credentials issue stop working
    ///   ([`Counters::reuse_detected`]). Out of strict mode a used refresh token is only
    ///   `invalid_grant`.
    pub fn set_strict(&self, on: bool) {
        self.shared.lock().strict = on;
    }

    /// Whether the sandbox is in strict mode.
    pub fn is_strict(&self) -> bool {
        self.shared.lock().strict
    }

    /// Registers (or replaces, by provider and client id) an app. Its provider is a built-in id
    /// or the id of a profile pointed at a sandbox ([`builtin_id`]).
    pub fn register(&self, mut app: App) -> Result<(), SandboxError> {
        app.provider = builtin_id(&app.provider).to_owned();
        self.shared.lock().register(app)
    }

    /// What provider `id` (built-in, or pointed at a sandbox: `yespo@127.0.0.1:PORT`) has seen
    /// so far.
    pub fn counters(&self, id: &str) -> Counters {
        self.shared.lock().counters.get(builtin_id(id)).cloned().unwrap_or_default()
    }

    /// Queues a fault for the next token-endpoint answer of provider `id` (as for
    /// [`counters`](Self::counters); queued faults apply one per request, in order).
    pub fn inject(&self, id: &str, fault: Fault) {
        self.shared.lock().faults.entry(builtin_id(id).to_owned()).or_default().push(fault);
    }

    /// Sets how consent is given from now on.
    pub fn set_consent(&self, consent: Consent) {
        self.shared.lock().consent = consent;
    }

    /// Where Yotpo's uninstall webhook is POSTed (a loopback `http` URL).
    pub fn set_uninstall_webhook(&self, url: Url) {
        self.shared.lock().webhook = Some(url);
    }

    /// The merchant disconnects the app from store `app_key` in the (emulated) Yotpo admin: its
    /// token is deleted, and the uninstall webhook is POSTed when one is set. Returns whether the
    /// webhook was delivered.
    pub fn merchant_uninstall(&self, app_key: &str) -> Result<bool, SandboxError> {
        yotpo::merchant_uninstall(&self.shared, app_key)
    }

    /// A [`Transport`](scopegate::Transport) that calls this sandbox in-process,
    /// without a socket (see [`SandboxTransport`]).
    pub fn transport(&self) -> SandboxTransport {
        SandboxTransport::new(Arc::clone(&self.shared))
    }

    /// Now, by the sandbox's clock (the system clock unless [`advance`](Sandbox::advance)d).
    pub fn now(&self) -> Timestamp {
        self.shared.lock().clock.now()
    }

    /// Moves the sandbox's clock `secs` seconds forward: codes and tokens expire as if that
    /// time had passed.
    pub fn advance(&self, secs: u64) {
        self.shared.lock().clock.advance(secs);
    }

    /// A handle on the sandbox's clock (clones share it), e.g. for a client's clock.
    pub fn clock(&self) -> SandboxClock {
        self.shared.lock().clock.clone()
    }

    /// The issuer of the `/specs` server (`{base}/specs`): `scopegate provider discover` it.
    pub fn specs_issuer(&self) -> String {
        self.shared.specs.issuer.clone()
    }

    /// The private key of the `specs-jwt` client (ES256, `kid` `specs-jwt-1`): a test tool hands
    /// it out so that tests can sign assertions the server accepts.
    pub fn specs_client_key(&self) -> SigningKey {
        self.shared.specs.client_key.clone()
    }

    /// Registers (or replaces) a private_key_jwt client of the `/specs` server with its public
    /// JWK.
    pub fn register_jwt_client(&self, client_id: &str, public_jwk: Map<String, Value>) {
        self.shared.specs.register_jwt_client(client_id, public_jwk);
    }

    /// What the `/specs` server has seen.
    pub fn specs_counters(&self) -> SpecsCounters {
        self.shared.specs.lock().counters.clone()
    }

    /// Stops the server (also done on drop).
    pub fn stop(mut self) {
        self.shutdown();
    }

    /// Stops accepting, waits for the serving thread, drops the server, and waits (up to 2 s)
    /// until the port refuses connections.
    fn shutdown(&mut self) {
        let Some(mut socket) = self.socket.take() else { return };
        socket.stop();
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while std::time::Instant::now() < deadline
            && TcpStream::connect_timeout(&self.addr, Duration::from_millis(100)).is_ok()
        {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.shutdown();
    }
}
