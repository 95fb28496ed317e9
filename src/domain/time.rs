//! Time rules: instants are UTC; business days and cut-offs are Europe/Copenhagen.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Europe::Copenhagen;

/// The fixed-width text form every instant is stored in (sorts like the instant itself).
pub fn to_db(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub fn from_db(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The warehouse's business day (Copenhagen local date) at instant `t`.
pub fn business_day(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&Copenhagen).date_naive()
}

/// The UTC instant at which business day `day` starts in Copenhagen (midnight local time).
pub fn start_of_business_day(day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    match Copenhagen.from_local_datetime(&midnight) {
        chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
        chrono::LocalResult::Ambiguous(early, _) => early.with_timezone(&Utc),
        // Copenhagen never skips midnight, but be total rather than panic.
        chrono::LocalResult::None => Utc.from_utc_datetime(&midnight),
    }
}

/// An instant as Copenhagen wall-clock time, for messages to people (`2026-11-22 09:15`).
pub fn business_local(t: DateTime<Utc>) -> String {
    t.with_timezone(&Copenhagen)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The cut-off instant of `day` at local time `hh_mm` (Copenhagen); `None` for a bad time.
pub fn cutoff_at(day: NaiveDate, hh_mm: &str) -> Option<DateTime<Utc>> {
    let t = NaiveTime::parse_from_str(hh_mm, "%H:%M").ok()?;
    Copenhagen
        .from_local_datetime(&day.and_time(t))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// The hand-over an order that became pickable at `pickable` is due by: its carrier's cut-off
/// (`hh_mm`, Copenhagen) that day, or on the next weekday (Monday to Friday) when it became
/// pickable after that day's cut-off or on a weekend. `None` for a bad time.
pub fn due_by(pickable: DateTime<Utc>, hh_mm: &str) -> Option<DateTime<Utc>> {
    let mut day = business_day(pickable);
    for _ in 0..8 {
        let weekday = !matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        let cut = cutoff_at(day, hh_mm)?;
        if weekday && cut >= pickable {
            return Some(cut);
        }
        day += Duration::days(1);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_is_due_by_the_first_weekday_cutoff_after_it_became_pickable() {
        let at = |d: u32, h: u32, m: u32| {
            Copenhagen
                .with_ymd_and_hms(2026, 12, d, h, m, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        // Thursday 3 December 2026: before the cut-off, at it, after it.
        assert_eq!(due_by(at(3, 9, 0), "15:00"), Some(at(3, 15, 0)));
        assert_eq!(due_by(at(3, 15, 0), "15:00"), Some(at(3, 15, 0)));
        assert_eq!(due_by(at(3, 15, 1), "15:00"), Some(at(4, 15, 0)));
        // Friday after the cut-off and Saturday: Monday the 7th.
        assert_eq!(due_by(at(4, 16, 0), "15:00"), Some(at(7, 15, 0)));
        assert_eq!(due_by(at(5, 8, 0), "15:00"), Some(at(7, 15, 0)));
        assert_eq!(due_by(at(3, 9, 0), "3pm"), None);
    }

    #[test]
    fn business_day_follows_copenhagen_not_utc() {
        // 23:30 UTC on 31 Dec is already 1 Jan in Copenhagen (UTC+1 in winter).
        let t = Utc.with_ymd_and_hms(2026, 12, 31, 23, 30, 0).unwrap();
        assert_eq!(
            business_day(t),
            NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()
        );
    }

    #[test]
    fn summer_day_starts_at_22_utc() {
        let d = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
        assert_eq!(
            to_db(start_of_business_day(d)),
            "2026-06-30T22:00:00.000000Z"
        );
    }

    #[test]
    fn db_form_round_trips() {
        let t = Utc.with_ymd_and_hms(2026, 3, 5, 1, 2, 3).unwrap();
        assert_eq!(from_db(&to_db(t)), Some(t));
    }
}
