//! Handing parcels to a carrier: how a failed booking attempt is classified and what follows
//! it. No carrier API is idempotent, so an attempt that may have reached the carrier (a timeout
//! after the request was sent) is looked up by the parcel's own SSCC before anything is sent
//! again. Pure: the booking worker performs the decision.

use chrono::Duration;

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
    /// Some parcels of a multi-parcel request failed.
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

/// The wait before attempt `attempts + 1`: 2 s doubling to at most 5 minutes, with `jitter` (0 to
/// 1, from the caller's random source) spreading it by up to a quarter.
pub fn backoff(attempts: i64, jitter: f64) -> Duration {
    let base = 2i64.saturating_pow(attempts.clamp(1, 20) as u32).min(300);
    let spread_ms = (base as f64 * 1000.0 * 0.25 * jitter.clamp(0.0, 1.0)) as i64;
    Duration::seconds(base) + Duration::milliseconds(spread_ms)
}

/// How long a carrier that refused our credentials is left alone before the next try.
pub const UNAUTHORIZED_PAUSE_MINUTES: i64 = 5;

/// What follows a failed attempt (`attempts` counts this one).
pub fn next(f: &Failure, attempts: i64, jitter: f64) -> Next {
    match f {
        Failure::Transient { retry_after } => Next::Retry {
            after: retry_after.filter(|d| *d > Duration::zero()).map_or_else(
                || backoff(attempts, jitter),
                |d| d.min(Duration::minutes(30)),
            ),
            look_up_first: false,
        },
        Failure::Ambiguous => Next::Retry {
            after: backoff(attempts, jitter),
            look_up_first: true,
        },
        Failure::Rejected | Failure::Partial => Next::ToLead,
        Failure::Unauthorized => Next::PauseCarrier {
            after: Duration::minutes(UNAUTHORIZED_PAUSE_MINUTES),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes_with_bounded_jitter() {
        assert_eq!(backoff(1, 0.0), Duration::seconds(2));
        assert_eq!(backoff(3, 0.0), Duration::seconds(8));
        assert_eq!(backoff(30, 0.0), Duration::seconds(300));
        assert!(backoff(3, 1.0) <= Duration::seconds(10));
        assert!(backoff(3, 1.0) > Duration::seconds(8));
    }

    #[test]
    fn an_attempt_that_may_have_arrived_is_looked_up_before_it_is_sent_again() {
        assert!(matches!(
            next(&Failure::Ambiguous, 1, 0.5),
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
                0.5
            ),
            Next::Retry {
                after: Duration::seconds(7),
                look_up_first: false
            }
        );
        assert_eq!(next(&Failure::Rejected, 1, 0.0), Next::ToLead);
        assert!(matches!(
            next(&Failure::Unauthorized, 1, 0.0),
            Next::PauseCarrier { .. }
        ));
    }
}
