//! Facts about the database itself (`instance_meta`), and what it holds, for the demo data's
//! "only into an empty database" rule.

use super::Db;
use sqlx::{AnyConnection, AnyPool, Row};

/// The key written when demo data is loaded; its value is the environment it was loaded in.
pub const DEMO_DATA: &str = "demo_data";

/// What a database holds that demo data must never be mixed with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Contents {
    pub users: i64,
    pub api_tokens: i64,
    pub producers: i64,
    pub products: i64,
}

impl Contents {
    pub fn is_empty(&self) -> bool {
        *self == Contents::default()
    }
}

pub async fn get(pool: &AnyPool, key: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("select value from instance_meta where key = $1")
        .bind(key)
        .fetch_optional(pool)
        .await?
        .map(|r| r.try_get("value"))
        .transpose()
}

async fn contents(conn: &mut AnyConnection) -> Result<Contents, sqlx::Error> {
    let r = sqlx::query(
        "select (select count(*) from users) as users,
                (select count(*) from api_tokens) as api_tokens,
                (select count(*) from producers) as producers,
                (select count(*) from products) as products",
    )
    .fetch_one(conn)
    .await?;
    Ok(Contents {
        users: r.try_get("users")?,
        api_tokens: r.try_get("api_tokens")?,
        producers: r.try_get("producers")?,
        products: r.try_get("products")?,
    })
}

/// The outcome of [`mark_if_empty`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Marked {
    /// The database was empty and now carries the mark.
    Now,
    /// The mark was there already (or another instance wrote it at the same moment).
    Already,
    /// The database holds data: nothing was written.
    NotEmpty(Contents),
}

/// Writes `key = value` when the database holds no users, API tokens, producers or products,
/// in one transaction with the check (two instances at once: one of them writes it).
pub async fn mark_if_empty(db: &Db, key: &str, value: &str) -> Result<Marked, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let exists = sqlx::query("select 1 as one from instance_meta where key = $1")
        .bind(key)
        .fetch_optional(tx.conn())
        .await?
        .is_some();
    if exists {
        return Ok(Marked::Already);
    }
    let c = contents(tx.conn()).await?;
    if !c.is_empty() {
        return Ok(Marked::NotEmpty(c));
    }
    let written = sqlx::query(
        "insert into instance_meta (key, value, set_at) values ($1, $2, $3) on conflict (key) do nothing",
    )
    .bind(key)
    .bind(value)
    .bind(super::now_db())
    .execute(tx.conn())
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(if written == 1 {
        Marked::Now
    } else {
        Marked::Already
    })
}
