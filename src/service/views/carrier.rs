//! API views of carrier rows.

use serde::Serialize;

view! {
    /// A parcel's booking with its carrier.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = BookingRow)]
    pub struct Booking from crate::store::bookings::BookingRow {
        pub id: i64,
        pub parcel_id: i64,
        pub sscc: Option<String>,
        /// The order's reference (no personal data).
        pub order_ref: String,
        pub carrier: String,
        pub service: String,
        /// Additional service codes the rule table chose (comma-separated).
        pub additional: String,
        /// pending, booked, rejected (a lead's queue) or cancelled.
        pub state: String,
        pub attempts: i64,
        pub next_attempt_at: String,
        pub look_up_first: bool,
        pub tracking_number: Option<String>,
        pub tracking_url: Option<String>,
        /// The carrier's id of the booking request.
        pub booking_ref: Option<String>,
        pub label_format: Option<String>,
        /// The print job that printed the carrier's label.
        pub label_job: Option<String>,
        /// The latest tracking status (booked, in_transit, ..., delivered).
        pub tracking_status: Option<String>,
        pub last_error: Option<String>,
        pub created_at: String,
        pub updated_at: String,
    }
}

view! {
    /// A parcel of an order as the ordering system follows it (no personal data).
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = Shipment)]
    pub struct Shipment from crate::store::bookings::Shipment {
        pub sscc: Option<String>,
        /// waiting (for its booking), booked, rejected or handed_over.
        pub booking_state: String,
        pub carrier: Option<String>,
        pub service: Option<String>,
        pub tracking_number: Option<String>,
        pub tracking_url: Option<String>,
        /// The latest tracking status: booked, in_transit, out_for_delivery, delivered,
        /// failed_attempt, returned or exception.
        pub tracking_status: Option<String>,
        /// The parcel came back and was booked into quarantine.
        pub returned: bool,
    }
}

view! {
    /// A pushed message as logged.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = PushRow)]
    pub struct TrackingPush from crate::store::tracking::PushRow {
        pub id: i64,
        pub carrier: String,
        pub received_at: String,
        /// `accepted`, or why it was refused.
        pub outcome: String,
        pub events: i64,
        pub detail: String,
    }
}

view! {
    /// A tracking event as the order's parcels show it.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = EventRow)]
    pub struct TrackingEvent from crate::store::tracking::EventRow {
        pub code: String,
        pub raw_status: String,
        pub status: String,
        pub text: String,
        pub location: Option<String>,
        pub at: String,
        pub source: String,
    }
}

view! {
    /// A parcel whose journey went wrong, for a lead (no personal data).
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = ExceptionRow)]
    pub struct DeliveryException from crate::store::tracking::ExceptionRow {
        pub booking_id: i64,
        pub parcel_id: i64,
        pub sscc: Option<String>,
        pub order: String,
        pub carrier: String,
        pub tracking_number: Option<String>,
        /// failed_attempt, returned or exception.
        pub tracking_status: String,
        /// The carrier's words for the latest event.
        pub last_text: Option<String>,
        pub last_at: Option<String>,
    }
}
