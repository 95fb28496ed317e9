//! Orders and their lines (here); reservations (`reservations.rs`); pick waves (`waves.rs`);
//! pick tasks, confirmations and exceptions (`picks.rs`). All of it is re-exported here, so a
//! service names every query as `store::orders::…`.
//!
//! Reservations are stock state: `stock_units.reserved` is changed only by conditional updates,
//! so two allocations can never promise the same pack, on either backend.

use crate::domain::catalog::CutRange;
use crate::domain::order::{CutSpec, NewOrder, OrderStatus, ProductRules};
use chrono::NaiveDate;
use sqlx::{any::AnyRow, AnyConnection, AnyPool, Row};
use std::collections::HashMap;

mod picks;
mod reservations;
mod waves;
pub use picks::*;
pub use reservations::*;
pub use waves::*;

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
    backend: crate::store::Backend,
    key: OrderRef<'_>,
) -> Result<Option<OrderRow>, sqlx::Error> {
    find_order(conn, key, crate::store::for_update(backend)).await
}

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
    let now = crate::store::now_db();
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
        .bind(crate::store::now_db())
        .bind(order_id)
        .execute(&mut *conn)
        .await?;
    insert_lines(conn, order_id, o).await.map(|_| ())
}

/// One order line as stored.
#[derive(Debug, Clone)]
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

/// Sets an order's status, keeping everything else.
pub async fn set_order_status(
    conn: &mut AnyConnection,
    order_id: i64,
    status: OrderStatus,
) -> Result<(), sqlx::Error> {
    sqlx::query("update orders set status = $1, updated_at = $2 where id = $3")
        .bind(status.as_str())
        .bind(crate::store::now_db())
        .bind(order_id)
        .execute(conn)
        .await?;
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
    .bind(crate::store::now_db())
    .bind(order_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Order events after a cursor: the change feed for the ordering system. Settled like every
/// cursor read of the event log (`events::list_after`).
pub async fn order_events_after(
    pool: &AnyPool,
    backend: crate::store::Backend,
    after: i64,
    limit: i64,
) -> Result<Vec<crate::store::events::Event>, sqlx::Error> {
    let rows = crate::store::events::settled(pool, backend, |c| {
        Box::pin(
            sqlx::query(
                "select id, event_type, subject, at, payload from events where id > $1 and event_type like 'order.%' order by id limit $2",
            )
            .bind(after)
            .bind(limit)
            .fetch_all(c),
        )
    })
    .await?;
    rows.iter().map(crate::store::events::event_row).collect()
}
