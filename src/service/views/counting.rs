//! API views of counting rows.

use serde::Serialize;

view! {
    /// A count task: a location to count, why, and when done what the count found.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = TaskRow)]
    pub struct CountTask from crate::store::counting::TaskRow {
        pub id: i64,
        pub location: String,
        pub zone: String,
        /// `short_pick` (a picker could not find packs), `cycle` (a lead's cycle count) or `adhoc`
        /// (a count made without a task).
        pub source: String,
        pub run_id: Option<i64>,
        pub pick_id: Option<i64>,
        /// Packs a short pick put on hold in quarantine at the location until it is counted.
        pub hold_unit_id: Option<i64>,
        pub hold_qty: i64,
        pub note: Option<String>,
        /// `open`, `done` or `cancelled`
        pub status: String,
        pub created_by: String,
        pub created_at: String,
        pub op_id: Option<i64>,
        pub counted_by: Option<String>,
        pub counted_at: Option<String>,
        /// Lots counted.
        pub lines: Option<i64>,
        /// Packs found minus packs the system held (net over the location).
        pub difference: Option<i64>,
    }
}

view! {
    /// A cycle count run with its progress.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = RunRow)]
    pub struct CountRun from crate::store::counting::RunRow {
        pub id: i64,
        /// `zone:<zone>`, `product:<gtin>` or `not_counted_for:<days>`
        pub scope: String,
        /// The lead's own title; empty when none was given (pages then describe the scope).
        pub title: String,
        pub created_by: String,
        pub created_at: String,
        pub tasks: i64,
        pub done: i64,
        pub cancelled: i64,
        /// Net packs found minus held over the run's counted tasks.
        pub difference: i64,
    }
}
