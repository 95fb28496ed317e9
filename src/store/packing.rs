//! Packing: what lies in a tote, the cut jobs and lot blocks it is judged against, what was
//! scanned into a parcel, pack station sessions, shorts found at packing, and lot blocks.

use sqlx::{any::AnyRow, AnyConnection, AnyPool, Row};

/// One stock unit lying in a tote, with its product.
#[derive(Debug, Clone)]
pub struct ToteUnit {
    pub unit_id: i64,
    pub gtin: String,
    pub product_name: String,
    pub producer: String,
    pub weight_g: Option<i64>,
    pub lot: String,
    pub expiry: String,
    pub owner: String,
    pub status: String,
    pub qty: i64,
}

pub async fn tote_units(
    conn: &mut AnyConnection,
    tote: &str,
) -> Result<Vec<ToteUnit>, sqlx::Error> {
    let rows = sqlx::query(
        "select s.id, s.gtin, p.name, p.producer, p.weight_g, s.lot, s.expiry, s.owner, s.status, s.qty
         from stock_units s join products p on p.gtin = s.gtin
         where s.location = $1 and s.qty > 0 order by s.gtin, s.expiry, s.lot, s.id",
    )
    .bind(tote)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ToteUnit {
                unit_id: r.try_get("id")?,
                gtin: r.try_get("gtin")?,
                product_name: r.try_get("name")?,
                producer: r.try_get("producer")?,
                weight_g: r.try_get("weight_g")?,
                lot: r.try_get("lot")?,
                expiry: r.try_get("expiry")?,
                owner: r.try_get("owner")?,
                status: r.try_get("status")?,
                qty: r.try_get("qty")?,
            })
        })
        .collect()
}

/// The order in a tote now: picked, in cutting or still picking (a packed order has left it).
pub async fn order_in_tote(
    conn: &mut AnyConnection,
    tote: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query(
        "select id from orders where tote = $1 and status in ('picking', 'picked', 'cutting')
         order by id desc limit 1",
    )
    .bind(tote)
    .fetch_optional(conn)
    .await?
    .map(|r| r.try_get("id"))
    .transpose()
}

/// True when another order than `order_id` holds the tote now.
pub async fn tote_taken(
    conn: &mut AnyConnection,
    tote: &str,
    order_id: i64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "select 1 as one from orders where tote = $1 and id <> $2 and status in ('picking', 'picked', 'cutting')",
    )
    .bind(tote)
    .bind(order_id)
    .fetch_optional(conn)
    .await?
    .is_some())
}

/// A cutting job of an order as the pack station needs it.
#[derive(Debug, Clone)]
pub struct CutJobRow {
    pub id: String,
    pub order_id: i64,
    pub line_id: i64,
    pub gtin: String,
    pub product_name: String,
    pub lot: String,
    pub expiry: String,
    pub quantity: i64,
    pub sticker: String,
    pub state: String,
    /// The parcel it was scanned into and that parcel's state, if any.
    pub parcel: Option<(i64, String)>,
}

const CUT_JOB_SQL: &str = "select j.id, j.order_id, j.line_id, j.gtin, p.name, j.lot, j.expiry, j.quantity, j.sticker, j.state,
        (select pi.parcel_id from parcel_items pi join parcels pa on pa.id = pi.parcel_id
          where pi.cut_job = j.id and pa.state <> 'voided' order by pi.id desc limit 1) as parcel_id,
        (select pa.state from parcel_items pi join parcels pa on pa.id = pi.parcel_id
          where pi.cut_job = j.id and pa.state <> 'voided' order by pi.id desc limit 1) as parcel_state
     from cut_jobs j join products p on p.gtin = j.gtin";

