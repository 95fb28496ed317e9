//! Reservations: the allocator's candidate units, promising and giving back packs (conditional
//! updates on `stock_units.reserved`), and the reservation rows of order lines.

use super::*;

use crate::domain::allocation::Candidate;
use crate::domain::catalog::LocationKind;
use crate::domain::stock::StockStatus;
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;

/// Packs that backordered orders still wait for, per GTIN (of these GTINs). The `cross join`
/// makes SQLite start from the few backordered orders (by status) rather than from every line
/// of the product, which grows with every order taken in.
pub async fn backorder_claims(
    conn: &mut AnyConnection,
    gtins: &[String],
) -> Result<HashMap<String, i64>, sqlx::Error> {
    if gtins.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "select l.gtin, cast(sum(l.quantity - l.picked
                - coalesce((select sum(r.qty) from reservations r where r.line_id = l.id), 0)) as bigint) as open
         from orders o cross join order_lines l
         where l.order_id = o.id and o.status = 'backordered' and l.gtin in ({}) group by l.gtin",
        placeholders(1, gtins.len())
    );
    let mut q = sqlx::query(&sql);
    for g in gtins {
        q = q.bind(g);
    }
    q.fetch_all(conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("gtin")?, r.try_get("open")?)))
        .collect()
}

/// New reservations `(unit, line, qty)` of one order, in one statement.
pub async fn insert_reservations(
    conn: &mut AnyConnection,
    order_id: i64,
    takes: &[(i64, i64, i64)],
) -> Result<(), sqlx::Error> {
    if takes.is_empty() {
        return Ok(());
    }
    let values: Vec<String> = (0..takes.len())
        .map(|i| {
            let b = i * 3 + 2;
            format!("($1, $2, ${}, ${}, ${})", b + 1, b + 2, b + 3)
        })
        .collect();
    let sql = format!(
        "insert into reservations (order_id, created_at, line_id, stock_unit_id, qty) values {}",
        values.join(", ")
    );
    let mut q = sqlx::query(&sql)
        .bind(order_id)
        .bind(crate::store::now_db());
    for (unit, line, qty) in takes {
        q = q.bind(*line).bind(*unit).bind(*qty);
    }
    q.execute(conn).await?;
    Ok(())
}

/// Allocatable stock of these GTINs: available units in pick and reserve locations with free
/// packs. Sorted by unit id so that reservations are taken in one order (no deadlocks). The
/// `cross join` makes SQLite start from the product's units (by GTIN) rather than walk every
/// location; PostgreSQL plans it as an ordinary join.
pub async fn candidates(
    conn: &mut AnyConnection,
    gtins: &[String],
) -> Result<Vec<Candidate>, sqlx::Error> {
    if gtins.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "select s.id, s.gtin, s.lot, s.expiry, s.location, l.kind, l.walk_seq, s.status, s.qty - s.reserved as free
         from stock_units s cross join locations l
         where l.code = s.location and s.gtin in ({}) and s.qty > s.reserved and s.status = 'available'
           and l.kind in ('pick', 'reserve')
         order by s.id",
        placeholders(1, gtins.len())
    );
    let mut q = sqlx::query(&sql);
    for g in gtins {
        q = q.bind(g);
    }
    let rows = q.fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get("kind")?;
            let status: String = r.try_get("status")?;
            let expiry: String = r.try_get("expiry")?;
            Ok(Candidate {
                unit_id: r.try_get("id")?,
                gtin: r.try_get("gtin")?,
                lot: r.try_get("lot")?,
                expiry: date(&expiry),
                location: r.try_get("location")?,
                location_kind: LocationKind::parse(&kind).unwrap_or(LocationKind::Receiving),
                walk_seq: r.try_get("walk_seq")?,
                status: StockStatus::from_db(&status),
                free: r.try_get("free")?,
            })
        })
        .collect()
}

/// Locks every stock unit of these GTINs until the transaction ends, in id order (PostgreSQL;
/// SQLite serialises writers anyway). Taken before a step that both gives back and takes packs.
pub async fn lock_units_of(
    conn: &mut AnyConnection,
    backend: crate::store::Backend,
    gtins: &[String],
) -> Result<(), sqlx::Error> {
    if backend != crate::store::Backend::Postgres || gtins.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "select id from stock_units where gtin in ({}) order by id for update",
        placeholders(1, gtins.len())
    );
    let mut q = sqlx::query(&sql);
    for g in gtins {
        q = q.bind(g);
    }
    q.fetch_all(conn).await?;
    Ok(())
}

