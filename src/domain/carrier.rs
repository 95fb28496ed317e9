//! Handing parcels to a carrier: how a failed booking attempt is classified and what follows
//! it. No carrier API is idempotent, so an attempt that may have reached the carrier (a timeout
//! after the request was sent) is looked up by the parcel's own SSCC before anything is sent
//! again. Pure: the booking worker performs the decision.

use chrono::Duration;

/// The carriers konsign has an adapter for, by id.
pub const LOCAL: &str = "local";
pub const POSTNORD: &str = "postnord";
pub const KNOWN: [&str; 2] = [LOCAL, POSTNORD];

/// Why a booking attempt failed, in the classes every carrier's errors fall into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Connect error, 5xx, 429: nothing was booked; try again later (`retry_after` when the
    /// carrier said how long to wait).
    Transient { retry_after: Option<Duration> },
    /// A timeout after the request was sent: it may or may not have been booked.
    Ambiguous,
    /// The carrier refused the content (a validation fault): a person must look.
    Rejected,
    /// The carrier refused our credentials.
    Unauthorized,
    /// A multi-parcel answer that did not account for this parcel.
    Partial,
}

impl Failure {
    pub fn as_str(&self) -> &'static str {
        match self {
            Failure::Transient { .. } => "transient",
            Failure::Ambiguous => "ambiguous",
            Failure::Rejected => "rejected",
            Failure::Unauthorized => "unauthorized",
            Failure::Partial => "partial",
        }
    }
}

/// What the worker does after a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Try again after this long.
    Retry {
        after: Duration,
        look_up_first: bool,
    },
    /// Into the lead's queue with the carrier's message.
    ToLead,
    /// Stop booking with this carrier for a while and raise an alarm; the booking waits.
    PauseCarrier { after: Duration },
}

/// The retry timings (`carrier.retry_first_ms`, `carrier.unauthorized_pause_seconds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// The wait after the first failed attempt; it doubles with each further one.
    pub first_retry: Duration,
    /// How long a carrier that refused our credentials is left alone.
    pub unauthorized_pause: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            first_retry: Duration::seconds(2),
            unauthorized_pause: Duration::minutes(5),
        }
    }
}

/// The wait before attempt `attempts + 1`: `first` doubling to at most 5 minutes, with `jitter`
/// (0 to 1, from the caller's random source) spreading it by up to a quarter.
pub fn backoff(first: Duration, attempts: i64, jitter: f64) -> Duration {
    let first_ms = first.num_milliseconds().max(1);
    let base_ms = first_ms
        .saturating_mul(2i64.saturating_pow((attempts.clamp(1, 20) - 1) as u32))
        .min(300_000);
    let spread_ms = (base_ms as f64 * 0.25 * jitter.clamp(0.0, 1.0)) as i64;
    Duration::milliseconds(base_ms + spread_ms)
}

/// What follows a failed attempt (`attempts` counts this one).
pub fn next(f: &Failure, attempts: i64, jitter: f64, t: Timing) -> Next {
    match f {
        Failure::Transient { retry_after } => Next::Retry {
            after: retry_after.filter(|d| *d > Duration::zero()).map_or_else(
                || backoff(t.first_retry, attempts, jitter),
                |d| d.min(Duration::minutes(30)),
            ),
            look_up_first: false,
        },
        Failure::Ambiguous => Next::Retry {
            after: backoff(t.first_retry, attempts, jitter),
            look_up_first: true,
        },
        // A multi-parcel answer that leaves this parcel unaccounted for: it may be booked, so it
        // is looked up on its own before it is sent again (the batch is split).
        Failure::Partial => Next::Retry {
            after: backoff(t.first_retry, attempts, jitter),
            look_up_first: true,
        },
        Failure::Rejected => Next::ToLead,
        Failure::Unauthorized => Next::PauseCarrier {
            after: t.unauthorized_pause,
        },
    }
}