fn cut_job_row(r: &AnyRow) -> Result<CutJobRow, sqlx::Error> {
    let parcel: Option<i64> = r.try_get("parcel_id")?;
    let pstate: Option<String> = r.try_get("parcel_state")?;
    Ok(CutJobRow {
        id: r.try_get("id")?,
        order_id: r.try_get("order_id")?,
        line_id: r.try_get("line_id")?,
        gtin: r.try_get("gtin")?,
        product_name: r.try_get("name")?,
        lot: r.try_get("lot")?,
        expiry: r.try_get("expiry")?,
        quantity: r.try_get("quantity")?,
        sticker: r.try_get("sticker")?,
        state: r.try_get("state")?,
        parcel: parcel.zip(pstate),
    })
}

/// The order's cutting jobs that hold plates: finished ones, and ones still under way.
pub async fn cut_jobs_of_order(
    conn: &mut AnyConnection,
    order_id: i64,
) -> Result<Vec<CutJobRow>, sqlx::Error> {
    let sql = format!(
        "{CUT_JOB_SQL} where j.order_id = $1 and j.state not in ('failed', 'cancelled') order by j.seq"
    );
    let rows = sqlx::query(&sql).bind(order_id).fetch_all(conn).await?;
    rows.iter().map(cut_job_row).collect()
}

pub async fn cut_job(conn: &mut AnyConnection, id: &str) -> Result<Option<CutJobRow>, sqlx::Error> {
    let sql = format!("{CUT_JOB_SQL} where j.id = $1");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(cut_job_row)
        .transpose()
}

/// Active blocks on lots of these products: (gtin, lot, reason).
pub async fn blocks_of(
    conn: &mut AnyConnection,
    gtins: &[String],
) -> Result<Vec<(String, String, String)>, sqlx::Error> {
    if gtins.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "select gtin, lot, reason from lot_blocks where released_at is null and gtin in ({}) order by id",
        super::orders::placeholders(1, gtins.len())
    );
    let mut q = sqlx::query(&sql);
    for g in gtins {
        q = q.bind(g);
    }
    let rows = q.fetch_all(conn).await?;
    rows.iter()
        .map(|r| Ok((r.try_get("gtin")?, r.try_get("lot")?, r.try_get("reason")?)))
        .collect()
}

/// What was scanned into a parcel.
#[derive(Debug, Clone)]
pub struct ItemRow {
    pub id: i64,
    pub parcel_id: i64,
    pub gtin: String,
    pub product_name: String,
    pub producer: String,
    pub weight_g: Option<i64>,
    pub lot: String,
    pub expiry: String,
    pub quantity: i64,
    pub cut_job: Option<String>,
    pub actor: String,
    pub at: String,
}

pub async fn items_of_parcel(
    conn: &mut AnyConnection,
    parcel_id: i64,
) -> Result<Vec<ItemRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select i.id, i.parcel_id, i.gtin, p.name, p.producer, p.weight_g, i.lot, i.expiry, i.quantity, i.cut_job, i.actor, i.at
         from parcel_items i join products p on p.gtin = i.gtin where i.parcel_id = $1 order by i.id",
    )
    .bind(parcel_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ItemRow {
                id: r.try_get("id")?,
                parcel_id: r.try_get("parcel_id")?,
                gtin: r.try_get("gtin")?,
                product_name: r.try_get("name")?,
                producer: r.try_get("producer")?,
                weight_g: r.try_get("weight_g")?,
                lot: r.try_get("lot")?,
                expiry: r.try_get("expiry")?,
                quantity: r.try_get("quantity")?,
                cut_job: r.try_get("cut_job")?,
                actor: r.try_get("actor")?,
                at: r.try_get("at")?,
            })
        })
        .collect()
}

/// The parcel an item scan key went into, if that scan was taken before.
pub async fn item_by_key(conn: &mut AnyConnection, key: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query("select parcel_id from parcel_items where scan_key = $1")
        .bind(key)
        .fetch_optional(conn)
        .await?
        .map(|r| r.try_get("parcel_id"))
        .transpose()
}

