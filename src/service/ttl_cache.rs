//! Facts on a hot path, remembered for a moment: each station's workflow and each product's
//! name (a serial scan's path), and who a session or API token is (every request's). Asking the database for them is a round trip through the pool on every scan
//! (0.4 to 1.5 ms of a slow scan's time under load, `docs/benchmarks.md`). A change made on this
//! instance is seen at once (the service that makes it calls `forget` or `clear`); one made on
//! another instance (scale-out) within [`TTL`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a remembered value is trusted.
pub const TTL: Duration = Duration::from_secs(2);

/// Keys remembered at most (a bound on memory; past it the cache starts empty again).
const MAX_KEYS: usize = 10_000;

/// Values by key, each trusted for [`TTL`] (or the time given to [`TtlCache::with_ttl`]).
#[derive(Debug)]
pub struct TtlCache<V> {
    map: Mutex<HashMap<String, (V, Instant)>>,
    ttl: Duration,
}

impl<V> Default for TtlCache<V> {
    fn default() -> Self {
        Self::with_ttl(TTL)
    }
}

impl<V> TtlCache<V> {
    /// A cache whose values are trusted for `ttl`.
    pub fn with_ttl(ttl: Duration) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            ttl,
        }
    }
}

impl<V: Clone> TtlCache<V> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (V, Instant)>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value if it was put within the cache's time.
    pub fn get(&self, key: &str) -> Option<V> {
        let ttl = self.ttl;
        self.lock()
            .get(key)
            .filter(|(_, at)| at.elapsed() < ttl)
            .map(|(v, _)| v.clone())
    }

    pub fn put(&self, key: &str, value: V) {
        let mut m = self.lock();
        if m.len() >= MAX_KEYS && !m.contains_key(key) {
            m.clear();
        }
        m.insert(key.to_string(), (value, Instant::now()));
    }

    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    /// Forgets everything (after a change to many keys at once, such as an import).
    pub fn clear(&self) {
        self.lock().clear();
    }
}

/// What a lookup scan says about a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductName {
    pub name: String,
    pub producer: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::workflow::Workflow;

    #[test]
    fn a_value_is_remembered_until_forgotten_or_cleared() {
        let c = TtlCache::default();
        assert_eq!(c.get("st1"), None);
        c.put("st1", Workflow::Picking);
        assert_eq!(c.get("st1"), Some(Workflow::Picking));
        c.forget("st1");
        assert_eq!(c.get("st1"), None);
        c.put("st2", Workflow::Packing);
        c.clear();
        assert_eq!(c.get("st2"), None);
    }

    #[test]
    fn the_cache_is_bounded() {
        let c = TtlCache::default();
        for i in 0..=MAX_KEYS {
            c.put(&format!("k{i}"), i);
        }
        assert!(c.lock().len() <= MAX_KEYS);
        assert_eq!(c.get(&format!("k{MAX_KEYS}")), Some(MAX_KEYS));
    }
}
