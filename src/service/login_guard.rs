//! What stands between a login flood and the service: per-client and per-username rate limits
//! (429 with `Retry-After`), and a bound on password hashes computed at once (each takes
//! 19 MiB and a core): a login that cannot get a hashing slot soon is refused with 503. The
//! hashes run on a fixed set of threads, one per slot, so that the memory they take (which the
//! allocator keeps per thread) stays bounded by the slots however many logins arrive.

use super::limiter::Limiter;
use crate::config::AuthConfig;
use crate::error::{Error, Result};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

type Job = Box<dyn FnOnce() + Send>;

/// Keys each limiter remembers at most (an entry is a few dozen bytes).
const MAX_KEYS: usize = 100_000;

pub struct LoginGuard {
    clients: Limiter,
    users: Limiter,
    hashing: Semaphore,
    slots: usize,
    wait: Duration,
    jobs: Mutex<std::sync::mpsc::Sender<Job>>,
    /// When each API token's last use was last written.
    token_use: Mutex<std::collections::HashMap<String, Instant>>,
}

impl LoginGuard {
    pub fn new(cfg: &AuthConfig) -> Self {
        let slots = match cfg.password_hash_concurrency {
            0 => std::thread::available_parallelism()
                .map_or(1, |n| n.get().saturating_sub(1))
                .max(1),
            n => n as usize,
        };
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(Mutex::new(rx));
        for i in 0..slots {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("konsign-hash-{i}"))
                .spawn(move || loop {
                    let job = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        Self {
            token_use: Mutex::new(std::collections::HashMap::new()),
            jobs: Mutex::new(tx),
            clients: Limiter::new("login", cfg.login_per_client_per_minute, MAX_KEYS),
            users: Limiter::new("login", cfg.login_per_user_per_minute, MAX_KEYS),
            hashing: Semaphore::new(slots),
            slots,
            wait: Duration::from_millis(u64::from(cfg.password_hash_wait_ms)),
        }
    }

    /// Whether a token's last use is due to be written (at most once a minute per token).
    pub fn token_use_due(&self, token_hash: &str) -> bool {
        let Ok(mut seen) = self.token_use.lock() else {
            return false;
        };
        let now = Instant::now();
        if seen.len() > 10_000 {
            seen.retain(|_, at| now.duration_since(*at) < Duration::from_secs(60));
        }
        match seen.get(token_hash) {
            Some(at) if now.duration_since(*at) < Duration::from_secs(60) => false,
            _ => {
                seen.insert(token_hash.to_string(), now);
                true
            }
        }
    }

    /// Password hashes that may run at once.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Counts one login attempt from `client` for `username`; refused beyond either limit.
    pub fn admit(&self, client: &str, username: &str) -> Result<()> {
        self.clients.admit(client)?;
        self.users.admit(&username.trim().to_lowercase())
    }

    /// Runs `work` (a password hash) on a hashing thread once a slot is free; refused with 503
    /// when none frees up in time.
    pub async fn hash<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let _permit = match tokio::time::timeout(self.wait, self.hashing.acquire()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(Error::Internal(anyhow::anyhow!("hashing slots closed"))),
            Err(_) => {
                return Err(Error::Busy {
                    retry_after_secs: 1,
                })
            }
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(work());
        });
        self.jobs
            .lock()
            .map_err(|_| Error::Internal(anyhow::anyhow!("hashing queue poisoned")))?
            .send(job)
            .map_err(|_| Error::Internal(anyhow::anyhow!("the hashing threads have stopped")))?;
        rx.await
            .map_err(|_| Error::Internal(anyhow::anyhow!("a password hash was dropped")))
    }
}
