//! Packs moved inside a pick's transaction (ledger entries included) and the end of a wave.

use super::*;

/// Where `move_packs` puts the packs.
pub(super) enum To<'a> {
    /// The unit of the same product, lot and owner at this location and status (made if new).
    Location(&'a str, StockStatus),
    /// An existing unit (packs going back where they came from).
    Unit(i64),
}

/// What `move_packs` writes: the ledger kind, its idempotency key, the reason and reference.
pub(super) struct MoveOp<'a> {
    pub(super) kind: &'static str,
    pub(super) key: &'a str,
    pub(super) reason: Option<&'a str>,
    pub(super) reference: &'a str,
}

/// The request hash of a pick's stock operation (its idempotency record), on either path.
pub(super) fn request_hash(from: i64, to: &To<'_>, qty: i64) -> String {
    let target = match to {
        To::Location(l, st) => json!({ "location": l, "status": st }),
        To::Unit(id) => json!({ "unit": id }),
    };
    let request = json!({ "from": from, "to": target, "qty": qty });
    crate::service::auth::sha256_hex(&request.to_string())
}

/// One stock operation moving `qty` packs out of unit `from` into `to`, with its two ledger
/// entries, inside the caller's transaction. Events are left to the caller (appended last).
pub(super) async fn move_packs(
    tx: &mut WriteTx,
    actor: &Actor,
    op: &MoveOp<'_>,
    from: i64,
    to: To<'_>,
    qty: i64,
) -> Result<Vec<stock_db::LedgerEntry>> {
    let u = stock_db::unit(tx.conn(), from)
        .await?
        .ok_or_else(|| Error::NotFound(format!("stock unit {from}")))?;
    let hash = request_hash(from, &to, qty);
    let Some(op_id) =
        stock_db::insert_op(tx.conn(), op.kind, Some(op.key), &hash, &actor.name).await?
    else {
        return Err(Error::conflict(
            "idempotency_key_in_use",
            "this scan is being confirmed by another request",
        ));
    };
    let (before, after) = match stock_db::change_qty(tx.conn(), from, -qty).await? {
        Ok(v) => v,
        Err(free) => {
            return Err(crate::domain::stock::StockError::Insufficient {
                on_hand: free,
                requested: qty,
            }
            .into())
        }
    };
    let out = NewLedger {
        op_id,
        unit_id: from,
        kind: op.kind,
        gtin: &u.gtin,
        owner: &u.owner,
        location: &u.location,
        delta: -qty,
        before,
        after,
        reason: op.reason,
        reference: Some(op.reference),
        actor: &actor.name,
    };
    let mut entries = vec![stock_db::insert_ledger(tx.conn(), &out).await?];
    let (to_id, to_before, to_after, to_location) = match to {
        To::Location(location, status) => {
            let (id, b, a) = stock_db::add_to_unit(
                tx.conn(),
                &UnitKey {
                    gtin: &u.gtin,
                    lot: &u.lot,
                    expiry: &u.expiry,
                    location,
                    owner: &u.owner,
                    status: status.as_str(),
                },
                qty,
            )
            .await?;
            (id, b, a, location.to_string())
        }
        To::Unit(unit) => {
            let target = stock_db::unit(tx.conn(), unit)
                .await?
                .ok_or_else(|| Error::NotFound(format!("stock unit {unit}")))?;
            let Ok((b, a)) = stock_db::change_qty(tx.conn(), unit, qty).await? else {
                return Err(Error::Internal(anyhow::anyhow!(
                    "cannot return packs to unit {unit}"
                )));
            };
            (unit, b, a, target.location)
        }
    };
    let into = NewLedger {
        unit_id: to_id,
        location: &to_location,
        delta: qty,
        before: to_before,
        after: to_after,
        ..out
    };
    entries.push(stock_db::insert_ledger(tx.conn(), &into).await?);
    Ok(entries)
}

/// An order that left a finished wave: (id, external id, new status, tote).
pub(super) type Finished = Vec<(i64, String, OrderStatus, Option<String>)>;

