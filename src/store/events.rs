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

/// Appends an event.
///
/// Cursors are handed out when the event is written, but transactions commit in their own
/// order, so on PostgreSQL a smaller cursor can become visible after a larger one. Readers must
/// never skip it: a writer holds the event lock in *shared* mode from its first event to its
/// commit (writers do not wait for each other, and their commits can share a WAL flush), and a
/// reader takes it in *exclusive* mode (`settled`), which waits for every writer that holds
/// it. What the reader then sees is final: every later event takes its cursor after that.
/// SQLite has one writer at a time, so its cursors are already in commit order.
pub async fn append(
    conn: &mut AnyConnection,
    backend: Backend,
    event_type: &str,
    subject: &str,
    payload: &serde_json::Value,
) -> Result<i64, sqlx::Error> {
    if backend == Backend::Postgres {
        sqlx::query("select pg_advisory_xact_lock_shared($1)")
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

/// A read of the event log that no later commit can change: on PostgreSQL it runs in a
/// transaction holding the event lock exclusively, so every writer that had begun writing
/// events has committed or rolled back first (see `append`). The wait is one in-flight commit;
/// writers that come later wait for this read, which is a single index range.
pub(super) async fn settled<T>(
    pool: &sqlx::AnyPool,
    backend: Backend,
    read: impl for<'c> FnOnce(
        &'c mut AnyConnection,
    ) -> futures_util::future::BoxFuture<'c, Result<T, sqlx::Error>>,
) -> Result<T, sqlx::Error> {
    if backend != Backend::Postgres {
        let mut conn = pool.acquire().await?;
        return read(&mut conn).await;
    }
    let mut tx = pool.begin().await?;
    sqlx::query("select pg_advisory_xact_lock($1)")
        .bind(EVENT_LOCK_KEY)
        .execute(&mut *tx)
        .await?;
    let out = read(&mut tx).await?;
    tx.commit().await?;
    Ok(out)
}

/// The events after a cursor, oldest first; never one that a later commit would put before
/// the last one returned.
pub async fn list_after(
    pool: &sqlx::AnyPool,
    backend: Backend,
    after: i64,
    limit: i64,
) -> Result<Vec<Event>, sqlx::Error> {
    let rows = settled(pool, backend, |c| {
        Box::pin(
            sqlx::query(
                "select id, event_type, subject, at, payload from events where id > $1 order by id limit $2",
            )
            .bind(after)
            .bind(limit)
            .fetch_all(c),
        )
    })
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
pub async fn last_id(pool: &sqlx::AnyPool, backend: Backend) -> Result<i64, sqlx::Error> {
    let row = settled(pool, backend, |c| {
        Box::pin(sqlx::query("select coalesce(max(id), 0) as id from events").fetch_one(c))
    })
    .await?;
    row.try_get("id")
}

/// The distinct types of the events after `after` up to `upto` (a cursor a settled read
/// returned, so the range is final): what the live hub asks to know which sections a change
/// moved. `None` when the range holds more than `max` events (then everything is read).
pub async fn types_between(
    pool: &sqlx::AnyPool,
    after: i64,
    upto: i64,
    max: i64,
) -> Result<Option<Vec<String>>, sqlx::Error> {
    if upto - after > max {
        return Ok(None);
    }
    let rows = sqlx::query("select distinct event_type from events where id > $1 and id <= $2")
        .bind(after)
        .bind(upto)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| r.try_get("event_type"))
        .collect::<Result<_, _>>()
        .map(Some)
}
