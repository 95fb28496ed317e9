//! A rate limit by key (`domain::rate::Buckets`) as a service holds it: its own clock, a lock,
//! and 429 with `Retry-After` when a key's bucket is empty. The login limits and the event
//! feeds' limit are each one of these.

use crate::domain::rate::Buckets;
use crate::error::{Error, Result};
use std::sync::Mutex;
use std::time::Instant;

pub struct Limiter {
    /// What it limits, for the error when its lock is poisoned.
    what: &'static str,
    start: Instant,
    buckets: Mutex<Buckets>,
}

impl Limiter {
    /// `per_minute` for each key, in bursts of as many; at most `max_keys` keys remembered.
    pub fn new(what: &'static str, per_minute: u32, max_keys: usize) -> Self {
        Self {
            what,
            start: Instant::now(),
            buckets: Mutex::new(Buckets::new(per_minute, max_keys)),
        }
    }

    /// Counts one attempt for `key`; refused (`Error::TooMany`) when its bucket is empty.
    pub fn admit(&self, key: &str) -> Result<()> {
        let now = self.start.elapsed().as_secs_f64();
        self.buckets
            .lock()
            .map_err(|_| Error::Internal(anyhow::anyhow!("{} limiter poisoned", self.what)))?
            .take(key, now)
            .map_err(|s| Error::TooMany {
                retry_after_secs: s,
            })
    }
}
