//! Order intake, allocation (FEFO reservations), backorders, partial release, change, cancel,
//! status and the change feed. Every change of an order is one transaction with its events.
//!
//! An order ships as one parcel, so it is released for picking (`allocated`) only when every
//! line is covered. Otherwise it keeps what it could reserve and waits as `backordered` with the
//! missing lines named; when stock arrives, backorders are topped up oldest first, and a new
//! order is never given the packs that older backorders still wait for, so an older order is
//! never starved by newer ones. A lead may release a backordered order partially: it
//! then ships with what is reserved and without the rest.

use super::{today, Actor, Ctx};
use crate::domain::allocation::{self, Need};
use crate::domain::order::{self as rules, NewOrder, OrderInput, OrderStatus};
use crate::error::{Error, Result};
use crate::store::orders::{self as db, LineRow, OrderRow};
use crate::store::WriteTx;
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;

pub use crate::domain::order::Missing;

/// An order's status without personal data: what the ordering system follows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderStatusView {
    pub external_id: String,
    pub status: OrderStatus,
    pub version: i64,
    /// Lines that could not be covered (backordered, or shipped without them after a partial release).
    pub missing: Vec<Missing>,
    pub partial_release: bool,
    pub wave_id: Option<i64>,
    pub tote: Option<String>,
    pub updated_at: String,
    /// The order's parcels once packed (by `GET /api/orders/{id}/status`): SSCC, carrier,
    /// service, tracking number and how far each has come.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parcels: Vec<crate::store::bookings::Shipment>,
}

/// A whole order, personal data included. Every read of it is audit-logged.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderView {
    pub id: i64,
    pub external_id: String,
    pub status: OrderStatus,
    pub version: i64,
    pub payer: rules::PayerInput,
    pub grant_ref: String,
    pub citizen_id: String,
    pub recipient: rules::RecipientInput,
    pub delivery_date: String,
    pub has_cut: bool,
    pub lines: Vec<LineRow>,
    pub missing: Vec<Missing>,
    pub partial_release: bool,
    pub wave_id: Option<i64>,
    pub tote: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// The answer to an intake: the order's status, and whether it was created by this request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IntakeResult {
    /// False when the same order had been received before (an idempotent replay).
    pub created: bool,
    #[serde(flatten)]
    pub order: OrderStatusView,
}

fn missing_of(o: &OrderRow) -> Vec<Missing> {
    o.missing
        .as_deref()
        .and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or_default()
}

fn status_view(o: &OrderRow) -> OrderStatusView {
    OrderStatusView {
        external_id: o.external_id.clone(),
        status: o.status,
        version: o.version,
        missing: missing_of(o),
        partial_release: o.partial_release,
        wave_id: o.wave_id,
        tote: o.tote.clone(),
        updated_at: o.updated_at.clone(),
        parcels: Vec::new(),
    }
}

fn hash(o: &NewOrder) -> String {
    super::auth::sha256_hex(&serde_json::to_string(o).unwrap_or_default())
}

/// Validates an intake against the catalog. Also returns each product's minimum shelf life.
async fn validate(ctx: &Ctx, input: &OrderInput) -> Result<(NewOrder, HashMap<String, i64>)> {
    // The line limit first: the catalog is asked for each distinct GTIN once.
    if input.lines.len() > rules::MAX_LINES {
        return Err(Error::invalid(
            "lines",
            format!("an order has at most {} lines", rules::MAX_LINES),
        ));
    }
    let mut gtins: Vec<String> = input
        .lines
        .iter()
        .filter_map(|l| crate::domain::gtin::Gtin::parse(&l.gtin).ok())
        .map(|g| g.to_string())
        .collect();
    gtins.sort();
    gtins.dedup();
    let mut conn = ctx.db.pool().acquire().await?;
    let mut products = HashMap::new();
    let mut shelf = HashMap::new();
    for (g, (rules, days)) in db::product_rules(&mut conn, &gtins).await? {
        shelf.insert(g.clone(), days);
        products.insert(g, rules);
    }
    Ok((input.validate(&products, today())?, shelf))
}

