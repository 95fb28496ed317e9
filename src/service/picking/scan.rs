//! Scans against a wave's current pick: the page's keyboard wedge and serial scanners at a
//! picking station; a lot swap and the confirmation, each in one transaction.

use super::*;

pub(super) fn scan_key(r: &ScanRequest) -> Result<String> {
    let k = r.scan_id.trim();
    if k.is_empty() || k.chars().count() > 128 || k.chars().any(char::is_control) {
        return Err(Error::invalid("scan_id", "must be 1 to 128 characters"));
    }
    Ok(k.to_string())
}

pub(super) fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or(NaiveDate::MIN)
}

/// Input of one scan: typed into the page (keyboard wedge) or from a serial scanner.
pub enum ScanInput<'a> {
    Wedge(&'a str),
    Serial(&'a [u8]),
}

/// Judges one scan against the wave's current pick and does what it means, in one transaction.
pub async fn scan(ctx: &Ctx, actor: &Actor, wave_id: i64, r: &ScanRequest) -> Result<ScanResult> {
    if r.data.chars().count() > 512 {
        return Err(Error::invalid("data", "a scan is at most 512 characters"));
    }
    scan_input(
        ctx,
        actor,
        wave_id,
        &scan_key(r)?,
        ScanInput::Wedge(&r.data),
        r.quantity,
    )
    .await
}

pub async fn scan_input(
    ctx: &Ctx,
    actor: &Actor,
    wave_id: i64,
    key: &str,
    input: ScanInput<'_>,
    quantity: Option<i64>,
) -> Result<ScanResult> {
    if let Some(done) = super::fast::scan(ctx, actor, wave_id, key, &input, quantity).await? {
        return Ok(done);
    }
    let qty = quantity.unwrap_or(1);
    let confirm_key = format!("pick:{wave_id}:{key}");
    let mut tx = ctx.db.begin_write().await?;
    let w = wave_row(&mut tx, wave_id).await?;
    if db::confirm_by_key(tx.conn(), &confirm_key).await?.is_some() {
        let next = next_in(&mut tx, ctx, &w).await?;
        count_path(ctx, "general");
        return Ok(ScanResult {
            accepted: true,
            code: "confirmed".into(),
            message: "already confirmed".into(),
            message_da: "Allerede bekræftet".into(),
            replayed: true,
            next,
        });
    }
    open_wave(&w)?;
    own_wave(&w, actor)?;
    if w.status != WaveStatus::Picking {
        // The first accepted scan starts the wave; a refused one rolls this back with the rest.
        db::set_wave(tx.conn(), wave_id, WaveStatus::Picking, None, None).await?;
    }
    let w = WaveRow {
        status: WaveStatus::Picking,
        ..w
    };
    let Some(pick) = db::next_pick(tx.conn(), wave_id).await? else {
        return Err(Error::conflict(
            "nothing_to_pick",
            format!("wave {wave_id} has nothing left to pick"),
        ));
    };
    let today = today();
    let lots = lots_here(db::lots_at(tx.conn(), &pick.location, &pick.gtin).await?);
    let scanned = read(&input, &pick, &lots, today);
    // A label that is no known location is no location at all.
    let known = match location_to_check(&scanned, &pick) {
        Some(code) => crate::store::catalog::location(tx.conn(), code)
            .await?
            .is_some(),
        None => true,
    };
    let decision = judge(
        &in_hand(&ctx.config.picking, &pick),
        &scanned,
        known,
        qty,
        &lots,
        today,
    );
    let outcome = |code: &str| count(ctx, code, "general");
    let (code, message, message_da) = match decision {
        Err(refusal) => {
            // Nothing of the scan is kept (the wave does not start on it), but the refusal is
            // counted for the lead, in a transaction of its own.
            drop(tx);
            let mut tx = ctx.db.begin_write().await?;
            if db::insert_refusal(tx.conn(), wave_id, &confirm_key, refusal.code, &actor.name)
                .await?
            {
                tx.event(
                    "pick.refused",
                    &format!("wave:{wave_id}"),
                    &serde_json::json!({ "wave_id": wave_id, "code": refusal.code, "by": actor.name }),
                )
                .await?;
            }
            tx.commit().await?;
            outcome(refusal.code);
            tracing::info!(
                wave_id,
                pick = pick.id,
                code = refusal.code,
                "pick scan refused"
            );
            let next = next(ctx, wave_id).await?;
            return Ok(ScanResult {
                accepted: false,
                code: refusal.code.into(),
                message: refusal.message,
                message_da: refusal.message_da,
                replayed: false,
                next,
            });
        }
        Ok(d @ Decision::ToteConfirmed) => {
            db::set_tote_ok(tx.conn(), wave_id, pick.order_id).await?;
            words(&d, &pick)
        }
        Ok(d @ Decision::LocationConfirmed) => {
            db::set_location_ok(tx.conn(), pick.id).await?;
            words(&d, &pick)
        }
        Ok(Decision::Confirm { unit_id, qty, swap }) => {
            let mut pick = pick.clone();
            if swap {
                swap_lot(&mut tx, &mut pick, unit_id, &lots).await?;
            }
            confirm(&mut tx, actor, &w, &pick, qty, &confirm_key).await?;
            words(&Decision::Confirm { unit_id, qty, swap }, &pick)
        }
    };
    let next = next_in(&mut tx, ctx, &w).await?;
    tx.commit().await?;
    outcome(code);
    Ok(ScanResult {
        accepted: true,
        code: code.into(),
        message,
        message_da,
        replayed: false,
        next,
    })
}

/// Counts a pick scan by outcome and by the way it was written.
pub(super) fn count(ctx: &Ctx, code: &str, path: &'static str) {
    ctx.metrics
        .pick_scans
        .get_or_create(&crate::metrics::OutcomeLabel {
            outcome: code.into(),
        })
        .inc();
    count_path(ctx, path);
}

/// Counts a pick scan by the way it was answered (a replay has no outcome of its own).
pub(super) fn count_path(ctx: &Ctx, path: &'static str) {
    ctx.metrics
        .pick_scan_path
        .get_or_create(&crate::metrics::PathLabel { path })
        .inc();
}

/// The lots at the pick's location as the rules take them.
pub(super) fn lots_here(rows: Vec<(i64, String, String, i64)>) -> Vec<LotHere> {
    rows.into_iter()
        .map(|(unit_id, lot, expiry, free)| LotHere {
            unit_id,
            lot,
            expiry: date(&expiry),
            free,
        })
        .collect()
}

/// The pick in hand as the rules take it.
pub(super) fn in_hand(config: &crate::config::PickingConfig, pick: &PickRow) -> PickInHand {
    PickInHand {
        location: pick.location.clone(),
        gtin: pick.gtin.clone(),
        product_name: pick.product_name.clone(),
        unit_id: pick.stock_unit_id,
        lot: pick.lot.clone(),
        remaining: pick.quantity - pick.picked,
        location_ok: pick.location_ok,
        require_location_scan: config.require_location_scan,
        tote: pick.tote.clone(),
        tote_ok: pick.tote_ok,
        require_tote_scan: config.require_tote_scan,
        min_shelf_life_days: pick.min_shelf_life_days,
        delivery: date(&pick.delivery_date),
    }
}

/// Reads a scan against the pick in hand (a wedge scan may be a bare lot or location).
pub(super) fn read(
    input: &ScanInput<'_>,
    pick: &PickRow,
    lots: &[LotHere],
    today: NaiveDate,
) -> std::result::Result<Scanned, crate::domain::Unreadable> {
    match input {
        ScanInput::Wedge(text) => {
            let names: Vec<String> = lots.iter().map(|l| l.lot.clone()).collect();
            rules::read_wedge(text, &pick.location, &names, today)
        }
        ScanInput::Serial(bytes) => rules::read_serial(bytes, today),
    }
}

/// The location a scan names that must exist to be judged: any but the pick's own.
pub(super) fn location_to_check<'a>(
    scanned: &'a std::result::Result<Scanned, crate::domain::Unreadable>,
    pick: &PickRow,
) -> Option<&'a str> {
    match scanned {
        Ok(Scanned::Location(code)) if !code.eq_ignore_ascii_case(&pick.location) => Some(code),
        _ => None,
    }
}

