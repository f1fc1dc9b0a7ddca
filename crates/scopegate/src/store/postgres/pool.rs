//! The PostgreSQL store's database threads: each owns one connection (made when first needed,
//! made again after it broke) and runs the statements callers hand it, so that no caller's
//! thread ever runs the blocking client's runtime (a tokio worker would panic).

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postgres::config::Host;

use super::super::sqlite::LONGEST_REFRESH;
use super::options::PostgresOptions;
use crate::store::StoreError;

/// What the database threads share.
pub(super) struct Shared {
    pub(super) config: postgres::Config,
    pub(super) tls: tokio_postgres_rustls::MakeRustlsConnect,
    pub(super) options: PostgresOptions,
    pub(super) shown: String,
}

impl Shared {
    pub(super) fn connect(&self) -> Result<postgres::Client, StoreError> {
        let connected = self.config.connect(self.tls.clone()).and_then(|mut client| {
            let ms = |d: Duration| d.as_millis().max(1);
            client.batch_execute(&format!(
                "SET statement_timeout = {}; SET lock_timeout = {}; SET idle_in_transaction_session_timeout = {};",
                ms(self.options.statement_timeout),
                ms(self.options.lock_timeout),
                ms(self.options.statement_timeout + LONGEST_REFRESH),
            ))?;
            Ok(client)
        });
        connected.map_err(|e| StoreError::Backend {
            path: self.shown.clone(),
            reason: format!("cannot connect: {}", with_causes(&e)),
        })
    }

    pub(super) fn failed(&self, e: &postgres::Error) -> StoreError {
        // 55P03 lock_not_available: lock_timeout passed.
        if e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) {
            return StoreError::Busy { path: self.shown.clone(), waited_secs: self.options.lock_timeout.as_secs() };
        }
        let reason = match e.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => with_causes(e),
        };
        StoreError::Backend { path: self.shown.clone(), reason }
    }
}

type Job = Box<dyn FnOnce(&mut Option<postgres::Client>) + Send>;

/// The store's database threads: each owns one connection (made when first needed, made again
/// after it broke) and runs the jobs it takes from the queue.
pub(super) struct Workers {
    jobs: Mutex<mpsc::Sender<Job>>,
}

impl Workers {
    pub(super) fn start(shared: &Arc<Shared>, count: usize) -> Result<Workers, StoreError> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..count.max(1) {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("scopegate-pg-{i}"))
                .spawn(move || {
                    let mut conn: Option<postgres::Client> = None;
                    loop {
                        let job = match rx.lock().unwrap_or_else(|p| p.into_inner()).recv() {
                            Ok(job) => job,
                            Err(_) => return, // the store is gone
                        };
                        job(&mut conn);
                        if conn.as_ref().is_some_and(postgres::Client::is_closed) {
                            conn = None;
                        }
                    }
                })
                .map_err(|e| StoreError::Backend {
                    path: shared.shown.clone(),
                    reason: format!("cannot start a database thread: {e}"),
                })?;
        }
        Ok(Workers { jobs: Mutex::new(tx) })
    }
}

impl Workers {
    /// Runs `f` with a connection, on one of the store's threads, and waits for its answer.
    pub(super) fn run<T: Send + 'static>(
        &self,
        shared: &Arc<Shared>,
        f: impl Fn(&mut postgres::Client) -> Result<T, postgres::Error> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let theirs = Arc::clone(shared);
        let job: Job = Box::new(move |conn| {
            let shared = theirs;
            let result = (|| {
                if conn.as_ref().is_none_or(postgres::Client::is_closed) {
                    *conn = Some(shared.connect()?);
                }
                let c = conn.as_mut().expect("connected above");
                match f(c) {
                    Ok(v) => Ok(v),
                    // The server ended this pooled connection while it sat idle (a restart): the
                    // statement never ran, so it runs once more on a new connection.
                    Err(e) if never_ran(&e) => {
                        *conn = None;
                        *conn = Some(shared.connect()?);
                        f(conn.as_mut().expect("connected above")).map_err(|e| shared.failed(&e))
                    }
                    Err(e) => Err(shared.failed(&e)),
                }
            })();
            let _ = tx.send(result);
        });
        let lost = || StoreError::Backend { path: shared.shown.clone(), reason: "the database thread stopped".into() };
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).send(job).map_err(|_| lost())?;
        let o = &shared.options;
        let wait = o.connect_timeout + o.statement_timeout * 2 + o.lock_timeout;
        match rx.recv_timeout(wait) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(StoreError::Backend {
                path: shared.shown.clone(),
                reason: format!("no answer from the database within {} s", wait.as_secs()),
            }),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(lost()),
        }
    }
}

/// Whether `e` says the connection was gone before the statement could run: closed on our
/// side, the request not written (broken pipe), or ended by the server (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot
/// connect now).
fn never_ran(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    let broken_pipe = std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe);
    e.is_closed()
        || broken_pipe
        || e.code().is_some_and(|c| {
            [SqlState::ADMIN_SHUTDOWN, SqlState::CRASH_SHUTDOWN, SqlState::CANNOT_CONNECT_NOW].contains(c)
        })
}

/// An error with its causes (`error connecting to server: No such file or directory`); the
/// client's errors quote no password.
pub(super) fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let next = c.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = c.source();
    }
    text
}

/// `postgres://user@host:port/dbname` (or `.../dbname?host=/socket/dir`): what errors name, never
/// the password.
pub(super) fn describe(config: &postgres::Config) -> String {
    let user = config.get_user().map(|u| format!("{u}@")).unwrap_or_default();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let port = config.get_ports().first().map(|p| format!(":{p}")).unwrap_or_default();
    let db = config.get_dbname().unwrap_or("");
    format!("postgres://{user}{}{port}/{db}", hosts.join(","))
}

pub(super) fn tls() -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}
