//! Bulk writes of a generated history (`konsign demo history`, `service::demo_history`): a day's
//! orders with their picks, cuts, parcels, handovers and deliveries, as multi-row inserts in one
//! transaction per day, on both backends. The ids are given by the generator (it links the
//! rows), so PostgreSQL's identity columns are written with `overriding system value` and moved
//! past the new rows at the end (`finish`).

use super::{Backend, Db};
use sqlx::{AnyConnection, AnyPool, Row};

/// At most this many bound values in one statement (SQLite allows 32,766, PostgreSQL 65,535).
const MAX_PARAMS: usize = 16_000;

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Int(i64),
    Real(f64),
    Text(String),
    /// A null of an integer column (PostgreSQL checks the type of a bound null too).
    NullInt,
    NullText,
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(v)
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Self {
        Val::Real(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(v.to_string())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(v)
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Self {
        Val::Text(v.clone())
    }
}
impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Val::NullInt, Val::Int)
    }
}
impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Self {
        v.map_or(Val::NullText, Val::Text)
    }
}
impl From<Option<&str>> for Val {
    fn from(v: Option<&str>) -> Self {
        v.map_or(Val::NullText, Into::into)
    }
}

macro_rules! row {
    ($($v:expr),* $(,)?) => { vec![$(Val::from($v)),*] };
}

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

/// Writes one day in one transaction. `sscc_prefix`/`first` name the SSCC counter: the day's
/// parcels take a block of serials from it, so no parcel packed later repeats one; `sscc`
/// makes each parcel's SSCC from its serial. Returns how many rows were written.
pub async fn write_day(
    db: &Db,
    day: &Day,
    sscc_prefix: &str,
    sscc_first: i64,
    sscc: &dyn Fn(i64) -> Option<String>,
) -> Result<usize, sqlx::Error> {
    let backend = db.backend();
    let mut tx = db.begin_write().await?;
    let conn = tx.conn();
    let mut n = 0;
    if let Some((id, key, at)) = &day.op {
        n += insert(
            conn,
            backend,
            "stock_ops",
            &[
                "id",
                "kind",
                "idempotency_key",
                "request_hash",
                "actor",
                "at",
            ],
            vec![row![*id, "pick", key, "history", &day.actor, at]],
        )
        .await?;
    }
    let serial = if day.parcels.is_empty() {
        0
    } else {
        super::parcels::take_sscc_serials(conn, sscc_prefix, sscc_first, day.parcels.len() as i64)
            .await?
    };
    let waves = day.waves.iter().map(|w| {
        row![
            w.id,
            "done",
            &w.picker,
            &day.actor,
            &w.created_at,
            &w.created_at,
            &w.done_at
        ]
    });
    n += insert(
        conn,
        backend,
        "waves",
        &[
            "id",
            "status",
            "picker",
            "created_by",
            "created_at",
            "started_at",
            "done_at",
        ],
        waves.collect(),
    )
    .await?;
    let orders = day.orders.iter().map(|o| {
        row![
            o.id,
            &o.external_id,
            "history",
            o.status,
            o.payer.0,
            o.payer.1,
            o.payer.2,
            "BEV-H",
            &o.citizen_id,
            &o.recipient_name,
            &o.address_line1,
            &o.postcode,
            &o.city,
            "DK",
            &o.delivery_date,
            i64::from(o.has_cut),
            o.wave_id,
            "history",
            &o.created_at,
            &o.updated_at,
        ]
    });
    n += insert(
        conn,
        backend,
        "orders",
        &[
            "id",
            "external_id",
            "request_hash",
            "status",
            "payer_code",
            "payer_name",
            "payer_ean",
            "grant_ref",
            "citizen_id",
            "recipient_name",
            "address_line1",
            "postcode",
            "city",
            "country",
            "delivery_date",
            "has_cut",
            "wave_id",
            "created_by",
            "created_at",
            "updated_at",
        ],
        orders.collect(),
    )
    .await?;
    let lines = day.lines.iter().map(|l| {
        row![
            l.id,
            l.order_id,
            l.line_no,
            &l.gtin,
            l.quantity,
            l.cut.map(|c| c.0),
            l.cut.map(|c| c.1),
            l.quantity,
        ]
    });
    n += insert(
        conn,
        backend,
        "order_lines",
        &[
            "id",
            "order_id",
            "line_no",
            "gtin",
            "quantity",
            "cut_shape",
            "cut_a_mm",
            "picked",
        ],
        lines.collect(),
    )
    .await?;
    let created = |order_id: i64| {
        day.orders
            .binary_search_by_key(&order_id, |o| o.id)
            .map(|i| day.orders[i].created_at.clone())
            .unwrap_or_default()
    };
    let reservations = day.lines.iter().map(|l| {
        row![
            l.reservation_id,
            l.order_id,
            l.id,
            l.unit_id,
            0i64,
            created(l.order_id)
        ]
    });
    n += insert(
        conn,
        backend,
        "reservations",
        &[
            "id",
            "order_id",
            "line_id",
            "stock_unit_id",
            "qty",
            "created_at",
        ],
        reservations.collect(),
    )
    .await?;
    let wave_of = |order_id: i64| {
        day.orders
            .binary_search_by_key(&order_id, |o| o.id)
            .map(|i| day.orders[i].wave_id)
            .unwrap_or_default()
    };
    let picks = day.lines.iter().map(|l| {
        row![
            l.pick_id,
            wave_of(l.order_id),
            l.order_id,
            l.id,
            l.reservation_id,
            l.line_no,
            l.line_no,
            &l.location,
            l.unit_id,
            &l.gtin,
            &l.lot,
            &l.expiry,
            "HISTORY",
            l.quantity,
            l.quantity,
            "done",
            1i64,
            1i64,
        ]
    });
    n += insert(
        conn,
        backend,
        "picks",
        &[
            "id",
            "wave_id",
            "order_id",
            "line_id",
            "reservation_id",
            "seq",
            "walk_seq",
            "location",
            "stock_unit_id",
            "gtin",
            "lot",
            "expiry",
            "tote",
            "quantity",
            "picked",
            "status",
            "location_ok",
            "tote_ok",
        ],
        picks.collect(),
    )
    .await?;
    if let Some((op, _, _)) = &day.op {
        let confirms = day.lines.iter().map(|l| {
            row![
                wave_of(l.order_id),
                l.pick_id,
                format!("history:{}", l.pick_id),
                l.unit_id,
                l.unit_id,
                l.quantity,
                *op,
                &l.picker,
                &l.picked_at,
            ]
        });
        n += insert_auto(
            conn,
            "pick_confirms",
            &[
                "wave_id",
                "pick_id",
                "scan_key",
                "from_unit",
                "to_unit",
                "qty",
                "op_id",
                "actor",
                "at",
            ],
            confirms.collect(),
        )
        .await?;
    }
    let refusals = day
        .refusals
        .iter()
        .map(|r| row![r.wave_id, &r.key, r.code, &r.actor, &r.at]);
    n += insert_auto(
        conn,
        "pick_refusals",
        &["wave_id", "scan_key", "code", "actor", "at"],
        refusals.collect(),
    )
    .await?;
    n += write_cuts(conn, backend, day).await?;
    n += write_parcels(conn, backend, day, serial, sscc).await?;
    tx.commit().await?;
    Ok(n)
}

