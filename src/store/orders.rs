//! Orders, their lines and reservations; pick waves, pick tasks, confirmations and exceptions.
//! Reservations are stock state: `stock_units.reserved` is changed only by conditional updates,
//! so two allocations can never promise the same pack, on either backend.

use crate::domain::allocation::Candidate;
use crate::domain::catalog::{CutRange, LocationKind};
use crate::domain::order::{CutSpec, NewOrder, OrderStatus, ProductRules};
use crate::domain::stock::StockStatus;
use chrono::NaiveDate;
use serde::Serialize;
use sqlx::{any::AnyRow, AnyConnection, AnyPool, Row};
use std::collections::HashMap;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or(NaiveDate::MIN)
}

/// `$start, $start+1, …` for an `in (…)` list of `n` values.
pub(crate) fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rules of the products with these GTINs (unknown ones are left out).
pub async fn product_rules(
    conn: &mut AnyConnection,
    gtins: &[String],
) -> Result<HashMap<String, (ProductRules, i64)>, sqlx::Error> {
    if gtins.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "select gtin, name, cut_to_fit, cut_min_mm, cut_max_mm, cut_round, cut_oval, min_shelf_life_days
         from products where gtin in ({})",
        placeholders(1, gtins.len())
    );
    let mut q = sqlx::query(&sql);
    for g in gtins {
        q = q.bind(g);
    }
    let rows = q.fetch_all(conn).await?;
    let mut out = HashMap::new();
    for r in rows {
        let cut_to_fit: i64 = r.try_get("cut_to_fit")?;
        let min: Option<i64> = r.try_get("cut_min_mm")?;
        let max: Option<i64> = r.try_get("cut_max_mm")?;
        let cut = match (cut_to_fit, min, max) {
            (1, Some(min_mm), Some(max_mm)) => Some(CutRange {
                min_mm,
                max_mm,
                round: r.try_get::<i64, _>("cut_round")? == 1,
                oval: r.try_get::<i64, _>("cut_oval")? == 1,
            }),
            _ => None,
        };
        out.insert(
            r.try_get("gtin")?,
            (
                ProductRules {
                    name: r.try_get("name")?,
                    cut,
                },
                r.try_get("min_shelf_life_days")?,
            ),
        );
    }
    Ok(out)
}

