//! A short pick (what was not there is held for a count and re-allocated) and undo.

use super::*;

/// The picker cannot complete a pick (the location holds fewer packs than booked). What was
/// picked stays; the rest is re-allocated from other stock and appended to the wave as new
/// picks. An exception is recorded for the lead (the location needs a count).
pub async fn short(ctx: &Ctx, actor: &Actor, wave_id: i64, r: &ShortRequest) -> Result<NextPick> {
    let note = crate::domain::stock::note("note", r.note.as_deref().unwrap_or(""), false)?;
    let mut tx = ctx.db.begin_write().await?;
    let w = wave_row(&mut tx, wave_id).await?;
    open_wave(&w)?;
    own_wave(&w, actor)?;
    let pick = db::pick(tx.conn(), r.pick_id)
        .await?
        .filter(|p| p.wave_id == wave_id)
        .ok_or_else(|| Error::NotFound(format!("pick {} in wave {wave_id}", r.pick_id)))?;
    if pick.status != PickStatus::Open {
        return Err(Error::conflict(
            "pick_not_open",
            format!("pick {} is {}", pick.id, pick.status),
        ));
    }
    let rem = pick.quantity - pick.picked;
    // Every unit of the product is locked first, in id order: the packs given up here and the
    // ones reserved instead are then taken without a lock-order cycle with an intake.
    let backend = tx.backend();
    db::lock_units_of(tx.conn(), backend, std::slice::from_ref(&pick.gtin)).await?;
    db::unreserve(tx.conn(), pick.stock_unit_id, rem).await?;
    db::reduce_reservation(tx.conn(), pick.reservation_id, rem).await?;
    db::set_pick_short(tx.conn(), pick.id).await?;
    // The packs the picker could not find are held in quarantine at the location until a lead
    // counts it, so that no other order is promised them.
    let reference = format!("wave {wave_id} pick {}", pick.id);
    let hold = MoveOp {
        kind: "quarantine",
        key: &format!("short:{}", pick.id),
        reason: Some("short pick: count the location"),
        reference: &reference,
    };
    let held = move_packs(
        &mut tx,
        actor,
        &hold,
        pick.stock_unit_id,
        To::Location(&pick.location, StockStatus::Quarantined),
        rem,
    )
    .await?;
    // Re-allocate the rest from any other unit of the product.
    let candidates: Vec<_> = db::candidates(tx.conn(), std::slice::from_ref(&pick.gtin))
        .await?
        .into_iter()
        .filter(|c| c.unit_id != pick.stock_unit_id)
        .collect();
    let need = Need {
        line_id: pick.line_id,
        gtin: pick.gtin.clone(),
        quantity: rem,
        min_shelf_life_days: pick.min_shelf_life_days,
    };
    let plan = allocation::allocate(&[need], &candidates, date(&pick.delivery_date), today());
    let mut takes = plan.lines[0].takes.clone();
    takes.sort_by_key(|t| t.unit_id);
    let mut new_res = Vec::new();
    let mut reallocated = 0;
    for t in takes {
        if db::reserve(tx.conn(), t.unit_id, t.qty).await? {
            new_res.push(
                db::new_reservation(tx.conn(), pick.order_id, pick.line_id, t.unit_id, t.qty)
                    .await?,
            );
            reallocated += t.qty;
        }
    }
    let after = db::max_seq(tx.conn(), wave_id).await?;
    db::create_picks(tx.conn(), wave_id, &new_res, after).await?;
    db::insert_exception(
        tx.conn(),
        &db::NewException {
            wave_id,
            pick_id: pick.id,
            order_id: pick.order_id,
            kind: if reallocated == rem {
                "short"
            } else {
                "short_unresolved"
            },
            location: &pick.location,
            gtin: &pick.gtin,
            expected: rem,
            found: 0,
            reallocated,
            note: note.as_deref(),
            actor: &actor.name,
        },
    )
    .await?;
    // The location is to be counted: the count decides whether the held packs are there.
    if let Some(into) = held.iter().find(|e| e.delta > 0) {
        let note = format!("{rem} × {} · #{wave_id}", pick.gtin);
        crate::store::counting::insert_short_task(
            tx.conn(),
            &crate::store::counting::NewShortTask {
                location: &pick.location,
                pick_id: pick.id,
                hold_unit_id: into.stock_unit_id,
                hold_qty: rem,
                note: &note,
                by: &actor.name,
            },
        )
        .await?;
    }
    if reallocated < rem {
        // The order leaves with less than ordered; the missing packs are named on it.
        if let Some(o) = db::order_by_id(tx.conn(), pick.order_id).await? {
            let lines = db::lines(tx.conn(), o.id).await?;
            let line_no = lines
                .iter()
                .find(|l| l.id == pick.line_id)
                .map_or(0, |l| l.line_no);
            let mut missing: Vec<crate::service::orders::Missing> = o
                .missing
                .as_deref()
                .and_then(|m| serde_json::from_str(m).ok())
                .unwrap_or_default();
            missing.push(crate::service::orders::Missing {
                line_no,
                gtin: pick.gtin.clone(),
                missing: rem - reallocated,
            });
            let json = serde_json::to_string(&missing).unwrap_or_default();
            db::set_status(tx.conn(), o.id, o.status, Some(&json), o.partial_release).await?;
        }
    }
    let finished = finish_rows(&mut tx, wave_id).await?;
    tx.event(
        "stock.quarantined",
        &format!("stock_unit:{}", pick.stock_unit_id),
        &stock_db::event_payload("quarantine", held[0].op_id, &held),
    )
    .await?;
    tx.event(
        "pick.short",
        &format!("wave:{wave_id}"),
        &json!({ "wave_id": wave_id, "pick_id": pick.id, "order": pick.external_id, "location": pick.location,
                 "gtin": pick.gtin, "expected": rem, "reallocated": reallocated, "by": actor.name }),
    )
    .await?;
    finish_events(&mut tx, wave_id, finished).await?;
    let w = wave_row(&mut tx, wave_id).await?;
    let next = next_in(&mut tx, ctx, &w).await?;
    tx.commit().await?;
    tracing::warn!(wave_id, pick = pick.id, location = %pick.location, reallocated, missing = rem - reallocated, "short pick");
    Ok(next)
}

