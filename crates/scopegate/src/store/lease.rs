//! Leases: who may refresh a key now, and waiting for the one who is.

use std::time::{Duration, Instant};

use scopegate_core::{Error, TokenSet};

use super::{Claim, StoreError, StoreKey, TokenStore, Update, Written};

/// Who holds a lease: a random id, with the process id and start time and the identity of this
/// host's running kernel and pid namespace. So a waiter on the same host can tell that the
/// owner died (SIGKILL mid-refresh) and take its lease over at once; an owner on another host
/// is waited for until its lease expires. Each [`Client`](crate::Client) key slot has its own,
/// so two handles on one store in one process exclude each other like two processes do.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LeaseOwner(String);

impl LeaseOwner {
    /// A new owner, unlike any other.
    pub fn new() -> LeaseOwner {
        let mut bytes = [0u8; 12];
        // Uniqueness, not secrecy: a clock-and-counter fallback is enough if the OS fails.
        if getrandom::fill(&mut bytes).is_err() {
            static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            bytes[..8].copy_from_slice(&(t as u64 ^ n.rotate_left(32)).to_le_bytes());
            bytes[8..].copy_from_slice(&(n as u32).to_le_bytes());
        }
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let pid = std::process::id();
        let start = start_time(pid).unwrap_or_default();
        LeaseOwner(format!("{hex}.{pid}.{start}@{}", host_id()))
    }

    /// A new owner that names `host` instead of this host, as a process of another host would
    /// (tests of lease expiry: no waiter here ever judges it dead, so its lease must expire).
    #[doc(hidden)]
    pub fn on_other_host(host: &str) -> LeaseOwner {
        let own = LeaseOwner::new();
        let process = own.0.rsplit_once('@').map_or(own.0.as_str(), |(p, _)| p);
        LeaseOwner(format!("{process}@{host}"))
    }

    /// The id as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the owner `id` (as stored) is a process of this host (same running kernel and
    /// pid namespace) that no longer runs: its lease can be taken over without waiting for it
    /// to expire. Unknown or foreign owners are never judged dead.
    pub fn is_dead_here(id: &str) -> bool {
        let Some((proc_part, host)) = id.rsplit_once('@') else { return false };
        if host.is_empty() || host != host_id() {
            return false;
        }
        let mut parts = proc_part.split('.');
        let (Some(_), Some(pid), Some(start)) = (parts.next(), parts.next(), parts.next()) else { return false };
        let (Ok(pid), false) = (pid.parse::<u32>(), start.is_empty()) else { return false };
        if pid == std::process::id() {
            return abandoned().contains(&id.to_owned());
        }
        match start_time(pid) {
            None => true,
            Some(now) => now != start,
        }
    }
}

/// Marks this owner as gone: whatever lease it still holds (its last write failed, say) may
/// be taken over at once by another owner of this process (its process is alive, so nothing
/// else would tell).
pub(crate) fn abandon(owner: &LeaseOwner) {
    let mut gone = abandoned();
    if gone.len() >= 4096 {
        gone.pop_front();
    }
    gone.push_back(owner.0.clone());
}

fn abandoned() -> std::sync::MutexGuard<'static, std::collections::VecDeque<String>> {
    static GONE: std::sync::Mutex<std::collections::VecDeque<String>> =
        std::sync::Mutex::new(std::collections::VecDeque::new());
    GONE.lock().unwrap_or_else(|p| p.into_inner())
}

/// This host's running kernel (boot id) and pid namespace, or empty where they cannot be read
/// (then no owner is ever judged dead).
fn host_id() -> &'static str {
    static ID: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
        let ns = std::fs::read_link("/proc/self/ns/pid").map(|p| p.display().to_string()).unwrap_or_default();
        let (boot, ns) = (boot.trim(), ns.trim());
        if boot.is_empty() || ns.is_empty() {
            return String::new();
        }
        let ns: String = ns.chars().filter(char::is_ascii_digit).collect();
        format!("{boot}/{ns}")
    });
    &ID
}

