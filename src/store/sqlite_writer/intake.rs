//! A new order's whole intake (FEFO reservations, the order and its lines, its two events),
//! written by the writer thread in one step. The same statements, in the same order, as the
//! PostgreSQL path in `service::orders::write_intake` with `store::orders`; the allocation
//! itself is the domain's (`domain::allocation`), so both backends decide alike. Inside the
//! writer's transaction nobody else writes, so a promise cannot be overtaken: the conditional
//! update that guards it on PostgreSQL still runs, and a miss is an error, not a retry.

use crate::domain::allocation::{self, per_unit, Candidate, Need};
use crate::domain::catalog::LocationKind;
use crate::domain::order::{event_payload, CutSpec, Missing, NewOrder, OrderStatus};
use crate::domain::stock::StockStatus;
use chrono::NaiveDate;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use std::collections::HashMap;

/// A validated order to take in.
#[derive(Debug, Clone)]
pub struct OrderWrite {
    pub order: NewOrder,
    pub request_hash: String,
    pub actor: String,
    /// Each product's minimum shelf life in days, by GTIN.
    pub shelf: HashMap<String, i64>,
    /// The business day the allocation judges expiry against.
    pub today: NaiveDate,
}

/// A new order as written: what its intake answers without reading it back.
#[derive(Debug, Clone)]
pub struct OrderWritten {
    pub id: i64,
    pub status: OrderStatus,
    pub missing: Vec<Missing>,
    pub version: i64,
    pub updated_at: String,
}

