//! API views of packing rows.

use serde::Serialize;

view! {
    /// What was scanned into a parcel.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = ItemRow)]
    pub struct PackItem from crate::store::packing::ItemRow {
        pub id: i64,
        pub parcel_id: i64,
        pub gtin: String,
        pub product_name: String,
        pub producer: String,
        pub weight_g: Option<i64>,
        pub lot: String,
        pub expiry: String,
        pub quantity: i64,
        pub cut_job: Option<String>,
        pub actor: String,
        pub at: String,
    }
}

view! {
    /// A pack found damaged at packing.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = ShortRow)]
    pub struct ShortItem from crate::store::packing::ShortRow {
        pub id: i64,
        pub order_id: i64,
        pub line_id: i64,
        pub gtin: String,
        pub lot: String,
        pub quantity: i64,
        pub reason: String,
        /// picking (a replacement wave is out) or short (no stock: a lead must act).
        pub state: String,
        pub wave_id: Option<i64>,
        pub actor: String,
        pub at: String,
    }
}

view! {
    /// A block on a lot.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = BlockRow)]
    pub struct LotBlock from crate::store::packing::BlockRow {
        pub id: i64,
        pub gtin: String,
        pub lot: String,
        pub reason: String,
        pub blocked_by: String,
        pub blocked_at: String,
        pub released_by: Option<String>,
        pub released_at: Option<String>,
    }
}
