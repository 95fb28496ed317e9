//! The reads of the lead's reports beyond the per-hour counts (`store::dashboard::per_hour`):
//! how long orders took from intake to handover and whether they left by their cut-off, and
//! how old the backorders are.

use super::Db;
use sqlx::{AnyPool, Row};

/// An order handed over, its times as stored.
#[derive(Debug, Clone)]
pub struct Handover {
    pub received: String,
    /// When its last reservation was made (it became pickable then); none without any.
    pub pickable: Option<String>,
    /// Its last parcel's handover.
    pub handed: String,
    /// The carrier of that handover's cage.
    pub carrier: String,
}

/// Orders with a parcel handed over in `[from, to)`.
pub async fn handovers(pool: &AnyPool, from: &str, to: &str) -> Result<Vec<Handover>, sqlx::Error> {
    let rows = sqlx::query(
        "select o.created_at as received,
                (select max(r.created_at) from reservations r where r.order_id = o.id) as pickable,
                max(cp.at) as handed, max(c.carrier) as carrier
         from cage_parcels cp join parcels p on p.id = cp.parcel_id join orders o on o.id = p.order_id
         join cages c on c.id = cp.cage_id
         where cp.at >= $1 and cp.at < $2 group by o.id, o.created_at",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Handover {
                received: r.try_get("received")?,
                pickable: r.try_get("pickable")?,
                handed: r.try_get("handed")?,
                carrier: r.try_get("carrier")?,
            })
        })
        .collect()
}

/// When each backordered order last changed (its time as a backorder), as stored.
pub async fn backorders_since(pool: &AnyPool) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query("select updated_at from orders where status = 'backordered'")
        .fetch_all(pool)
        .await?;
    rows.iter().map(|r| r.try_get("updated_at")).collect()
}

/// The kept figures of the days from `from` to `to` (`YYYY-MM-DD`, inclusive): (day, JSON).
pub async fn kept_days(
    pool: &AnyPool,
    from: &str,
    to: &str,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "select day, figures from report_days where day >= $1 and day <= $2 order by day",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("day")?, r.try_get("figures")?)))
        .collect()
}

/// Keeps days' figures (day, JSON), replacing what was kept for them, in one transaction.
pub async fn keep_days(db: &Db, days: &[(String, String)], at: &str) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    for (day, figures) in days {
        sqlx::query(
            "insert into report_days (day, figures, sealed_at) values ($1, $2, $3)
             on conflict (day) do update set figures = excluded.figures, sealed_at = excluded.sealed_at",
        )
        .bind(day)
        .bind(figures)
        .bind(at)
        .execute(tx.conn())
        .await?;
    }
    tx.commit().await
}

/// Forgets every kept day (a generated history has written into past days).
pub async fn forget_days(pool: &AnyPool) -> Result<(), sqlx::Error> {
    sqlx::query("delete from report_days").execute(pool).await?;
    Ok(())
}
