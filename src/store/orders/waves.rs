//! Pick waves: making them (candidates, totes, the wave-making lock), reading and changing them,
//! their orders and their progress.

use crate::domain::wave::WaveStatus;
use sqlx::{any::AnyRow, AnyConnection, AnyPool, Row};

/// Takes the lock that lets one wave be made at a time (PostgreSQL; SQLite serialises writers),
/// so that two leads never put one order or one tote into two waves.
pub async fn lock_wave_making(
    conn: &mut AnyConnection,
    backend: crate::store::Backend,
) -> Result<(), sqlx::Error> {
    if backend == crate::store::Backend::Postgres {
        sqlx::query("select pg_advisory_xact_lock($1)")
            .bind(WAVE_LOCK_KEY)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Any fixed number; it names the lock that orders wave making on PostgreSQL.
const WAVE_LOCK_KEY: i64 = 0x6b6f_6e73_6967_6e02;

/// Takes an order out of its wave and tote (nothing of it was picked).
pub async fn leave_wave(conn: &mut AnyConnection, order_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update orders set wave_id = null, tote = null where id = $1")
        .bind(order_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Orders ready for a wave (allocated, in no wave, to be delivered by `delivery_until` when
/// given): cut orders first, then by delivery date. Returns (order id, picks it needs).
pub async fn wave_candidates(
    conn: &mut AnyConnection,
    delivery_until: Option<&str>,
    limit: i64,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "select o.id, (select count(*) from reservations r where r.order_id = o.id and r.qty > 0) as n
         from orders o where o.status = 'allocated' and o.wave_id is null
           and ($1 is null or o.delivery_date <= $1)
         order by o.has_cut desc, o.delivery_date, o.id limit $2",
    )
    .bind(delivery_until)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("n")?)))
        .collect()
}

/// Tote locations not holding an order that is still on its way to packing.
pub async fn free_totes(conn: &mut AnyConnection, limit: i64) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(
        "select code from locations where kind = 'tote' and code not in
            (select tote from orders where tote is not null and status in ('picking', 'picked', 'cutting'))
         order by code limit $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| r.try_get("code")).collect()
}

pub async fn insert_wave(
    conn: &mut AnyConnection,
    picker: Option<&str>,
    max_orders: i64,
    max_lines: Option<i64>,
    actor: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "insert into waves (status, picker, max_orders, max_lines, created_by, created_at)
         values ($1, $2, $3, $4, $5, $6) returning id",
    )
    .bind(
        if picker.is_some() {
            WaveStatus::Assigned
        } else {
            WaveStatus::Open
        }
        .as_str(),
    )
    .bind(picker)
    .bind(max_orders)
    .bind(max_lines)
    .bind(actor)
    .bind(crate::store::now_db())
    .fetch_one(conn)
    .await?
    .try_get("id")
}

/// Puts an allocated order into a wave with its tote; false when it is no longer waiting for
/// a wave (nothing is written then).
pub async fn put_order_in_wave(
    conn: &mut AnyConnection,
    order_id: i64,
    wave_id: i64,
    tote: &str,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "update orders set wave_id = $1, tote = $2, status = 'picking', updated_at = $3
         where id = $4 and wave_id is null and status = 'allocated'",
    )
    .bind(wave_id)
    .bind(tote)
    .bind(crate::store::now_db())
    .bind(order_id)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// A wave's head row.
#[derive(Debug, Clone)]
pub struct WaveRow {
    pub id: i64,
    pub status: WaveStatus,
    pub picker: Option<String>,
    pub station: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub started_at: Option<String>,
    pub done_at: Option<String>,
}

pub(crate) const WAVE_COLS: &str =
    "id, status, picker, station, created_by, created_at, started_at, done_at";

fn wave_row(r: &AnyRow) -> Result<WaveRow, sqlx::Error> {
    Ok(WaveRow {
        id: r.try_get("id")?,
        status: crate::store::decode_state(
            &r.try_get::<String, _>("status")?,
            WaveStatus::parse,
            "wave status",
        )?,
        picker: r.try_get("picker")?,
        station: r.try_get("station")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        started_at: r.try_get("started_at")?,
        done_at: r.try_get("done_at")?,
    })
}

