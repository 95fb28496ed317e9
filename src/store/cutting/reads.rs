//! Reads for the views of cutting jobs: a job's log and followers, counts per state, and an
//! order's reference (no personal data).

use sqlx::{AnyConnection, AnyPool, Row};

/// A job's transitions, oldest first: (state, station, detail, at).
pub async fn log_of(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Vec<(String, Option<String>, String, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "select state, station_id, detail, at from cut_job_log where job_id = $1 order by id",
    )
    .bind(id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("state")?,
                r.try_get("station_id")?,
                r.try_get("detail")?,
                r.try_get("at")?,
            ))
        })
        .collect()
}

/// The jobs that follow (cut the rest of) a job.
pub async fn followed_by(conn: &mut AnyConnection, id: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("select id from cut_jobs where follows = $1 order by seq")
        .bind(id)
        .fetch_all(conn)
        .await
}

/// How many jobs are in each state.
pub async fn count_by_state(pool: &AnyPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows =
        sqlx::query("select state, count(*) as n from cut_jobs group by state order by state")
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("state")?, r.try_get("n")?)))
        .collect()
}

/// An order's reference, status and tote (no personal data).
pub async fn order_ref(
    conn: &mut AnyConnection,
    order_id: i64,
) -> Result<(String, String, Option<String>), sqlx::Error> {
    let r = sqlx::query("select external_id, status, tote from orders where id = $1")
        .bind(order_id)
        .fetch_one(conn)
        .await?;
    Ok((
        r.try_get("external_id")?,
        r.try_get("status")?,
        r.try_get("tote")?,
    ))
}
