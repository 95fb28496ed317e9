//! Bulk writes of a generated history (`konsign demo history`, `service::demo_history`): a day's
//! orders with their picks, cuts, parcels, handovers and deliveries, as multi-row inserts in one
//! transaction per day, on both backends. The ids are given by the generator (it links the
//! rows), so PostgreSQL's identity columns are written with `overriding system value` and moved
//! past the new rows at the end (`finish`).

mod rows;
mod ship;
mod write;

use super::{Backend, Db};
use sqlx::{AnyPool, Row};

pub use write::write_day;

/// A generated order, delivered or on its way; instants as stored (`domain::time::to_db`).
#[derive(Debug, Clone)]
pub struct Order {
    pub id: i64,
    pub external_id: String,
    pub status: &'static str,
    /// (code, name, EAN) of the municipality that pays.
    pub payer: (&'static str, &'static str, &'static str),
    pub citizen_id: String,
    pub recipient_name: String,
    pub address_line1: String,
    pub postcode: String,
    pub city: String,
    pub delivery_date: String,
    pub has_cut: bool,
    pub wave_id: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// An order line, picked in full; `cut` is (shape, size in mm) of a cut-to-fit plate.
#[derive(Debug, Clone)]
pub struct Line {
    pub id: i64,
    pub order_id: i64,
    pub line_no: i64,
    pub gtin: String,
    pub quantity: i64,
    pub cut: Option<(&'static str, i64)>,
    /// The reservation (used up) and the pick that took it.
    pub reservation_id: i64,
    pub pick_id: i64,
    pub unit_id: i64,
    pub location: String,
    pub lot: String,
    pub expiry: String,
    pub picked_at: String,
    pub picker: String,
}

/// A wave of picks, done.
#[derive(Debug, Clone)]
pub struct Wave {
    pub id: i64,
    pub picker: String,
    pub created_at: String,
    pub done_at: String,
}

/// A cutting job, finished at `station`.
#[derive(Debug, Clone)]
pub struct CutJob {
    pub seq: i64,
    pub order_id: i64,
    pub line_id: i64,
    pub line_ref: String,
    pub gtin: String,
    pub lot: String,
    pub expiry: String,
    pub quantity: i64,
    pub shape: &'static str,
    pub station: Option<String>,
    pub queued_at: String,
    pub finished_at: String,
}

/// A parcel, closed, booked and handed over (delivered when `delivered_at` is set).
#[derive(Debug, Clone)]
pub struct Parcel {
    pub id: i64,
    pub order_id: i64,
    pub station: String,
    pub packer: String,
    pub sscc: String,
    pub weight_g: i64,
    pub opened_at: String,
    pub closed_at: String,
    pub booking_id: i64,
    pub carrier: String,
    pub tracking_number: String,
    pub cage_id: i64,
    pub handed_at: String,
    pub delivered_at: Option<String>,
}

/// A carrier's cage of one day, closed.
#[derive(Debug, Clone)]
pub struct Cage {
    pub id: i64,
    pub code: String,
    pub carrier: String,
    pub day: String,
    pub opened_at: String,
    pub closed_at: String,
}

/// A refused pick scan.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub wave_id: i64,
    pub key: String,
    pub code: &'static str,
    pub actor: String,
    pub at: String,
}

/// One generated day.
#[derive(Debug, Clone, Default)]
pub struct Day {
    pub orders: Vec<Order>,
    pub lines: Vec<Line>,
    pub waves: Vec<Wave>,
    pub cut_jobs: Vec<CutJob>,
    pub parcels: Vec<Parcel>,
    pub cages: Vec<Cage>,
    pub refusals: Vec<Refusal>,
    /// The day's stock operation that the pick confirmations name (`history:pick:<day>`); the
    /// history moves no stock, so it has no ledger rows.
    pub op: Option<(i64, String, String)>,
    /// The actor of the day's operations.
    pub actor: String,
}

/// The highest id in use per table, from which the generator counts on.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ids {
    pub orders: i64,
    pub order_lines: i64,
    pub reservations: i64,
    pub waves: i64,
    pub picks: i64,
    pub stock_ops: i64,
    pub cut_jobs: i64,
    pub parcels: i64,
    pub bookings: i64,
    pub cages: i64,
}

pub async fn ids(pool: &AnyPool) -> Result<Ids, sqlx::Error> {
    let r = sqlx::query(
        "select (select coalesce(max(id), 0) from orders) as orders,
                (select coalesce(max(id), 0) from order_lines) as order_lines,
                (select coalesce(max(id), 0) from reservations) as reservations,
                (select coalesce(max(id), 0) from waves) as waves,
                (select coalesce(max(id), 0) from picks) as picks,
                (select coalesce(max(id), 0) from stock_ops) as stock_ops,
                (select coalesce(max(seq), 0) from cut_jobs) as cut_jobs,
                (select coalesce(max(id), 0) from parcels) as parcels,
                (select coalesce(max(id), 0) from bookings) as bookings,
                (select coalesce(max(id), 0) from cages) as cages",
    )
    .fetch_one(pool)
    .await?;
    Ok(Ids {
        orders: r.try_get("orders")?,
        order_lines: r.try_get("order_lines")?,
        reservations: r.try_get("reservations")?,
        waves: r.try_get("waves")?,
        picks: r.try_get("picks")?,
        stock_ops: r.try_get("stock_ops")?,
        cut_jobs: r.try_get("cut_jobs")?,
        parcels: r.try_get("parcels")?,
        bookings: r.try_get("bookings")?,
        cages: r.try_get("cages")?,
    })
}

/// A product the history orders, with one unit of its stock at a pick location:
/// (gtin, cut to fit, unit id, location, lot, expiry, weight in g).
pub type Stocked = (String, bool, i64, String, String, String, i64);

pub async fn stocked_products(pool: &AnyPool) -> Result<Vec<Stocked>, sqlx::Error> {
    let rows = sqlx::query(
        "select p.gtin as gtin, p.cut_to_fit as cut, coalesce(p.weight_g, 100) as weight,
                u.id as unit, u.location as location, u.lot as lot, u.expiry as expiry
         from products p join stock_units u on u.gtin = p.gtin
         join locations l on l.code = u.location
         where l.kind = 'pick' and u.status = 'available'
           and u.id = (select min(u2.id) from stock_units u2 join locations l2 on l2.code = u2.location
                       where u2.gtin = p.gtin and l2.kind = 'pick' and u2.status = 'available')
         order by p.gtin",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("gtin")?,
                r.try_get::<i64, _>("cut")? != 0,
                r.try_get("unit")?,
                r.try_get("location")?,
                r.try_get("lot")?,
                r.try_get("expiry")?,
                r.try_get("weight")?,
            ))
        })
        .collect()
}

