//! Parcels: their rows, closing with an SSCC from the counter, numbering, voiding, and the
//! ownership transfers of what they hold.

use sqlx::{any::AnyRow, AnyConnection, AnyPool, Row};

/// A parcel as stored.
#[derive(Debug, Clone)]
pub struct ParcelRow {
    pub id: i64,
    pub order_id: i64,
    pub external_id: String,
    /// n of the order's parcels (set when it closes).
    pub seq: Option<i64>,
    /// open, closed or voided.
    pub state: String,
    pub station: String,
    pub tote: String,
    pub sscc: Option<String>,
    pub parcel_type: Option<String>,
    pub weight_g: Option<i64>,
    /// computed or scale.
    pub weight_source: Option<String>,
    /// m: how many parcels the order left in (set when its last parcel closes).
    pub parcels_total: Option<i64>,
    pub label_job: Option<String>,
    pub slip_job: Option<String>,
    /// none (open), waiting (closed, for the carrier booking) or void.
    pub booking_state: String,
    pub void_reason: Option<String>,
    pub opened_by: String,
    pub opened_at: String,
    pub closed_by: Option<String>,
    pub closed_at: Option<String>,
    pub voided_by: Option<String>,
    pub voided_at: Option<String>,
}

const PARCEL_SQL: &str = "select pa.id, pa.order_id, o.external_id, pa.seq, pa.state, pa.station, pa.tote, pa.sscc,
        pa.parcel_type, pa.weight_g, pa.weight_source, pa.parcels_total, pa.label_job, pa.slip_job, pa.booking_state,
        pa.void_reason, pa.opened_by, pa.opened_at, pa.closed_by, pa.closed_at, pa.voided_by, pa.voided_at
     from parcels pa join orders o on o.id = pa.order_id";

fn parcel_row(r: &AnyRow) -> Result<ParcelRow, sqlx::Error> {
    Ok(ParcelRow {
        id: r.try_get("id")?,
        order_id: r.try_get("order_id")?,
        external_id: r.try_get("external_id")?,
        seq: r.try_get("seq")?,
        state: r.try_get("state")?,
        station: r.try_get("station")?,
        tote: r.try_get("tote")?,
        sscc: r.try_get("sscc")?,
        parcel_type: r.try_get("parcel_type")?,
        weight_g: r.try_get("weight_g")?,
        weight_source: r.try_get("weight_source")?,
        parcels_total: r.try_get("parcels_total")?,
        label_job: r.try_get("label_job")?,
        slip_job: r.try_get("slip_job")?,
        booking_state: r.try_get("booking_state")?,
        void_reason: r.try_get("void_reason")?,
        opened_by: r.try_get("opened_by")?,
        opened_at: r.try_get("opened_at")?,
        closed_by: r.try_get("closed_by")?,
        closed_at: r.try_get("closed_at")?,
        voided_by: r.try_get("voided_by")?,
        voided_at: r.try_get("voided_at")?,
    })
}

pub async fn parcel(conn: &mut AnyConnection, id: i64) -> Result<Option<ParcelRow>, sqlx::Error> {
    let sql = format!("{PARCEL_SQL} where pa.id = $1");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(parcel_row)
        .transpose()
}

pub async fn parcel_by_close_key(
    conn: &mut AnyConnection,
    key: &str,
) -> Result<Option<ParcelRow>, sqlx::Error> {
    let sql = format!("{PARCEL_SQL} where pa.close_key = $1");
    sqlx::query(&sql)
        .bind(key)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(parcel_row)
        .transpose()
}

/// The order's parcels, oldest first.
pub async fn parcels_of_order(
    conn: &mut AnyConnection,
    order_id: i64,
) -> Result<Vec<ParcelRow>, sqlx::Error> {
    let sql = format!("{PARCEL_SQL} where pa.order_id = $1 order by pa.id");
    let rows = sqlx::query(&sql).bind(order_id).fetch_all(conn).await?;
    rows.iter().map(parcel_row).collect()
}

#[derive(Debug, Clone, Default)]
pub struct ParcelFilter {
    pub state: Option<String>,
    /// Closed at or after this instant, and before `until`.
    pub from: Option<String>,
    pub until: Option<String>,
    pub after_id: i64,
    pub limit: i64,
}

