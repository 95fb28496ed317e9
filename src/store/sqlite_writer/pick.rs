//! A pick scan's common case in one step on the writer thread: the reads, the service's judgement
//! (a closure: the rules stay in `domain::picking`) and the writes of a confirmation, a location
//! or a tote, with the answer's next pick. Through sqlx the same scan costs about twenty round
//! trips to sqlx's worker thread (docs/benchmarks.md).
//!
//! Only the common case is done here. Whatever is rarer answers `Fallback`, nothing is written,
//! and the service runs its general sqlx path (`service::picking::scan`): a wave that is missing,
//! not yet started, done or someone else's; a replayed scan id; a lot swap; the scan that
//! finishes the wave (its orders move on); a stock or key conflict. The statements are the same
//! as the sqlx path's (`store::orders`, `store::stock`, `store::events`), and
//! `tests/orders.rs` compares the rows both paths write for the same scans.

use crate::domain::wave::{PickStatus, WaveStatus};
use crate::store::orders::{pick_confirmed_payload, PickRow, WaveRow, PICK_SELECT, WAVE_COLS};
use crate::store::stock::{event_payload, LedgerEntry};
use rusqlite::{params, Connection, OptionalExtension};
use std::cell::RefCell;

/// What the service's judgement sees: the wave, its next open pick and the pick's lots at its
/// location as `(unit id, lot, expiry, free packs)`.
pub struct PickScene<'a> {
    pub wave: &'a WaveRow,
    pub pick: &'a PickRow,
    pub lots: &'a [(i64, String, String, i64)],
    tx: &'a Connection,
    error: RefCell<Option<rusqlite::Error>>,
}

impl PickScene<'_> {
    /// Whether a location with this code exists (a failed read counts as no, and fails the job).
    pub fn location_exists(&self, code: &str) -> bool {
        let found = self
            .tx
            .prepare_cached("select 1 from locations where code = ?1")
            .and_then(|mut s| s.query_row(params![code], |_| Ok(())).optional());
        match found {
            Ok(f) => f.is_some(),
            Err(e) => {
                self.error.replace(Some(e));
                false
            }
        }
    }
}

/// The judgement on a scan, as this path carries it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickVerdict {
    /// Not the common case: write nothing; the general path does it.
    Fallback,
    /// Refused, with the picker's message: only the refusal is recorded (`pick_refusals`).
    Refuse {
        code: &'static str,
        message: String,
        message_da: String,
    },
    /// The order's tote was scanned.
    ToteOk,
    /// The pick's location was scanned.
    LocationOk,
    /// `qty` packs of the reserved unit go into the tote. `request_hash` and `reference` are the
    /// stock operation's, as the general path makes them.
    Confirm {
        qty: i64,
        request_hash: String,
        reference: String,
    },
}

/// The judgement, run on the writer thread with the scene.
pub type Judge = Box<dyn FnOnce(&PickScene<'_>) -> PickVerdict + Send>;

/// One pick scan for the writer.
pub struct PickScan {
    pub wave_id: i64,
    /// `pick:{wave}:{scan id}`: the confirmation's and the stock operation's idempotency key.
    pub confirm_key: String,
    /// Who scanned, as the ledger and the events name them.
    pub actor: String,
    pub judge: Judge,
}

/// A wave's progress: (picks, done, short, open, packs, packs picked).
pub type Progress = (i64, i64, i64, i64, i64, i64);

/// What the writer did with a pick scan.
#[derive(Debug)]
pub enum PickScanned {
    /// Nothing written: the general path must do this scan.
    Fallback,
    /// Done (or refused, with nothing written): the verdict, the pick it was judged against,
    /// and the wave's progress and next pick for the answer.
    Done {
        verdict: PickVerdict,
        pick: Box<PickRow>,
        wave_status: WaveStatus,
        progress: Progress,
        next: Option<Box<PickRow>>,
    },
}

impl PickScanned {
    /// Whether the job wrote something to keep.
    pub(super) fn writes(&self) -> bool {
        // Every verdict that is done wrote something (a refusal its record).
        matches!(self, PickScanned::Done { .. })
    }
}

fn wave_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<WaveRow> {
    let status: String = r.get(1)?;
    Ok(WaveRow {
        id: r.get(0)?,
        status: WaveStatus::parse(&status).ok_or_else(|| bad_state("wave status", &status))?,
        picker: r.get(2)?,
        station: r.get(3)?,
        created_by: r.get(4)?,
        created_at: r.get(5)?,
        started_at: r.get(6)?,
        done_at: r.get(7)?,
    })
}

fn bad_state(what: &str, s: &str) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(format!("unknown {what} {s:?}").into())
}

