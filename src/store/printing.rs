//! Printers and their job queues.

use crate::domain::print_job::JobState;
use sqlx::{any::AnyRow, AnyConnection, AnyPool, Row};

/// A configured printer with its last known state.
#[derive(Debug, Clone)]
pub struct PrinterRow {
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

impl PrinterRow {
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// May it print a job of `template`?
    pub fn allows(&self, template: &str) -> bool {
        self.templates
            .as_ref()
            .is_none_or(|t| t.iter().any(|n| n == template))
    }
}

fn printer(r: &AnyRow) -> Result<PrinterRow, sqlx::Error> {
    Ok(PrinterRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        host: r.try_get("host")?,
        port: r.try_get("port")?,
        dpi: r.try_get("dpi")?,
        label_width_mm: r.try_get("label_width_mm")?,
        label_height_mm: r.try_get("label_height_mm")?,
        station: r.try_get("station")?,
        kind: r.try_get("kind")?,
        enabled: r.try_get::<i64, _>("enabled")? == 1,
        state: r.try_get("state")?,
        state_detail: r.try_get("state_detail")?,
        state_at: r.try_get("state_at")?,
        owner: r.try_get("owner")?,
        templates: r
            .try_get::<Option<String>, _>("templates")?
            .map(|t| t.split(',').map(str::to_string).collect()),
    })
}

const PRINTER_COLS: &str = "id, name, host, port, dpi, label_width_mm, label_height_mm, station, kind, enabled, state, state_detail, state_at, owner, templates";

pub async fn list_printers(pool: &AnyPool) -> Result<Vec<PrinterRow>, sqlx::Error> {
    let rows = sqlx::query(&format!("select {PRINTER_COLS} from printers order by id"))
        .fetch_all(pool)
        .await?;
    rows.iter().map(printer).collect()
}

/// Removes a printer that has no print jobs on record; false when it has some (nothing is
/// removed then).
pub async fn delete_unused_printer(
    conn: &mut sqlx::AnyConnection,
    id: &str,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "delete from printers where id = $1 and not exists (select 1 from print_jobs where printer_id = $1)",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn get_printer(pool: &AnyPool, id: &str) -> Result<Option<PrinterRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "select {PRINTER_COLS} from printers where id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(printer).transpose()
}

/// Adds or changes a printer's settings (its state and owner are kept).
pub async fn put_printer(conn: &mut AnyConnection, p: &PrinterRow) -> Result<(), sqlx::Error> {
    let now = super::now_db();
    sqlx::query(
        "insert into printers (id, name, host, port, dpi, label_width_mm, label_height_mm, station, enabled, state, state_detail, state_at, updated_at, kind, templates)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'unknown', '', $10, $10, $11, $12)
         on conflict (id) do update set name = excluded.name, host = excluded.host, port = excluded.port,
           dpi = excluded.dpi, label_width_mm = excluded.label_width_mm, label_height_mm = excluded.label_height_mm,
           station = excluded.station, enabled = excluded.enabled, updated_at = excluded.updated_at, kind = excluded.kind,
           templates = excluded.templates",
    )
    .bind(&p.id)
    .bind(&p.name)
    .bind(&p.host)
    .bind(p.port)
    .bind(p.dpi)
    .bind(p.label_width_mm)
    .bind(p.label_height_mm)
    .bind(p.station.as_deref())
    .bind(i64::from(p.enabled))
    .bind(&now)
    .bind(&p.kind)
    .bind(p.templates.as_ref().map(|t| t.join(",")))
    .execute(conn)
    .await?;
    Ok(())
}

/// Records what the printer's status query found; true when the state changed.
pub async fn set_state(
    pool: &AnyPool,
    id: &str,
    state: &str,
    detail: &str,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "update printers set state = $2, state_detail = $3, state_at = $4
         where id = $1 and (state <> $2 or state_detail <> $3)",
    )
    .bind(id)
    .bind(state)
    .bind(detail)
    .bind(super::now_db())
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}

