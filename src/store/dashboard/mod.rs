//! The reads of the lead's dashboard: how many orders are in each status and since when the
//! oldest of them has been there.

use crate::domain::order::OrderStatus;
use sqlx::{AnyPool, Row};

pub mod floor;

/// Orders in one stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageCount {
    /// A status, `booked`, or `exception:<status>`.
    pub status: String,
    pub orders: i64,
    /// The oldest order's last change (`updated_at`), as stored.
    pub oldest: Option<String>,
}

/// Orders per stage: per status, except `delivered` and `cancelled`, which only grow, with
/// `delivered` counted from `delivered_since` (the start of the business day) on; and the
/// `packed` and `shipped` orders split further: `exception` (a parcel's booking rejected, or an
/// open delivery exception: `exception:packed` and `exception:shipped`, by where the order is)
/// and `booked` (every closed parcel booked, waiting for the handover).
///
/// On PostgreSQL the start of the day is written into the statement, not bound: bound, the
/// planner plans the statement again on every call (a generic plan for "delivered since a
/// parameter" would scan a year of orders), which cost as much as running it. The text changes
/// once a day, so each connection plans it once a day.
pub async fn stage_counts(
    pool: &AnyPool,
    delivered_since: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<StageCount>, sqlx::Error> {
    // A timestamp we format ourselves: digits and separators only.
    let since = crate::domain::time::to_db(delivered_since);
    // Each live status by name (`in`, not `not in`): on a year of history the index on
    // (status, updated_at) then reads only the live orders, not the delivered ones.
    let live: Vec<String> = OrderStatus::ALL
        .iter()
        .filter(|s| {
            !matches!(
                s,
                OrderStatus::Delivered
                    | OrderStatus::Cancelled
                    | OrderStatus::Packed
                    | OrderStatus::Shipped
            )
        })
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    // The shipped stage is an index-only count of every shipped order less those with an
    // exception (asking each of thousands whether it has one read every row), and its oldest is
    // the first by `updated_at` without one.
    // The orders with an exception are found from the exceptions' side (a few rows, by the
    // indexes on `parcels(booking_state, state)` and `bookings(tracking_status)`), not by asking
    // each shipped order (thousands on a year of history: 4 ms of each live update).
    let sql = format!(
        "with exc(order_id) as (
           select p.order_id from parcels p
            where p.booking_state = 'rejected' and p.state = 'closed'
           union
           select p.order_id from bookings b join parcels p on p.id = b.parcel_id
            where b.tracking_status in ('failed_attempt', 'returned', 'exception')
              and b.exception_ack_at is null
         )
         select status, count(*) as n, min(updated_at) as oldest from orders
         where status in ({}) group by status
         union all
         select stage, count(*), min(updated_at) from (
           select o.updated_at, case
             when o.id in (select order_id from exc) then 'exception:packed'
             when exists (select 1 from parcels p where p.order_id = o.id and p.state = 'closed'
                            and p.booking_state = 'booked')
               and not exists (select 1 from parcels p where p.order_id = o.id and p.state = 'closed'
                                 and p.booking_state in ('none', 'waiting'))
               then 'booked'
             else 'packed' end as stage
           from orders o where o.status = 'packed'
         ) split group by stage
         union all
         select 'exception:shipped', count(*), min(updated_at) from orders
          where status = 'shipped' and id in (select order_id from exc)
         union all
         select 'shipped',
           count(*) - (select count(*) from orders
                        where status = 'shipped' and id in (select order_id from exc)),
           (select updated_at from orders where status = 'shipped'
               and id not in (select order_id from exc) order by updated_at limit 1)
           from orders where status = 'shipped'
         union all
         select 'delivered', count(*), min(updated_at) from orders
         where status = 'delivered' and updated_at >= '{since}'",
        live.join(", ")
    );
    let rows = sqlx::query(&sql).fetch_all(pool).await?;
    let counts = rows
        .iter()
        .map(|r| {
            Ok(StageCount {
                status: r.try_get("status")?,
                orders: r.try_get("n")?,
                oldest: r.try_get("oldest")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    // A count without a group (`exception:shipped`, `shipped`) is a row even when it is 0.
    Ok(counts.into_iter().filter(|c| c.orders > 0).collect())
}

/// What is counted per hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Orders taken in (by their intake time).
    OrdersReceived,
    /// Packs confirmed into totes (undone confirmations not counted).
    PacksPicked,
    /// Cutting jobs that reached `finished`.
    CutJobsFinished,
    /// Parcels closed at the pack stations.
    ParcelsClosed,
    /// Parcels scanned onto a cage (handed over).
    ParcelsHandedOver,
}

impl Measure {
    /// Its counts by UTC hour (`h`, `n`) between `$1` and `$2`.
    fn per_hour_sql(self) -> &'static str {
        match self {
            Measure::OrdersReceived => {
                "select substr(created_at, 1, 13) as h, count(*) as n from orders
                 where created_at >= $1 and created_at < $2 group by substr(created_at, 1, 13)"
            }
            Measure::PacksPicked => {
                "select substr(at, 1, 13) as h, cast(coalesce(sum(qty), 0) as bigint) as n from pick_confirms
                 where at >= $1 and at < $2 and undone = 0 group by substr(at, 1, 13)"
            }
            Measure::CutJobsFinished => {
                "select substr(at, 1, 13) as h, count(*) as n from cut_job_log
                 where state = 'finished' and at >= $1 and at < $2 group by substr(at, 1, 13)"
            }
            Measure::ParcelsClosed => {
                "select substr(closed_at, 1, 13) as h, count(*) as n from parcels
                 where closed_at >= $1 and closed_at < $2 group by substr(closed_at, 1, 13)"
            }
            Measure::ParcelsHandedOver => {
                "select substr(at, 1, 13) as h, count(*) as n from cage_parcels
                 where at >= $1 and at < $2 group by substr(at, 1, 13)"
            }
        }
    }
}

/// How many of `m` happened in each UTC hour from `from` to `to` (instants as stored): the
/// hour as `YYYY-MM-DDTHH` and the count; hours without any are left out.
pub async fn per_hour(
    pool: &AnyPool,
    m: Measure,
    from: &str,
    to: &str,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query(m.per_hour_sql())
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("h")?, r.try_get("n")?)))
        .collect()
}

/// [`per_hour`] of each of `measures` over the same hours, in one statement: the counts of
/// `measures[i]` at `[i]`.
pub async fn per_hour_each(
    pool: &AnyPool,
    measures: &[Measure],
    from: &str,
    to: &str,
) -> Result<Vec<Vec<(String, i64)>>, sqlx::Error> {
    let sql = measures
        .iter()
        .enumerate()
        .map(|(i, m)| {
            format!(
                "select cast({i} as bigint) as m, h, n from ({}) x{i}",
                m.per_hour_sql()
            )
        })
        .collect::<Vec<_>>()
        .join(" union all ");
    let rows = sqlx::query(&sql)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?;
    let mut out = vec![Vec::new(); measures.len()];
    for r in &rows {
        let i: i64 = r.try_get("m")?;
        if let Some(slot) = usize::try_from(i).ok().and_then(|i| out.get_mut(i)) {
            slot.push((r.try_get("h")?, r.try_get("n")?));
        }
    }
    Ok(out)
}