/// The columns of `PICK_SELECT`, in order.
fn pick_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PickRow> {
    let status: String = r.get(16)?;
    Ok(PickRow {
        id: r.get(0)?,
        wave_id: r.get(1)?,
        seq: r.get(2)?,
        order_id: r.get(3)?,
        external_id: r.get(4)?,
        line_id: r.get(5)?,
        reservation_id: r.get(6)?,
        location: r.get(7)?,
        stock_unit_id: r.get(8)?,
        gtin: r.get(9)?,
        product_name: r.get(10)?,
        lot: r.get(11)?,
        expiry: r.get(12)?,
        tote: r.get(13)?,
        quantity: r.get(14)?,
        picked: r.get(15)?,
        status: PickStatus::parse(&status).ok_or_else(|| bad_state("pick status", &status))?,
        location_ok: r.get::<_, i64>(17)? == 1,
        tote_ok: r.get::<_, i64>(18)? == 1,
        cut: r.get::<_, i64>(19)? == 1,
        min_shelf_life_days: r.get(20)?,
        delivery_date: r.get(21)?,
    })
}

fn next_pick(tx: &Connection, wave_id: i64) -> rusqlite::Result<Option<PickRow>> {
    let sql =
        format!("{PICK_SELECT} where k.wave_id = ?1 and k.status = 'open' order by k.seq limit 1");
    tx.prepare_cached(&sql)?
        .query_row(params![wave_id], pick_row)
        .optional()
}

/// The same aggregate as `store::orders::wave_progress`.
fn progress(tx: &Connection, wave_id: i64) -> rusqlite::Result<Progress> {
    tx.prepare_cached(
        "select count(*),
            coalesce(sum(case when status = 'done' then 1 else 0 end), 0),
            coalesce(sum(case when status = 'short' then 1 else 0 end), 0),
            coalesce(sum(case when status = 'open' then 1 else 0 end), 0),
            coalesce(sum(quantity), 0),
            coalesce(sum(picked), 0)
         from picks where wave_id = ?1",
    )?
    .query_row(params![wave_id], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ))
    })
}

