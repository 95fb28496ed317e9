//! Pick tasks of a wave, scan confirmations (with their idempotency keys and undo) and pick
//! exceptions.

use super::*;

use crate::domain::wave::PickStatus;
use sqlx::{any::AnyRow, AnyConnection, AnyPool, Row};

/// Points a pick task at another lot (its reservation moved there).
pub async fn move_pick(
    conn: &mut AnyConnection,
    pick_id: i64,
    unit_id: i64,
    lot: &str,
    expiry: &str,
    reservation_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("update picks set stock_unit_id = $1, lot = $2, expiry = $3, reservation_id = $4 where id = $5")
        .bind(unit_id)
        .bind(lot)
        .bind(expiry)
        .bind(reservation_id)
        .bind(pick_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Creates pick tasks for the open reservations of these orders, numbered after `after_seq` in
/// walking order. Returns how many were made.
pub async fn create_picks(
    conn: &mut AnyConnection,
    wave_id: i64,
    reservation_ids: &[i64],
    after_seq: i64,
) -> Result<i64, sqlx::Error> {
    if reservation_ids.is_empty() {
        return Ok(0);
    }
    let sql = format!(
        "select r.id, r.order_id, r.line_id, r.stock_unit_id, r.qty, s.location, l.walk_seq, s.gtin, s.lot, s.expiry, o.tote
         from reservations r join stock_units s on s.id = r.stock_unit_id join locations l on l.code = s.location
         join orders o on o.id = r.order_id
         where r.id in ({}) and r.qty > 0 order by l.walk_seq, s.location, o.id, r.id",
        placeholders(1, reservation_ids.len())
    );
    let mut q = sqlx::query(&sql);
    for id in reservation_ids {
        q = q.bind(id);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    let mut seq = after_seq;
    for r in &rows {
        seq += 1;
        sqlx::query(
            "insert into picks (wave_id, order_id, line_id, reservation_id, seq, walk_seq, location, stock_unit_id,
                gtin, lot, expiry, tote, quantity, status)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'open')",
        )
        .bind(wave_id)
        .bind(r.try_get::<i64, _>("order_id")?)
        .bind(r.try_get::<i64, _>("line_id")?)
        .bind(r.try_get::<i64, _>("id")?)
        .bind(seq)
        .bind(r.try_get::<i64, _>("walk_seq")?)
        .bind(r.try_get::<String, _>("location")?)
        .bind(r.try_get::<i64, _>("stock_unit_id")?)
        .bind(r.try_get::<String, _>("gtin")?)
        .bind(r.try_get::<String, _>("lot")?)
        .bind(r.try_get::<String, _>("expiry")?)
        .bind(r.try_get::<Option<String>, _>("tote")?.unwrap_or_default())
        .bind(r.try_get::<i64, _>("qty")?)
        .execute(&mut *conn)
        .await?;
    }
    Ok(rows.len() as i64)
}

/// One pick task with what the picker needs to see.
#[derive(Debug, Clone)]
pub struct PickRow {
    pub id: i64,
    pub wave_id: i64,
    pub seq: i64,
    pub order_id: i64,
    pub external_id: String,
    pub line_id: i64,
    pub reservation_id: i64,
    pub location: String,
    pub stock_unit_id: i64,
    pub gtin: String,
    pub product_name: String,
    pub lot: String,
    pub expiry: String,
    pub tote: String,
    pub quantity: i64,
    pub picked: i64,
    pub status: PickStatus,
    pub location_ok: bool,
    /// The order's tote was scanned in this wave.
    pub tote_ok: bool,
    pub cut: bool,
    pub min_shelf_life_days: i64,
    pub delivery_date: String,
}

pub(crate) const PICK_SELECT: &str = "select k.id, k.wave_id, k.seq, k.order_id, o.external_id, k.line_id, k.reservation_id, k.location,
    k.stock_unit_id, k.gtin, p.name, k.lot, k.expiry, k.tote, k.quantity, k.picked, k.status, k.location_ok, k.tote_ok,
    (case when l.cut_shape is null then 0 else 1 end) as cut, p.min_shelf_life_days, o.delivery_date
    from picks k join orders o on o.id = k.order_id join products p on p.gtin = k.gtin
    join order_lines l on l.id = k.line_id";

fn pick_row(r: &AnyRow) -> Result<PickRow, sqlx::Error> {
    Ok(PickRow {
        id: r.try_get("id")?,
        wave_id: r.try_get("wave_id")?,
        seq: r.try_get("seq")?,
        order_id: r.try_get("order_id")?,
        external_id: r.try_get("external_id")?,
        line_id: r.try_get("line_id")?,
        reservation_id: r.try_get("reservation_id")?,
        location: r.try_get("location")?,
        stock_unit_id: r.try_get("stock_unit_id")?,
        gtin: r.try_get("gtin")?,
        product_name: r.try_get("name")?,
        lot: r.try_get("lot")?,
        expiry: r.try_get("expiry")?,
        tote: r.try_get("tote")?,
        quantity: r.try_get("quantity")?,
        picked: r.try_get("picked")?,
        status: crate::store::decode_state(
            &r.try_get::<String, _>("status")?,
            PickStatus::parse,
            "pick status",
        )?,
        location_ok: r.try_get::<i64, _>("location_ok")? == 1,
        tote_ok: r.try_get::<i64, _>("tote_ok")? == 1,
        cut: r.try_get::<i64, _>("cut")? == 1,
        min_shelf_life_days: r.try_get("min_shelf_life_days")?,
        delivery_date: r.try_get("delivery_date")?,
    })
}

pub async fn picks_of_wave(
    conn: &mut AnyConnection,
    wave_id: i64,
) -> Result<Vec<PickRow>, sqlx::Error> {
    let sql = format!("{PICK_SELECT} where k.wave_id = $1 order by k.seq");
    let rows = sqlx::query(&sql).bind(wave_id).fetch_all(conn).await?;
    rows.iter().map(pick_row).collect()
}

/// The next open pick of a wave (lowest sequence number).
pub async fn next_pick(
    conn: &mut AnyConnection,
    wave_id: i64,
) -> Result<Option<PickRow>, sqlx::Error> {
    let sql =
        format!("{PICK_SELECT} where k.wave_id = $1 and k.status = 'open' order by k.seq limit 1");
    sqlx::query(&sql)
        .bind(wave_id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(pick_row)
        .transpose()
}

pub async fn pick(conn: &mut AnyConnection, id: i64) -> Result<Option<PickRow>, sqlx::Error> {
    let sql = format!("{PICK_SELECT} where k.id = $1");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(pick_row)
        .transpose()
}

pub async fn max_seq(conn: &mut AnyConnection, wave_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query("select cast(coalesce(max(seq), 0) as bigint) as m from picks where wave_id = $1")
        .bind(wave_id)
        .fetch_one(conn)
        .await?
        .try_get("m")
}

/// The order's tote was scanned: every pick of the order in the wave knows it.
pub async fn set_tote_ok(
    conn: &mut AnyConnection,
    wave_id: i64,
    order_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("update picks set tote_ok = 1 where wave_id = $1 and order_id = $2")
        .bind(wave_id)
        .bind(order_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_location_ok(conn: &mut AnyConnection, pick_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update picks set location_ok = 1 where id = $1")
        .bind(pick_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Adds `delta` (negative on undo) to a pick's picked count and sets its status.
pub async fn add_picked(
    conn: &mut AnyConnection,
    pick_id: i64,
    line_id: i64,
    delta: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update picks set picked = picked + $1,
            status = case when picked + $1 >= quantity then 'done' else 'open' end
         where id = $2",
    )
    .bind(delta)
    .bind(pick_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("update order_lines set picked = picked + $1 where id = $2")
        .bind(delta)
        .bind(line_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_pick_short(conn: &mut AnyConnection, pick_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update picks set status = 'short' where id = $1")
        .bind(pick_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Lots of a product at a location, with free packs: (unit id, lot, expiry, free).
pub async fn lots_at(
    conn: &mut AnyConnection,
    location: &str,
    gtin: &str,
) -> Result<Vec<(i64, String, String, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, lot, expiry, qty - reserved as free from stock_units
         where location = $1 and gtin = $2 and status = 'available' and qty > 0 order by expiry, id",
    )
    .bind(location)
    .bind(gtin)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get("lot")?,
                r.try_get("expiry")?,
                r.try_get("free")?,
            ))
        })
        .collect()
}

/// A recorded pick confirmation.
#[derive(Debug, Clone)]
pub struct ConfirmRow {
    pub id: i64,
    pub pick_id: i64,
    pub from_unit: i64,
    pub to_unit: i64,
    pub qty: i64,
    pub op_id: i64,
    pub undone: bool,
}

fn confirm_row(r: &AnyRow) -> Result<ConfirmRow, sqlx::Error> {
    Ok(ConfirmRow {
        id: r.try_get("id")?,
        pick_id: r.try_get("pick_id")?,
        from_unit: r.try_get("from_unit")?,
        to_unit: r.try_get("to_unit")?,
        qty: r.try_get("qty")?,
        op_id: r.try_get("op_id")?,
        undone: r.try_get::<i64, _>("undone")? == 1,
    })
}

pub async fn confirm_by_key(
    conn: &mut AnyConnection,
    key: &str,
) -> Result<Option<ConfirmRow>, sqlx::Error> {
    sqlx::query("select id, pick_id, from_unit, to_unit, qty, op_id, undone from pick_confirms where scan_key = $1")
        .bind(key)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(confirm_row)
        .transpose()
}

pub async fn last_confirm(
    conn: &mut AnyConnection,
    wave_id: i64,
) -> Result<Option<ConfirmRow>, sqlx::Error> {
    sqlx::query(
        "select id, pick_id, from_unit, to_unit, qty, op_id, undone from pick_confirms
         where wave_id = $1 and undone = 0 order by id desc limit 1",
    )
    .bind(wave_id)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(confirm_row)
    .transpose()
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_confirm(
    conn: &mut AnyConnection,
    wave_id: i64,
    pick_id: i64,
    key: &str,
    from_unit: i64,
    to_unit: i64,
    qty: i64,
    op_id: i64,
    actor: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "insert into pick_confirms (wave_id, pick_id, scan_key, from_unit, to_unit, qty, op_id, actor, at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
    )
    .bind(wave_id)
    .bind(pick_id)
    .bind(key)
    .bind(from_unit)
    .bind(to_unit)
    .bind(qty)
    .bind(op_id)
    .bind(actor)
    .bind(crate::store::now_db())
    .fetch_one(conn)
    .await?
    .try_get("id")
}

pub async fn mark_undone(conn: &mut AnyConnection, confirm_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update pick_confirms set undone = 1 where id = $1")
        .bind(confirm_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A short pick or other exception, for the lead.
#[derive(Debug, Clone)]
pub struct PickException {
    pub id: i64,
    pub wave_id: i64,
    pub pick_id: i64,
    pub order_id: i64,
    pub kind: String,
    pub location: String,
    pub gtin: String,
    pub expected: i64,
    pub found: i64,
    pub reallocated: i64,
    pub note: Option<String>,
    pub actor: String,
    pub at: String,
}

pub struct NewException<'a> {
    pub wave_id: i64,
    pub pick_id: i64,
    pub order_id: i64,
    pub kind: &'a str,
    pub location: &'a str,
    pub gtin: &'a str,
    pub expected: i64,
    pub found: i64,
    pub reallocated: i64,
    pub note: Option<&'a str>,
    pub actor: &'a str,
}

pub async fn insert_exception(
    conn: &mut AnyConnection,
    e: &NewException<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "insert into pick_exceptions (wave_id, pick_id, order_id, kind, location, gtin, expected, found, reallocated, note, actor, at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) returning id",
    )
    .bind(e.wave_id)
    .bind(e.pick_id)
    .bind(e.order_id)
    .bind(e.kind)
    .bind(e.location)
    .bind(e.gtin)
    .bind(e.expected)
    .bind(e.found)
    .bind(e.reallocated)
    .bind(e.note)
    .bind(e.actor)
    .bind(crate::store::now_db())
    .fetch_one(conn)
    .await?
    .try_get("id")
}

const EXCEPTION_COLS: &str = "id, wave_id, pick_id, order_id, kind, location, gtin, expected, found, reallocated, note, actor, at";

fn exception_row(r: &AnyRow) -> Result<PickException, sqlx::Error> {
    Ok(PickException {
        id: r.try_get("id")?,
        wave_id: r.try_get("wave_id")?,
        pick_id: r.try_get("pick_id")?,
        order_id: r.try_get("order_id")?,
        kind: r.try_get("kind")?,
        location: r.try_get("location")?,
        gtin: r.try_get("gtin")?,
        expected: r.try_get("expected")?,
        found: r.try_get("found")?,
        reallocated: r.try_get("reallocated")?,
        note: r.try_get("note")?,
        actor: r.try_get("actor")?,
        at: r.try_get("at")?,
    })
}

pub async fn exceptions_of_wave(
    conn: &mut AnyConnection,
    wave_id: i64,
) -> Result<Vec<PickException>, sqlx::Error> {
    let sql =
        format!("select {EXCEPTION_COLS} from pick_exceptions where wave_id = $1 order by id");
    let rows = sqlx::query(&sql).bind(wave_id).fetch_all(conn).await?;
    rows.iter().map(exception_row).collect()
}

/// The newest pick exceptions, newest first.
pub async fn recent_exceptions(
    pool: &AnyPool,
    limit: i64,
) -> Result<Vec<PickException>, sqlx::Error> {
    let sql = format!("select {EXCEPTION_COLS} from pick_exceptions order by id desc limit $1");
    let rows = sqlx::query(&sql).bind(limit).fetch_all(pool).await?;
    rows.iter().map(exception_row).collect()
}

/// Open picks left in a wave.
pub async fn open_picks(conn: &mut AnyConnection, wave_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query("select count(*) as n from picks where wave_id = $1 and status = 'open'")
        .bind(wave_id)
        .fetch_one(conn)
        .await?
        .try_get("n")
}

/// The stored payload of a `pick.confirmed` event (both write paths use it).
pub fn pick_confirmed_payload(
    wave_id: i64,
    pick: &PickRow,
    qty: i64,
    by: &str,
) -> serde_json::Value {
    serde_json::json!({ "wave_id": wave_id, "pick_id": pick.id, "order": pick.external_id, "gtin": pick.gtin,
             "lot": pick.lot, "qty": qty, "tote": pick.tote, "by": by })
}

/// Records a refused pick scan (once per scan key) for the lead's dashboard.
pub async fn insert_refusal(
    conn: &mut AnyConnection,
    wave_id: i64,
    key: &str,
    code: &str,
    actor: &str,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "insert into pick_refusals (wave_id, scan_key, code, actor, at) values ($1, $2, $3, $4, $5)
         on conflict (scan_key) do nothing",
    )
    .bind(wave_id)
    .bind(key)
    .bind(code)
    .bind(actor)
    .bind(crate::store::now_db())
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}