/// Takes or renews the lease on a printer's queue for `owner`; false when another live
/// instance holds it.
pub async fn claim(
    pool: &AnyPool,
    id: &str,
    owner: &str,
    lease: chrono::Duration,
) -> Result<bool, sqlx::Error> {
    let now = chrono::Utc::now();
    Ok(sqlx::query(
        "update printers set owner = $2, lease_until = $4
         where id = $1 and (owner is null or owner = $2 or lease_until is null or lease_until < $3)",
    )
    .bind(id)
    .bind(owner)
    .bind(crate::domain::time::to_db(now))
    .bind(crate::domain::time::to_db(now + lease))
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}

/// Gives up the leases an instance holds (on shutdown).
pub async fn release_all(pool: &AnyPool, owner: &str) -> Result<(), sqlx::Error> {
    sqlx::query("update printers set owner = null, lease_until = null where owner = $1")
        .bind(owner)
        .execute(pool)
        .await?;
    Ok(())
}

/// A print job as the API shows it (the label itself is not in it: it holds a name and an
/// address, and is read through its own audited call).
#[derive(Debug, Clone)]
pub struct JobRow {
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

const JOB_COLS: &str = "seq, id, printer_id, template, state, attempts, error, reprint_of, subject, encoding, requested_by, created_at, updated_at, next_attempt_at";

fn job(r: &AnyRow) -> Result<JobRow, sqlx::Error> {
    Ok(JobRow {
        seq: r.try_get("seq")?,
        id: r.try_get("id")?,
        printer_id: r.try_get("printer_id")?,
        template: r.try_get("template")?,
        state: crate::store::decode_state(
            &r.try_get::<String, _>("state")?,
            JobState::parse,
            "print job state",
        )?,
        attempts: r.try_get("attempts")?,
        error: r.try_get("error")?,
        reprint_of: r.try_get("reprint_of")?,
        subject: r.try_get("subject")?,
        encoding: r.try_get("encoding")?,
        requested_by: r.try_get("requested_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
    })
}

pub struct NewJob<'a> {
    pub id: &'a str,
    pub printer_id: &'a str,
    pub template: &'a str,
    pub payload: &'a str,
    /// `text` or `base64`.
    pub encoding: &'a str,
    pub reprint_of: Option<&'a str>,
    pub request_key: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub requested_by: &'a str,
}

/// Queues a job and logs it, in the caller's transaction.
pub async fn insert_job(conn: &mut AnyConnection, j: &NewJob<'_>) -> Result<(), sqlx::Error> {
    let now = super::now_db();
    sqlx::query(
        "insert into print_jobs (id, printer_id, template, payload, state, reprint_of, request_key, subject, requested_by, created_at, updated_at, next_attempt_at, encoding)
         values ($1, $2, $3, $4, 'queued', $5, $6, $7, $8, $9, $9, $9, $10)",
    )
    .bind(j.id)
    .bind(j.printer_id)
    .bind(j.template)
    .bind(j.payload)
    .bind(j.reprint_of)
    .bind(j.request_key)
    .bind(j.subject)
    .bind(j.requested_by)
    .bind(&now)
    .bind(j.encoding)
    .execute(&mut *conn)
    .await?;
    log(
        conn,
        j.id,
        JobState::Queued,
        &format!("by {}", j.requested_by),
        &now,
    )
    .await
}

async fn log(
    conn: &mut AnyConnection,
    job: &str,
    state: JobState,
    detail: &str,
    at: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("insert into print_job_log (job_id, state, detail, at) values ($1, $2, $3, $4)")
        .bind(job)
        .bind(state.as_str())
        .bind(detail)
        .bind(at)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn get_job(pool: &AnyPool, id: &str) -> Result<Option<JobRow>, sqlx::Error> {
    let row = sqlx::query(&format!("select {JOB_COLS} from print_jobs where id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(job).transpose()
}

/// A job read inside a transaction (what was just written).
pub async fn get_job_in(conn: &mut AnyConnection, id: &str) -> Result<Option<JobRow>, sqlx::Error> {
    let row = sqlx::query(&format!("select {JOB_COLS} from print_jobs where id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(job).transpose()
}

pub async fn job_by_key(pool: &AnyPool, key: &str) -> Result<Option<JobRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "select {JOB_COLS} from print_jobs where request_key = $1"
    ))
    .bind(key)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(job).transpose()
}

/// The label of a job (ZPL) and its printer.
pub async fn job_payload(
    pool: &AnyPool,
    id: &str,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let row = sqlx::query("select printer_id, payload from print_jobs where id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.map(|r| Ok((r.try_get("printer_id")?, r.try_get("payload")?)))
        .transpose()
}

/// Jobs newest first, optionally of one printer and one state.
pub async fn list_jobs(
    pool: &AnyPool,
    printer: Option<&str>,
    state: Option<JobState>,
    limit: i64,
) -> Result<Vec<JobRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "select {JOB_COLS} from print_jobs
         where ($1 = '' or printer_id = $1) and ($2 = '' or state = $2)
         order by seq desc limit $3"
    ))
    .bind(printer.unwrap_or(""))
    .bind(state.map_or("", JobState::as_str))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(job).collect()
}

/// The job being sent or waiting for its confirmation, if any (at most one per printer).
pub async fn in_flight(pool: &AnyPool, printer: &str) -> Result<Option<JobRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "select {JOB_COLS} from print_jobs where printer_id = $1 and state in ('sending', 'sent')
         order by seq limit 1"
    ))
    .bind(printer)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(job).transpose()
}

