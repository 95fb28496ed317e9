//! Scanner configurations and the scan log.

use serde::Serialize;
use sqlx::{AnyConnection, AnyPool, Row};

pub async fn list_configs(pool: &AnyPool) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query("select config from scanners order by id")
        .fetch_all(pool)
        .await?;
    rows.iter().map(|r| r.try_get("config")).collect()
}

pub async fn put_config(
    conn: &mut AnyConnection,
    id: &str,
    station: &str,
    config: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into scanners (id, station, config, updated_at) values ($1, $2, $3, $4)
         on conflict (id) do update set station = excluded.station, config = excluded.config, updated_at = excluded.updated_at",
    )
    .bind(id)
    .bind(station)
    .bind(config)
    .bind(super::now_db())
    .execute(conn)
    .await?;
    Ok(())
}

/// False when there was no such scanner.
pub async fn delete_config(conn: &mut AnyConnection, id: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("delete from scanners where id = $1")
        .bind(id)
        .execute(conn)
        .await?
        .rows_affected()
        == 1)
}

pub struct NewScan<'a> {
    pub scanner_id: &'a str,
    pub station: &'a str,
    pub raw_hex: &'a str,
    pub kind: Option<&'a str>,
    pub parsed: Option<String>,
    pub used_for: &'a str,
    pub outcome: &'a str,
    pub message: &'a VerdictText,
    pub at: &'a str,
}

/// A verdict's words: the English, and the Danish or, for a verdict that is an error, the code
/// (and field) the Danish is worded from where it is shown.
///
/// Stored as JSON in the one `message` column (`{"en": …, "da": …}`): a column of its own would
/// need a migration for a text that is only read back here. Rows from before hold the plain
/// text, which is then both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct VerdictText {
    pub en: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub da: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl VerdictText {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| self.en.clone())
    }

    fn decode(stored: String) -> Self {
        match serde_json::from_str::<VerdictText>(&stored) {
            Ok(v) if stored.starts_with('{') => v,
            _ => VerdictText {
                en: stored.clone(),
                da: stored,
                code: None,
                field: None,
            },
        }
    }
}

pub async fn insert_scan(conn: &mut AnyConnection, s: &NewScan<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "insert into scans (scanner_id, station, raw_hex, kind, parsed, used_for, outcome, message, at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
    )
    .bind(s.scanner_id)
    .bind(s.station)
    .bind(s.raw_hex)
    .bind(s.kind)
    .bind(s.parsed.as_deref())
    .bind(s.used_for)
    .bind(s.outcome)
    .bind(s.message.encode())
    .bind(s.at)
    .fetch_one(conn)
    .await?
    .try_get("id")
}

/// A recorded scan as the API shows it.
#[derive(Debug, Clone)]
pub struct ScanRecord {
    pub id: i64,
    pub scanner_id: String,
    pub station: String,
    /// The bytes exactly as received, hex-encoded.
    pub raw_hex: String,
    pub kind: Option<String>,
    pub parsed: Option<serde_json::Value>,
    pub used_for: String,
    /// ok or rejected.
    pub outcome: String,
    pub message: String,
    /// The message in Danish, for pages.
    pub message_da: String,
    /// A verdict that is an error: its code and field, which `message_da` is worded from.
    pub error: Option<(String, Option<String>)>,
    pub at: String,
}

const SCAN_COLS: &str =
    "id, scanner_id, station, raw_hex, kind, parsed, used_for, outcome, message, at";

fn scan_row(r: &sqlx::any::AnyRow) -> Result<ScanRecord, sqlx::Error> {
    let parsed: Option<String> = r.try_get("parsed")?;
    let text = VerdictText::decode(r.try_get("message")?);
    Ok(ScanRecord {
        id: r.try_get("id")?,
        scanner_id: r.try_get("scanner_id")?,
        station: r.try_get("station")?,
        raw_hex: r.try_get("raw_hex")?,
        kind: r.try_get("kind")?,
        parsed: parsed.and_then(|p| serde_json::from_str(&p).ok()),
        used_for: r.try_get("used_for")?,
        outcome: r.try_get("outcome")?,
        message: text.en,
        message_da: text.da,
        error: text.code.map(|c| (c, text.field)),
        at: r.try_get("at")?,
    })
}

/// Scans after a cursor, oldest first, optionally for one station.
pub async fn list_scans(
    pool: &AnyPool,
    station: Option<&str>,
    after: i64,
    limit: i64,
) -> Result<Vec<ScanRecord>, sqlx::Error> {
    let sql = format!(
        "select {SCAN_COLS} from scans where ($1 is null or station = $1) and id > $2 order by id limit $3"
    );
    let rows = sqlx::query(&sql)
        .bind(station)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(scan_row).collect()
}

pub async fn scan(pool: &AnyPool, id: i64) -> Result<Option<ScanRecord>, sqlx::Error> {
    let sql = format!("select {SCAN_COLS} from scans where id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
    row.as_ref().map(scan_row).transpose()
}

/// The newest accepted scan of a product (not a location label) at a station.
pub async fn latest_product_scan(
    pool: &AnyPool,
    station: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select max(id) from scans where station = $1 and outcome = 'ok' and coalesce(kind, '') <> 'location'",
    )
    .bind(station)
    .fetch_one(pool)
    .await
}

/// Records what a scan was used for (for example the receipt it became).
pub async fn mark_used(pool: &AnyPool, id: i64, used_for: &str) -> Result<(), sqlx::Error> {
    sqlx::query("update scans set used_for = $1 where id = $2")
        .bind(used_for)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// The workflow a station runs, if one was set.
pub async fn station_workflow(
    pool: &AnyPool,
    station: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("select workflow from stations where station = $1")
        .bind(station)
        .fetch_optional(pool)
        .await?
        .map(|r| r.try_get("workflow"))
        .transpose()
}

pub async fn put_station_workflow(
    conn: &mut AnyConnection,
    station: &str,
    workflow: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into stations (station, workflow, updated_at) values ($1, $2, $3)
         on conflict (station) do update set workflow = excluded.workflow, updated_at = excluded.updated_at",
    )
    .bind(station)
    .bind(workflow)
    .bind(super::now_db())
    .execute(conn)
    .await?;
    Ok(())
}
