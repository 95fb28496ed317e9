//! Cutting jobs: one row per job with its state, and the log of every transition.

use sqlx::{any::AnyRow, AnyConnection, AnyPool, Row};

/// A cutting job.
#[derive(Debug, Clone)]
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
    pub shape: serde_json::Value,
    pub tolerance_mm: f64,
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

const JOB_COLS: &str = "seq, id, order_id, line_id, revision, content_hash, line_ref, gtin, lot, expiry, quantity, shape, tolerance_mm, sticker, state, station_id, message_id, sends, next_send_at, done, rejected_by, reason, sticker_job, follows, recall_cmd, recall_reason, created_at, updated_at";

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
        recall_cmd: r.try_get("recall_cmd")?,
        recall_reason: r.try_get("recall_reason")?,
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
    let now = crate::store::now_db();
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

/// The jobs one station holds (sent, accepted, running or being recalled).
pub async fn held_by(conn: &mut AnyConnection, station: &str) -> Result<Vec<JobRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "select {JOB_COLS} from cut_jobs where station_id = $1 and state in ('sent', 'accepted', 'running', 'recalling') order by seq"
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
         where state in ('sent', 'accepted', 'running', 'recalling') and station_id is not null group by station_id",
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
    backend: crate::store::Backend,
    station: &str,
) -> Result<i64, sqlx::Error> {
    if backend == crate::store::Backend::Postgres {
        sqlx::query("select id from cut_stations where id = $1 for update")
            .bind(station)
            .fetch_optional(&mut *conn)
            .await?;
    }
    sqlx::query_scalar(
        "select count(*) from cut_jobs where station_id = $1 and state in ('sent', 'accepted', 'running', 'recalling')",
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
    let now = crate::store::now_db();
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

pub async fn set_reason(conn: &mut AnyConnection, id: &str, why: &str) -> Result<(), sqlx::Error> {
    sqlx::query("update cut_jobs set reason = $2 where id = $1")
        .bind(id)
        .bind(why)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_done(conn: &mut AnyConnection, id: &str, done: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update cut_jobs set done = $2 where id = $1")
        .bind(id)
        .bind(done)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_sticker_job(pool: &AnyPool, id: &str, print_job: &str) -> Result<(), sqlx::Error> {
    sqlx::query("update cut_jobs set sticker_job = $2 where id = $1")
        .bind(id)
        .bind(print_job)
        .execute(pool)
        .await?;
    Ok(())
}

/// Hands a queued job to a station (`sent`, or `accepted` for a manual station with no link);
/// false when another instance took it first.
pub async fn dispatch(
    conn: &mut AnyConnection,
    id: &str,
    station: &str,
    to: &str,
    message_id: Option<&str>,
    next_send_at: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let now = crate::store::now_db();
    let moved = sqlx::query(
        "update cut_jobs set state = $6, station_id = $2, message_id = $3, sends = sends + 1, next_send_at = $4, updated_at = $5
         where id = $1 and state = 'queued'",
    )
    .bind(id)
    .bind(station)
    .bind(message_id)
    .bind(next_send_at)
    .bind(&now)
    .bind(to)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if moved {
        log(
            conn,
            id,
            to,
            Some(station),
            &format!("sent to {station}"),
            &now,
        )
        .await?;
    }
    Ok(moved)
}

/// Counts one more send of an unanswered job (or recall) and sets when the next is due; false
/// when the job moved on or another instance counted it.
pub async fn bump_send(
    conn: &mut AnyConnection,
    id: &str,
    state: &str,
    sends: i64,
    next_send_at: &str,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "update cut_jobs set sends = sends + 1, next_send_at = $2 where id = $1 and state = $4 and sends = $3",
    )
    .bind(id)
    .bind(next_send_at)
    .bind(sends)
    .bind(state)
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// A station refused a sent job: back in the queue, that station named in `rejected_by` unless
/// `refused_by` is empty (a passing refusal), not offered again before `not_before`.
pub async fn back_to_queue(
    conn: &mut AnyConnection,
    id: &str,
    station: &str,
    refused_by: &str,
    why: &str,
    not_before: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let now = crate::store::now_db();
    let moved = sqlx::query(
        "update cut_jobs set state = 'queued', station_id = null, message_id = null, next_send_at = $5,
           rejected_by = rejected_by || $2, reason = $3, updated_at = $4
         where id = $1 and state = 'sent'",
    )
    .bind(id)
    .bind(refused_by)
    .bind(why)
    .bind(&now)
    .bind(not_before)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if moved {
        log(
            conn,
            id,
            "queued",
            Some(station),
            &format!("rejected by {station}: {why}"),
            &now,
        )
        .await?;
    }
    Ok(moved)
}

/// The job as a new revision back in the queue, for any station (nothing of it was cut).
#[allow(clippy::too_many_arguments)]
pub async fn new_revision(
    conn: &mut AnyConnection,
    id: &str,
    from: &str,
    revision: i64,
    content_hash: &str,
    station: Option<&str>,
    detail: &str,
) -> Result<bool, sqlx::Error> {
    let now = crate::store::now_db();
    let moved = sqlx::query(
        "update cut_jobs set state = 'queued', revision = $2, content_hash = $3, station_id = null, message_id = null,
           next_send_at = null, sends = 0, done = 0, rejected_by = '', recall_cmd = null, updated_at = $4
         where id = $1 and state = $5",
    )
    .bind(id)
    .bind(revision)
    .bind(content_hash)
    .bind(&now)
    .bind(from)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if moved {
        log(conn, id, "queued", station, detail, &now).await?;
    }
    Ok(moved)
}

/// A lead takes a job back: `recalling` until its station says what became of it.
pub async fn start_recall(
    conn: &mut AnyConnection,
    id: &str,
    from: &str,
    cmd_id: &str,
    reason: &str,
    next_send_at: &str,
    detail: &str,
) -> Result<bool, sqlx::Error> {
    let now = crate::store::now_db();
    let moved = sqlx::query(
        "update cut_jobs set state = 'recalling', recall_cmd = $2, recall_reason = $3, sends = 1, next_send_at = $4,
           updated_at = $5 where id = $1 and state = $6",
    )
    .bind(id)
    .bind(cmd_id)
    .bind(reason)
    .bind(next_send_at)
    .bind(&now)
    .bind(from)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if moved {
        let station: Option<String> =
            sqlx::query_scalar("select station_id from cut_jobs where id = $1")
                .bind(id)
                .fetch_one(&mut *conn)
                .await?;
        log(conn, id, "recalling", station.as_deref(), detail, &now).await?;
    }
    Ok(moved)
}

/// The job a station's answer to a `cancel` is about.
pub async fn job_by_recall(
    conn: &mut AnyConnection,
    station: &str,
    cmd_id: &str,
) -> Result<Option<JobRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "select {JOB_COLS} from cut_jobs where station_id = $1 and recall_cmd = $2"
    ))
    .bind(station)
    .bind(cmd_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(job).transpose()
}

/// A line in a job's log that does not change its state.
pub async fn note(
    conn: &mut AnyConnection,
    id: &str,
    station: &str,
    detail: &str,
) -> Result<(), sqlx::Error> {
    let state: String = sqlx::query_scalar("select state from cut_jobs where id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    log(
        conn,
        id,
        &state,
        Some(station),
        detail,
        &crate::store::now_db(),
    )
    .await
}

/// A queued job whose earlier revision a station reports finished: finished there.
pub async fn finish_queued(
    conn: &mut AnyConnection,
    id: &str,
    station: &str,
    detail: &str,
) -> Result<bool, sqlx::Error> {
    let now = crate::store::now_db();
    let moved = sqlx::query(
        "update cut_jobs set state = 'finished', station_id = $2, done = quantity, updated_at = $3
         where id = $1 and state = 'queued'",
    )
    .bind(id)
    .bind(station)
    .bind(&now)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if moved {
        log(conn, id, "finished", Some(station), detail, &now).await?;
    }
    Ok(moved)
}