/// The oldest queued job with its label (labels print in the order they were asked for: a
/// job waiting for its backoff holds the ones behind it).
pub async fn next_queued(
    pool: &AnyPool,
    printer: &str,
) -> Result<Option<(JobRow, String)>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "select {JOB_COLS}, payload from print_jobs
         where printer_id = $1 and state = 'queued'
         order by seq limit 1"
    ))
    .bind(printer)
    .fetch_optional(pool)
    .await?;
    row.map(|r| Ok((job(&r)?, r.try_get("payload")?)))
        .transpose()
}

/// Moves a job from one state to another and logs it, in one transaction; false (and nothing
/// written) when the job was no longer in `from`.
pub async fn transition(
    db: &super::Db,
    id: &str,
    from: JobState,
    to: JobState,
    detail: &str,
    error: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let now = super::now_db();
    let moved = sqlx::query(
        "update print_jobs set state = $3, error = coalesce($4, error), updated_at = $5
         where id = $1 and state = $2",
    )
    .bind(id)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(error)
    .bind(&now)
    .execute(tx.conn())
    .await?
    .rows_affected()
        == 1;
    if !moved {
        return Ok(false);
    }
    log(tx.conn(), id, to, detail, &now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Counts a failed connection attempt on a queued job and sets when to try again.
pub async fn defer(
    db: &super::Db,
    id: &str,
    next_attempt_at: &str,
    detail: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let now = super::now_db();
    sqlx::query(
        "update print_jobs set attempts = attempts + 1, next_attempt_at = $2, error = $3, updated_at = $4
         where id = $1 and state = 'queued'",
    )
    .bind(id)
    .bind(next_attempt_at)
    .bind(detail)
    .bind(&now)
    .execute(tx.conn())
    .await?;
    log(tx.conn(), id, JobState::Queued, detail, &now).await?;
    tx.commit().await
}

/// A job's transitions, oldest first.
#[derive(Debug, Clone)]
pub struct JobLogEntry {
    pub state: JobState,
    pub detail: String,
    pub at: String,
}

pub async fn job_log(pool: &AnyPool, id: &str) -> Result<Vec<JobLogEntry>, sqlx::Error> {
    let rows =
        sqlx::query("select state, detail, at from print_job_log where job_id = $1 order by id")
            .bind(id)
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|r| {
            Ok(JobLogEntry {
                state: crate::store::decode_state(
                    &r.try_get::<String, _>("state")?,
                    JobState::parse,
                    "print job state",
                )?,
                detail: r.try_get("detail")?,
                at: r.try_get("at")?,
            })
        })
        .collect()
}

/// Jobs not yet finished (queued, sending, sent) per printer.
pub async fn queue_depths(pool: &AnyPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "select printer_id, count(*) as n from print_jobs
         where state in ('queued', 'sending', 'sent') group by printer_id",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("printer_id")?, r.try_get("n")?)))
        .collect()
}