/// What a read scan means for the pick in hand; `known` says whether the location it names
/// (see `location_to_check`) exists.
pub(super) fn judge(
    in_hand: &PickInHand,
    scanned: &std::result::Result<Scanned, crate::domain::Unreadable>,
    known: bool,
    qty: i64,
    lots: &[LotHere],
    today: NaiveDate,
) -> std::result::Result<Decision, rules::Refusal> {
    match scanned {
        Err(u) => Err(rules::refuse(
            "unreadable",
            u.message.clone(),
            format!("{}: scan igen", u.message_da),
        )),
        Ok(Scanned::Location(code)) if !known => Err(rules::refuse(
            "unreadable",
            format!("{code} is not a product or location barcode"),
            format!("{code} er hverken en vare- eller lokationsstregkode"),
        )),
        Ok(s) => rules::decide(in_hand, s, qty, lots, today),
    }
}

/// The code and the picker's message (English, Danish) of a carried-out decision; `pick` is
/// the pick as it stands after a lot swap.
pub(super) fn words(d: &Decision, pick: &PickRow) -> (&'static str, String, String) {
    match d {
        Decision::ToteConfirmed => (
            "tote_ok",
            format!("tote {} ok: take {}", pick.tote, pick.product_name),
            format!("Kasse {} ok: tag {}", pick.tote, pick.product_name),
        ),
        Decision::LocationConfirmed => (
            "location_ok",
            format!("location {} ok: take {}", pick.location, pick.product_name),
            format!("Lokation {} ok: tag {}", pick.location, pick.product_name),
        ),
        Decision::Confirm { qty, swap, .. } => {
            let (lot, lot_da) = if *swap {
                (
                    format!(" (lot {} instead of the reserved one)", pick.lot),
                    format!(" (lot {} i stedet for det reserverede)", pick.lot),
                )
            } else {
                (String::new(), String::new())
            };
            (
                "confirmed",
                format!("{qty} x {} into tote {}{lot}", pick.product_name, pick.tote),
                format!(
                    "{qty} x {} i kasse {}{lot_da}",
                    pick.product_name, pick.tote
                ),
            )
        }
    }
}