/// Takes back the wave's last confirmed quantity: the packs go from the tote back to their
/// unit, reserved again for the pick. Possible until the wave is done (totes closed).
pub async fn undo(ctx: &Ctx, actor: &Actor, wave_id: i64, r: &UndoRequest) -> Result<NextPick> {
    let mut tx = ctx.db.begin_write().await?;
    let w = wave_row(&mut tx, wave_id).await?;
    let last = db::last_confirm(tx.conn(), wave_id).await?;
    // Naming the scan makes the undo idempotent: a retried or double-tapped undo of that scan
    // takes back nothing more.
    if let Some(scan_id) = r.scan_id.as_deref() {
        let named = db::confirm_by_key(tx.conn(), &format!("pick:{wave_id}:{scan_id}"))
            .await?
            .ok_or_else(|| {
                Error::NotFound(format!("confirmed scan {scan_id} in wave {wave_id}"))
            })?;
        if named.undone {
            drop(tx);
            return next(ctx, wave_id).await;
        }
        if last.as_ref().map(|l| l.id) != Some(named.id) {
            return Err(Error::conflict(
                "not_last_pick",
                format!("scan {scan_id} is not the last pick of wave {wave_id}; only the last one can be undone"),
            ));
        }
    }
    open_wave(&w)?;
    own_wave(&w, actor)?;
    let c = last.ok_or_else(|| {
        Error::conflict(
            "nothing_to_undo",
            format!("wave {wave_id} has no pick to undo"),
        )
    })?;
    let pick = db::pick(tx.conn(), c.pick_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("pick {}", c.pick_id)))?;
    if pick.status == PickStatus::Short || pick.stock_unit_id != c.from_unit {
        return Err(Error::conflict(
            "cannot_undo",
            format!(
                "pick {} was reported short after it; ask the lead to correct it",
                pick.id
            ),
        ));
    }
    let key = format!("undo:{}", c.id);
    let reference = format!(
        "undo of pick {} (order {} tote {})",
        pick.id, pick.external_id, pick.tote
    );
    let op = MoveOp {
        kind: "pick",
        key: &key,
        reason: Some("undo"),
        reference: &reference,
    };
    let entries = move_packs(&mut tx, actor, &op, c.to_unit, To::Unit(c.from_unit), c.qty).await?;
    if !db::reserve(tx.conn(), c.from_unit, c.qty).await? {
        return Err(Error::Internal(anyhow::anyhow!(
            "returned packs could not be reserved again"
        )));
    }
    db::restore_reservation(tx.conn(), pick.reservation_id, c.qty).await?;
    db::add_picked(tx.conn(), pick.id, pick.line_id, -c.qty).await?;
    db::mark_undone(tx.conn(), c.id).await?;
    tx.event(
        "stock.picked",
        &format!("stock_unit:{}", c.from_unit),
        &stock_db::event_payload("pick", entries[0].op_id, &entries),
    )
    .await?;
    tx.event(
        "pick.undone",
        &format!("wave:{wave_id}"),
        &json!({ "wave_id": wave_id, "pick_id": pick.id, "qty": c.qty, "by": actor.name }),
    )
    .await?;
    let w = wave_row(&mut tx, wave_id).await?;
    let next = next_in(&mut tx, ctx, &w).await?;
    tx.commit().await?;
    Ok(next)
}
