//! API views of orders rows.

use crate::domain::order::CutSpec;
use crate::domain::wave::{PickStatus, WaveStatus};
use serde::Serialize;

view! {
    /// One pick task with what the picker needs to see.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = PickRow)]
    pub struct Pick from crate::store::orders::PickRow {
        pub id: i64,
        pub wave_id: i64,
        pub seq: i64,
        pub order_id: i64,
        pub external_id: String,
        pub line_id: i64,
        pub location: String,
        pub stock_unit_id: i64,
        pub gtin: String,
        pub product_name: String,
        pub lot: String,
        pub expiry: String,
        pub tote: String,
        pub quantity: i64,
        pub picked: i64,
        pub status: PickStatus,
        pub location_ok: bool,
        /// The order's tote was scanned in this wave.
        pub tote_ok: bool,
        pub cut: bool,
    }
}

view! {
    /// A short pick or other exception, for the lead.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = PickException)]
    pub struct PickException from crate::store::orders::PickException {
        pub id: i64,
        pub wave_id: i64,
        pub pick_id: i64,
        pub order_id: i64,
        pub kind: String,
        pub location: String,
        pub gtin: String,
        pub expected: i64,
        pub found: i64,
        pub reallocated: i64,
        pub note: Option<String>,
        pub actor: String,
        pub at: String,
    }
}

view! {
    /// One order line as stored.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = LineRow)]
    pub struct Line from crate::store::orders::LineRow {
        pub id: i64,
        pub line_no: i64,
        pub gtin: String,
        pub product_name: String,
        pub producer: String,
        pub quantity: i64,
        pub cut: Option<CutSpec>,
        pub cut_measured_on: Option<String>,
        /// Packs reserved and not yet picked.
        pub reserved: i64,
        pub picked: i64,
    }
}

view! {
    /// A wave's head row.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = WaveRow)]
    pub struct Wave from crate::store::orders::WaveRow {
        pub id: i64,
        pub status: WaveStatus,
        pub picker: Option<String>,
        pub station: Option<String>,
        pub created_by: String,
        pub created_at: String,
        pub started_at: Option<String>,
        pub done_at: Option<String>,
    }
}
