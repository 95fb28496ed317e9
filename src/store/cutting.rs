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

/// A cutting job.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = CutJobRow)]
pub struct JobRow {
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
    /// queued, sent, accepted, running, finished, failed, cancelled
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
    pub created_at: String,
    pub updated_at: String,
}

const JOB_COLS: &str = "seq, id, order_id, line_id, revision, content_hash, line_ref, gtin, lot, expiry, quantity, shape, tolerance_mm, sticker, state, station_id, message_id, sends, next_send_at, done, rejected_by, reason, sticker_job, follows, created_at, updated_at";

fn job(r: &AnyRow) -> Result<JobRow, sqlx::Error> {
    let json = |c: &str| -> Result<serde_json::Value, sqlx::Error> {
        Ok(serde_json::from_str(&r.try_get::<String, _>(c)?).unwrap_or_default())
    };
    Ok(JobRow {
        seq: r.try_get("seq")?,
        id: r.try_get("id")?,
        order_id: r.try_get("order_id")?,
        line_id: r.try_get("line_id")?,
        revision: r.try_get("revision")?,
        content_hash: r.try_get("content_hash")?,
        line_ref: r.try_get("line_ref")?,
        gtin: r.try_get("gtin")?,
        lot: r.try_get("lot")?,
        expiry: r.try_get("expiry")?,
        quantity: r.try_get("quantity")?,
        shape: json("shape")?,
        tolerance_mm: r.try_get("tolerance_mm")?,
        sticker: json("sticker")?,
        state: r.try_get("state")?,
        station_id: r.try_get("station_id")?,
        message_id: r.try_get("message_id")?,
        sends: r.try_get("sends")?,
        next_send_at: r.try_get("next_send_at")?,
        done: r.try_get("done")?,
        rejected_by: r.try_get("rejected_by")?,
        reason: r.try_get("reason")?,
        sticker_job: r.try_get("sticker_job")?,
        follows: r.try_get("follows")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub struct NewJob<'a> {
    pub id: &'a str,
    pub order_id: i64,
    pub line_id: i64,
    pub content_hash: &'a str,
    pub line_ref: &'a str,
    pub gtin: &'a str,
    pub lot: &'a str,
    pub expiry: &'a str,
    pub quantity: i64,
    pub shape: &'a serde_json::Value,
    pub tolerance_mm: f64,
    pub sticker: &'a serde_json::Value,
    pub follows: Option<&'a str>,
    /// The first log entry's text.
    pub detail: &'a str,
}

pub async fn insert_job(conn: &mut AnyConnection, j: &NewJob<'_>) -> Result<(), sqlx::Error> {
    let now = super::now_db();
    sqlx::query(
        "insert into cut_jobs (id, order_id, line_id, content_hash, line_ref, gtin, lot, expiry, quantity, shape, tolerance_mm, sticker, follows, state, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $14, 'queued', $13, $13)",
    )
    .bind(j.id)
    .bind(j.order_id)
    .bind(j.line_id)
    .bind(j.content_hash)
    .bind(j.line_ref)
    .bind(j.gtin)
    .bind(j.lot)
    .bind(j.expiry)
    .bind(j.quantity)
    .bind(j.shape.to_string())
    .bind(j.tolerance_mm)
    .bind(j.sticker.to_string())
    .bind(&now)
    .bind(j.follows)
    .execute(&mut *conn)
    .await?;
    log(conn, j.id, "queued", None, j.detail, &now).await
}

/// How many jobs a line has had (the next job's number is one more).
pub async fn jobs_of_line(conn: &mut AnyConnection, line_id: i64) -> Result<i64, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("select count(*) from cut_jobs where line_id = $1")
        .bind(line_id)
        .fetch_one(conn)
        .await?;
    Ok(n)
}

/// A failed job's damaged plates, scrapped and picked again.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Replacement {
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

const REPL_COLS: &str = "id, job_id, revision, order_id, line_id, gtin, lot, quantity, reason, state, wave_id, new_job_id, created_at, updated_at";

fn replacement_row(r: &AnyRow) -> Result<Replacement, sqlx::Error> {
    Ok(Replacement {
        id: r.try_get("id")?,
        job_id: r.try_get("job_id")?,
        revision: r.try_get("revision")?,
        order_id: r.try_get("order_id")?,
        line_id: r.try_get("line_id")?,
        gtin: r.try_get("gtin")?,
        lot: r.try_get("lot")?,
        quantity: r.try_get("quantity")?,
        reason: r.try_get("reason")?,
        state: r.try_get("state")?,
        wave_id: r.try_get("wave_id")?,
        new_job_id: r.try_get("new_job_id")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_replacement(
    conn: &mut AnyConnection,
    j: &JobRow,
    quantity: i64,
    reason: &str,
    state: &str,
    wave_id: Option<i64>,
) -> Result<i64, sqlx::Error> {
    let now = super::now_db();
    sqlx::query_scalar(
        "insert into cut_replacements (job_id, revision, order_id, line_id, gtin, lot, quantity, reason, state, wave_id, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) returning id",
    )
    .bind(&j.id)
    .bind(j.revision)
    .bind(j.order_id)
    .bind(j.line_id)
    .bind(&j.gtin)
    .bind(&j.lot)
    .bind(quantity)
    .bind(reason)
    .bind(state)
    .bind(wave_id)
    .bind(&now)
    .fetch_one(conn)
    .await
}

pub async fn replacements_of_wave(
    conn: &mut AnyConnection,
    wave_id: i64,
) -> Result<Vec<Replacement>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "select {REPL_COLS} from cut_replacements where wave_id = $1 and state = 'picking' order by id"
    ))
    .bind(wave_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(replacement_row).collect()
}

/// Replacements, newest first: of one order, of one failed job, or all.
pub async fn replacements(
    conn: &mut AnyConnection,
    order_id: Option<i64>,
    job_id: Option<&str>,
    limit: i64,
) -> Result<Vec<Replacement>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "select {REPL_COLS} from cut_replacements where ($1 = 0 or order_id = $1) and ($2 = '' or job_id = $2)
         order by id desc limit $3"
    ))
    .bind(order_id.unwrap_or(0))
    .bind(job_id.unwrap_or(""))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(replacement_row).collect()
}

