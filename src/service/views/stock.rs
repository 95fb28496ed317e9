//! API views of stock rows.

use serde::Serialize;

view! {
    /// One line of the ledger: a change of one stock unit.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = LedgerEntry)]
    pub struct LedgerEntry from crate::store::stock::LedgerEntry {
        pub id: i64,
        pub op_id: i64,
        pub stock_unit_id: i64,
        pub kind: String,
        pub gtin: String,
        pub owner: String,
        pub location: String,
        pub delta: i64,
        pub qty_before: i64,
        pub qty_after: i64,
        pub reason: Option<String>,
        pub reference: Option<String>,
        pub actor: String,
        pub at: String,
    }
}
