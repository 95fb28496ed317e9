//! API views of cutting rows.

use serde::Serialize;

view! {
    /// A failed job's damaged plates, scrapped and picked again.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = Replacement)]
    pub struct Replacement from crate::store::cutting::Replacement {
        pub id: i64,
        pub job_id: String,
        pub revision: i64,
        pub order_id: i64,
        pub line_id: i64,
        pub gtin: String,
        pub lot: String,
        pub quantity: i64,
        pub reason: String,
        /// picking, short or picked
        pub state: String,
        pub wave_id: Option<i64>,
        pub new_job_id: Option<String>,
        pub created_at: String,
        pub updated_at: String,
    }
}

view! {
    /// A cutting job.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = CutJobRow)]
    pub struct CutJob from crate::store::cutting::JobRow {
        pub seq: i64,
        pub id: String,
        pub order_id: i64,
        pub line_id: i64,
        pub revision: i64,
        pub content_hash: String,
        pub line_ref: String,
        pub gtin: String,
        pub lot: String,
        pub expiry: String,
        pub quantity: i64,
        #[schema(value_type = Object)]
        pub shape: serde_json::Value,
        pub tolerance_mm: f64,
        #[schema(value_type = Object)]
        pub sticker: serde_json::Value,
        /// queued, sent, accepted, running, recalling (a lead took it back: konsign waits for the
        /// station to say what became of it), finished, failed, cancelled
        pub state: String,
        pub station_id: Option<String>,
        pub message_id: Option<String>,
        pub sends: i64,
        pub next_send_at: Option<String>,
        pub done: i64,
        pub rejected_by: String,
        pub reason: Option<String>,
        /// The print job of its sticker, when its station has a printer.
        pub sticker_job: Option<String>,
        /// The failed job whose plates this one cuts after all.
        pub follows: Option<String>,
        /// While `recalling`: the `cancel` sent to the station (its `cmd_id`).
        pub recall_cmd: Option<String>,
        /// Why it is being recalled.
        pub recall_reason: Option<String>,
        pub created_at: String,
        pub updated_at: String,
    }
}

view! {
    /// A registered cutting station with what it last said.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = StationRow)]
    pub struct Station from crate::store::cutting::StationRow {
        pub id: String,
        pub name: String,
        pub printer_id: Option<String>,
        pub enabled: bool,
        /// online, offline, broken or unknown
        pub connection: String,
        pub connection_at: Option<String>,
        pub boot_id: Option<String>,
        #[schema(value_type = Option<Object>)]
        pub factsheet: Option<serde_json::Value>,
        #[schema(value_type = Option<Object>)]
        pub state: Option<serde_json::Value>,
        /// idle, busy, paused or fault
        pub mode: Option<String>,
        pub state_at: Option<String>,
        /// Every event at or below it is handled (or written off as lost after konsign asked about
        /// the station's jobs).
        pub last_event_seq: i64,
        /// The highest event number seen or reported in a state.
        pub top_event_seq: i64,
        /// Since when events have been missing (none: null).
        pub gap_since: Option<String>,
        /// It answered `queue_full`: no job until a state shows room.
        pub full: bool,
        /// A critical or fatal failure: unavailable until a state at or past this event says so.
        pub fault_seq: Option<i64>,
        /// No machine link: the operator's buttons decide its jobs.
        pub manual: bool,
        /// A manual station's queue limit.
        pub queue_limit: i64,
    }
}