/// One wave; `lock` is appended to the query (`""` or `" for update"`).
async fn find_wave(
    conn: &mut AnyConnection,
    id: i64,
    lock: &str,
) -> Result<Option<WaveRow>, sqlx::Error> {
    let sql = format!("select {WAVE_COLS} from waves where id = $1{lock}");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(wave_row)
        .transpose()
}

/// Reads a wave for a change, locking its row on PostgreSQL until the transaction ends, so that
/// two scans of one wave are judged one after the other (SQLite serialises writers anyway).
pub async fn wave_for_update(
    conn: &mut AnyConnection,
    backend: crate::store::Backend,
    id: i64,
) -> Result<Option<WaveRow>, sqlx::Error> {
    find_wave(conn, id, crate::store::for_update(backend)).await
}

pub async fn wave(conn: &mut AnyConnection, id: i64) -> Result<Option<WaveRow>, sqlx::Error> {
    find_wave(conn, id, "").await
}

/// The wave a station's scanner picks for: the newest unfinished one taken at that station.
pub async fn wave_at_station(
    conn: &mut AnyConnection,
    station: &str,
) -> Result<Option<WaveRow>, sqlx::Error> {
    let sql = format!(
        "select {WAVE_COLS} from waves where station = $1 and status in ('assigned', 'picking') order by id desc limit 1"
    );
    sqlx::query(&sql)
        .bind(station)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(wave_row)
        .transpose()
}

pub async fn list_waves(
    pool: &AnyPool,
    unfinished_only: bool,
    limit: i64,
) -> Result<Vec<WaveRow>, sqlx::Error> {
    let sql = format!(
        "select {WAVE_COLS} from waves where ($1 = 0 or status <> 'done') order by id desc limit $2"
    );
    let rows = sqlx::query(&sql)
        .bind(i64::from(unfinished_only))
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(wave_row).collect()
}

/// Each order of a wave with its tote (order reference, tote), in the wave's pick order.
pub async fn wave_orders(
    conn: &mut AnyConnection,
    wave_id: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "select o.external_id, p.tote, min(p.seq) as first from picks p join orders o on o.id = p.order_id
         where p.wave_id = $1 group by o.external_id, p.tote order by first",
    )
    .bind(wave_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("external_id")?, r.try_get("tote")?)))
        .collect()
}

pub async fn set_wave(
    conn: &mut AnyConnection,
    id: i64,
    status: WaveStatus,
    picker: Option<&str>,
    station: Option<&str>,
) -> Result<(), sqlx::Error> {
    let now = crate::store::now_db();
    sqlx::query(
        "update waves set status = $1, picker = coalesce($2, picker), station = coalesce($3, station),
            started_at = case when $1 = 'picking' and started_at is null then $4 else started_at end,
            done_at = case when $1 = 'done' then $4 else done_at end
         where id = $5",
    )
    .bind(status.as_str())
    .bind(picker)
    .bind(station)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Orders of a wave still in picking: (order id, has cut lines, external id, tote).
pub async fn orders_of_wave(
    conn: &mut AnyConnection,
    wave_id: i64,
) -> Result<Vec<(i64, bool, String, Option<String>)>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, has_cut, external_id, tote from orders where wave_id = $1 and status = 'picking' order by id",
    )
    .bind(wave_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get::<i64, _>("has_cut")? == 1,
                r.try_get("external_id")?,
                r.try_get("tote")?,
            ))
        })
        .collect()
}

/// A wave's progress in one aggregate: (picks, done, short, open, packs, packs picked).
pub async fn wave_progress(
    conn: &mut AnyConnection,
    wave_id: i64,
) -> Result<(i64, i64, i64, i64, i64, i64), sqlx::Error> {
    let r = sqlx::query(
        "select count(*) as n,
            cast(coalesce(sum(case when status = 'done' then 1 else 0 end), 0) as bigint) as done,
            cast(coalesce(sum(case when status = 'short' then 1 else 0 end), 0) as bigint) as short,
            cast(coalesce(sum(case when status = 'open' then 1 else 0 end), 0) as bigint) as open,
            cast(coalesce(sum(quantity), 0) as bigint) as packs,
            cast(coalesce(sum(picked), 0) as bigint) as picked
         from picks where wave_id = $1",
    )
    .bind(wave_id)
    .fetch_one(conn)
    .await?;
    Ok((
        r.try_get("n")?,
        r.try_get("done")?,
        r.try_get("short")?,
        r.try_get("open")?,
        r.try_get("packs")?,
        r.try_get("picked")?,
    ))
}
