//! A serial scan's verdict and its `scan.recorded` event, written by the writer thread.

use rusqlite::{params, Connection};

/// A scan to store with its verdict (the columns of `scans`), and its event: `payload` gets the
/// new scan's id as `scan_id`.
#[derive(Debug, Clone)]
pub struct ScanWrite {
    pub scanner_id: String,
    pub station: String,
    pub raw_hex: String,
    pub kind: Option<String>,
    pub parsed: Option<String>,
    pub used_for: String,
    pub outcome: String,
    /// The verdict's words as stored (`VerdictText::encode`).
    pub message: String,
    pub at: String,
    pub event_subject: String,
    pub event_payload: serde_json::Value,
}

/// The same statements as `scanners::insert_scan` and `events::append`.
pub(super) fn insert_scan(tx: &Connection, s: &ScanWrite) -> rusqlite::Result<i64> {
    let id: i64 = tx
        .prepare_cached(
            "insert into scans (scanner_id, station, raw_hex, kind, parsed, used_for, outcome, message, at)
             values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) returning id",
        )?
        .query_row(
            params![
                s.scanner_id,
                s.station,
                s.raw_hex,
                s.kind,
                s.parsed,
                s.used_for,
                s.outcome,
                s.message,
                s.at
            ],
            |r| r.get(0),
        )?;
    let mut payload = s.event_payload.clone();
    if let serde_json::Value::Object(m) = &mut payload {
        m.insert("scan_id".into(), id.into());
    }
    super::append_event(
        tx,
        "scan.recorded",
        &s.event_subject,
        &crate::store::now_db(),
        &payload,
    )?;
    Ok(id)
}
