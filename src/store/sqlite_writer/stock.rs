//! A stock operation's whole transaction (the ledger, the units, a closed count and the event),
//! written by the writer thread.

use crate::store::stock::{event_payload, Amount, LedgerEntry, LegTarget, OpPlan, Outcome};
use rusqlite::{params, Connection, OptionalExtension};

const LEDGER_COLS: &str =
    "id, op_id, stock_unit_id, kind, gtin, owner, location, delta, qty_before, qty_after, reason, reference, actor, at";

fn ledger_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LedgerEntry> {
    Ok(LedgerEntry {
        id: r.get(0)?,
        op_id: r.get(1)?,
        stock_unit_id: r.get(2)?,
        kind: r.get(3)?,
        gtin: r.get(4)?,
        owner: r.get(5)?,
        location: r.get(6)?,
        delta: r.get(7)?,
        qty_before: r.get(8)?,
        qty_after: r.get(9)?,
        reason: r.get(10)?,
        reference: r.get(11)?,
        actor: r.get(12)?,
        at: r.get(13)?,
    })
}

/// The same statements as `stock::execute_sqlx`, inside the caller's savepoint.
pub(super) fn execute(tx: &Connection, plan: &OpPlan) -> rusqlite::Result<Outcome> {
    let now = crate::store::now_db();
    let op_id: Option<i64> = tx
        .prepare_cached(
            "insert into stock_ops (kind, idempotency_key, request_hash, actor, at) values (?1, ?2, ?3, ?4, ?5)
             on conflict (idempotency_key) do nothing returning id",
        )?
        .query_row(params![plan.kind, plan.idempotency_key, plan.request_hash, plan.actor, now], |r| r.get(0))
        .optional()?;
    let Some(op_id) = op_id else {
        let found: Option<(i64, String, String)> = tx
            .prepare_cached(
                "select id, kind, request_hash from stock_ops where idempotency_key = ?1",
            )?
            .query_row(params![plan.idempotency_key], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        return Ok(match found {
            Some((op_id, kind, hash)) if kind == plan.kind && hash == plan.request_hash => {
                let sql = format!("select {LEDGER_COLS} from ledger where op_id = ?1 order by id");
                let entries = tx
                    .prepare_cached(&sql)?
                    .query_map(params![op_id], ledger_row)?
                    .collect::<Result<_, _>>()?;
                Outcome::Done {
                    op_id,
                    entries,
                    replayed: true,
                }
            }
            Some((_, kind, _)) => Outcome::KeyReused { kind },
            None => Outcome::KeyInUse,
        });
    };
    let mut entries = Vec::with_capacity(plan.legs.len());
    for leg in &plan.legs {
        let current = |id: i64| -> rusqlite::Result<i64> {
            Ok(tx
                .prepare_cached("select qty from stock_units where id = ?1")?
                .query_row(params![id], |r| r.get(0))
                .optional()?
                .unwrap_or(0))
        };
        // What a refused change could have taken: the packs not reserved for orders.
        let free = |id: i64| -> rusqlite::Result<i64> {
            Ok(tx
                .prepare_cached("select qty - reserved from stock_units where id = ?1")?
                .query_row(params![id], |r| r.get(0))
                .optional()?
                .unwrap_or(0))
        };
        let change = |id: i64, d: i64| -> rusqlite::Result<Option<i64>> {
            tx.prepare_cached("update stock_units set qty = qty + ?1, updated_at = ?2 where id = ?3 and qty + ?1 >= reserved returning qty")?
                .query_row(params![d, now, id], |r| r.get(0))
                .optional()
        };
        let (unit_id, after, delta) = match (&leg.target, leg.amount) {
            (
                LegTarget::Key {
                    gtin,
                    lot,
                    expiry,
                    location,
                    owner,
                    status,
                },
                Amount::By(d),
            ) if d > 0 => {
                let (id, after): (i64, i64) = tx
                    .prepare_cached(
                        "insert into stock_units (gtin, lot, expiry, location, owner, status, qty, updated_at)
                         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                         on conflict (gtin, lot, expiry, location, owner, status)
                         do update set qty = stock_units.qty + excluded.qty, updated_at = excluded.updated_at
                         returning id, qty",
                    )?
                    .query_row(params![gtin, lot, expiry, location, owner, status, d, now], |r| Ok((r.get(0)?, r.get(1)?)))?;
                (id, after, d)
            }
            (LegTarget::Unit(id), Amount::By(d)) => match change(*id, d)? {
                Some(after) => (*id, after, d),
                None => {
                    return Ok(Outcome::Insufficient {
                        on_hand: free(*id)?,
                        requested: -d,
                    })
                }
            },
            (LegTarget::Unit(id), Amount::SetTo(counted)) => {
                let d = counted - current(*id)?;
                match change(*id, d)? {
                    Some(after) => (*id, after, d),
                    None => {
                        return Ok(Outcome::Insufficient {
                            on_hand: free(*id)?,
                            requested: -d,
                        })
                    }
                }
            }
            (_, _) => return Err(rusqlite::Error::InvalidQuery),
        };
        let id: i64 = tx
            .prepare_cached(
                "insert into ledger (op_id, stock_unit_id, kind, gtin, owner, location, delta, qty_before, qty_after, reason, reference, actor, at)
                 values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) returning id",
            )?
            .query_row(
                params![op_id, unit_id, plan.kind, leg.gtin, leg.owner, leg.location, delta, after - delta, after, leg.reason, leg.reference, plan.actor, now],
                |r| r.get(0),
            )?;
        entries.push(LedgerEntry {
            id,
            op_id,
            stock_unit_id: unit_id,
            kind: plan.kind.to_string(),
            gtin: leg.gtin.clone(),
            owner: leg.owner.clone(),
            location: leg.location.clone(),
            delta,
            qty_before: after - delta,
            qty_after: after,
            reason: leg.reason.clone(),
            reference: leg.reference.clone(),
            actor: plan.actor.clone(),
            at: now.clone(),
        });
    }
    if let Some(c) = &plan.count {
        if !close_count(tx, c, op_id, &plan.actor, &now)? {
            return Ok(Outcome::Superseded);
        }
    }
    let subject = entries
        .first()
        .map(|e| format!("stock_unit:{}", e.stock_unit_id))
        .unwrap_or_default();
    super::append_event(
        tx,
        plan.event_type,
        &subject,
        &now,
        &event_payload(plan.kind, op_id, &entries),
    )?;
    Ok(Outcome::Done {
        op_id,
        entries,
        replayed: false,
    })
}

