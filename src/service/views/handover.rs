//! API views of handover rows.

use serde::Serialize;

view! {
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = CageRow)]
    pub struct Cage from crate::store::handover::CageRow {
        pub id: i64,
        pub code: String,
        pub carrier: String,
        pub day: String,
        /// open or closed.
        pub state: String,
        pub list_job: Option<String>,
        pub opened_by: String,
        pub opened_at: String,
        pub closed_by: Option<String>,
        pub closed_at: Option<String>,
        /// Parcels on it.
        pub parcels: i64,
    }
}

view! {
    /// A parcel on a cage, for the handover list.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = CageParcel)]
    pub struct CageParcel from crate::store::handover::CageParcel {
        pub parcel_id: i64,
        pub order_id: i64,
        pub sscc: String,
        pub tracking_number: Option<String>,
        pub seq: Option<i64>,
        pub parcels_total: Option<i64>,
        pub station: String,
    }
}

view! {
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = Refused)]
    pub struct Refused from crate::store::handover::Refused {
        pub scanned: String,
        pub code: String,
        pub message: String,
        pub message_da: String,
        pub at: String,
    }
}

view! {
    /// A returned parcel (no personal data).
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = ReturnRow)]
    pub struct Return from crate::store::returns::ReturnRow {
        pub id: i64,
        pub parcel_id: i64,
        pub sscc: Option<String>,
        pub order: String,
        /// The ledger operation that took the packs in.
        pub op_id: i64,
        pub location: String,
        pub packs: i64,
        pub returned_by: String,
        pub returned_at: String,
    }
}