pub async fn list_parcels(pool: &AnyPool, f: &ParcelFilter) -> Result<Vec<ParcelRow>, sqlx::Error> {
    let sql = format!(
        "{PARCEL_SQL} where ($1 is null or pa.state = $1) and ($2 is null or pa.closed_at >= $2)
           and ($3 is null or pa.closed_at < $3) and pa.id > $4 order by pa.id limit $5"
    );
    let rows = sqlx::query(&sql)
        .bind(f.state.as_deref())
        .bind(f.from.as_deref())
        .bind(f.until.as_deref())
        .bind(f.after_id)
        .bind(f.limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(parcel_row).collect()
}

/// Closed parcels still in the warehouse (not handed over) whose label or packing slip never
/// reached a print job, oldest first: what a stop between closing and printing left. A parcel
/// that has left (a year of them, on a long-running or generated database) is not asked for.
pub async fn unprinted(pool: &AnyPool, limit: i64) -> Result<Vec<ParcelRow>, sqlx::Error> {
    let sql = format!(
        "{PARCEL_SQL} where pa.state = 'closed'
           and pa.booking_state in ('none', 'waiting', 'booked', 'rejected', 'void')
           and (pa.label_job is null or pa.slip_job is null) and pa.parcels_total is not null
         order by pa.id limit $1"
    );
    let rows = sqlx::query(&sql).bind(limit).fetch_all(pool).await?;
    rows.iter().map(parcel_row).collect()
}

pub async fn insert_parcel(
    conn: &mut AnyConnection,
    order_id: i64,
    station: &str,
    tote: &str,
    actor: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "insert into parcels (order_id, state, station, tote, opened_by, opened_at)
         values ($1, 'open', $2, $3, $4, $5) returning id",
    )
    .bind(order_id)
    .bind(station)
    .bind(tote)
    .bind(actor)
    .bind(super::now_db())
    .fetch_one(conn)
    .await?
    .try_get("id")
}

pub async fn set_parcel_station(
    conn: &mut AnyConnection,
    id: i64,
    station: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("update parcels set station = $2 where id = $1")
        .bind(id)
        .bind(station)
        .execute(conn)
        .await?;
    Ok(())
}

/// Takes the next serial of an SSCC prefix (starting at `first`): the counter row is updated in
/// the caller's transaction, so a serial is handed out once even across instances.
pub async fn take_sscc_serial(
    conn: &mut AnyConnection,
    prefix: &str,
    first: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "insert into sscc_counters (prefix, next_serial) values ($1, $2 + 1)
         on conflict (prefix) do update set next_serial =
             case when sscc_counters.next_serial < $2 then $2 + 1 else sscc_counters.next_serial + 1 end
         returning next_serial",
    )
    .bind(prefix)
    .bind(first)
    .fetch_one(conn)
    .await?
    .try_get::<i64, _>("next_serial")
    .map(|n| n - 1)
}

/// Takes `n` consecutive serials of an SSCC prefix at once (a generated history's parcels);
/// returns the first.
pub async fn take_sscc_serials(
    conn: &mut AnyConnection,
    prefix: &str,
    first: i64,
    n: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "insert into sscc_counters (prefix, next_serial) values ($1, $2 + $3)
         on conflict (prefix) do update set next_serial =
             case when sscc_counters.next_serial < $2 then $2 + $3 else sscc_counters.next_serial + $3 end
         returning next_serial",
    )
    .bind(prefix)
    .bind(first)
    .bind(n)
    .fetch_one(conn)
    .await?
    .try_get::<i64, _>("next_serial")
    .map(|next| next - n)
}

pub struct Closing<'a> {
    pub id: i64,
    pub sscc: &'a str,
    pub parcel_type: &'a str,
    pub weight_g: i64,
    pub weight_source: &'a str,
    pub close_key: Option<&'a str>,
    pub actor: &'a str,
}

