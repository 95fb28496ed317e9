//! API views of catalog rows.

use crate::domain::catalog::CutRange;
use serde::Serialize;

view! {
    /// A producer as the API shows it.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = ProducerView)]
    pub struct Producer from crate::store::catalog::ProducerView {
        pub code: String,
        pub name: String,
    }
}

view! {
    /// A product as the API shows it.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = ProductView)]
    pub struct Product from crate::store::catalog::ProductView {
        pub gtin: String,
        pub name: String,
        pub producer: String,
        pub category: String,
        pub units_per_pack: i64,
        pub price_minor: i64,
        pub currency: String,
        pub cut_to_fit: bool,
        pub cut_range: Option<CutRange>,
        pub min_shelf_life_days: i64,
        /// Grams per pack (for the parcel weight), when known.
        pub weight_g: Option<i64>,
    }
}

view! {
    /// A location as the API shows it.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = LocationView)]
    pub struct Location from crate::store::catalog::LocationView {
        pub code: String,
        pub zone: String,
        pub kind: String,
        pub walk_seq: i64,
    }
}