/// Appends an order event (no personal data: ids and status only).
pub(crate) async fn order_event(
    tx: &mut WriteTx,
    event_type: &str,
    key: (i64, &str, OrderStatus),
    extra: serde_json::Value,
) -> Result<()> {
    let payload = crate::domain::order::event_payload(key, extra);
    tx.event(event_type, &format!("order:{}", key.1), &payload)
        .await?;
    Ok(())
}

/// What an order event names: id, external id, status.
pub(crate) fn key(o: &OrderRow) -> (i64, &str, OrderStatus) {
    (o.id, &o.external_id, o.status)
}

async fn load(tx: &mut WriteTx, id: i64) -> Result<OrderRow> {
    db::order_by_id(tx.conn(), id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("order {id}")))
}

/// A line as the allocator needs it.
struct LineNeed {
    id: i64,
    line_no: i64,
    gtin: String,
    /// Packs neither reserved nor picked yet.
    open: i64,
    /// The line holds reservations already (a top-up adds to them).
    holds: bool,
    min_shelf_life_days: i64,
}

async fn line_needs(tx: &mut WriteTx, order_id: i64) -> Result<Vec<LineNeed>> {
    Ok(db::lines(tx.conn(), order_id)
        .await?
        .into_iter()
        .map(|l| LineNeed {
            id: l.id,
            line_no: l.line_no,
            open: l.quantity - l.reserved - l.picked,
            holds: l.reserved > 0,
            gtin: l.gtin,
            min_shelf_life_days: l.min_shelf_life_days,
        })
        .collect())
}

/// Promises stock for the open packs of `lines` inside `tx`, first-expired-first-out, as much
/// as there is. Returns what each line got, `(unit, line id, packs)`, and what is missing. Each
/// unit is promised by a conditional update, so a concurrent allocation that got there first
/// makes this one give back, re-read and try again instead of over-promising.
async fn promise(
    tx: &mut WriteTx,
    delivery: chrono::NaiveDate,
    lines: &[LineNeed],
    after_backorders: bool,
) -> Result<(Vec<(i64, i64, i64)>, Vec<Missing>)> {
    let mut gtins: Vec<String> = lines.iter().map(|l| l.gtin.clone()).collect();
    gtins.sort();
    gtins.dedup();
    let needs: Vec<Need> = lines
        .iter()
        .filter(|l| l.open > 0)
        .map(|l| Need {
            line_id: l.id,
            gtin: l.gtin.clone(),
            quantity: l.open,
            min_shelf_life_days: l.min_shelf_life_days,
        })
        .collect();
    if needs.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    // A new order comes after the backorders waiting for the same products.
    let claims = if after_backorders {
        db::backorder_claims(tx.conn(), &gtins).await?
    } else {
        HashMap::new()
    };
    for _attempt in 0..5 {
        let mut candidates = db::candidates(tx.conn(), &gtins).await?;
        allocation::hold_back(&mut candidates, &claims);
        let plan = allocation::allocate(&needs, &candidates, delivery, today());
        let missing: Vec<Missing> = plan
            .lines
            .iter()
            .filter(|l| l.missing > 0)
            .filter_map(|l| {
                lines.iter().find(|x| x.id == l.line_id).map(|x| Missing {
                    line_no: x.line_no,
                    gtin: x.gtin.clone(),
                    missing: l.missing,
                })
            })
            .collect();
        let mut takes: Vec<(i64, i64, i64)> = plan
            .lines
            .iter()
            .flat_map(|l| l.takes.iter().map(move |t| (t.unit_id, l.line_id, t.qty)))
            .collect();
        takes.sort();
        // Packs per unit (two lines of one GTIN may share a unit), promised in one statement.
        let per_unit = allocation::per_unit(&takes);
        let promised = db::reserve_many(tx.conn(), &per_unit).await?;
        if promised.len() < per_unit.len() {
            // Another allocation got there first: give back what was promised and re-read.
            for (unit, qty) in per_unit.iter().filter(|(u, _)| promised.contains(u)) {
                db::unreserve(tx.conn(), *unit, *qty).await?;
            }
            continue;
        }
        return Ok((takes, missing));
    }
    Err(Error::conflict(
        "allocation_contended",
        "stock for this order kept changing while it was allocated; try again",
    ))
}

