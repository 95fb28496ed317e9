//! The common pick scan in one step on SQLite's writer thread (`store::sqlite_writer::pick`):
//! the same reading and judgement as the general path (`scan.rs`), run there as a closure, so
//! that a pick scan costs one hand-off instead of about twenty. `None` means the general path
//! must do the scan (PostgreSQL, or a case the writer leaves to it).

use super::*;
use crate::store::sqlite_writer::{PickScan, PickScanned, PickVerdict};

/// A scan's bytes, owned to travel to the writer thread.
enum Input {
    Wedge(String),
    Serial(Vec<u8>),
}

impl Input {
    fn of(input: &ScanInput<'_>) -> Self {
        match input {
            ScanInput::Wedge(t) => Input::Wedge((*t).to_string()),
            ScanInput::Serial(b) => Input::Serial(b.to_vec()),
        }
    }
    fn borrow(&self) -> ScanInput<'_> {
        match self {
            Input::Wedge(t) => ScanInput::Wedge(t),
            Input::Serial(b) => ScanInput::Serial(b),
        }
    }
}

pub(super) async fn scan(
    ctx: &Ctx,
    actor: &Actor,
    wave_id: i64,
    key: &str,
    input: &ScanInput<'_>,
    quantity: Option<i64>,
) -> Result<Option<ScanResult>> {
    let Some(writer) = ctx.db.sqlite_writer().filter(|w| w.pick_scans()) else {
        return Ok(None);
    };
    let qty = quantity.unwrap_or(1);
    let today = today();
    let input = Input::of(input);
    let who = actor.clone();
    let picking = ctx.config.picking.clone();
    let judge = Box::new(move |scene: &crate::store::sqlite_writer::PickScene<'_>| {
        if own_wave(scene.wave, &who).is_err() {
            return PickVerdict::Fallback;
        }
        let pick = scene.pick;
        let lots = lots_here(scene.lots.to_vec());
        let scanned = read(&input.borrow(), pick, &lots, today);
        let known = location_to_check(&scanned, pick).is_none_or(|c| scene.location_exists(c));
        match judge(&in_hand(&picking, pick), &scanned, known, qty, &lots, today) {
            Err(r) => PickVerdict::Refuse {
                code: r.code,
                message: r.message,
                message_da: r.message_da,
            },
            Ok(Decision::ToteConfirmed) => PickVerdict::ToteOk,
            Ok(Decision::LocationConfirmed) => PickVerdict::LocationOk,
            Ok(Decision::Confirm { unit_id, qty, swap }) => {
                if swap || unit_id != pick.stock_unit_id {
                    return PickVerdict::Fallback;
                }
                let to = To::Location(&pick.tote, StockStatus::Available);
                PickVerdict::Confirm {
                    qty,
                    request_hash: request_hash(pick.stock_unit_id, &to, qty),
                    reference: reference(pick),
                }
            }
        }
    });
    let job = PickScan {
        wave_id,
        confirm_key: format!("pick:{wave_id}:{key}"),
        actor: actor.name.clone(),
        judge,
    };
    let PickScanned::Done {
        verdict,
        pick,
        wave_status,
        progress: (picks, done, short, open, packs, packs_picked),
        next,
    } = writer.pick_scan(job).await?
    else {
        return Ok(None);
    };
    let (accepted, (code, message, message_da)) = match verdict {
        PickVerdict::Refuse {
            code,
            message,
            message_da,
        } => {
            tracing::info!(wave_id, pick = pick.id, code, "pick scan refused");
            (false, (code, message, message_da))
        }
        PickVerdict::ToteOk => (true, words(&Decision::ToteConfirmed, &pick)),
        PickVerdict::LocationOk => (true, words(&Decision::LocationConfirmed, &pick)),
        PickVerdict::Confirm { qty, .. } => (
            true,
            words(
                &Decision::Confirm {
                    unit_id: pick.stock_unit_id,
                    qty,
                    swap: false,
                },
                &pick,
            ),
        ),
        PickVerdict::Fallback => return Ok(None),
    };
    count(ctx, code, "writer");
    Ok(Some(ScanResult {
        accepted,
        code: code.into(),
        message,
        message_da,
        replayed: false,
        next: NextPick {
            wave_id,
            wave_status,
            require_location_scan: ctx.config.picking.require_location_scan,
            require_tote_scan: ctx.config.picking.require_tote_scan,
            progress: Progress {
                picks,
                done,
                short,
                open,
                packs,
                packs_picked,
            },
            pick: next.map(|p| (*p).into()),
        },
    }))
}
