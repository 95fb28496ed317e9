//! Returned parcels: one return per parcel, with the ledger operation that put its packs into
//! quarantine.

use sqlx::{any::AnyRow, AnyConnection, AnyPool, Row};

/// A returned parcel (no personal data).
#[derive(Debug, Clone)]
pub struct ReturnRow {
    pub id: i64,
    pub parcel_id: i64,
    pub sscc: Option<String>,
    pub order: String,
    /// The ledger operation that took the packs in.
    pub op_id: i64,
    pub location: String,
    pub packs: i64,
    pub returned_by: String,
    pub returned_at: String,
}

const SELECT: &str = "select r.id, r.parcel_id, p.sscc, o.external_id, r.op_id, r.location, r.packs, r.returned_by, r.returned_at
     from parcel_returns r join parcels p on p.id = r.parcel_id join orders o on o.id = p.order_id";

fn row(r: &AnyRow) -> Result<ReturnRow, sqlx::Error> {
    Ok(ReturnRow {
        id: r.try_get("id")?,
        parcel_id: r.try_get("parcel_id")?,
        sscc: r.try_get("sscc")?,
        order: r.try_get("external_id")?,
        op_id: r.try_get("op_id")?,
        location: r.try_get("location")?,
        packs: r.try_get("packs")?,
        returned_by: r.try_get("returned_by")?,
        returned_at: r.try_get("returned_at")?,
    })
}

pub async fn of_parcel(
    conn: &mut AnyConnection,
    parcel_id: i64,
) -> Result<Option<ReturnRow>, sqlx::Error> {
    sqlx::query(&format!("{SELECT} where r.parcel_id = $1"))
        .bind(parcel_id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(row)
        .transpose()
}

pub async fn list(pool: &AnyPool, limit: i64) -> Result<Vec<ReturnRow>, sqlx::Error> {
    let rows = sqlx::query(&format!("{SELECT} order by r.id desc limit $1"))
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(row).collect()
}

pub struct NewReturn<'a> {
    pub parcel_id: i64,
    pub scan_id: &'a str,
    pub op_id: i64,
    pub location: &'a str,
    pub packs: i64,
    pub by: &'a str,
}

pub async fn insert(conn: &mut AnyConnection, r: &NewReturn<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into parcel_returns (parcel_id, scan_id, op_id, location, packs, returned_by, returned_at)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(r.parcel_id)
    .bind(r.scan_id)
    .bind(r.op_id)
    .bind(r.location)
    .bind(r.packs)
    .bind(r.by)
    .bind(super::now_db())
    .execute(conn)
    .await?;
    Ok(())
}

/// The location exists and is a quarantine location.
pub async fn is_quarantine_location(
    conn: &mut AnyConnection,
    code: &str,
) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("select 1 as one from locations where code = $1 and kind = 'quarantine'")
            .bind(code)
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}
