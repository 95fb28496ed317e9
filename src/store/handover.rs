//! Cages (or trailers) per carrier, the parcels scanned onto them, and the scans they refused.

use crate::domain::handover::ParcelAtCage;
use sqlx::{any::AnyRow, AnyConnection, AnyPool, Row};

#[derive(Debug, Clone)]
pub struct CageRow {
    pub id: i64,
    pub code: String,
    pub carrier: String,
    pub day: String,
    /// open or closed.
    pub state: String,
    pub list_job: Option<String>,
    pub opened_by: String,
    pub opened_at: String,
    pub closed_by: Option<String>,
    pub closed_at: Option<String>,
    /// Parcels on it.
    pub parcels: i64,
}

const COLS: &str = "c.id, c.code, c.carrier, c.day, c.state, c.list_job, c.opened_by, c.opened_at, c.closed_by,
    c.closed_at, cast((select count(*) from cage_parcels cp where cp.cage_id = c.id) as bigint) as parcels";

fn row(r: &AnyRow) -> Result<CageRow, sqlx::Error> {
    Ok(CageRow {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        carrier: r.try_get("carrier")?,
        day: r.try_get("day")?,
        state: r.try_get("state")?,
        list_job: r.try_get("list_job")?,
        opened_by: r.try_get("opened_by")?,
        opened_at: r.try_get("opened_at")?,
        closed_by: r.try_get("closed_by")?,
        closed_at: r.try_get("closed_at")?,
        parcels: r.try_get("parcels")?,
    })
}

/// Opens a cage; its code is the carrier, the day and a running number.
pub async fn open(
    conn: &mut AnyConnection,
    carrier: &str,
    day: &str,
    actor: &str,
) -> Result<i64, sqlx::Error> {
    let n: i64 = sqlx::query(
        "select cast(count(*) as bigint) as n from cages where carrier = $1 and day = $2",
    )
    .bind(carrier)
    .bind(day)
    .fetch_one(&mut *conn)
    .await?
    .try_get("n")?;
    let code = format!(
        "CAGE-{}-{}-{}",
        carrier.to_ascii_uppercase(),
        day.replace('-', ""),
        n + 1
    );
    sqlx::query(
        "insert into cages (code, carrier, day, state, opened_by, opened_at) values ($1, $2, $3, 'open', $4, $5)
         returning id",
    )
    .bind(code)
    .bind(carrier)
    .bind(day)
    .bind(actor)
    .bind(super::now_db())
    .fetch_one(conn)
    .await?
    .try_get("id")
}

pub async fn cage(conn: &mut AnyConnection, id: i64) -> Result<Option<CageRow>, sqlx::Error> {
    let sql = format!("select {COLS} from cages c where c.id = $1");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(row)
        .transpose()
}

/// The cage row locked for a change (PostgreSQL).
pub async fn cage_for_update(
    conn: &mut AnyConnection,
    backend: super::Backend,
    id: i64,
) -> Result<Option<String>, sqlx::Error> {
    let sql = format!(
        "select state from cages where id = $1{}",
        super::for_update(backend)
    );
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .map(|r| r.try_get("state"))
        .transpose()
}

pub async fn list(pool: &AnyPool, state: Option<&str>) -> Result<Vec<CageRow>, sqlx::Error> {
    let sql = format!(
        "select {COLS} from cages c where ($1 is null or c.state = $1) order by c.id desc limit 200"
    );
    let rows = sqlx::query(&sql).bind(state).fetch_all(pool).await?;
    rows.iter().map(row).collect()
}

/// The parcel with this SSCC as the cage sees it.
pub async fn parcel_by_sscc(
    conn: &mut AnyConnection,
    sscc: &str,
) -> Result<Option<ParcelAtCage>, sqlx::Error> {
    let r = sqlx::query(
        "select p.id, p.state, p.booking_state, b.carrier,
                (select c.code from cage_parcels cp join cages c on c.id = cp.cage_id where cp.parcel_id = p.id) as cage
         from parcels p left join bookings b on b.parcel_id = p.id where p.sscc = $1",
    )
    .bind(sscc)
    .fetch_optional(conn)
    .await?;
    r.map(|r| {
        Ok(ParcelAtCage {
            parcel_id: r.try_get("id")?,
            state: r.try_get("state")?,
            booking_state: r.try_get("booking_state")?,
            carrier: r.try_get("carrier")?,
            cage: r.try_get("cage")?,
        })
    })
    .transpose()
}

pub async fn add(
    conn: &mut AnyConnection,
    cage_id: i64,
    parcel_id: i64,
    scan_key: &str,
    actor: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into cage_parcels (cage_id, parcel_id, scan_key, actor, at) values ($1, $2, $3, $4, $5)",
    )
    .bind(cage_id)
    .bind(parcel_id)
    .bind(scan_key)
    .bind(actor)
    .bind(super::now_db())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn scan_taken(conn: &mut AnyConnection, scan_key: &str) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("select 1 as one from cage_parcels where scan_key = $1")
            .bind(scan_key)
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}