/// A line of the carrier rule table (`[[carrier.rules]]`): parcels that match every condition
/// given go with `carrier` and `service`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Parcel types (`packing.parcel_types` names) the rule takes; empty: any.
    #[serde(default)]
    pub parcel_types: Vec<String>,
    /// The lowest and highest postcode the rule takes (four digits in Denmark), inclusive.
    #[serde(default)]
    pub postcode_from: Option<String>,
    #[serde(default)]
    pub postcode_to: Option<String>,
    pub carrier: String,
    pub service: String,
    /// Additional service codes (the adapter adds notification by SMS or e-mail itself).
    #[serde(default)]
    pub additional: Vec<String>,
}

impl Rule {
    pub fn check(&self) -> Result<(), String> {
        if self.carrier.trim().is_empty() || self.service.trim().is_empty() {
            return Err("carrier and service are required".into());
        }
        if self.service.len() > 10 || self.additional.iter().any(|a| a.is_empty() || a.len() > 10) {
            return Err("service codes are 1 to 10 characters".into());
        }
        for p in [&self.postcode_from, &self.postcode_to]
            .into_iter()
            .flatten()
        {
            if p.is_empty() || p.len() > 10 || !p.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(format!("postcode {p:?} is not a postcode"));
            }
        }
        if let (Some(a), Some(b)) = (&self.postcode_from, &self.postcode_to) {
            if a > b {
                return Err(format!("postcode_from {a} is after postcode_to {b}"));
            }
        }
        Ok(())
    }

    fn matches(&self, parcel_type: &str, postcode: &str) -> bool {
        let pc = postcode.trim();
        (self.parcel_types.is_empty()
            || self
                .parcel_types
                .iter()
                .any(|t| t.eq_ignore_ascii_case(parcel_type)))
            && self.postcode_from.as_deref().is_none_or(|f| pc >= f)
            && self.postcode_to.as_deref().is_none_or(|t| pc <= t)
    }
}

/// The carrier, service and additional services a parcel is booked with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub carrier: String,
    pub service: String,
    pub additional: Vec<String>,
}

/// The first rule that takes the parcel, else the default carrier and service.
pub fn choose(
    rules: &[Rule],
    default_carrier: &str,
    default_service: &str,
    parcel_type: &str,
    postcode: &str,
) -> Choice {
    rules
        .iter()
        .find(|r| r.matches(parcel_type, postcode))
        .map_or_else(
            || Choice {
                carrier: default_carrier.into(),
                service: default_service.into(),
                additional: Vec::new(),
            },
            |r| Choice {
                carrier: r.carrier.clone(),
                service: r.service.clone(),
                additional: r.additional.clone(),
            },
        )
}

/// A carrier's circuit breaker: after `threshold` failed requests in a row it opens, and no
/// request is sent until `open_for` has passed; then one request tries (half open), and its
/// outcome closes or opens it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breaker {
    threshold: u32,
    open_for: Duration,
    failures: u32,
    open_until: Option<chrono::DateTime<chrono::Utc>>,
}