async fn write_cuts(
    conn: &mut AnyConnection,
    backend: Backend,
    day: &Day,
) -> Result<usize, sqlx::Error> {
    let id = |j: &CutJob| format!("H{:08}", j.seq);
    let jobs = day.cut_jobs.iter().map(|j| {
        row![
            j.seq,
            id(j),
            j.order_id,
            j.line_id,
            "history",
            &j.line_ref,
            &j.gtin,
            &j.lot,
            &j.expiry,
            j.quantity,
            j.shape,
            1.0f64,
            "",
            "finished",
            j.station.as_deref(),
            j.quantity,
            &j.queued_at,
            &j.finished_at,
        ]
    });
    let mut n = insert(
        conn,
        backend,
        "cut_jobs",
        &[
            "seq",
            "id",
            "order_id",
            "line_id",
            "content_hash",
            "line_ref",
            "gtin",
            "lot",
            "expiry",
            "quantity",
            "shape",
            "tolerance_mm",
            "sticker",
            "state",
            "station_id",
            "done",
            "created_at",
            "updated_at",
        ],
        jobs.collect(),
    )
    .await?;
    let log = day.cut_jobs.iter().flat_map(|j| {
        [
            row![id(j), "queued", None::<&str>, "history", &j.queued_at],
            row![
                id(j),
                "finished",
                j.station.as_deref(),
                "history",
                &j.finished_at
            ],
        ]
    });
    n += insert_auto(
        conn,
        "cut_job_log",
        &["job_id", "state", "station_id", "detail", "at"],
        log.collect(),
    )
    .await?;
    Ok(n)
}