pub async fn close_parcel(conn: &mut AnyConnection, c: &Closing<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update parcels set state = 'closed', sscc = $2, parcel_type = $3, weight_g = $4, weight_source = $5,
            close_key = $6, closed_by = $7, closed_at = $8, booking_state = 'waiting'
         where id = $1 and state = 'open'",
    )
    .bind(c.id)
    .bind(c.sscc)
    .bind(c.parcel_type)
    .bind(c.weight_g)
    .bind(c.weight_source)
    .bind(c.close_key)
    .bind(c.actor)
    .bind(super::now_db())
    .execute(conn)
    .await?;
    Ok(())
}

/// Numbers the order's closed parcels 1..m in closing order and sets m on each.
pub async fn number_parcels(conn: &mut AnyConnection, order_id: i64) -> Result<(), sqlx::Error> {
    let ids: Vec<i64> = sqlx::query(
        "select id from parcels where order_id = $1 and state = 'closed' order by closed_at, id",
    )
    .bind(order_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| r.try_get("id"))
    .collect::<Result<_, _>>()?;
    let total = ids.len() as i64;
    for (i, id) in ids.iter().enumerate() {
        sqlx::query("update parcels set seq = $2, parcels_total = $3 where id = $1")
            .bind(id)
            .bind(i as i64 + 1)
            .bind(total)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn set_jobs(
    conn: &mut AnyConnection,
    id: i64,
    label_job: Option<&str>,
    slip_job: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update parcels set label_job = coalesce($2, label_job), slip_job = coalesce($3, slip_job) where id = $1",
    )
    .bind(id)
    .bind(label_job)
    .bind(slip_job)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn void_parcel(
    conn: &mut AnyConnection,
    id: i64,
    reason: &str,
    actor: &str,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "update parcels set state = 'voided', booking_state = 'void', void_reason = $2, voided_by = $3, voided_at = $4
         where id = $1 and state = 'closed'",
    )
    .bind(id)
    .bind(reason)
    .bind(actor)
    .bind(super::now_db())
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// One lot's change of owner, as settlement reads it.
#[derive(Debug, Clone)]
pub struct TransferRow {
    pub op_id: i64,
    pub sscc: String,
    pub gtin: String,
    pub lot: String,
    pub expiry: String,
    /// Positive when ownership passed to the payer; negative when a void gave it back.
    pub quantity: i64,
    pub producer: String,
    pub payer: String,
    pub at: String,
}

pub struct NewTransfer<'a> {
    pub op_id: i64,
    pub parcel_id: i64,
    pub order_id: i64,
    pub sscc: &'a str,
    pub gtin: &'a str,
    pub lot: &'a str,
    pub expiry: &'a str,
    pub quantity: i64,
    pub producer: &'a str,
    pub payer: &'a str,
}

pub async fn insert_transfer(
    conn: &mut AnyConnection,
    t: &NewTransfer<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into ownership_transfers (op_id, parcel_id, order_id, sscc, gtin, lot, expiry, quantity, producer, payer, at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(t.op_id)
    .bind(t.parcel_id)
    .bind(t.order_id)
    .bind(t.sscc)
    .bind(t.gtin)
    .bind(t.lot)
    .bind(t.expiry)
    .bind(t.quantity)
    .bind(t.producer)
    .bind(t.payer)
    .bind(super::now_db())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn transfers_of_parcel(
    conn: &mut AnyConnection,
    parcel_id: i64,
) -> Result<Vec<TransferRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select op_id, sscc, gtin, lot, expiry, quantity, producer, payer, at from ownership_transfers
         where parcel_id = $1 order by id",
    )
    .bind(parcel_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TransferRow {
                op_id: r.try_get("op_id")?,
                sscc: r.try_get("sscc")?,
                gtin: r.try_get("gtin")?,
                lot: r.try_get("lot")?,
                expiry: r.try_get("expiry")?,
                quantity: r.try_get("quantity")?,
                producer: r.try_get("producer")?,
                payer: r.try_get("payer")?,
                at: r.try_get("at")?,
            })
        })
        .collect()
}

/// The order goes back to `picked` in `tote` (a voided parcel's packs are back in it).
pub async fn reopen_for_packing(
    conn: &mut AnyConnection,
    order_id: i64,
    tote: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("update orders set status = 'picked', tote = $2, updated_at = $3 where id = $1")
        .bind(order_id)
        .bind(tote)
        .bind(super::now_db())
        .execute(conn)
        .await?;
    Ok(())
}