/// An order's head row.
#[derive(Debug, Clone)]
pub struct OrderRow {
    pub id: i64,
    pub external_id: String,
    pub request_hash: String,
    pub status: OrderStatus,
    pub payer_code: String,
    pub payer_name: String,
    pub payer_ean: String,
    pub grant_ref: String,
    pub citizen_id: String,
    pub recipient_name: String,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub postcode: String,
    pub city: String,
    pub country: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub delivery_date: NaiveDate,
    pub has_cut: bool,
    pub partial_release: bool,
    pub missing: Option<String>,
    pub wave_id: Option<i64>,
    pub tote: Option<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

const ORDER_COLS: &str = "id, external_id, request_hash, status, payer_code, payer_name, payer_ean, grant_ref, \
    citizen_id, recipient_name, address_line1, address_line2, postcode, city, country, phone, email, \
    delivery_date, has_cut, partial_release, missing, wave_id, tote, version, created_at, updated_at";

fn order_row(r: &AnyRow) -> Result<OrderRow, sqlx::Error> {
    let status: String = r.try_get("status")?;
    let delivery: String = r.try_get("delivery_date")?;
    Ok(OrderRow {
        id: r.try_get("id")?,
        external_id: r.try_get("external_id")?,
        request_hash: r.try_get("request_hash")?,
        status: OrderStatus::from_db(&status).unwrap_or(OrderStatus::Received),
        payer_code: r.try_get("payer_code")?,
        payer_name: r.try_get("payer_name")?,
        payer_ean: r.try_get("payer_ean")?,
        grant_ref: r.try_get("grant_ref")?,
        citizen_id: r.try_get("citizen_id")?,
        recipient_name: r.try_get("recipient_name")?,
        address_line1: r.try_get("address_line1")?,
        address_line2: r.try_get("address_line2")?,
        postcode: r.try_get("postcode")?,
        city: r.try_get("city")?,
        country: r.try_get("country")?,
        phone: r.try_get("phone")?,
        email: r.try_get("email")?,
        delivery_date: date(&delivery),
        has_cut: r.try_get::<i64, _>("has_cut")? == 1,
        partial_release: r.try_get::<i64, _>("partial_release")? == 1,
        missing: r.try_get("missing")?,
        wave_id: r.try_get("wave_id")?,
        tote: r.try_get("tote")?,
        version: r.try_get("version")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// How an order is found: by its internal id or by the ordering system's external id.
#[derive(Debug, Clone, Copy)]
pub enum OrderRef<'a> {
    Id(i64),
    External(&'a str),
}

/// One order by id or external id; `lock` is appended to the query (`""` or `" for update"`).
async fn find_order(
    conn: &mut AnyConnection,
    key: OrderRef<'_>,
    lock: &str,
) -> Result<Option<OrderRow>, sqlx::Error> {
    let column = match key {
        OrderRef::Id(_) => "id",
        OrderRef::External(_) => "external_id",
    };
    let sql = format!("select {ORDER_COLS} from orders where {column} = $1{lock}");
    let query = sqlx::query(&sql);
    let query = match key {
        OrderRef::Id(id) => query.bind(id),
        OrderRef::External(e) => query.bind(e),
    };
    query
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(order_row)
        .transpose()
}

pub async fn order_by_external(
    conn: &mut AnyConnection,
    external_id: &str,
) -> Result<Option<OrderRow>, sqlx::Error> {
    find_order(conn, OrderRef::External(external_id), "").await
}

pub async fn order_by_id(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<OrderRow>, sqlx::Error> {
    find_order(conn, OrderRef::Id(id), "").await
}

/// An order read for a change, its row locked until the transaction ends on PostgreSQL, so that
/// two instances never change one order at once (SQLite serialises writers anyway).
pub async fn order_for_update(
    conn: &mut AnyConnection,
    backend: super::Backend,
    key: OrderRef<'_>,
) -> Result<Option<OrderRow>, sqlx::Error> {
    find_order(conn, key, super::for_update(backend)).await
}

/// Takes the lock that lets one wave be made at a time (PostgreSQL; SQLite serialises writers),
/// so that two leads never put one order or one tote into two waves.
pub async fn lock_wave_making(
    conn: &mut AnyConnection,
    backend: super::Backend,
) -> Result<(), sqlx::Error> {
    if backend == super::Backend::Postgres {
        sqlx::query("select pg_advisory_xact_lock($1)")
            .bind(WAVE_LOCK_KEY)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Any fixed number; it names the lock that orders wave making on PostgreSQL.
const WAVE_LOCK_KEY: i64 = 0x6b6f_6e73_6967_6e02;

/// Orders by status (all when `None`), oldest first, after id `after`.
pub async fn list_orders(
    pool: &AnyPool,
    status: Option<&str>,
    after: i64,
    limit: i64,
) -> Result<Vec<OrderRow>, sqlx::Error> {
    let sql = format!(
        "select {ORDER_COLS} from orders where ($1 is null or status = $1) and id > $2 order by id limit $3"
    );
    let rows = sqlx::query(&sql)
        .bind(status)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(order_row).collect()
}

/// How many orders are in each status.
pub async fn count_by_status(pool: &AnyPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query("select status, count(*) as n from orders group by status")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("status")?, r.try_get("n")?)))
        .collect()
}

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

/// Ids of backordered orders, oldest first.
pub async fn backordered_ids(pool: &AnyPool, limit: i64) -> Result<Vec<i64>, sqlx::Error> {
    let rows =
        sqlx::query("select id from orders where status = 'backordered' order by id limit $1")
            .bind(limit)
            .fetch_all(pool)
            .await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}

fn bind_order<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    o: &'q NewOrder,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    q.bind(&o.payer_code)
        .bind(&o.payer_name)
        .bind(&o.payer_ean)
        .bind(&o.grant_ref)
        .bind(&o.citizen_id)
        .bind(&o.recipient_name)
        .bind(&o.address_line1)
        .bind(o.address_line2.as_deref())
        .bind(&o.postcode)
        .bind(&o.city)
        .bind(&o.country)
        .bind(o.phone.as_deref())
        .bind(o.email.as_deref())
        .bind(o.delivery_date.to_string())
        .bind(i64::from(o.has_cut()))
}

/// A new order as it is written: the validated order with its status after allocation.
pub struct NewOrderRow<'a> {
    pub order: &'a NewOrder,
    pub request_hash: &'a str,
    pub actor: &'a str,
    pub status: OrderStatus,
    /// The missing lines as JSON, for a backordered order.
    pub missing: Option<&'a str>,
}

/// A new order as written: what its intake answers without reading it back.
pub struct InsertedOrder {
    pub id: i64,
    /// The line ids, in line order.
    pub line_ids: Vec<i64>,
    pub version: i64,
    pub updated_at: String,
}

/// Inserts a new order with its lines, or returns `None` when its external id exists already
/// (nothing is written then).
pub async fn insert_order(
    conn: &mut AnyConnection,
    n: &NewOrderRow<'_>,
) -> Result<Option<InsertedOrder>, sqlx::Error> {
    let now = super::now_db();
    let q = sqlx::query(
        "insert into orders (payer_code, payer_name, payer_ean, grant_ref, citizen_id, recipient_name,
            address_line1, address_line2, postcode, city, country, phone, email, delivery_date, has_cut,
            external_id, request_hash, status, missing, created_by, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21)
         on conflict (external_id) do nothing returning id, version",
    );
    let row = bind_order(q, n.order)
        .bind(&n.order.external_id)
        .bind(n.request_hash)
        .bind(n.status.as_str())
        .bind(n.missing)
        .bind(n.actor)
        .bind(&now)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let id: i64 = row.try_get("id")?;
    let version: i64 = row.try_get("version")?;
    let line_ids = insert_lines(conn, id, n.order).await?;
    Ok(Some(InsertedOrder {
        id,
        line_ids,
        version,
        updated_at: now,
    }))
}

/// Inserts all lines of an order in one statement; returns their ids in line order.
async fn insert_lines(
    conn: &mut AnyConnection,
    order_id: i64,
    o: &NewOrder,
) -> Result<Vec<i64>, sqlx::Error> {
    let values: Vec<String> = (0..o.lines.len())
        .map(|i| {
            let p: Vec<String> = (1..=10).map(|k| format!("${}", i * 10 + k)).collect();
            format!("({})", p.join(", "))
        })
        .collect();
    let sql = format!(
        "insert into order_lines (order_id, line_no, gtin, quantity, cut_shape, cut_a_mm, cut_b_mm,
            cut_template, cut_template_version, cut_measured_on)
         values {} returning id, line_no",
        values.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for l in &o.lines {
        let (a, b) = l.cut.as_ref().map(CutSpec::dims).unwrap_or((None, None));
        let (template, version) = match &l.cut {
            Some(CutSpec::Template {
                template_id,
                template_version,
            }) => (Some(template_id.clone()), Some(*template_version)),
            _ => (None, None),
        };
        q = q
            .bind(order_id)
            .bind(l.line_no)
            .bind(l.gtin.clone())
            .bind(l.quantity)
            .bind(l.cut.as_ref().map(CutSpec::shape))
            .bind(a)
            .bind(b)
            .bind(template)
            .bind(version)
            .bind(l.cut_measured_on.map(|d| d.to_string()));
    }
    // RETURNING rows come in no promised order: put them in line order.
    let mut ids: Vec<(i64, i64)> = q
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("line_no")?, r.try_get("id")?)))
        .collect::<Result<_, sqlx::Error>>()?;
    ids.sort();
    Ok(ids.into_iter().map(|(_, id)| id).collect())
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
    let mut q = sqlx::query(&sql).bind(order_id).bind(super::now_db());
    for (unit, line, qty) in takes {
        q = q.bind(*line).bind(*unit).bind(*qty);
    }
    q.execute(conn).await?;
    Ok(())
}