impl Breaker {
    pub fn new(threshold: u32, open_for: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            open_for,
            failures: 0,
            open_until: None,
        }
    }
    /// May a request be sent now?
    pub fn allows(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.open_until.is_none_or(|t| now >= t)
    }
    pub fn is_open(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        !self.allows(now)
    }
    /// The last request failed: the next one is a probe of whether the carrier is back.
    pub fn failing(&self) -> bool {
        self.failures > 0
    }
    /// A request the carrier answered; `true` when it had been failing (the carrier is back).
    pub fn success(&mut self) -> bool {
        let recovered = self.failures > 0 || self.open_until.is_some();
        self.failures = 0;
        self.open_until = None;
        recovered
    }
    /// A failed request (transient or ambiguous); `true` when this opened the breaker.
    pub fn failure(&mut self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.failures = self.failures.saturating_add(1);
        if self.failures >= self.threshold {
            let was_closed = self.open_until.is_none();
            self.open_until = Some(now + self.open_for);
            return was_closed;
        }
        false
    }
    /// Opens it for at least `d` (refused credentials, a carrier's Retry-After).
    pub fn hold(&mut self, now: chrono::DateTime<chrono::Utc>, d: Duration) {
        let until = now + d;
        self.open_until = Some(self.open_until.map_or(until, |t| t.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes_with_bounded_jitter() {
        let two = Duration::seconds(2);
        assert_eq!(backoff(two, 1, 0.0), Duration::seconds(2));
        assert_eq!(backoff(two, 3, 0.0), Duration::seconds(8));
        assert_eq!(backoff(two, 30, 0.0), Duration::seconds(300));
        assert!(backoff(two, 3, 1.0) <= Duration::seconds(10));
        assert!(backoff(two, 3, 1.0) > Duration::seconds(8));
        assert_eq!(
            backoff(Duration::milliseconds(50), 2, 0.0),
            Duration::milliseconds(100)
        );
    }

    #[test]
    fn an_attempt_that_may_have_arrived_is_looked_up_before_it_is_sent_again() {
        assert!(matches!(
            next(&Failure::Ambiguous, 1, 0.5, Timing::default()),
            Next::Retry {
                look_up_first: true,
                ..
            }
        ));
        assert_eq!(
            next(
                &Failure::Transient {
                    retry_after: Some(Duration::seconds(7))
                },
                1,
                0.5,
                Timing::default()
            ),
            Next::Retry {
                after: Duration::seconds(7),
                look_up_first: false
            }
        );
        assert_eq!(
            next(&Failure::Rejected, 1, 0.0, Timing::default()),
            Next::ToLead
        );
        assert!(matches!(
            next(&Failure::Unauthorized, 1, 0.0, Timing::default()),
            Next::PauseCarrier { .. }
        ));
    }

    #[test]
    fn the_first_matching_rule_chooses_else_the_default() {
        let rules: Vec<Rule> = toml::from_str::<toml::Table>(
            r#"
            [[r]]
            parcel_types = ["S"]
            carrier = "postnord"
            service = "30"
            [[r]]
            postcode_from = "3700"
            postcode_to = "3799"
            carrier = "local"
            service = "ferry"
            "#,
        )
        .unwrap()["r"]
            .clone()
            .try_into()
            .unwrap();
        assert!(rules.iter().all(|r| r.check().is_ok()));
        assert_eq!(choose(&rules, "postnord", "17", "s", "7100").service, "30");
        assert_eq!(
            choose(&rules, "postnord", "17", "M", "3760").carrier,
            "local"
        );
        assert_eq!(choose(&rules, "postnord", "17", "M", "3800").service, "17");
        let bad = Rule {
            postcode_from: Some("9000".into()),
            postcode_to: Some("1000".into()),
            ..rules[1].clone()
        };
        assert!(bad.check().is_err());
    }

    #[test]
    fn the_breaker_opens_after_failures_in_a_row_and_half_opens_later() {
        let t0 = chrono::Utc::now();
        let mut b = Breaker::new(3, Duration::seconds(30));
        assert!(!b.failure(t0));
        assert!(b.success(), "it had been failing");
        assert!(!b.success());
        assert!(!b.failure(t0));
        assert!(!b.failure(t0));
        assert!(b.allows(t0));
        assert!(b.failure(t0));
        assert!(b.is_open(t0 + Duration::seconds(29)));
        assert!(b.allows(t0 + Duration::seconds(30)));
        // The one try fails: open again, and it does not count as newly opened.
        assert!(!b.failure(t0 + Duration::seconds(30)));
        assert!(b.is_open(t0 + Duration::seconds(31)));
        assert!(b.success());
        assert!(b.allows(t0 + Duration::seconds(31)));
    }
}
