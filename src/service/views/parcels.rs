//! API views of parcels rows.

use serde::Serialize;

view! {
    /// A parcel as stored.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = ParcelRow)]
    pub struct Parcel from crate::store::parcels::ParcelRow {
        pub id: i64,
        pub order_id: i64,
        pub external_id: String,
        /// n of the order's parcels (set when it closes).
        pub seq: Option<i64>,
        /// open, closed or voided.
        pub state: String,
        pub station: String,
        pub tote: String,
        pub sscc: Option<String>,
        pub parcel_type: Option<String>,
        pub weight_g: Option<i64>,
        /// computed or scale.
        pub weight_source: Option<String>,
        /// m: how many parcels the order left in (set when its last parcel closes).
        pub parcels_total: Option<i64>,
        pub label_job: Option<String>,
        pub slip_job: Option<String>,
        /// none (open), waiting (closed, for the carrier booking) or void.
        pub booking_state: String,
        pub void_reason: Option<String>,
        pub opened_by: String,
        pub opened_at: String,
        pub closed_by: Option<String>,
        pub closed_at: Option<String>,
        pub voided_by: Option<String>,
        pub voided_at: Option<String>,
    }
}

view! {
    /// One lot's change of owner, as settlement reads it.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = TransferRow)]
    pub struct Transfer from crate::store::parcels::TransferRow {
        pub op_id: i64,
        pub sscc: String,
        pub gtin: String,
        pub lot: String,
        pub expiry: String,
        /// Positive when ownership passed to the payer; negative when a void gave it back.
        pub quantity: i64,
        pub producer: String,
        pub payer: String,
        pub at: String,
    }
}