/// The keys of the days written already (`history:pick:<day>`).
pub async fn written_days(
    pool: &AnyPool,
) -> Result<std::collections::HashSet<String>, sqlx::Error> {
    sqlx::query("select idempotency_key from stock_ops where idempotency_key like 'history:pick:%'")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| r.try_get("idempotency_key"))
        .collect()
}

/// The cutting stations' ids.
pub async fn cut_stations(pool: &AnyPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query("select id from cut_stations order by id")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect()
}

/// After the last day: PostgreSQL's identity columns continue after the generated ids, and the
/// new rows are vacuumed and analysed. Without statistics its planner read whole tables for the
/// dashboard's few rows of today until autovacuum came by (100 ms instead of 2); without the
/// vacuum no page is marked all-visible, so the counts that an index alone could answer read
/// every row too, and the first reader of each page sets its hint bits and writes it again.
pub async fn finish(db: &Db) -> Result<(), sqlx::Error> {
    if db.backend() != Backend::Postgres {
        return Ok(());
    }
    sqlx::query("vacuum (analyze)").execute(db.pool()).await?;
    for (table, col) in [
        ("orders", "id"),
        ("order_lines", "id"),
        ("reservations", "id"),
        ("waves", "id"),
        ("picks", "id"),
        ("stock_ops", "id"),
        ("cut_jobs", "seq"),
        ("parcels", "id"),
        ("bookings", "id"),
        ("cages", "id"),
    ] {
        sqlx::query(&format!(
            "select setval(pg_get_serial_sequence('{table}', '{col}'), (select max({col}) from {table}))
             where exists (select 1 from {table})"
        ))
        .execute(db.pool())
        .await?;
    }
    Ok(())
}

/// At the very end (after the reports' days are counted): what the generator wrote is made
/// durable in the database files, so that the service's first minutes do not share the disk
/// and the CPU with writing back gigabytes.
///
/// On SQLite the WAL is copied back and emptied. The generator writes without a pause, so the
/// background's passive checkpoints never catch up with it and its WAL grows to gigabytes; left
/// so, the service's first checkpoint would copy and sync all of it while its first requests
/// wait on the disk. On PostgreSQL a `checkpoint` writes the dirty pages back (right after a
/// year was loaded, order intake ran at less than half its rate while PostgreSQL did that
/// itself); it needs a superuser or the `pg_checkpoint` role, and without it is only logged.
pub async fn settle(db: &Db) -> Result<(), sqlx::Error> {
    if db.backend() == Backend::Postgres {
        if let Err(e) = sqlx::query("checkpoint").execute(db.pool()).await {
            tracing::warn!(error = %e, "the generated history was not checkpointed; PostgreSQL writes it back in the background");
        }
        return Ok(());
    }
    let row = sqlx::query("pragma wal_checkpoint(truncate)")
        .fetch_one(db.pool())
        .await?;
    let busy: i64 = row.try_get(0)?;
    if busy != 0 {
        tracing::warn!("the generated history's WAL could not be emptied: a reader held it");
    }
    Ok(())
}