pub async fn set_replacement(
    conn: &mut AnyConnection,
    id: i64,
    state: &str,
    new_job_id: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update cut_replacements set state = $2, new_job_id = $3, updated_at = $4 where id = $1",
    )
    .bind(id)
    .bind(state)
    .bind(new_job_id)
    .bind(super::now_db())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn replacement(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<Replacement>, sqlx::Error> {
    sqlx::query(&format!(
        "select {REPL_COLS} from cut_replacements where id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(replacement_row)
    .transpose()
}

/// A short replacement gets its wave; false when it was not short (any more).
pub async fn replacement_to_wave(
    conn: &mut AnyConnection,
    id: i64,
    wave_id: i64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "update cut_replacements set state = 'picking', wave_id = $2, updated_at = $3 where id = $1 and state = 'short'",
    )
    .bind(id)
    .bind(wave_id)
    .bind(super::now_db())
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// Replacements of an order that are not picked yet.
pub async fn open_replacements(
    conn: &mut AnyConnection,
    order_id: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select count(*) from cut_replacements where order_id = $1 and state <> 'picked'",
    )
    .bind(order_id)
    .fetch_one(conn)
    .await
}

pub async fn log(
    conn: &mut AnyConnection,
    job: &str,
    state: &str,
    station: Option<&str>,
    detail: &str,
    at: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into cut_job_log (job_id, state, station_id, detail, at) values ($1, $2, $3, $4, $5)",
    )
    .bind(job)
    .bind(state)
    .bind(station)
    .bind(detail)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get_job(conn: &mut AnyConnection, id: &str) -> Result<Option<JobRow>, sqlx::Error> {
    let row = sqlx::query(&format!("select {JOB_COLS} from cut_jobs where id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(job).transpose()
}

/// Jobs in a state (all when empty), oldest first.
pub async fn jobs(pool: &AnyPool, state: &str, limit: i64) -> Result<Vec<JobRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "select {JOB_COLS} from cut_jobs where ($1 = '' or state = $1) order by seq limit $2"
    ))
    .bind(state)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(job).collect()
}

pub async fn jobs_of_order(
    conn: &mut AnyConnection,
    order_id: i64,
) -> Result<Vec<JobRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "select {JOB_COLS} from cut_jobs where order_id = $1 order by seq"
    ))
    .bind(order_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(job).collect()
}

/// The jobs one station holds (sent, accepted or running).
pub async fn held_by(conn: &mut AnyConnection, station: &str) -> Result<Vec<JobRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "select {JOB_COLS} from cut_jobs where station_id = $1 and state in ('sent', 'accepted', 'running') order by seq"
    ))
    .bind(station)
    .fetch_all(conn)
    .await?;
    rows.iter().map(job).collect()
}

/// Jobs a station holds (sent, accepted or running), per station.
pub async fn station_loads(pool: &AnyPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "select station_id, count(*) as n from cut_jobs
         where state in ('sent', 'accepted', 'running') and station_id is not null group by station_id",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("station_id")?, r.try_get("n")?)))
        .collect()
}

/// Inside a dispatch transaction: takes the station's row lock (PostgreSQL; SQLite has one
/// writer anyway) and counts the jobs it holds, so that instances dispatching at the same time
/// never give a station more than its queue limit.
pub async fn lock_station_load(
    conn: &mut AnyConnection,
    backend: super::Backend,
    station: &str,
) -> Result<i64, sqlx::Error> {
    if backend == super::Backend::Postgres {
        sqlx::query("select id from cut_stations where id = $1 for update")
            .bind(station)
            .fetch_optional(&mut *conn)
            .await?;
    }
    sqlx::query_scalar(
        "select count(*) from cut_jobs where station_id = $1 and state in ('sent', 'accepted', 'running')",
    )
    .bind(station)
    .fetch_one(conn)
    .await
}

/// Moves a job between states when it is still in one of `from`; false (nothing written) when
/// it was not. Logs the transition in the same transaction.
#[allow(clippy::too_many_arguments)]
pub async fn transition(
    conn: &mut AnyConnection,
    id: &str,
    from: &[&str],
    to: &str,
    station: Option<&str>,
    detail: &str,
    set: &str,
) -> Result<bool, sqlx::Error> {
    let now = super::now_db();
    let states = from
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let extra = if set.is_empty() {
        String::new()
    } else {
        format!(", {set}")
    };
    let moved = sqlx::query(&format!(
        "update cut_jobs set state = $2, updated_at = $3{extra} where id = $1 and state in ({states})"
    ))
    .bind(id)
    .bind(to)
    .bind(&now)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if moved {
        log(conn, id, to, station, detail, &now).await?;
    }
    Ok(moved)
}

/// Picked packs of a line, by lot: (lot, expiry, packs); in one wave only when `wave_id` is given.
pub async fn picked_lots(
    conn: &mut AnyConnection,
    line_id: i64,
    wave_id: Option<i64>,
) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "select lot, expiry, cast(sum(picked) as bigint) as n from picks
         where line_id = $1 and ($2 = 0 or wave_id = $2) and picked > 0 group by lot, expiry order by expiry, lot",
    )
    .bind(line_id)
    .bind(wave_id.unwrap_or(0))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("lot")?, r.try_get("expiry")?, r.try_get("n")?)))
        .collect()
}
