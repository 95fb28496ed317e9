//! API views of scans rows.

use serde::Serialize;

view! {
    /// A recorded scan as the API shows it.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = ScanRecord)]
    pub struct ScanRecord from crate::store::scanners::ScanRecord {
        pub id: i64,
        pub scanner_id: String,
        pub station: String,
        /// The bytes exactly as received, hex-encoded.
        pub raw_hex: String,
        pub kind: Option<String>,
        #[schema(value_type = Object)]
        pub parsed: Option<serde_json::Value>,
        pub used_for: String,
        /// ok or rejected.
        pub outcome: String,
        pub message: String,
        /// The message in Danish, for pages.
        pub message_da: String,
        pub at: String,
    }
}