async fn write_parcels(
    conn: &mut AnyConnection,
    backend: Backend,
    day: &Day,
    first_serial: i64,
    sscc: &dyn Fn(i64) -> Option<String>,
) -> Result<usize, sqlx::Error> {
    let cages = day.cages.iter().map(|c| {
        row![
            c.id,
            &c.code,
            &c.carrier,
            &c.day,
            "closed",
            &day.actor,
            &c.opened_at,
            &day.actor,
            &c.closed_at,
        ]
    });
    let mut n = insert(
        conn,
        backend,
        "cages",
        &[
            "id",
            "code",
            "carrier",
            "day",
            "state",
            "opened_by",
            "opened_at",
            "closed_by",
            "closed_at",
        ],
        cages.collect(),
    )
    .await?;
    let parcels = day.parcels.iter().enumerate().map(|(i, p)| {
        row![
            p.id,
            p.order_id,
            1i64,
            "closed",
            &p.station,
            "HISTORY",
            sscc(first_serial + i as i64),
            "M",
            p.weight_g,
            "computed",
            1i64,
            "handed_over",
            &p.packer,
            &p.opened_at,
            &p.packer,
            &p.closed_at,
        ]
    });
    n += insert(
        conn,
        backend,
        "parcels",
        &[
            "id",
            "order_id",
            "seq",
            "state",
            "station",
            "tote",
            "sscc",
            "parcel_type",
            "weight_g",
            "weight_source",
            "parcels_total",
            "booking_state",
            "opened_by",
            "opened_at",
            "closed_by",
            "closed_at",
        ],
        parcels.collect(),
    )
    .await?;
    let bookings = day.parcels.iter().map(|p| {
        let (status, at) = match &p.delivered_at {
            Some(d) => ("delivered", d),
            None => ("in_transit", &p.handed_at),
        };
        row![
            p.booking_id,
            p.id,
            &p.carrier,
            "17",
            "booked",
            1i64,
            &p.closed_at,
            &p.tracking_number,
            &p.closed_at,
            at,
            status,
            at,
        ]
    });
    n += insert(
        conn,
        backend,
        "bookings",
        &[
            "id",
            "parcel_id",
            "carrier",
            "service",
            "state",
            "attempts",
            "next_attempt_at",
            "tracking_number",
            "created_at",
            "updated_at",
            "tracking_status",
            "tracked_at",
        ],
        bookings.collect(),
    )
    .await?;
    let handed = day.parcels.iter().map(|p| {
        row![
            p.cage_id,
            p.id,
            format!("history:cage:{}", p.id),
            &p.packer,
            &p.handed_at
        ]
    });
    n += insert_auto(
        conn,
        "cage_parcels",
        &["cage_id", "parcel_id", "scan_key", "actor", "at"],
        handed.collect(),
    )
    .await?;
    let delivered = day.parcels.iter().filter_map(|p| {
        let at = p.delivered_at.as_ref()?;
        Some(row![
            p.booking_id,
            p.id,
            &p.carrier,
            "DELIVERED",
            "DELIVERED",
            "delivered",
            "Leveret",
            at,
            "pull",
            at,
        ])
    });
    n += insert_auto(
        conn,
        "tracking_events",
        &[
            "booking_id",
            "parcel_id",
            "carrier",
            "code",
            "raw_status",
            "status",
            "text",
            "at",
            "source",
            "received_at",
        ],
        delivered.collect(),
    )
    .await?;
    Ok(n)
}

/// Rows whose first column is an identity the generator chose.
async fn insert(
    conn: &mut AnyConnection,
    backend: Backend,
    table: &str,
    cols: &[&str],
    rows: Vec<Vec<Val>>,
) -> Result<usize, sqlx::Error> {
    let overriding = match backend {
        Backend::Postgres => " overriding system value",
        Backend::Sqlite => "",
    };
    insert_rows(conn, table, cols, overriding, rows).await
}

/// Rows whose id the database gives.
async fn insert_auto(
    conn: &mut AnyConnection,
    table: &str,
    cols: &[&str],
    rows: Vec<Vec<Val>>,
) -> Result<usize, sqlx::Error> {
    insert_rows(conn, table, cols, "", rows).await
}

async fn insert_rows(
    conn: &mut AnyConnection,
    table: &str,
    cols: &[&str],
    overriding: &str,
    rows: Vec<Vec<Val>>,
) -> Result<usize, sqlx::Error> {
    let n = rows.len();
    let per = (MAX_PARAMS / cols.len()).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Val>> = rows.by_ref().take(per).collect();
        let mut sql = format!(
            "insert into {table} ({}){overriding} values ",
            cols.join(", ")
        );
        let mut p = 0;
        for (i, r) in chunk.iter().enumerate() {
            debug_assert_eq!(r.len(), cols.len(), "{table}: a row of the wrong width");
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for j in 0..r.len() {
                p += 1;
                sql.push_str(&if j == 0 {
                    format!("${p}")
                } else {
                    format!(", ${p}")
                });
            }
            sql.push(')');
        }
        let mut q = sqlx::query(&sql);
        for v in chunk.into_iter().flatten() {
            q = match v {
                Val::Int(i) => q.bind(i),
                Val::Real(f) => q.bind(f),
                Val::Text(t) => q.bind(t),
                Val::NullInt => q.bind(None::<i64>),
                Val::NullText => q.bind(None::<String>),
            };
        }
        q.execute(&mut *conn).await?;
    }
    Ok(n)
}

/// After the last day: PostgreSQL's identity columns continue after the generated ids.
pub async fn finish(db: &Db) -> Result<(), sqlx::Error> {
    if db.backend() != Backend::Postgres {
        return Ok(());
    }
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
