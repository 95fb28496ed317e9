//! The reads of the lead's dashboard: how many orders are in each status and since when the
//! oldest of them has been there.

use sqlx::{AnyPool, Row};

/// Orders in one status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageCount {
    pub status: String,
    pub orders: i64,
    /// The oldest order's last change (`updated_at`), as stored.
    pub oldest: Option<String>,
}

/// Orders per status, except `delivered` and `cancelled`, which only grow; with `delivered`
/// counted from `delivered_since` (the start of the business day) on.
pub async fn stage_counts(
    pool: &AnyPool,
    delivered_since: &str,
) -> Result<Vec<StageCount>, sqlx::Error> {
    let rows = sqlx::query(
        "select status, count(*) as n, min(updated_at) as oldest from orders
         where status not in ('delivered', 'cancelled') group by status
         union all
         select 'delivered', count(*), min(updated_at) from orders
         where status = 'delivered' and updated_at >= $1",
    )
    .bind(delivered_since)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StageCount {
                status: r.try_get("status")?,
                orders: r.try_get("n")?,
                oldest: r.try_get("oldest")?,
            })
        })
        .collect()
}