pub struct NewItem<'a> {
    pub parcel_id: i64,
    pub order_id: i64,
    pub scan_key: &'a str,
    pub gtin: &'a str,
    pub lot: &'a str,
    pub expiry: &'a str,
    pub quantity: i64,
    pub cut_job: Option<&'a str>,
    pub actor: &'a str,
}

pub async fn insert_item(conn: &mut AnyConnection, i: &NewItem<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into parcel_items (parcel_id, order_id, scan_key, gtin, lot, expiry, quantity, cut_job, actor, at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(i.parcel_id)
    .bind(i.order_id)
    .bind(i.scan_key)
    .bind(i.gtin)
    .bind(i.lot)
    .bind(i.expiry)
    .bind(i.quantity)
    .bind(i.cut_job)
    .bind(i.actor)
    .bind(super::now_db())
    .execute(conn)
    .await?;
    Ok(())
}

/// The order a pack station is packing.
pub async fn session(conn: &mut AnyConnection, station: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query("select order_id from pack_sessions where station = $1")
        .bind(station)
        .fetch_optional(conn)
        .await?
        .map(|r| r.try_get("order_id"))
        .transpose()
}

/// Binds the order to the station (and to no other station).
pub async fn put_session(
    conn: &mut AnyConnection,
    station: &str,
    order_id: i64,
    actor: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from pack_sessions where order_id = $1 and station <> $2")
        .bind(order_id)
        .bind(station)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "insert into pack_sessions (station, order_id, actor, at) values ($1, $2, $3, $4)
         on conflict (station) do update set order_id = excluded.order_id, actor = excluded.actor, at = excluded.at",
    )
    .bind(station)
    .bind(order_id)
    .bind(actor)
    .bind(super::now_db())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn end_sessions_of(conn: &mut AnyConnection, order_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("delete from pack_sessions where order_id = $1")
        .bind(order_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A pack found damaged at packing.
#[derive(Debug, Clone)]
pub struct ShortRow {
    pub id: i64,
    pub order_id: i64,
    pub line_id: i64,
    pub gtin: String,
    pub lot: String,
    pub quantity: i64,
    pub reason: String,
    /// picking (a replacement wave is out) or short (no stock: a lead must act).
    pub state: String,
    pub wave_id: Option<i64>,
    pub actor: String,
    pub at: String,
}

pub struct NewShort<'a> {
    pub order_id: i64,
    pub line_id: i64,
    pub gtin: &'a str,
    pub lot: &'a str,
    pub quantity: i64,
    pub reason: &'a str,
    pub state: &'a str,
    pub wave_id: Option<i64>,
    pub request_key: Option<&'a str>,
    pub actor: &'a str,
}

pub async fn insert_short(conn: &mut AnyConnection, s: &NewShort<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "insert into pack_shorts (order_id, line_id, gtin, lot, quantity, reason, state, wave_id, request_key, actor, at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning id",
    )
    .bind(s.order_id)
    .bind(s.line_id)
    .bind(s.gtin)
    .bind(s.lot)
    .bind(s.quantity)
    .bind(s.reason)
    .bind(s.state)
    .bind(s.wave_id)
    .bind(s.request_key)
    .bind(s.actor)
    .bind(super::now_db())
    .fetch_one(conn)
    .await?
    .try_get("id")
}

pub async fn short_by_key(conn: &mut AnyConnection, key: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query("select order_id from pack_shorts where request_key = $1")
        .bind(key)
        .fetch_optional(conn)
        .await?
        .map(|r| r.try_get("order_id"))
        .transpose()
}

pub async fn shorts_of_order(
    conn: &mut AnyConnection,
    order_id: i64,
) -> Result<Vec<ShortRow>, sqlx::Error> {
    let sql = format!("select {SHORT_COLS} from pack_shorts where order_id = $1 order by id");
    let rows = sqlx::query(&sql).bind(order_id).fetch_all(conn).await?;
    rows.iter().map(short_row).collect()
}

const SHORT_COLS: &str =
    "id, order_id, line_id, gtin, lot, quantity, reason, state, wave_id, actor, at";

fn short_row(r: &AnyRow) -> Result<ShortRow, sqlx::Error> {
    Ok(ShortRow {
        id: r.try_get("id")?,
        order_id: r.try_get("order_id")?,
        line_id: r.try_get("line_id")?,
        gtin: r.try_get("gtin")?,
        lot: r.try_get("lot")?,
        quantity: r.try_get("quantity")?,
        reason: r.try_get("reason")?,
        state: r.try_get("state")?,
        wave_id: r.try_get("wave_id")?,
        actor: r.try_get("actor")?,
        at: r.try_get("at")?,
    })
}

/// A block on a lot.
#[derive(Debug, Clone)]
pub struct BlockRow {
    pub id: i64,
    pub gtin: String,
    pub lot: String,
    pub reason: String,
    pub blocked_by: String,
    pub blocked_at: String,
    pub released_by: Option<String>,
    pub released_at: Option<String>,
}

pub async fn insert_block(
    conn: &mut AnyConnection,
    gtin: &str,
    lot: &str,
    reason: &str,
    actor: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "insert into lot_blocks (gtin, lot, reason, blocked_by, blocked_at) values ($1, $2, $3, $4, $5) returning id",
    )
    .bind(gtin)
    .bind(lot)
    .bind(reason)
    .bind(actor)
    .bind(super::now_db())
    .fetch_one(conn)
    .await?
    .try_get("id")
}