/// Replaces an order's content (a change before picking): new head fields and new lines. The
/// caller has released its reservations first.
pub async fn replace_order(
    conn: &mut AnyConnection,
    order_id: i64,
    o: &NewOrder,
    request_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from reservations where order_id = $1")
        .bind(order_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("delete from order_lines where order_id = $1")
        .bind(order_id)
        .execute(&mut *conn)
        .await?;
    let q = sqlx::query(
        "update orders set payer_code = $1, payer_name = $2, payer_ean = $3, grant_ref = $4, citizen_id = $5,
            recipient_name = $6, address_line1 = $7, address_line2 = $8, postcode = $9, city = $10, country = $11,
            phone = $12, email = $13, delivery_date = $14, has_cut = $15, request_hash = $16, status = 'received',
            missing = null, partial_release = 0, version = version + 1, updated_at = $17
         where id = $18",
    );
    bind_order(q, o)
        .bind(request_hash)
        .bind(super::now_db())
        .bind(order_id)
        .execute(&mut *conn)
        .await?;
    insert_lines(conn, order_id, o).await.map(|_| ())
}

/// One order line as stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LineRow {
    pub id: i64,
    pub line_no: i64,
    pub gtin: String,
    pub product_name: String,
    pub producer: String,
    pub quantity: i64,
    pub cut: Option<CutSpec>,
    pub cut_measured_on: Option<String>,
    /// Packs reserved and not yet picked.
    pub reserved: i64,
    pub picked: i64,
    #[serde(skip)]
    pub min_shelf_life_days: i64,
}