pub async fn refusal(
    pool: &AnyPool,
    cage_id: i64,
    scanned: &str,
    code: &str,
    message: (&str, &str),
    actor: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into cage_refusals (cage_id, scanned, code, message, message_da, actor, at)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(cage_id)
    .bind(scanned)
    .bind(code)
    .bind(message.0)
    .bind(message.1)
    .bind(actor)
    .bind(super::now_db())
    .execute(pool)
    .await?;
    Ok(())
}

/// A parcel on a cage, for the handover list.
#[derive(Debug, Clone)]
pub struct CageParcel {
    pub parcel_id: i64,
    pub order_id: i64,
    pub sscc: String,
    pub tracking_number: Option<String>,
    pub seq: Option<i64>,
    pub parcels_total: Option<i64>,
    pub station: String,
}

const PARCEL_COLS: &str =
    "p.id, p.order_id, p.sscc, b.tracking_number, p.seq, p.parcels_total, p.station";

fn parcel_row(r: &AnyRow) -> Result<CageParcel, sqlx::Error> {
    Ok(CageParcel {
        parcel_id: r.try_get("id")?,
        order_id: r.try_get("order_id")?,
        sscc: r.try_get::<Option<String>, _>("sscc")?.unwrap_or_default(),
        tracking_number: r.try_get("tracking_number")?,
        seq: r.try_get("seq")?,
        parcels_total: r.try_get("parcels_total")?,
        station: r.try_get("station")?,
    })
}

pub async fn parcels_on(
    conn: &mut AnyConnection,
    cage_id: i64,
) -> Result<Vec<CageParcel>, sqlx::Error> {
    let sql = format!(
        "select {PARCEL_COLS} from cage_parcels cp join parcels p on p.id = cp.parcel_id
         left join bookings b on b.parcel_id = p.id where cp.cage_id = $1 order by cp.id"
    );
    let rows = sqlx::query(&sql).bind(cage_id).fetch_all(conn).await?;
    rows.iter().map(parcel_row).collect()
}

/// Booked parcels of a carrier on no cage: what the cage was expected to take.
pub async fn expected(
    conn: &mut AnyConnection,
    carrier: &str,
) -> Result<Vec<CageParcel>, sqlx::Error> {
    let sql = format!(
        "select {PARCEL_COLS} from parcels p join bookings b on b.parcel_id = p.id
         where b.carrier = $1 and b.state = 'booked' and p.state = 'closed' and p.booking_state = 'booked'
           and not exists (select 1 from cage_parcels cp where cp.parcel_id = p.id)
         order by p.id"
    );
    let rows = sqlx::query(&sql).bind(carrier).fetch_all(conn).await?;
    rows.iter().map(parcel_row).collect()
}

#[derive(Debug, Clone)]
pub struct Refused {
    pub scanned: String,
    pub code: String,
    pub message: String,
    pub message_da: String,
    pub at: String,
}

pub async fn refusals(conn: &mut AnyConnection, cage_id: i64) -> Result<Vec<Refused>, sqlx::Error> {
    let rows = sqlx::query(
        "select scanned, code, message, message_da, at from cage_refusals where cage_id = $1 order by id",
    )
    .bind(cage_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Refused {
                scanned: r.try_get("scanned")?,
                code: r.try_get("code")?,
                message: r.try_get("message")?,
                message_da: r.try_get("message_da")?,
                at: r.try_get("at")?,
            })
        })
        .collect()
}

/// Closes the cage and marks its parcels handed over.
pub async fn close(conn: &mut AnyConnection, cage_id: i64, actor: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update cages set state = 'closed', closed_by = $2, closed_at = $3 where id = $1 and state = 'open'",
    )
    .bind(cage_id)
    .bind(actor)
    .bind(super::now_db())
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "update parcels set booking_state = 'handed_over'
         where id in (select parcel_id from cage_parcels where cage_id = $1)",
    )
    .bind(cage_id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_list_job(
    conn: &mut AnyConnection,
    cage_id: i64,
    job: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("update cages set list_job = $2 where id = $1")
        .bind(cage_id)
        .bind(job)
        .execute(conn)
        .await?;
    Ok(())
}

/// True when every closed parcel of the order has been handed over.
pub async fn order_all_handed_over(
    conn: &mut AnyConnection,
    order_id: i64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "select 1 as one from parcels where order_id = $1 and state = 'closed' and booking_state <> 'handed_over'",
    )
    .bind(order_id)
    .fetch_optional(conn)
    .await?
    .is_none())
}
