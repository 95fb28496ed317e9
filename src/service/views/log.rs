//! API views of log rows.

use serde::Serialize;

view! {
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = Event)]
    pub struct Event from crate::store::events::Event {
        /// The cursor: strictly increasing in commit order.
        pub id: i64,
        pub event_type: String,
        pub subject: String,
        pub at: String,
        #[schema(value_type = Object)]
        pub payload: serde_json::Value,
    }
}

view! {
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = AuditEntry)]
    pub struct AuditEntry from crate::store::audit::AuditEntry {
        pub id: i64,
        pub at: String,
        /// `user:NAME`, `token:NAME`, `system` or `cli`.
        pub actor: String,
        pub action: String,
        pub subject: String,
        pub purpose: Option<String>,
        #[schema(value_type = Object)]
        pub detail: serde_json::Value,
    }
}
