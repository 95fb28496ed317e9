//! Cutting stations.

use serde::Serialize;
use sqlx::{any::AnyRow, AnyConnection, AnyPool, Row};

/// A registered cutting station with what it last said.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StationRow {
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
    pub last_event_seq: i64,
}

const COLS: &str = "id, name, printer_id, enabled, connection, connection_at, boot_id, factsheet, state, mode, state_at, last_event_seq";

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

/// Adds or changes a station's settings (what it said over MQTT is kept).
pub async fn put(
    conn: &mut AnyConnection,
    id: &str,
    name: &str,
    printer: Option<&str>,
    enabled: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into cut_stations (id, name, printer_id, enabled, updated_at) values ($1, $2, $3, $4, $5)
         on conflict (id) do update set name = excluded.name, printer_id = excluded.printer_id,
           enabled = excluded.enabled, updated_at = excluded.updated_at",
    )
    .bind(id)
    .bind(name)
    .bind(printer)
    .bind(i64::from(enabled))
    .bind(super::now_db())
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
    let now = super::now_db();
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
        .bind(super::now_db())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_state(
    conn: &mut AnyConnection,
    id: &str,
    state: &serde_json::Value,
    mode: &str,
) -> Result<(), sqlx::Error> {
    let now = super::now_db();
    sqlx::query(
        "update cut_stations set state = $2, mode = $3, state_at = $4, updated_at = $4 where id = $1",
    )
    .bind(id)
    .bind(state.to_string())
    .bind(mode)
    .bind(&now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records an event's sequence number; false when it was seen already (a duplicate).
pub async fn take_event_seq(
    conn: &mut AnyConnection,
    id: &str,
    seq: i64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "update cut_stations set last_event_seq = $2 where id = $1 and last_event_seq < $2",
    )
    .bind(id)
    .bind(seq)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}