/// The same statements as `counting::close`.
fn close_count(
    tx: &Connection,
    c: &crate::store::counting::CountClose,
    op_id: i64,
    actor: &str,
    now: &str,
) -> rusqlite::Result<bool> {
    let last: Option<i64> = tx
        .prepare_cached(
            "select id from count_tasks where location = ?1 and status = 'done' order by id desc limit 1",
        )?
        .query_row(params![c.location], |r| r.get(0))
        .optional()?;
    if last != c.last_count_id {
        return Ok(false);
    }
    if c.task_ids.is_empty() {
        tx.prepare_cached(
            "insert into count_tasks (location, source, status, created_by, created_at, op_id, counted_by, counted_at, lines, difference)
             values (?1, 'adhoc', 'done', ?2, ?3, ?4, ?2, ?3, ?5, ?6)",
        )?
        .execute(params![c.location, actor, now, op_id, c.lines, c.difference])?;
        return Ok(true);
    }
    for id in &c.task_ids {
        let n = tx
            .prepare_cached(
                "update count_tasks set status = 'done', op_id = ?2, counted_by = ?3, counted_at = ?4, lines = ?5, difference = ?6
                 where id = ?1 and status = 'open'",
            )?
            .execute(params![id, op_id, actor, now, c.lines, c.difference])?;
        if n != 1 {
            return Ok(false);
        }
    }
    Ok(true)
}
