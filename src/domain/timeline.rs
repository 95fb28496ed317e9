//! Where one request's time went: named steps, each with the time since the step before. A scan
//! slower than `log.slow_ms` is logged with its timeline, so a slow one on the floor (or in a
//! benchmark) says whether it waited for the queue, a lookup, the write lock or the commit.

use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Timeline {
    start: Instant,
    last: Instant,
    steps: Vec<(&'static str, Duration)>,
}

impl Timeline {
    /// Starts now; `waited` is time spent before (in a queue), recorded as the step `queued`.
    pub fn start(waited: Duration) -> Self {
        let now = Instant::now();
        Self {
            start: now.checked_sub(waited).unwrap_or(now),
            last: now,
            steps: vec![("queued", waited)],
        }
    }

    /// Ends the step `name` now.
    pub fn step(&mut self, name: &'static str) {
        let now = Instant::now();
        self.steps.push((name, now - self.last));
        self.last = now;
    }

    pub fn total(&self) -> Duration {
        self.last - self.start
    }

    pub fn steps(&self) -> &[(&'static str, Duration)] {
        &self.steps
    }
}

impl std::fmt::Display for Timeline {
    /// `queued 0.10 parse 0.02 lookup 0.31 ... = 1.20 ms`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (name, d) in &self.steps {
            write!(f, "{name} {:.2} ", d.as_secs_f64() * 1000.0)?;
        }
        write!(f, "= {:.2} ms", self.total().as_secs_f64() * 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_add_up_to_the_total() {
        let mut t = Timeline::start(Duration::from_millis(3));
        std::thread::sleep(Duration::from_millis(2));
        t.step("lookup");
        t.step("write");
        let sum: Duration = t.steps().iter().map(|(_, d)| *d).sum();
        assert_eq!(sum, t.total());
        assert!(t.total() >= Duration::from_millis(5));
        let s = t.to_string();
        assert!(s.starts_with("queued 3.00 lookup "), "{s}");
        assert!(s.ends_with(" ms"), "{s}");
    }
}