/// `?, ?, …` for an `in (…)` list of `n` values.
fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The same statement as `orders::backorder_claims`.
fn backorder_claims(tx: &Connection, gtins: &[String]) -> rusqlite::Result<HashMap<String, i64>> {
    let sql = format!(
        "select l.gtin, cast(sum(l.quantity - l.picked
                - coalesce((select sum(r.qty) from reservations r where r.line_id = l.id), 0)) as bigint)
         from orders o cross join order_lines l
         where l.order_id = o.id and o.status = 'backordered' and l.gtin in ({}) group by l.gtin",
        marks(gtins.len())
    );
    let mut st = tx.prepare_cached(&sql)?;
    let rows = st.query_map(params_from_iter(gtins), |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// The same statement as `orders::candidates`.
fn candidates(tx: &Connection, gtins: &[String]) -> rusqlite::Result<Vec<Candidate>> {
    let sql = format!(
        "select s.id, s.gtin, s.lot, s.expiry, s.location, l.kind, l.walk_seq, s.status, s.qty - s.reserved
         from stock_units s cross join locations l
         where l.code = s.location and s.gtin in ({}) and s.qty > s.reserved and s.status = 'available'
           and l.kind in ('pick', 'reserve')
         order by s.id",
        marks(gtins.len())
    );
    let mut st = tx.prepare_cached(&sql)?;
    let rows = st.query_map(params_from_iter(gtins), |r| {
        let expiry: String = r.get(3)?;
        let kind: String = r.get(5)?;
        let status: String = r.get(7)?;
        Ok(Candidate {
            unit_id: r.get(0)?,
            gtin: r.get(1)?,
            lot: r.get(2)?,
            expiry: NaiveDate::parse_from_str(&expiry, "%Y-%m-%d").unwrap_or(NaiveDate::MIN),
            location: r.get(4)?,
            location_kind: LocationKind::parse(&kind).unwrap_or(LocationKind::Receiving),
            walk_seq: r.get(6)?,
            status: StockStatus::from_db(&status),
            free: r.get(8)?,
        })
    })?;
    rows.collect()
}

/// Reserves what there is for the order's lines and writes the order, its lines, reservations
/// and events, inside the caller's savepoint. `None` when the external id is known already:
/// the caller rolls the savepoint back then (nothing of it stays).
pub(super) fn write_order(
    tx: &Connection,
    w: &OrderWrite,
) -> rusqlite::Result<Option<OrderWritten>> {
    let order = &w.order;
    let needs: Vec<Need> = order
        .lines
        .iter()
        .filter(|l| l.quantity > 0)
        .map(|l| Need {
            line_id: l.line_no,
            gtin: l.gtin.clone(),
            quantity: l.quantity,
            min_shelf_life_days: w.shelf.get(&l.gtin).copied().unwrap_or(0),
        })
        .collect();
    // Takes `(unit, line_no, packs)` and what is missing, as the service's `promise` finds them.
    let mut takes: Vec<(i64, i64, i64)> = Vec::new();
    let mut missing: Vec<Missing> = Vec::new();
    if !needs.is_empty() {
        let mut gtins: Vec<String> = needs.iter().map(|n| n.gtin.clone()).collect();
        gtins.sort();
        gtins.dedup();
        // A new order comes after the backorders waiting for the same products.
        let claims = backorder_claims(tx, &gtins)?;
        let mut units = candidates(tx, &gtins)?;
        allocation::hold_back(&mut units, &claims);
        let plan = allocation::allocate(&needs, &units, order.delivery_date, w.today);
        for l in &plan.lines {
            if l.missing > 0 {
                if let Some(x) = order.lines.iter().find(|x| x.line_no == l.line_id) {
                    missing.push(Missing {
                        line_no: x.line_no,
                        gtin: x.gtin.clone(),
                        missing: l.missing,
                    });
                }
            }
            takes.extend(l.takes.iter().map(|t| (t.unit_id, l.line_id, t.qty)));
        }
        takes.sort();
        let mut reserve = tx.prepare_cached(
            "update stock_units set reserved = reserved + ?1 where id = ?2 and qty - reserved >= ?1",
        )?;
        for (unit, qty) in per_unit(&takes) {
            if reserve.execute(params![qty, unit])? != 1 {
                // Cannot happen while this thread is the only writer; refuse rather than over-promise.
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    format!("stock unit {unit} changed during its allocation").into(),
                ));
            }
        }
    }
    let (status, missing_json) = if missing.is_empty() {
        (OrderStatus::Allocated, None)
    } else {
        (
            OrderStatus::Backordered,
            Some(serde_json::to_string(&missing).unwrap_or_default()),
        )
    };
    let now = crate::store::now_db();
    let inserted: Option<(i64, i64)> = tx
        .prepare_cached(
            "insert into orders (payer_code, payer_name, payer_ean, grant_ref, citizen_id, recipient_name,
                address_line1, address_line2, postcode, city, country, phone, email, delivery_date, has_cut,
                external_id, request_hash, status, missing, created_by, created_at, updated_at)
             values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?21)
             on conflict (external_id) do nothing returning id, version",
        )?
        .query_row(
            params![
                order.payer_code,
                order.payer_name,
                order.payer_ean,
                order.grant_ref,
                order.citizen_id,
                order.recipient_name,
                order.address_line1,
                order.address_line2,
                order.postcode,
                order.city,
                order.country,
                order.phone,
                order.email,
                order.delivery_date.to_string(),
                i64::from(order.has_cut()),
                order.external_id,
                w.request_hash,
                status.as_str(),
                missing_json,
                w.actor,
                now,
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((id, version)) = inserted else {
        return Ok(None);
    };
    let mut line_ids: HashMap<i64, i64> = HashMap::with_capacity(order.lines.len());
    {
        let mut insert_line = tx.prepare_cached(
            "insert into order_lines (order_id, line_no, gtin, quantity, cut_shape, cut_a_mm, cut_b_mm,
                cut_template, cut_template_version, cut_measured_on)
             values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) returning id",
        )?;
        for l in &order.lines {
            let (a, b) = l.cut.as_ref().map(CutSpec::dims).unwrap_or((None, None));
            let (template, template_version) = match &l.cut {
                Some(CutSpec::Template {
                    template_id,
                    template_version,
                }) => (Some(template_id.as_str()), Some(*template_version)),
                _ => (None, None),
            };
            let line_id: i64 = insert_line.query_row(
                params![
                    id,
                    l.line_no,
                    l.gtin,
                    l.quantity,
                    l.cut.as_ref().map(CutSpec::shape),
                    a,
                    b,
                    template,
                    template_version,
                    l.cut_measured_on.map(|d| d.to_string()),
                ],
                |r| r.get(0),
            )?;
            line_ids.insert(l.line_no, line_id);
        }
    }
    {
        let mut insert_reservation = tx.prepare_cached(
            "insert into reservations (order_id, created_at, line_id, stock_unit_id, qty) values (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (unit, line_no, qty) in &takes {
            let line_id = line_ids.get(line_no).copied().ok_or_else(|| {
                rusqlite::Error::ToSqlConversionFailure(format!("no line {line_no}").into())
            })?;
            insert_reservation.execute(params![id, now, line_id, unit, qty])?;
        }
    }
    let event_type = if status == OrderStatus::Allocated {
        "order.allocated"
    } else {
        "order.backordered"
    };
    let events = [
        (
            "order.received",
            OrderStatus::Received,
            serde_json::json!({ "lines": order.lines.len(), "has_cut": order.has_cut() }),
        ),
        (
            event_type,
            status,
            serde_json::json!({ "missing": missing }),
        ),
    ];
    let subject = format!("order:{}", order.external_id);
    for (event_type, status, extra) in events {
        let payload = event_payload((id, &order.external_id, status), extra);
        super::append_event(tx, event_type, &subject, &crate::store::now_db(), &payload)?;
    }
    Ok(Some(OrderWritten {
        id,
        status,
        missing,
        version,
        updated_at: now,
    }))
}
