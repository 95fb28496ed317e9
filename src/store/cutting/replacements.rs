//! Replacements: a failed job's damaged plates, scrapped and picked again.

use super::JobRow;
use sqlx::{any::AnyRow, AnyConnection, Row};

/// A failed job's damaged plates, scrapped and picked again.
#[derive(Debug, Clone)]
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
    let now = crate::store::now_db();
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
    .bind(crate::store::now_db())
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
    .bind(crate::store::now_db())
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

/// The stock unit in an order's tote holding at least `qty` free plates of a lot, to book
/// damaged plates out of: (unit id, owner, location).
pub async fn tote_unit(
    conn: &mut AnyConnection,
    order_id: i64,
    gtin: &str,
    lot: &str,
    qty: i64,
) -> Result<Option<(i64, String, String)>, sqlx::Error> {
    let r = sqlx::query(
        "select s.id, s.owner, s.location from stock_units s join orders o on o.tote = s.location
         where o.id = $1 and s.gtin = $2 and s.lot = $3 and s.status = 'available' and s.qty - s.reserved >= $4
         order by s.id limit 1",
    )
    .bind(order_id)
    .bind(gtin)
    .bind(lot)
    .bind(qty)
    .fetch_optional(conn)
    .await?;
    r.map(|r| {
        Ok((
            r.try_get("id")?,
            r.try_get("owner")?,
            r.try_get("location")?,
        ))
    })
    .transpose()
}

/// Takes scrapped plates off a line's picked count.
pub async fn unpick(conn: &mut AnyConnection, line_id: i64, qty: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update order_lines set picked = picked - $2 where id = $1 and picked >= $2")
        .bind(line_id)
        .bind(qty)
        .execute(conn)
        .await?;
    Ok(())
}
