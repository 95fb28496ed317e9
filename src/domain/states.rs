//! The states konsign keeps as text in its tables (each a `check (state in (...))` in the
//! migrations), one enum each, with the one mapping to the stored text (`as_str`, `parse`) and
//! the OpenAPI schema that lists the words. The states with rules of their own live with the
//! rules: `order::OrderStatus`, `wave::{WaveStatus, PickStatus}`, `print_job::JobState`.

text_enum! {
    /// A parcel's booking with its carrier (`bookings.state`): `pending` until the carrier
    /// answers, `booked`, `rejected` (a lead's queue) or `cancelled`.
    pub enum BookingState {
        Pending = "pending",
        Booked = "booked",
        Rejected = "rejected",
        Cancelled = "cancelled",
    }
}

text_enum! {
    /// A parcel (`parcels.state`): `open` while it is packed, `closed` with its label, `voided`.
    pub enum ParcelState {
        Open = "open",
        Closed = "closed",
        Voided = "voided",
    }
}

text_enum! {
    /// A cage or trailer at the dock (`cages.state`).
    pub enum CageState {
        Open = "open",
        Closed = "closed",
    }
}

text_enum! {
    /// A cutting job (`cut_jobs.state`); the rules of its changes are `cutting::step`.
    pub enum CutJobState {
        Queued = "queued",
        Sent = "sent",
        Accepted = "accepted",
        Running = "running",
        Recalling = "recalling",
        Finished = "finished",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

text_enum! {
    /// A count task (`count_tasks.status`).
    pub enum CountTaskStatus {
        Open = "open",
        Done = "done",
        Cancelled = "cancelled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_from_its_text_and_serialises_as_it() {
        fn check<T: Copy + PartialEq + std::fmt::Debug + serde::Serialize>(
            all: &[T],
            text: fn(T) -> &'static str,
            parse: fn(&str) -> Option<T>,
        ) {
            for s in all {
                assert_eq!(parse(text(*s)), Some(*s));
                assert_eq!(serde_json::to_value(s).unwrap(), text(*s));
            }
            assert_eq!(parse("nonsense"), None);
        }
        check(BookingState::ALL, BookingState::as_str, BookingState::parse);
        check(ParcelState::ALL, ParcelState::as_str, ParcelState::parse);
        check(CageState::ALL, CageState::as_str, CageState::parse);
        check(CutJobState::ALL, CutJobState::as_str, CutJobState::parse);
        check(
            CountTaskStatus::ALL,
            CountTaskStatus::as_str,
            CountTaskStatus::parse,
        );
        assert_eq!(
            BookingState::words(),
            "pending, booked, rejected or cancelled"
        );
        assert_eq!(BookingState::parse_filter("state", None), Ok(None));
        assert_eq!(
            CageState::parse_filter("state", Some("open")),
            Ok(Some(CageState::Open))
        );
        let e = CountTaskStatus::parse_filter("status", Some("")).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            ("status", "must be open, done or cancelled")
        );
    }
}