/// The ledger reference of a pick's stock operation.
pub(super) fn reference(pick: &PickRow) -> String {
    format!("order {} tote {}", pick.external_id, pick.tote)
}

/// Moves the pick's whole remaining reservation to another lot at the same location.
pub(super) async fn swap_lot(
    tx: &mut WriteTx,
    pick: &mut PickRow,
    unit_id: i64,
    lots: &[LotHere],
) -> Result<()> {
    let rem = pick.quantity - pick.picked;
    let Some(to) = lots.iter().find(|l| l.unit_id == unit_id) else {
        return Err(Error::conflict(
            "lot_not_here",
            "the scanned lot is not at the location",
        ));
    };
    // Lock order: lower unit id first.
    let (first, second) = if unit_id < pick.stock_unit_id {
        (unit_id, pick.stock_unit_id)
    } else {
        (pick.stock_unit_id, unit_id)
    };
    for u in [first, second] {
        if u == unit_id {
            if !db::reserve(tx.conn(), unit_id, rem).await? {
                return Err(Error::conflict(
                    "lot_reserved",
                    format!(
                        "lot {} was just reserved for another order: take lot {}",
                        to.lot, pick.lot
                    ),
                ));
            }
        } else {
            db::unreserve(tx.conn(), pick.stock_unit_id, rem).await?;
        }
    }
    db::reduce_reservation(tx.conn(), pick.reservation_id, rem).await?;
    let res = db::new_reservation(tx.conn(), pick.order_id, pick.line_id, unit_id, rem).await?;
    let expiry = to.expiry.to_string();
    db::move_pick(tx.conn(), pick.id, unit_id, &to.lot, &expiry, res).await?;
    tracing::info!(pick = pick.id, from = %pick.lot, to = %to.lot, "pick moved to the scanned lot");
    pick.stock_unit_id = unit_id;
    pick.lot = to.lot.clone();
    pick.expiry = expiry;
    pick.reservation_id = res;
    Ok(())
}

/// Moves `qty` packs of the pick's unit into its tote: reservation, ledger (a `pick` operation),
/// the pick and the order line, and events. Completes the wave when nothing is left open.
pub(super) async fn confirm(
    tx: &mut WriteTx,
    actor: &Actor,
    w: &WaveRow,
    pick: &PickRow,
    qty: i64,
    key: &str,
) -> Result<()> {
    db::unreserve(tx.conn(), pick.stock_unit_id, qty).await?;
    db::reduce_reservation(tx.conn(), pick.reservation_id, qty).await?;
    let reference = reference(pick);
    let op = MoveOp {
        kind: "pick",
        key,
        reason: None,
        reference: &reference,
    };
    let to = To::Location(&pick.tote, StockStatus::Available);
    let entries = move_packs(tx, actor, &op, pick.stock_unit_id, to, qty).await?;
    let (from, to) = (entries[0].stock_unit_id, entries[1].stock_unit_id);
    db::insert_confirm(
        tx.conn(),
        w.id,
        pick.id,
        key,
        from,
        to,
        qty,
        entries[0].op_id,
        &actor.name,
    )
    .await?;
    db::add_picked(tx.conn(), pick.id, pick.line_id, qty).await?;
    let finished = finish_rows(tx, w.id).await?;
    tx.event(
        "stock.picked",
        &format!("stock_unit:{from}"),
        &stock_db::event_payload("pick", entries[0].op_id, &entries),
    )
    .await?;
    tx.event(
        "pick.confirmed",
        &format!("wave:{}", w.id),
        &db::pick_confirmed_payload(w.id, pick, qty, &actor.name),
    )
    .await?;
    finish_events(tx, w.id, finished).await
}

/// Serial scanners at a picking station pick for the wave taken at that station. Returns
/// `None` when no wave is taken there.
pub async fn station_scan(
    ctx: &Ctx,
    station: &str,
    key: &str,
    bytes: &[u8],
) -> Result<Option<ScanResult>> {
    let w = {
        let mut conn = ctx.db.pool().acquire().await?;
        db::wave_at_station(&mut conn, station).await?
    };
    let Some(w) = w else { return Ok(None) };
    let actor = Actor {
        name: format!(
            "user:{}",
            w.picker.clone().unwrap_or_else(|| "unknown".into())
        ),
        role: crate::domain::auth::Role::Picker,
    };
    scan_input(ctx, &actor, w.id, key, ScanInput::Serial(bytes), None)
        .await
        .map(Some)
}