/// When process `pid` started (clock ticks after boot, `/proc/PID/stat` field 22); `None` when
/// no such process runs (a zombie, killed and not yet reaped, counts as not running).
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: read after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (the state); field 22 is fields[19].
    if fields.first() == Some(&"Z") || fields.first() == Some(&"X") {
        return None;
    }
    fields.get(19).map(|s| (*s).to_owned())
}

impl Default for LeaseOwner {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for LeaseOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LeaseOwner({})", self.0)
    }
}

/// The first pause while waiting for another owner's lease, doubled up to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(5);
/// The longest pause between two looks at the row.
const MAX_POLL: Duration = Duration::from_millis(200);

/// [`TokenStore::claim`]: tries again, with growing pauses, while another owner's lease lives
/// (it may end early: released after a failed refresh, or written).
pub(super) fn claim_waiting<S: TokenStore + ?Sized>(
    store: &S,
    key: &StoreKey,
    owner: &LeaseOwner,
    ttl: Duration,
    max_wait: Duration,
) -> Result<Claim, StoreError> {
    let started = Instant::now();
    let mut pause = FIRST_POLL;
    loop {
        let held = store.try_claim(key, owner, ttl)?;
        let Claim::Held { expires_in, .. } = &held else { return Ok(held) };
        let waited = started.elapsed();
        if waited >= max_wait {
            return Ok(held);
        }
        std::thread::sleep(pause.min(*expires_in).min(max_wait - waited).max(Duration::from_millis(1)));
        pause = (pause * 2).min(MAX_POLL);
    }
}

/// [`TokenStore::update`] over the lease primitives.
pub(super) fn update<S: TokenStore + ?Sized>(
    store: &S,
    key: &StoreKey,
    owner: &LeaseOwner,
    ttl: Duration,
    f: &mut dyn FnMut(Option<&TokenSet>) -> Result<Update, Error>,
) -> Result<Option<TokenSet>, Error> {
    /// The owner is used for this one update: when it returns (or unwinds), any lease it still
    /// holds is abandoned.
    struct Once<'a>(&'a LeaseOwner);
    impl Drop for Once<'_> {
        fn drop(&mut self) {
            abandon(self.0);
        }
    }
    let _once = Once(owner);
    loop {
        let row = match store.claim(key, owner, ttl, ttl + Duration::from_secs(30))? {
            Claim::Granted(row) => row,
            Claim::Held { .. } => unreachable_held(key)?,
        };
        let decision = match f(row.tokens.as_ref()) {
            Ok(d) => d,
            Err(e) => {
                let _ = store.release(key, owner);
                return Err(e);
            }
        };
        let after = match &decision {
            Update::Keep => {
                store.release(key, owner)?;
                return Ok(row.tokens);
            }
            Update::Put(t) => Some((**t).clone()),
            Update::Delete => None,
        };
        match store.write(key, owner, row.version, &decision) {
            Ok(Written::Done(_)) => return Ok(after),
            Ok(Written::Conflict(now)) => {
                // Our lease ended (it outlived its time) and somebody wrote meanwhile: never
                // overwrite a newer row. A put is handed back; anything else is decided again.
                if let Update::Put(tokens) = decision {
                    let error = StoreError::Backend {
                        path: String::new(),
                        reason: format!(
                            "the token set of {key} changed meanwhile (version {} -> {}); this one was not written over it",
                            row.version, now.version
                        ),
                    };
                    return Err(Error::NotSaved { error, tokens });
                }
            }
            Err(error) => {
                return Err(match decision {
                    Update::Put(tokens) => Error::NotSaved { error, tokens },
                    _ => Error::Store(error),
                });
            }
        }
    }
}

/// A claim that waits past the longest lease plus a margin still found it held: the other
/// owner keeps renewing it, which no owner does.
fn unreachable_held<T>(key: &StoreKey) -> Result<T, StoreError> {
    Err(StoreError::Busy { path: format!("{key}"), waited_secs: super::DEFAULT_LEASE_TTL.as_secs() + 30 })
}