/// Records promised stock as the order's reservations: a line that holds nothing yet gets new
/// rows (one statement for all of them); a top-up adds to what the line holds.
async fn record(
    tx: &mut WriteTx,
    order_id: i64,
    lines: &[LineNeed],
    takes: Vec<(i64, i64, i64)>,
) -> Result<()> {
    let (top_ups, fresh): (Vec<_>, Vec<_>) = takes
        .into_iter()
        .partition(|(_, line, _)| lines.iter().any(|l| l.id == *line && l.holds));
    for (unit, line, qty) in top_ups {
        db::add_reservation(tx.conn(), order_id, line, unit, qty).await?;
    }
    db::insert_reservations(tx.conn(), order_id, &fresh).await?;
    Ok(())
}

/// Reserves what there is for a stored order's open lines; returns what is missing.
async fn reserve_order(
    tx: &mut WriteTx,
    order_id: i64,
    delivery: chrono::NaiveDate,
    lines: &[LineNeed],
) -> Result<Vec<Missing>> {
    let (takes, missing) = promise(tx, delivery, lines, false).await?;
    record(tx, order_id, lines, takes).await?;
    Ok(missing)
}

/// An allocation's outcome: the new status, and the event to append (type and missing lines)
/// or `None` when nothing changed.
type Allocated = (OrderStatus, Option<(&'static str, Vec<Missing>)>);

/// Allocates a `received` or `backordered` order in `tx`: reserves what it can; `allocated`
/// when every line is covered, otherwise `backordered` holding what it has. Events are appended
/// last in every transaction: on PostgreSQL the event lock must never be held while waiting
/// for a stock row.
async fn allocate_in(
    tx: &mut WriteTx,
    (id, status_before, missing_before): (i64, OrderStatus, Option<&str>),
    delivery: chrono::NaiveDate,
    lines: &[LineNeed],
) -> Result<Allocated> {
    let missing = reserve_order(tx, id, delivery, lines).await?;
    let (status, missing_json) = if missing.is_empty() {
        (OrderStatus::Allocated, None)
    } else {
        (
            OrderStatus::Backordered,
            Some(serde_json::to_string(&missing).unwrap_or_default()),
        )
    };
    if status == status_before && missing_before == missing_json.as_deref() {
        return Ok((status, None));
    }
    db::set_status(tx.conn(), id, status, missing_json.as_deref(), false).await?;
    let event = if status == OrderStatus::Allocated {
        "order.allocated"
    } else {
        "order.backordered"
    };
    Ok((status, Some((event, missing))))
}

/// Allocates a stored order, reading its lines.
async fn allocate_row(tx: &mut WriteTx, o: &OrderRow) -> Result<Allocated> {
    let lines = line_needs(tx, o.id).await?;
    allocate_in(
        tx,
        (o.id, o.status, o.missing.as_deref()),
        o.delivery_date,
        &lines,
    )
    .await
}

/// Appends the allocation event returned by `allocate_in`.
async fn allocation_event(
    tx: &mut WriteTx,
    (id, external_id): (i64, &str),
    (status, event): Allocated,
) -> Result<()> {
    if let Some((event_type, missing)) = event {
        order_event(
            tx,
            event_type,
            (id, external_id, status),
            json!({ "missing": missing }),
        )
        .await?;
    }
    Ok(())
}

/// A validated order waiting to be written, with what its allocation needs.
struct Intake {
    order: NewOrder,
    shelf: HashMap<String, i64>,
    request_hash: String,
    actor: String,
}

/// Writes one new order inside `tx`: the order and its lines, the FEFO reservations, and the
/// events. `None` when the external id is known already (nothing is written then).
async fn write_intake(tx: &mut WriteTx, job: &Intake) -> Result<Option<Written>> {
    let order = &job.order;
    // Stock is promised first, with the line numbers standing in for the line ids, so that the
    // order is written once, with its status.
    let lines: Vec<LineNeed> = order
        .lines
        .iter()
        .map(|l| LineNeed {
            id: l.line_no,
            line_no: l.line_no,
            gtin: l.gtin.clone(),
            open: l.quantity,
            holds: false,
            min_shelf_life_days: job.shelf.get(&l.gtin).copied().unwrap_or(0),
        })
        .collect();
    let (takes, missing) = promise(tx, order.delivery_date, &lines, true).await?;
    let (status, missing_json) = if missing.is_empty() {
        (OrderStatus::Allocated, None)
    } else {
        (
            OrderStatus::Backordered,
            Some(serde_json::to_string(&missing).unwrap_or_default()),
        )
    };
    let new = db::NewOrderRow {
        order,
        request_hash: &job.request_hash,
        actor: &job.actor,
        status,
        missing: missing_json.as_deref(),
    };
    let Some(inserted) = db::insert_order(tx.conn(), &new).await? else {
        // Known already: give the promised stock back (the transaction is not rolled back in a
        // batch) and let the caller replay the stored order.
        for (unit, qty) in allocation::per_unit(&takes) {
            db::unreserve(tx.conn(), unit, qty).await?;
        }
        return Ok(None);
    };
    let id = inserted.id;
    let takes: Vec<(i64, i64, i64)> = takes
        .into_iter()
        .map(|(unit, line_no, qty)| (unit, inserted.line_ids[(line_no - 1) as usize], qty))
        .collect();
    db::insert_reservations(tx.conn(), id, &takes).await?;
    order_event(
        tx,
        "order.received",
        (id, &order.external_id, OrderStatus::Received),
        json!({ "lines": order.lines.len(), "has_cut": order.has_cut() }),
    )
    .await?;
    let event = if status == OrderStatus::Allocated {
        "order.allocated"
    } else {
        "order.backordered"
    };
    order_event(
        tx,
        event,
        (id, &order.external_id, status),
        json!({ "missing": missing }),
    )
    .await?;
    Ok(Some(Written {
        status,
        missing,
        version: inserted.version,
        updated_at: inserted.updated_at,
    }))
}

/// A new order as its intake wrote it: what the answer needs.
struct Written {
    status: OrderStatus,
    missing: Vec<Missing>,
    version: i64,
    updated_at: String,
}

/// Takes in an order from the ordering system. The external id is the idempotency key: the same
/// order again returns the stored one (`created: false`); different content under a known id is
/// refused with 409 `order_conflict`.
pub async fn intake(ctx: &Ctx, actor: &Actor, input: &OrderInput) -> Result<IntakeResult> {
    let (order, shelf) = validate(ctx, input).await?;
    let job = Intake {
        request_hash: hash(&order),
        order,
        shelf,
        actor: actor.name.clone(),
    };
    let (external_id, request_hash) = (job.order.external_id.clone(), job.request_hash.clone());
    let written = match ctx.db.sqlite_writer() {
        // SQLite: the writer thread writes the whole intake in one step, and the orders that
        // arrive together share one commit.
        Some(w) => w
            .write_order(crate::store::sqlite_writer::OrderWrite {
                order: job.order,
                request_hash: job.request_hash,
                actor: job.actor,
                shelf: job.shelf,
                today: today(),
            })
            .await
            .map_err(Error::Internal)?
            .map(|o| Written {
                status: o.status,
                missing: o.missing,
                version: o.version,
                updated_at: o.updated_at,
            }),
        // PostgreSQL: writers run concurrently, each order in its own transaction.
        None => {
            let mut tx = ctx.db.begin_write().await?;
            let done = write_intake(&mut tx, &job).await?;
            tx.commit().await?;
            done
        }
    };
    let Some(w) = written else {
        return replay(ctx, &external_id, &request_hash).await;
    };
    let status = w.status;
    ctx.metrics
        .orders
        .get_or_create(&crate::metrics::OutcomeLabel {
            outcome: status.as_str().into(),
        })
        .inc();
    if status == OrderStatus::Backordered {
        tracing::info!(order = %external_id, "order backordered");
    }
    // The answer comes from the write itself: the order is not read back.
    Ok(IntakeResult {
        created: true,
        order: OrderStatusView {
            external_id,
            status,
            version: w.version,
            missing: w.missing,
            partial_release: false,
            wave_id: None,
            tote: None,
            updated_at: w.updated_at,
            parcels: Vec::new(),
        },
    })
}

async fn replay(ctx: &Ctx, external_id: &str, request_hash: &str) -> Result<IntakeResult> {
    let mut conn = ctx.db.pool().acquire().await?;
    let existing = db::order_by_external(&mut conn, external_id)
        .await?
        .ok_or_else(|| {
            Error::conflict(
                "order_in_use",
                "the order is being received by another request; try again",
            )
        })?;
    if existing.request_hash != request_hash {
        return Err(Error::conflict(
            "order_conflict",
            format!("order {external_id} was already received with different content; change it with PUT /api/orders/{external_id}"),
        ));
    }
    ctx.metrics
        .orders
        .get_or_create(&crate::metrics::OutcomeLabel {
            outcome: "replayed".into(),
        })
        .inc();
    Ok(IntakeResult {
        created: false,
        order: status_view(&existing),
    })
}

async fn changeable(tx: &mut WriteTx, external_id: &str) -> Result<OrderRow> {
    let backend = tx.backend();
    let o = db::order_for_update(tx.conn(), backend, db::OrderRef::External(external_id))
        .await?
        .ok_or_else(|| Error::NotFound(format!("order {external_id}")))?;
    if !o.status.changeable() {
        return Err(Error::conflict(
            "order_not_changeable",
            format!(
                "order {external_id} is {}; orders can be changed or cancelled only until picking starts",
                o.status.as_str()
            ),
        ));
    }
    Ok(o)
}

/// Replaces an order's content before picking starts; it is allocated again.
pub async fn change(
    ctx: &Ctx,
    actor: &Actor,
    external_id: &str,
    input: &OrderInput,
) -> Result<OrderStatusView> {
    if input.external_id.trim() != external_id {
        return Err(Error::invalid(
            "external_id",
            "must match the order in the path",
        ));
    }
    let (order, _) = validate(ctx, input).await?;
    let request_hash = hash(&order);
    let mut tx = ctx.db.begin_write().await?;
    let o = changeable(&mut tx, external_id).await?;
    if o.request_hash == request_hash {
        return Ok(status_view(&o));
    }
    // Old and new products' units are locked first, in id order: the change gives back packs
    // and takes others without a lock-order cycle with a concurrent intake.
    let mut gtins: Vec<String> = db::lines(tx.conn(), o.id)
        .await?
        .into_iter()
        .map(|l| l.gtin)
        .collect();
    gtins.extend(order.lines.iter().map(|l| l.gtin.clone()));
    gtins.sort();
    gtins.dedup();
    let backend = tx.backend();
    db::lock_units_of(tx.conn(), backend, &gtins).await?;
    db::release_reservations(tx.conn(), o.id).await?;
    db::replace_order(tx.conn(), o.id, &order, &request_hash).await?;
    let row = load(&mut tx, o.id).await?;
    let allocated = allocate_row(&mut tx, &row).await?;
    order_event(
        &mut tx,
        "order.changed",
        key(&row),
        json!({ "by": actor.name, "version": row.version }),
    )
    .await?;
    allocation_event(&mut tx, (o.id, external_id), allocated).await?;
    let row = load(&mut tx, o.id).await?;
    tx.commit().await?;
    Ok(status_view(&row))
}

/// A reason for a decision on an order: kept in the audit log only (not in the change feed),
/// and never with a CPR number.
fn reason_text(reason: &str) -> Result<String> {
    let r = crate::domain::stock::note("reason", reason, true)?.unwrap_or_default();
    if rules::looks_like_cpr(&r) {
        return Err(Error::invalid(
            "reason",
            "looks like a CPR number; write the reason without personal numbers",
        ));
    }
    Ok(r)
}

async fn audit_decision(
    tx: &mut WriteTx,
    actor: &Actor,
    action: &str,
    external_id: &str,
    reason: &str,
) -> Result<()> {
    crate::store::audit::append(
        tx.conn(),
        crate::store::audit::NewAudit {
            actor: &actor.name,
            action,
            subject: &format!("order:{external_id}"),
            purpose: None,
            detail: json!({ "reason": reason }),
        },
    )
    .await?;
    Ok(())
}

/// Cancels an order before picking starts; its reservations are given back.
pub async fn cancel(
    ctx: &Ctx,
    actor: &Actor,
    external_id: &str,
    reason: &str,
) -> Result<OrderStatusView> {
    let reason = reason_text(reason)?;
    let mut tx = ctx.db.begin_write().await?;
    let o = changeable(&mut tx, external_id).await?;
    db::release_reservations(tx.conn(), o.id).await?;
    audit_decision(&mut tx, actor, "order.cancelled", external_id, &reason).await?;
    db::set_status(
        tx.conn(),
        o.id,
        OrderStatus::Cancelled,
        o.missing.as_deref(),
        o.partial_release,
    )
    .await?;
    let row = load(&mut tx, o.id).await?;
    order_event(
        &mut tx,
        "order.cancelled",
        key(&row),
        json!({ "by": actor.name }),
    )
    .await?;
    tx.commit().await?;
    Ok(status_view(&row))
}

/// A lead releases a backordered order for picking with what can be reserved now; the rest is
/// not shipped (named in `missing`).
pub async fn release_partial(
    ctx: &Ctx,
    actor: &Actor,
    external_id: &str,
    reason: &str,
) -> Result<OrderStatusView> {
    let reason = reason_text(reason)?;
    let mut tx = ctx.db.begin_write().await?;
    let backend = tx.backend();
    let o = db::order_for_update(tx.conn(), backend, db::OrderRef::External(external_id))
        .await?
        .ok_or_else(|| Error::NotFound(format!("order {external_id}")))?;
    if o.status != OrderStatus::Backordered {
        return Err(Error::conflict(
            "order_not_backordered",
            format!(
                "order {external_id} is {}; only a backordered order is released partially",
                o.status.as_str()
            ),
        ));
    }
    let needs = line_needs(&mut tx, o.id).await?;
    let missing = reserve_order(&mut tx, o.id, o.delivery_date, &needs).await?;
    let lines = db::lines(tx.conn(), o.id).await?;
    if lines.iter().all(|l| l.reserved == 0) {
        return Err(Error::conflict(
            "nothing_to_release",
            format!("no stock can be reserved for order {external_id}: nothing would be shipped"),
        ));
    }
    let missing_json = serde_json::to_string(&missing).unwrap_or_default();
    db::set_status(
        tx.conn(),
        o.id,
        OrderStatus::Allocated,
        Some(&missing_json),
        true,
    )
    .await?;
    audit_decision(
        &mut tx,
        actor,
        "order.released_partially",
        external_id,
        &reason,
    )
    .await?;
    let row = load(&mut tx, o.id).await?;
    order_event(
        &mut tx,
        "order.released_partially",
        key(&row),
        json!({ "by": actor.name, "missing": missing }),
    )
    .await?;
    tx.commit().await?;
    Ok(status_view(&row))
}

/// Retries backordered orders, oldest first; returns how many were allocated. Run after stock
/// arrives and periodically (so stock received by another instance is noticed too).
pub async fn allocate_backorders(ctx: &Ctx) -> Result<usize> {
    let ids = db::backordered_ids(ctx.db.pool(), 500).await?;
    let mut allocated = 0;
    for id in ids {
        let mut tx = ctx.db.begin_write().await?;
        let backend = tx.backend();
        let Some(o) = db::order_for_update(tx.conn(), backend, db::OrderRef::Id(id)).await? else {
            continue;
        };
        if o.status != OrderStatus::Backordered {
            continue;
        }
        let allocated_now = allocate_row(&mut tx, &o).await?;
        let status = allocated_now.0;
        allocation_event(&mut tx, (o.id, &o.external_id), allocated_now).await?;
        tx.commit().await?;
        if status == OrderStatus::Allocated {
            allocated += 1;
            tracing::info!(order = %o.external_id, "backordered order allocated");
        }
    }
    Ok(allocated)
}

/// Runs `allocate_backorders` whenever stock may have arrived, and every 30 seconds.
pub fn spawn_backorder_worker(ctx: Ctx) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = ctx.stock_arrived.notified() => {}
            }
            if let Err(e) = allocate_backorders(&ctx).await {
                tracing::warn!(error = %e, "backorder allocation failed; retried later");
            }
        }
    })
}

