//! The domain event log: every state change appends one event in its own transaction.

use super::Backend;
use sqlx::{AnyConnection, Row};

/// Any fixed number; it names the lock that orders event commits on PostgreSQL.
const EVENT_LOCK_KEY: i64 = 0x6b6f_6e73_6967_6e01;

#[derive(Debug, Clone)]
pub struct Event {
    /// The cursor: strictly increasing in commit order.
    pub id: i64,
    pub event_type: String,
    pub subject: String,
    pub at: String,
    pub payload: serde_json::Value,
}

/// Appends an event. On PostgreSQL a transaction-scoped advisory lock makes events commit in
/// cursor order, so a reader that has seen cursor N never later finds a smaller one appear.
pub async fn append(
    conn: &mut AnyConnection,
    backend: Backend,
    event_type: &str,
    subject: &str,
    payload: &serde_json::Value,
) -> Result<i64, sqlx::Error> {
    if backend == Backend::Postgres {
        sqlx::query("select pg_advisory_xact_lock($1)")
            .bind(EVENT_LOCK_KEY)
            .execute(&mut *conn)
            .await?;
    }
    let row = sqlx::query("insert into events (event_type, subject, at, payload) values ($1, $2, $3, $4) returning id")
        .bind(event_type)
        .bind(subject)
        .bind(super::now_db())
        .bind(payload.to_string())
        .fetch_one(&mut *conn)
        .await?;
    row.try_get("id")
}

pub async fn list_after(
    pool: &sqlx::AnyPool,
    after: i64,
    limit: i64,
) -> Result<Vec<Event>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, event_type, subject, at, payload from events where id > $1 order by id limit $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(event_row).collect()
}

/// An event row (`id, event_type, subject, at, payload`) as the API shows it.
pub fn event_row(r: &sqlx::any::AnyRow) -> Result<Event, sqlx::Error> {
    let payload: String = r.try_get("payload")?;
    Ok(Event {
        id: r.try_get("id")?,
        event_type: r.try_get("event_type")?,
        subject: r.try_get("subject")?,
        at: r.try_get("at")?,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
    })
}

/// The newest event's id (0 without events): what the live views compare to see that something
/// happened, on this instance or another.
pub async fn last_id(pool: &sqlx::AnyPool) -> Result<i64, sqlx::Error> {
    let row = sqlx::query("select coalesce(max(id), 0) as id from events")
        .fetch_one(pool)
        .await?;
    row.try_get("id")
}