/// When no pick of the wave is open, the wave is done: its orders go to cutting (with cut
/// lines) or wait for packing (`picked`), and their totes are closed for undo. An order of which
/// nothing could be picked (every pick short, no stock elsewhere) goes back to `backordered`
/// without wave or tote instead of on to packing with an empty tote. Writes the rows only;
/// `finish_events` appends the events, last in the transaction.
pub(super) async fn finish_rows(tx: &mut WriteTx, wave_id: i64) -> Result<Option<Finished>> {
    if db::open_picks(tx.conn(), wave_id).await? > 0 {
        return Ok(None);
    }
    let mut finished = Vec::new();
    for (id, has_cut, external_id, tote) in db::orders_of_wave(tx.conn(), wave_id).await? {
        let picked: i64 = db::lines(tx.conn(), id)
            .await?
            .iter()
            .map(|l| l.picked)
            .sum();
        let status = if picked == 0 {
            OrderStatus::Backordered
        } else if has_cut {
            OrderStatus::Cutting
        } else {
            OrderStatus::Picked
        };
        if status == OrderStatus::Backordered {
            db::leave_wave(tx.conn(), id).await?;
        }
        if status == OrderStatus::Cutting {
            let lines = db::lines(tx.conn(), id).await?;
            crate::service::cutting::create_jobs(tx, id, &lines).await?;
        }
        db::set_order_status(tx.conn(), id, status).await?;
        finished.push((id, external_id, status, tote));
    }
    // A replacement wave (a cutting job's damaged plates) carries no order: its plates become
    // new cutting jobs.
    crate::service::cutting::replacements_picked(tx, wave_id).await?;
    db::set_wave(tx.conn(), wave_id, WaveStatus::Done, None, None).await?;
    Ok(Some(finished))
}

/// A replacement wave for a cutting job's damaged plates: `qty` packs of the line's product,
/// reserved first-expired-first-out and picked into the order's tote, while the order itself
/// stays in cutting. None (nothing reserved, no wave) when the stock cannot cover them all.
pub(crate) async fn replacement_wave(
    tx: &mut WriteTx,
    order_id: i64,
    line_id: i64,
    qty: i64,
) -> Result<Option<i64>> {
    let Some(o) = db::order_by_id(tx.conn(), order_id).await? else {
        return Ok(None);
    };
    let lines = db::lines(tx.conn(), order_id).await?;
    let Some(l) = lines.iter().find(|l| l.id == line_id) else {
        return Ok(None);
    };
    let backend = tx.backend();
    db::lock_units_of(tx.conn(), backend, std::slice::from_ref(&l.gtin)).await?;
    let candidates = db::candidates(tx.conn(), std::slice::from_ref(&l.gtin)).await?;
    let need = Need {
        line_id,
        gtin: l.gtin.clone(),
        quantity: qty,
        min_shelf_life_days: l.min_shelf_life_days,
    };
    let plan = allocation::allocate(&[need], &candidates, o.delivery_date, today());
    let mut takes = plan.lines[0].takes.clone();
    if plan.lines[0].missing > 0 {
        return Ok(None);
    }
    takes.sort_by_key(|t| t.unit_id);
    let mut reservations = Vec::new();
    for t in takes {
        if !db::reserve(tx.conn(), t.unit_id, t.qty).await? {
            // Changed under us despite the lock: give up cleanly (the caller's transaction is
            // not spoiled; the replacement is marked short for a lead).
            for (unit, n, res) in &reservations {
                db::unreserve(tx.conn(), *unit, *n).await?;
                db::reduce_reservation(tx.conn(), *res, *n).await?;
            }
            return Ok(None);
        }
        let res = db::new_reservation(tx.conn(), order_id, line_id, t.unit_id, t.qty).await?;
        reservations.push((t.unit_id, t.qty, res));
    }
    let wave_id = db::insert_wave(tx.conn(), None, 1, None, "konsign").await?;
    let ids: Vec<i64> = reservations.iter().map(|r| r.2).collect();
    let picks = db::create_picks(tx.conn(), wave_id, &ids, 0).await?;
    tx.event(
        "wave.created",
        &format!("wave:{wave_id}"),
        &json!({ "wave_id": wave_id, "orders": 1, "picks": picks, "picker": null, "by": "konsign",
                 "replacement": { "order": o.external_id, "line_id": line_id, "qty": qty } }),
    )
    .await?;
    tracing::info!(wave_id, order = %o.external_id, qty, "replacement wave created");
    Ok(Some(wave_id))
}

/// The events of a wave that `finish_rows` finished.
pub(super) async fn finish_events(
    tx: &mut WriteTx,
    wave_id: i64,
    finished: Option<Finished>,
) -> Result<()> {
    let Some(orders) = finished else {
        return Ok(());
    };
    for (id, external_id, status, tote) in &orders {
        let event = format!("order.{}", status.as_str());
        crate::service::orders::event(
            tx,
            &event,
            (*id, external_id, *status),
            json!({ "wave_id": wave_id, "tote": tote }),
        )
        .await?;
    }
    tx.event(
        "wave.done",
        &format!("wave:{wave_id}"),
        &json!({ "wave_id": wave_id, "orders": orders.len() }),
    )
    .await?;
    tracing::info!(wave_id, orders = orders.len(), "wave done");
    Ok(())
}