/// The status of an order, without personal data (no audit entry).
pub async fn status(ctx: &Ctx, external_id: &str) -> Result<OrderStatusView> {
    let mut conn = ctx.db.pool().acquire().await?;
    let o = db::order_by_external(&mut conn, external_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("order {external_id}")))?;
    let mut v = status_view(&o);
    v.parcels = crate::store::bookings::shipments_of_order(&mut conn, o.id).await?;
    Ok(v)
}

/// How many orders are in each status, in life-cycle order (statuses without orders left out).
pub async fn counts(ctx: &Ctx) -> Result<Vec<(OrderStatus, i64)>> {
    let found = db::count_by_status(ctx.db.pool()).await?;
    Ok(OrderStatus::ALL
        .into_iter()
        .filter_map(|st| {
            found
                .iter()
                .find(|(s, _)| s == st.as_str())
                .map(|(_, n)| (st, *n))
        })
        .collect())
}

/// Orders by status, without personal data.
pub async fn list(
    ctx: &Ctx,
    status: Option<&str>,
    after: i64,
    limit: i64,
) -> Result<Vec<OrderStatusView>> {
    if let Some(s) = status {
        if OrderStatus::from_db(s).is_none() {
            let names: Vec<_> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
            return Err(Error::invalid(
                "status",
                format!("must be one of {}", names.join(", ")),
            ));
        }
    }
    let rows = db::list_orders(ctx.db.pool(), status, after, limit.clamp(1, 1000)).await?;
    Ok(rows.iter().map(status_view).collect())
}