/// Releases every active block of the lot; returns how many.
pub async fn release_blocks(
    conn: &mut AnyConnection,
    gtin: &str,
    lot: &str,
    actor: &str,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "update lot_blocks set released_by = $3, released_at = $4 where gtin = $1 and lot = $2 and released_at is null",
    )
    .bind(gtin)
    .bind(lot)
    .bind(actor)
    .bind(super::now_db())
    .execute(conn)
    .await?
    .rows_affected())
}

pub async fn list_blocks(pool: &AnyPool, active_only: bool) -> Result<Vec<BlockRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, gtin, lot, reason, blocked_by, blocked_at, released_by, released_at from lot_blocks
         where ($1 = 0 or released_at is null) order by id desc limit 500",
    )
    .bind(i64::from(active_only))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(BlockRow {
                id: r.try_get("id")?,
                gtin: r.try_get("gtin")?,
                lot: r.try_get("lot")?,
                reason: r.try_get("reason")?,
                blocked_by: r.try_get("blocked_by")?,
                blocked_at: r.try_get("blocked_at")?,
                released_by: r.try_get("released_by")?,
                released_at: r.try_get("released_at")?,
            })
        })
        .collect()
}

/// Takes `qty` packs off `line_id`'s picked count (a pack scrapped at packing).
pub async fn unpick_line(
    conn: &mut AnyConnection,
    line_id: i64,
    qty: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("update order_lines set picked = picked - $2 where id = $1 and picked >= $2")
        .bind(line_id)
        .bind(qty)
        .execute(conn)
        .await?;
    Ok(())
}

/// One short found at packing.
pub async fn short(conn: &mut AnyConnection, id: i64) -> Result<Option<ShortRow>, sqlx::Error> {
    let sql = format!("select {SHORT_COLS} from pack_shorts where id = $1");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(short_row)
        .transpose()
}

/// A short's replacement wave is out.
pub async fn short_to_wave(
    conn: &mut AnyConnection,
    id: i64,
    wave_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update pack_shorts set state = 'picking', wave_id = $2 where id = $1 and state = 'short'",
    )
    .bind(id)
    .bind(wave_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Shorts waiting for stock (`short`), newest first.
pub async fn open_shorts(pool: &AnyPool) -> Result<Vec<ShortRow>, sqlx::Error> {
    let sql = format!(
        "select {SHORT_COLS} from pack_shorts where state = 'short' order by id desc limit 500"
    );
    let rows = sqlx::query(&sql).fetch_all(pool).await?;
    rows.iter().map(short_row).collect()
}