/// Runs one pick scan inside the caller's savepoint; the caller keeps its writes only when
/// `PickScanned::writes` says so.
pub(super) fn pick_scan(tx: &Connection, job: PickScan) -> rusqlite::Result<PickScanned> {
    let PickScan {
        wave_id,
        confirm_key,
        actor,
        judge,
    } = job;
    let sql = format!("select {WAVE_COLS} from waves where id = ?1");
    let Some(wave) = tx
        .prepare_cached(&sql)?
        .query_row(params![wave_id], wave_row)
        .optional()?
    else {
        return Ok(PickScanned::Fallback);
    };
    let replayed = tx
        .prepare_cached("select 1 from pick_confirms where scan_key = ?1")?
        .query_row(params![confirm_key], |_| Ok(()))
        .optional()?
        .is_some();
    if replayed || wave.status != WaveStatus::Picking {
        return Ok(PickScanned::Fallback);
    }
    let Some(pick) = next_pick(tx, wave.id)? else {
        return Ok(PickScanned::Fallback);
    };
    let lots: Vec<(i64, String, String, i64)> = tx
        .prepare_cached(
            "select id, lot, expiry, qty - reserved from stock_units
             where location = ?1 and gtin = ?2 and status = 'available' and qty > 0 order by expiry, id",
        )?
        .query_map(params![pick.location, pick.gtin], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    let scene = PickScene {
        wave: &wave,
        pick: &pick,
        lots: &lots,
        tx,
        error: RefCell::new(None),
    };
    let verdict = judge(&scene);
    if let Some(e) = scene.error.take() {
        return Err(e);
    }
    match &verdict {
        PickVerdict::Fallback => return Ok(PickScanned::Fallback),
        PickVerdict::Refuse { code, .. } => {
            let now = crate::store::now_db();
            let stored = tx
                .prepare_cached(
                    "insert into pick_refusals (wave_id, scan_key, code, actor, at) values (?1, ?2, ?3, ?4, ?5)
                     on conflict (scan_key) do nothing",
                )?
                .execute(params![wave.id, confirm_key, code, actor, now])?;
            // The lead's floor counts refusals: an event, as `service::picking::scan` writes.
            if stored == 1 {
                super::append_event(
                    tx,
                    "pick.refused",
                    &format!("wave:{}", wave.id),
                    &now,
                    &serde_json::json!({ "wave_id": wave.id, "code": code, "by": actor }),
                )?;
            }
        }
        PickVerdict::ToteOk => {
            tx.prepare_cached("update picks set tote_ok = 1 where wave_id = ?1 and order_id = ?2")?
                .execute(params![wave.id, pick.order_id])?;
        }
        PickVerdict::LocationOk => {
            tx.prepare_cached("update picks set location_ok = 1 where id = ?1")?
                .execute(params![pick.id])?;
        }
        PickVerdict::Confirm {
            qty,
            request_hash,
            reference,
        } => {
            if !confirm(
                tx,
                &confirm_key,
                &actor,
                &pick,
                *qty,
                request_hash,
                reference,
            )? {
                return Ok(PickScanned::Fallback);
            }
        }
    }
    let progress = progress(tx, wave.id)?;
    if progress.3 == 0 {
        // The wave's last pick: its orders move on, which the general path does.
        return Ok(PickScanned::Fallback);
    }
    Ok(PickScanned::Done {
        verdict,
        pick: Box::new(pick),
        wave_status: wave.status,
        progress,
        next: next_pick(tx, wave.id)?.map(Box::new),
    })
}

/// The statements of `service::picking::confirm` (with `move_packs`) for a pick from its
/// reserved unit. False when the general path must do it (a key in use, too little stock).
fn confirm(
    tx: &Connection,
    key: &str,
    actor: &str,
    pick: &PickRow,
    qty: i64,
    request_hash: &str,
    reference: &str,
) -> rusqlite::Result<bool> {
    let now = crate::store::now_db();
    tx.prepare_cached("update stock_units set reserved = reserved - ?1 where id = ?2")?
        .execute(params![qty, pick.stock_unit_id])?;
    tx.prepare_cached("update reservations set qty = qty - ?1 where id = ?2 and qty >= ?1")?
        .execute(params![qty, pick.reservation_id])?;
    let Some((gtin, lot, expiry, location, owner)) = tx
        .prepare_cached("select gtin, lot, expiry, location, owner from stock_units where id = ?1")?
        .query_row(params![pick.stock_unit_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .optional()?
    else {
        return Ok(false);
    };
    let Some(op_id) = tx
        .prepare_cached(
            "insert into stock_ops (kind, idempotency_key, request_hash, actor, at) values ('pick', ?1, ?2, ?3, ?4)
             on conflict (idempotency_key) do nothing returning id",
        )?
        .query_row(params![key, request_hash, actor, now], |r| r.get::<_, i64>(0))
        .optional()?
    else {
        return Ok(false);
    };
    let Some(after) = tx
        .prepare_cached(
            "update stock_units set qty = qty + ?1, updated_at = ?2 where id = ?3 and qty + ?1 >= reserved returning qty",
        )?
        .query_row(params![-qty, now, pick.stock_unit_id], |r| r.get::<_, i64>(0))
        .optional()?
    else {
        return Ok(false);
    };
    let ledger = |unit: i64, location: &str, delta: i64, before: i64, after: i64| {
        let at = crate::store::now_db();
        let id = tx
            .prepare_cached(
                "insert into ledger (op_id, stock_unit_id, kind, gtin, owner, location, delta, qty_before, qty_after, reason, reference, actor, at)
                 values (?1, ?2, 'pick', ?3, ?4, ?5, ?6, ?7, ?8, null, ?9, ?10, ?11) returning id",
            )?
            .query_row(
                params![op_id, unit, gtin, owner, location, delta, before, after, reference, actor, at],
                |r| r.get::<_, i64>(0),
            )?;
        Ok::<_, rusqlite::Error>(LedgerEntry {
            id,
            op_id,
            stock_unit_id: unit,
            kind: "pick".into(),
            gtin: gtin.clone(),
            owner: owner.clone(),
            location: location.to_string(),
            delta,
            qty_before: before,
            qty_after: after,
            reason: None,
            reference: Some(reference.to_string()),
            actor: actor.to_string(),
            at,
        })
    };
    let out = ledger(pick.stock_unit_id, &location, -qty, after + qty, after)?;
    let (to_unit, to_after): (i64, i64) = tx
        .prepare_cached(
            "insert into stock_units (gtin, lot, expiry, location, owner, status, qty, updated_at)
             values (?1, ?2, ?3, ?4, ?5, 'available', ?6, ?7)
             on conflict (gtin, lot, expiry, location, owner, status)
             do update set qty = stock_units.qty + excluded.qty, updated_at = excluded.updated_at
             returning id, qty",
        )?
        .query_row(
            params![
                gtin,
                lot,
                expiry,
                pick.tote,
                owner,
                qty,
                crate::store::now_db()
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
    let into = ledger(to_unit, &pick.tote, qty, to_after - qty, to_after)?;
    tx.prepare_cached(
        "insert into pick_confirms (wave_id, pick_id, scan_key, from_unit, to_unit, qty, op_id, actor, at)
         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        pick.wave_id,
        pick.id,
        key,
        pick.stock_unit_id,
        to_unit,
        qty,
        op_id,
        actor,
        crate::store::now_db()
    ])?;
    tx.prepare_cached(
        "update picks set picked = picked + ?1,
            status = case when picked + ?1 >= quantity then 'done' else 'open' end
         where id = ?2",
    )?
    .execute(params![qty, pick.id])?;
    tx.prepare_cached("update order_lines set picked = picked + ?1 where id = ?2")?
        .execute(params![qty, pick.line_id])?;
    let entries = [out, into];
    super::append_event(
        tx,
        "stock.picked",
        &format!("stock_unit:{}", pick.stock_unit_id),
        &crate::store::now_db(),
        &event_payload("pick", op_id, &entries),
    )?;
    super::append_event(
        tx,
        "pick.confirmed",
        &format!("wave:{}", pick.wave_id),
        &crate::store::now_db(),
        &pick_confirmed_payload(pick.wave_id, pick, qty, actor),
    )?;
    Ok(true)
}