/// A whole order with the citizen's name and address. Writes an audit entry (who, when, which
/// order and citizen, why) in the same transaction as the read.
pub async fn read(ctx: &Ctx, actor: &Actor, external_id: &str, purpose: &str) -> Result<OrderView> {
    let purpose = crate::domain::stock::note("purpose", purpose, true)?.unwrap_or_default();
    let mut tx = ctx.db.begin_write().await?;
    let o = db::order_by_external(tx.conn(), external_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("order {external_id}")))?;
    let lines = db::lines(tx.conn(), o.id).await?;
    crate::store::audit::append(
        tx.conn(),
        crate::store::audit::NewAudit {
            actor: &actor.name,
            action: "order.personal_data_read",
            subject: &format!("order:{}", o.external_id),
            purpose: Some(&purpose),
            detail: json!({ "citizen_id": o.citizen_id }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(OrderView {
        id: o.id,
        external_id: o.external_id.clone(),
        status: o.status,
        version: o.version,
        payer: rules::PayerInput {
            code: o.payer_code.clone(),
            name: o.payer_name.clone(),
            ean: o.payer_ean.clone(),
        },
        grant_ref: o.grant_ref.clone(),
        citizen_id: o.citizen_id.clone(),
        recipient: rules::RecipientInput {
            name: o.recipient_name.clone(),
            address_line1: o.address_line1.clone(),
            address_line2: o.address_line2.clone(),
            postcode: o.postcode.clone(),
            city: o.city.clone(),
            country: Some(o.country.clone()),
            phone: o.phone.clone(),
            email: o.email.clone(),
        },
        delivery_date: o.delivery_date.to_string(),
        has_cut: o.has_cut,
        missing: missing_of(&o),
        partial_release: o.partial_release,
        wave_id: o.wave_id,
        tote: o.tote.clone(),
        created_at: o.created_at.clone(),
        updated_at: o.updated_at.clone(),
        lines,
    })
}

/// Order events after a cursor (received, allocated, backordered, picking, picked, cutting, …).
pub async fn changes(
    ctx: &Ctx,
    after: i64,
    limit: i64,
) -> Result<Vec<crate::store::events::Event>> {
    Ok(db::order_events_after(ctx.db.pool(), after, limit.clamp(1, 1000)).await?)
}

pub(crate) use order_event as event;
