//! API views of printing rows.

use crate::domain::print_job::JobState;
use serde::Serialize;

view! {
    /// A configured printer with its last known state.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = PrinterRow)]
    pub struct Printer from crate::store::printing::PrinterRow {
        pub id: String,
        pub name: String,
        pub host: String,
        pub port: i64,
        pub dpi: i64,
        pub label_width_mm: f64,
        pub label_height_mm: f64,
        pub station: Option<String>,
        /// `zpl` (a label printer) or `pdf` (a document printer: PDF in a PJL job).
        pub kind: String,
        pub enabled: bool,
        /// ready, paper_out, paused, head_open, ribbon_out, buffer_full, fault, no_answer,
        /// unreachable, disabled, unknown.
        pub state: String,
        pub state_detail: String,
        pub state_at: String,
        /// The konsign instance running its queue.
        pub owner: Option<String>,
        /// The label templates (job template names) it may print; none: any.
        pub templates: Option<Vec<String>>,
    }
}

view! {
    /// A print job as the API shows it (the label itself is not in it: it holds a name and an
    /// address, and is read through its own audited call).
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = PrintJobRow)]
    pub struct PrintJob from crate::store::printing::JobRow {
        pub seq: i64,
        pub id: String,
        pub printer_id: String,
        pub template: String,
        pub state: JobState,
        /// Connection attempts that failed before any byte was written.
        pub attempts: i64,
        pub error: Option<String>,
        pub reprint_of: Option<String>,
        pub subject: Option<String>,
        /// `text` (ZPL as sent) or `base64` (a document's bytes).
        pub encoding: String,
        pub requested_by: String,
        pub created_at: String,
        pub updated_at: String,
        pub next_attempt_at: String,
    }
}

view! {
    /// A job's transitions, oldest first.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = PrintJobLogEntry)]
    pub struct PrintJobLogEntry from crate::store::printing::JobLogEntry {
        pub state: JobState,
        pub detail: String,
        pub at: String,
    }
}
