//! Cutting stations, their jobs (`jobs`) and replacement plates (`replacements`).

mod jobs;
mod reads;
mod replacements;
mod seqs;
pub use jobs::*;
pub use reads::*;
pub use replacements::*;
pub use seqs::*;

use sqlx::{any::AnyRow, AnyConnection, AnyPool, Row};

/// A registered cutting station with what it last said.
#[derive(Debug, Clone)]
pub struct StationRow {
    pub id: String,
    pub name: String,
    pub printer_id: Option<String>,
    pub enabled: bool,
    /// online, offline, broken or unknown
    pub connection: String,
    pub connection_at: Option<String>,
    pub boot_id: Option<String>,
    pub factsheet: Option<serde_json::Value>,
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

const COLS: &str = "id, name, printer_id, enabled, connection, connection_at, boot_id, factsheet, state, mode, state_at, last_event_seq, top_event_seq, gap_since, is_full, fault_seq, manual, queue_limit";

fn station(r: &AnyRow) -> Result<StationRow, sqlx::Error> {
    let json = |c: &str| -> Result<Option<serde_json::Value>, sqlx::Error> {
        Ok(r.try_get::<Option<String>, _>(c)?
            .and_then(|s| serde_json::from_str(&s).ok()))
    };
    Ok(StationRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        printer_id: r.try_get("printer_id")?,
        enabled: r.try_get::<i64, _>("enabled")? == 1,
        connection: r.try_get("connection")?,
        connection_at: r.try_get("connection_at")?,
        boot_id: r.try_get("boot_id")?,
        factsheet: json("factsheet")?,
        state: json("state")?,
        mode: r.try_get("mode")?,
        state_at: r.try_get("state_at")?,
        last_event_seq: r.try_get("last_event_seq")?,
        top_event_seq: r.try_get("top_event_seq")?,
        gap_since: r.try_get("gap_since")?,
        full: r.try_get::<i64, _>("is_full")? == 1,
        fault_seq: r.try_get("fault_seq")?,
        manual: r.try_get::<i64, _>("manual")? == 1,
        queue_limit: r.try_get("queue_limit")?,
    })
}

pub async fn list(pool: &AnyPool) -> Result<Vec<StationRow>, sqlx::Error> {
    let rows = sqlx::query(&format!("select {COLS} from cut_stations order by id"))
        .fetch_all(pool)
        .await?;
    rows.iter().map(station).collect()
}

pub async fn get(pool: &AnyPool, id: &str) -> Result<Option<StationRow>, sqlx::Error> {
    let row = sqlx::query(&format!("select {COLS} from cut_stations where id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(station).transpose()
}

/// A station's settings.
pub struct StationSettings<'a> {
    pub name: &'a str,
    pub printer: Option<&'a str>,
    pub enabled: bool,
    pub manual: bool,
    pub queue_limit: i64,
}

/// Adds or changes a station's settings (what it said over MQTT is kept).
pub async fn put(
    conn: &mut AnyConnection,
    id: &str,
    st: &StationSettings<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into cut_stations (id, name, printer_id, enabled, manual, queue_limit, updated_at) values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (id) do update set name = excluded.name, printer_id = excluded.printer_id,
           enabled = excluded.enabled, manual = excluded.manual, queue_limit = excluded.queue_limit,
           updated_at = excluded.updated_at",
    )
    .bind(id)
    .bind(st.name)
    .bind(st.printer)
    .bind(i64::from(st.enabled))
    .bind(i64::from(st.manual))
    .bind(st.queue_limit)
    .bind(crate::store::now_db())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_connection(
    conn: &mut AnyConnection,
    id: &str,
    connection: &str,
    boot_id: &str,
) -> Result<(), sqlx::Error> {
    let now = crate::store::now_db();
    sqlx::query(
        "update cut_stations set connection = $2, connection_at = $3, boot_id = $4, updated_at = $3 where id = $1",
    )
    .bind(id)
    .bind(connection)
    .bind(&now)
    .bind(boot_id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_factsheet(
    conn: &mut AnyConnection,
    id: &str,
    factsheet: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query("update cut_stations set factsheet = $2, updated_at = $3 where id = $1")
        .bind(id)
        .bind(factsheet.to_string())
        .bind(crate::store::now_db())
        .execute(conn)
        .await?;
    Ok(())
}

/// Stores a state snapshot. Its mode stands, except that a station failed critically stays in
/// `fault` until a state that counts the failure event (`last_event_seq` at or past it); a
/// station that was full is offered jobs again once the state shows room.
pub async fn set_state(
    conn: &mut AnyConnection,
    id: &str,
    state: &serde_json::Value,
    mode: &str,
    last_event_seq: i64,
    has_room: bool,
) -> Result<(), sqlx::Error> {
    let now = crate::store::now_db();
    sqlx::query(
        "update cut_stations set state = $2, state_at = $4, updated_at = $4,
           mode = case when fault_seq is not null and fault_seq > $5 then 'fault' else $3 end,
           fault_seq = case when fault_seq is not null and fault_seq > $5 then fault_seq else null end,
           is_full = case when $6 = 1 then 0 else is_full end
         where id = $1",
    )
    .bind(id)
    .bind(state.to_string())
    .bind(mode)
    .bind(&now)
    .bind(last_event_seq)
    .bind(i64::from(has_room))
    .execute(conn)
    .await?;
    Ok(())
}

/// A critical or fatal failure (event `seq`): the station is in `fault` at once.
pub async fn set_fault(conn: &mut AnyConnection, id: &str, seq: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update cut_stations set mode = 'fault', fault_seq = $2, updated_at = $3 where id = $1",
    )
    .bind(id)
    .bind(seq)
    .bind(crate::store::now_db())
    .execute(conn)
    .await?;
    Ok(())
}

/// The station answered `queue_full`.
pub async fn set_full(conn: &mut AnyConnection, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("update cut_stations set is_full = 1 where id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
