//! The workflow of each scanner station, remembered for a moment. Every serial scan needs its
//! station's workflow, and asking the database is a round trip on the scan's path (0.5 to 0.8 ms
//! of a slow scan's time under load, `docs/benchmarks.md`). A change made on this instance is
//! seen at once; one made on another instance (scale-out) within [`TTL`].

use crate::domain::workflow::Workflow;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a remembered workflow is trusted.
pub const TTL: Duration = Duration::from_secs(2);

/// Stations remembered at most (a bound on memory; past it the cache starts empty again).
const MAX_STATIONS: usize = 10_000;

#[derive(Debug, Default)]
pub struct WorkflowCache {
    map: Mutex<HashMap<String, (Workflow, Instant)>>,
}

impl WorkflowCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Workflow, Instant)>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The station's workflow if it was read within [`TTL`].
    pub fn get(&self, station: &str) -> Option<Workflow> {
        self.lock()
            .get(station)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(w, _)| *w)
    }

    pub fn put(&self, station: &str, workflow: Workflow) {
        let mut m = self.lock();
        if m.len() >= MAX_STATIONS && !m.contains_key(station) {
            m.clear();
        }
        m.insert(station.to_string(), (workflow, Instant::now()));
    }

    pub fn forget(&self, station: &str) {
        self.lock().remove(station);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workflow_is_remembered_until_forgotten() {
        let c = WorkflowCache::default();
        assert_eq!(c.get("st1"), None);
        c.put("st1", Workflow::Picking);
        assert_eq!(c.get("st1"), Some(Workflow::Picking));
        c.forget("st1");
        assert_eq!(c.get("st1"), None);
    }
}