/// Promises `qty` more packs of a unit, only if that many are free. False when they are not
/// (another allocation got there first); nothing is written then.
pub async fn reserve(
    conn: &mut AnyConnection,
    unit_id: i64,
    qty: i64,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "update stock_units set reserved = reserved + $1 where id = $2 and qty - reserved >= $1",
    )
    .bind(qty)
    .bind(unit_id)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Promises packs of several units in one statement, each only if that many are free. Returns
/// the ids of the units that were promised; a unit missing from it had too little free (another
/// allocation got there first) and nothing was written for it.
pub async fn reserve_many(
    conn: &mut AnyConnection,
    takes: &[(i64, i64)],
) -> Result<Vec<i64>, sqlx::Error> {
    if takes.is_empty() {
        return Ok(Vec::new());
    }
    let case: String = (0..takes.len())
        .map(|i| format!(" when ${} then cast(${} as bigint)", 2 * i + 1, 2 * i + 2))
        .collect();
    let ids: Vec<String> = (0..takes.len())
        .map(|i| format!("${}", 2 * i + 1))
        .collect();
    let sql = format!(
        "update stock_units set reserved = reserved + (case id{case} end)
         where id in ({}) and qty - reserved >= (case id{case} end) returning id",
        ids.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for (unit, qty) in takes {
        q = q.bind(*unit).bind(*qty);
    }
    q.fetch_all(conn)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect()
}

/// Gives back `qty` promised packs of a unit.
pub async fn unreserve(
    conn: &mut AnyConnection,
    unit_id: i64,
    qty: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("update stock_units set reserved = reserved - $1 where id = $2")
        .bind(qty)
        .bind(unit_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Adds `qty` to the order line's reservation on a unit (creating it); returns its id.
pub async fn add_reservation(
    conn: &mut AnyConnection,
    order_id: i64,
    line_id: i64,
    unit_id: i64,
    qty: i64,
) -> Result<i64, sqlx::Error> {
    let found =
        sqlx::query("select id from reservations where line_id = $1 and stock_unit_id = $2")
            .bind(line_id)
            .bind(unit_id)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(r) = found {
        let id: i64 = r.try_get("id")?;
        sqlx::query("update reservations set qty = qty + $1 where id = $2")
            .bind(qty)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        return Ok(id);
    }
    new_reservation(conn, order_id, line_id, unit_id, qty).await
}

/// A new reservation row of `qty` packs (for a pick task of its own); returns its id.
pub async fn new_reservation(
    conn: &mut AnyConnection,
    order_id: i64,
    line_id: i64,
    unit_id: i64,
    qty: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "insert into reservations (order_id, line_id, stock_unit_id, qty, created_at) values ($1, $2, $3, $4, $5) returning id",
    )
    .bind(order_id)
    .bind(line_id)
    .bind(unit_id)
    .bind(qty)
    .bind(crate::store::now_db())
    .fetch_one(conn)
    .await?
    .try_get("id")
}

/// Raises a reservation by `qty` (an undone pick).
pub async fn restore_reservation(
    conn: &mut AnyConnection,
    reservation_id: i64,
    qty: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("update reservations set qty = qty + $1 where id = $2")
        .bind(qty)
        .bind(reservation_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Lowers a reservation by `qty` (never below zero).
pub async fn reduce_reservation(
    conn: &mut AnyConnection,
    reservation_id: i64,
    qty: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("update reservations set qty = qty - $1 where id = $2 and qty >= $1")
        .bind(qty)
        .bind(reservation_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// An open reservation: (id, line id, unit id, qty).
pub async fn reservations_of(
    conn: &mut AnyConnection,
    order_id: i64,
) -> Result<Vec<(i64, i64, i64, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, line_id, stock_unit_id, qty from reservations where order_id = $1 and qty > 0 order by id",
    )
    .bind(order_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get("line_id")?,
                r.try_get("stock_unit_id")?,
                r.try_get("qty")?,
            ))
        })
        .collect()
}

/// Releases every open reservation of an order (cancel, change, re-allocation).
pub async fn release_reservations(
    conn: &mut AnyConnection,
    order_id: i64,
) -> Result<(), sqlx::Error> {
    let mut open = reservations_of(conn, order_id).await?;
    open.sort_by_key(|r| r.2);
    for (id, _, unit, qty) in open {
        unreserve(conn, unit, qty).await?;
        sqlx::query("update reservations set qty = 0 where id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