pub async fn lines(conn: &mut AnyConnection, order_id: i64) -> Result<Vec<LineRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select l.id, l.line_no, l.gtin, p.name, p.producer, p.min_shelf_life_days, l.quantity, l.cut_shape,
                l.cut_a_mm, l.cut_b_mm, l.cut_template, l.cut_template_version, l.cut_measured_on, l.picked,
                cast(coalesce((select sum(r.qty) from reservations r where r.line_id = l.id), 0) as bigint) as reserved
         from order_lines l join products p on p.gtin = l.gtin where l.order_id = $1 order by l.line_no",
    )
    .bind(order_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let shape: Option<String> = r.try_get("cut_shape")?;
            Ok(LineRow {
                id: r.try_get("id")?,
                line_no: r.try_get("line_no")?,
                gtin: r.try_get("gtin")?,
                product_name: r.try_get("name")?,
                producer: r.try_get("producer")?,
                quantity: r.try_get("quantity")?,
                cut: shape.and_then(|s| {
                    CutSpec::from_db(
                        &s,
                        r.try_get("cut_a_mm").ok().flatten(),
                        r.try_get("cut_b_mm").ok().flatten(),
                        r.try_get("cut_template").ok().flatten(),
                        r.try_get("cut_template_version").ok().flatten(),
                    )
                }),
                cut_measured_on: r.try_get("cut_measured_on")?,
                reserved: r.try_get("reserved")?,
                picked: r.try_get("picked")?,
                min_shelf_life_days: r.try_get("min_shelf_life_days")?,
            })
        })
        .collect()
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
    backend: super::Backend,
    gtins: &[String],
) -> Result<(), sqlx::Error> {
    if backend != super::Backend::Postgres || gtins.is_empty() {
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
    .bind(super::now_db())
    .fetch_one(conn)
    .await?
    .try_get("id")
}

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

/// Takes an order out of its wave and tote (nothing of it was picked).
pub async fn leave_wave(conn: &mut AnyConnection, order_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update orders set wave_id = null, tote = null where id = $1")
        .bind(order_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Sets an order's status, keeping everything else.
pub async fn set_order_status(
    conn: &mut AnyConnection,
    order_id: i64,
    status: OrderStatus,
) -> Result<(), sqlx::Error> {
    sqlx::query("update orders set status = $1, updated_at = $2 where id = $3")
        .bind(status.as_str())
        .bind(super::now_db())
        .bind(order_id)
        .execute(conn)
        .await?;
    Ok(())
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

pub async fn set_status(
    conn: &mut AnyConnection,
    order_id: i64,
    status: OrderStatus,
    missing: Option<&str>,
    partial_release: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update orders set status = $1, missing = $2, partial_release = $3, updated_at = $4 where id = $5",
    )
    .bind(status.as_str())
    .bind(missing)
    .bind(i64::from(partial_release))
    .bind(super::now_db())
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
    .bind(if picker.is_some() { "assigned" } else { "open" })
    .bind(picker)
    .bind(max_orders)
    .bind(max_lines)
    .bind(actor)
    .bind(super::now_db())
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
    .bind(super::now_db())
    .bind(order_id)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
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

/// A wave's head row.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WaveRow {
    pub id: i64,
    /// open, assigned, picking, done
    pub status: String,
    pub picker: Option<String>,
    pub station: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub started_at: Option<String>,
    pub done_at: Option<String>,
}

const WAVE_COLS: &str = "id, status, picker, station, created_by, created_at, started_at, done_at";

fn wave_row(r: &AnyRow) -> Result<WaveRow, sqlx::Error> {
    Ok(WaveRow {
        id: r.try_get("id")?,
        status: r.try_get("status")?,
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
    backend: super::Backend,
    id: i64,
) -> Result<Option<WaveRow>, sqlx::Error> {
    find_wave(conn, id, super::for_update(backend)).await
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
    status: &str,
    picker: Option<&str>,
    station: Option<&str>,
) -> Result<(), sqlx::Error> {
    let now = super::now_db();
    sqlx::query(
        "update waves set status = $1, picker = coalesce($2, picker), station = coalesce($3, station),
            started_at = case when $1 = 'picking' and started_at is null then $4 else started_at end,
            done_at = case when $1 = 'done' then $4 else done_at end
         where id = $5",
    )
    .bind(status)
    .bind(picker)
    .bind(station)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// One pick task with what the picker needs to see.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PickRow {
    pub id: i64,
    pub wave_id: i64,
    pub seq: i64,
    pub order_id: i64,
    pub external_id: String,
    pub line_id: i64,
    #[serde(skip)]
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
    /// open, done, short
    pub status: String,
    pub location_ok: bool,
    /// The order's tote was scanned in this wave.
    pub tote_ok: bool,
    pub cut: bool,
    #[serde(skip)]
    pub min_shelf_life_days: i64,
    #[serde(skip)]
    pub delivery_date: String,
}

const PICK_SELECT: &str = "select k.id, k.wave_id, k.seq, k.order_id, o.external_id, k.line_id, k.reservation_id, k.location,
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
        status: r.try_get("status")?,
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
    .bind(super::now_db())
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
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
    .bind(super::now_db())
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

/// Open picks left in a wave.
pub async fn open_picks(conn: &mut AnyConnection, wave_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query("select count(*) as n from picks where wave_id = $1 and status = 'open'")
        .bind(wave_id)
        .fetch_one(conn)
        .await?
        .try_get("n")
}

/// Order events after a cursor: the change feed for the ordering system.
pub async fn order_events_after(
    pool: &AnyPool,
    after: i64,
    limit: i64,
) -> Result<Vec<super::events::Event>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, event_type, subject, at, payload from events where id > $1 and event_type like 'order.%' order by id limit $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(super::events::event_row).collect()
}
