//! Changing an order before picking: new content (allocated again), cancel, and a lead's
//! partial release of a backorder. Each decision is audit-logged with its reason.

use super::allocate::{allocate_row, allocation_event, line_needs, reserve_order};
use super::intake::{hash, validate};
use super::*;

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
