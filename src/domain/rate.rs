//! Rate limits as token buckets by key (a client address, a username), bounded in the number of
//! keys they remember. I/O-free: the caller gives the time in seconds from any fixed start.

use std::collections::HashMap;

/// One bucket per key: `per_minute` tokens a minute, holding at most `per_minute` (the burst).
#[derive(Debug)]
pub struct Buckets {
    per_second: f64,
    burst: f64,
    max_keys: usize,
    /// key → (tokens, time they were counted)
    map: HashMap<String, (f64, f64)>,
}

impl Buckets {
    pub fn new(per_minute: u32, max_keys: usize) -> Self {
        let burst = f64::from(per_minute.max(1));
        Self {
            per_second: burst / 60.0,
            burst,
            max_keys: max_keys.max(1),
            map: HashMap::new(),
        }
    }

    /// Takes one attempt for `key` at time `now`. Refused with the seconds until the next
    /// attempt is allowed. When the table of keys is full of recently used keys, a new key is
    /// refused (fail closed) rather than forgetting another key's attempts.
    pub fn take(&mut self, key: &str, now: f64) -> Result<(), u64> {
        if !self.map.contains_key(key) && self.map.len() >= self.max_keys {
            self.prune(now);
            if self.map.len() >= self.max_keys {
                return Err(60);
            }
        }
        let (per_second, burst) = (self.per_second, self.burst);
        let (tokens, at) = self.map.entry(key.to_string()).or_insert((burst, now));
        *tokens = (*tokens + (now - *at).max(0.0) * per_second).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / per_second).ceil().max(1.0) as u64)
        }
    }

    /// Forgets keys whose bucket has filled up again (they would start full anyway).
    fn prune(&mut self, now: f64) {
        let (per_second, burst) = (self.per_second, self.burst);
        self.map
            .retain(|_, (tokens, at)| *tokens + (now - *at).max(0.0) * per_second < burst);
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// What one login attempt may do, decided from the account's failures before it: go on to the
/// password check, or be refused and lock the account (attempts beyond the threshold are
/// themselves a guessing burst, whatever their password).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    Verify,
    LockAndRefuse,
}

pub fn attempt(failures_before: i64, threshold: i64) -> Attempt {
    if failures_before >= threshold {
        Attempt::LockAndRefuse
    } else {
        Attempt::Verify
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_one_attempt_per_refill() {
        let mut b = Buckets::new(6, 100);
        for _ in 0..6 {
            assert_eq!(b.take("10.0.0.1", 0.0), Ok(()));
        }
        assert_eq!(b.take("10.0.0.1", 0.0), Err(10));
        // Another key has its own bucket.
        assert_eq!(b.take("10.0.0.2", 0.0), Ok(()));
        // 6 a minute: one every 10 s.
        assert_eq!(b.take("10.0.0.1", 9.0), Err(1));
        assert_eq!(b.take("10.0.0.1", 10.0), Ok(()));
        assert!(b.take("10.0.0.1", 10.5).is_err());
    }

    #[test]
    fn the_table_of_keys_is_bounded_and_forgets_idle_keys() {
        let mut b = Buckets::new(2, 3);
        for k in ["a", "b", "c"] {
            assert_eq!(b.take(k, 0.0), Ok(()));
        }
        // Full of recently used keys: a new key is refused, known keys still work.
        assert_eq!(b.take("d", 1.0), Err(60));
        assert_eq!(b.take("a", 1.0), Ok(()));
        // After a minute every bucket is full again: they are forgotten to make room.
        assert_eq!(b.take("d", 120.0), Ok(()));
        assert!(b.len() <= 3);
    }

    #[test]
    fn attempts_beyond_the_threshold_lock() {
        assert_eq!(attempt(0, 5), Attempt::Verify);
        assert_eq!(attempt(4, 5), Attempt::Verify);
        assert_eq!(attempt(5, 5), Attempt::LockAndRefuse);
        assert_eq!(attempt(50, 5), Attempt::LockAndRefuse);
    }
}
