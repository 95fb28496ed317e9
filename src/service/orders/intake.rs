//! Taking a new order in: validated against the catalog, allocated and written in one step
//! (on SQLite by the writer thread, on PostgreSQL in a transaction of its own), answered from
//! its own write; the same order again is replayed.

use super::allocate::{promise, LineNeed};
use super::*;
use crate::store::sqlite_writer::{OrderWrite, OrderWritten};

pub(super) fn hash(o: &NewOrder) -> String {
    crate::service::auth::sha256_hex(&serde_json::to_string(o).unwrap_or_default())
}

/// Validates an intake against the catalog. Also returns each product's minimum shelf life.
pub(super) async fn validate(
    ctx: &Ctx,
    input: &OrderInput,
) -> Result<(NewOrder, HashMap<String, i64>)> {
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

/// Writes one new order inside `tx`: the order and its lines, the FEFO reservations, and the
/// events. `None` when the external id is known already (nothing is written then).
async fn write_intake(tx: &mut WriteTx, job: &OrderWrite) -> Result<Option<OrderWritten>> {
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
    Ok(Some(OrderWritten {
        id,
        status,
        missing,
        version: inserted.version,
        updated_at: inserted.updated_at,
    }))
}

/// Takes in an order from the ordering system. The external id is the idempotency key: the same
/// order again returns the stored one (`created: false`); different content under a known id is
/// refused with 409 `order_conflict`.
pub async fn intake(ctx: &Ctx, actor: &Actor, input: &OrderInput) -> Result<IntakeResult> {
    let (order, shelf) = validate(ctx, input).await?;
    // One description of the write for both backends.
    let job = OrderWrite {
        request_hash: hash(&order),
        order,
        shelf,
        actor: actor.name.clone(),
        today: today(),
    };
    let (external_id, request_hash) = (job.order.external_id.clone(), job.request_hash.clone());
    let written = match ctx.db.sqlite_writer() {
        // SQLite: the writer thread writes the whole intake in one step, and the orders that
        // arrive together share one commit.
        Some(w) => w.write_order(job).await.map_err(Error::Internal)?,
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
