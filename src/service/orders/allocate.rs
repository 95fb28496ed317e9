//! Allocation: FEFO reservations for an order's open lines, `allocated` or `backordered`, and
//! the backorder worker that tops backorders up oldest first as stock arrives.

use super::*;

/// A line as the allocator needs it.
pub(super) struct LineNeed {
    pub(super) id: i64,
    pub(super) line_no: i64,
    pub(super) gtin: String,
    /// Packs neither reserved nor picked yet.
    pub(super) open: i64,
    /// The line holds reservations already (a top-up adds to them).
    pub(super) holds: bool,
    pub(super) min_shelf_life_days: i64,
}

pub(super) async fn line_needs(tx: &mut WriteTx, order_id: i64) -> Result<Vec<LineNeed>> {
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
pub(super) async fn promise(
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
pub(super) async fn record(
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
pub(super) async fn reserve_order(
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
pub(super) type Allocated = (OrderStatus, Option<(&'static str, Vec<Missing>)>);

/// Allocates a `received` or `backordered` order in `tx`: reserves what it can; `allocated`
/// when every line is covered, otherwise `backordered` holding what it has. Events are appended
/// last in every transaction: on PostgreSQL the event lock must never be held while waiting
/// for a stock row.
pub(super) async fn allocate_in(
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
pub(super) async fn allocate_row(tx: &mut WriteTx, o: &OrderRow) -> Result<Allocated> {
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
pub(super) async fn allocation_event(
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
