//! Pick waves and scan-verified picking. A lead (or a schedule) makes a wave from allocated
//! orders, cut orders first; each order gets a free tote; the wave's picks are sorted by the
//! locations' walking sequence. The picker scans the location, then the product: every confirmed
//! quantity moves the stock from its location into the order's tote in the ledger, in one
//! transaction with the reservation, the pick and its events. A short pick re-allocates the rest
//! from elsewhere; the last confirmation can be undone until the wave (and its totes) is closed.

use super::{today, Actor, Ctx};
use crate::domain::allocation::{self, Need};
use crate::domain::order::OrderStatus;
use crate::domain::picking::{self as rules, Decision, LotHere, PickInHand, Scanned};
use crate::domain::stock::StockStatus;
use crate::error::{Error, Result};
use crate::store::orders::{self as db, PickException, PickRow, WaveRow};
use crate::store::stock::{self as stock_db, NewLedger, UnitKey};
use crate::store::WriteTx;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A lead's request for a wave.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WaveRequest {
    /// Most orders (default `picking.wave_max_orders`, at most 200).
    #[serde(default)]
    pub max_orders: Option<i64>,
    /// Most order lines to pick (reservations); at least one order is always taken.
    #[serde(default)]
    pub max_lines: Option<i64>,
    /// Assign the wave to this picker at once.
    #[serde(default)]
    pub picker: Option<String>,
    /// Cut-off: only orders to be delivered on or before this date (`YYYY-MM-DD`).
    #[serde(default)]
    pub delivery_until: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Progress {
    pub picks: i64,
    pub done: i64,
    pub short: i64,
    pub open: i64,
    pub packs: i64,
    pub packs_picked: i64,
}

/// A wave with its picks (no personal data: orders by external id and tote).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WaveView {
    #[serde(flatten)]
    pub wave: WaveRow,
    pub progress: Progress,
    pub picks: Vec<PickRow>,
    pub exceptions: Vec<PickException>,
}

/// What the picker sees: the next pick, or that the wave is done.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NextPick {
    pub wave_id: i64,
    pub wave_status: String,
    pub require_location_scan: bool,
    /// The picker scans an order's tote before its first pack (the pick's `tote_ok` says
    /// whether that is done).
    pub require_tote_scan: bool,
    pub progress: Progress,
    /// `None` when nothing is left to pick.
    pub pick: Option<PickRow>,
}

/// One scan sent by the picker's page or a station scanner.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// Client-made id of this scan (the idempotency key): a retried scan is never counted twice.
    pub scan_id: String,
    /// The scan as typed by a keyboard-wedge handheld (or with its AIM id).
    pub data: String,
    /// Packs confirmed by this scan (default 1); the picker may type the count.
    #[serde(default)]
    pub quantity: Option<i64>,
}

/// The verdict on one scan, with the pick that comes next.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScanResult {
    pub accepted: bool,
    /// `confirmed`, `location_ok`, or the refusal: `wrong_location`, `scan_location_first`,
    /// `wrong_product`, `lot_not_here`, `lot_expired`, `lot_short_dated`, `lot_reserved`,
    /// `lot_missing`, `expiry_mismatch`, `wrong_quantity`, `unreadable`.
    pub code: String,
    pub message: String,
    /// The same message in Danish, for the picker's page.
    pub message_da: String,
    /// True when this scan id had been confirmed before (nothing was done again).
    pub replayed: bool,
    pub next: NextPick,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShortRequest {
    /// The pick that cannot be completed (the current one).
    pub pick_id: i64,
    /// What the picker saw, for the lead.
    #[serde(default)]
    pub note: Option<String>,
}

/// Which pick to undo: the confirmation of `scan_id` (which must be the wave's last), or the
/// last one when no scan is named.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UndoRequest {
    #[serde(default)]
    pub scan_id: Option<String>,
}

fn progress(picks: &[PickRow]) -> Progress {
    let mut p = Progress {
        picks: picks.len() as i64,
        ..Default::default()
    };
    for k in picks {
        match k.status.as_str() {
            "done" => p.done += 1,
            "short" => p.short += 1,
            _ => p.open += 1,
        }
        p.packs += k.quantity;
        p.packs_picked += k.picked;
    }
    p
}

/// The wave, locked for this transaction (PostgreSQL): one scan, short or undo at a time.
async fn wave_row(tx: &mut WriteTx, id: i64) -> Result<WaveRow> {
    let backend = tx.backend();
    db::wave_for_update(tx.conn(), backend, id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("wave {id}")))
}

/// A picker works only on a wave that is theirs (or no one's); leads may step in.
fn own_wave(w: &WaveRow, actor: &Actor) -> Result<()> {
    if actor.role != crate::domain::auth::Role::Picker {
        return Ok(());
    }
    match &w.picker {
        Some(p) if actor.name != format!("user:{p}") && actor.name != format!("token:{p}") => {
            Err(Error::conflict(
                "wave_taken",
                format!("wave {} is being picked by {p}", w.id),
            ))
        }
        _ => Ok(()),
    }
}

fn open_wave(w: &WaveRow) -> Result<()> {
    if w.status == "done" {
        return Err(Error::conflict(
            "wave_done",
            format!("wave {} is done and its totes are closed", w.id),
        ));
    }
    Ok(())
}

/// Makes a wave from allocated orders: orders with cut lines first (cutting takes longest),
/// then by delivery date; up to `max_orders` orders and `max_lines` picks; one free tote each.
pub async fn create_wave(ctx: &Ctx, actor: &Actor, r: &WaveRequest) -> Result<WaveView> {
    let max_orders = r
        .max_orders
        .unwrap_or(i64::from(ctx.config.picking.wave_max_orders));
    if !(1..=200).contains(&max_orders) {
        return Err(Error::invalid("max_orders", "must be between 1 and 200"));
    }
    if let Some(l) = r.max_lines {
        if !(1..=10_000).contains(&l) {
            return Err(Error::invalid("max_lines", "must be between 1 and 10000"));
        }
    }
    let picker = match r.picker.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => Some(known_picker(ctx, p).await?),
    };
    let delivery_until = match r.delivery_until.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => Some(
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| Error::invalid("delivery_until", "must be a date written YYYY-MM-DD"))?
                .to_string(),
        ),
    };
    let mut tx = ctx.db.begin_write().await?;
    let backend = tx.backend();
    db::lock_wave_making(tx.conn(), backend).await?;
    let candidates = db::wave_candidates(tx.conn(), delivery_until.as_deref(), max_orders).await?;
    let mut chosen = Vec::new();
    let mut lines = 0;
    for (order, n) in candidates {
        if let Some(max) = r.max_lines {
            if !chosen.is_empty() && lines + n > max {
                continue;
            }
        }
        lines += n;
        chosen.push(order);
    }
    if chosen.is_empty() {
        return Err(Error::conflict(
            "no_orders_ready",
            "no allocated orders are waiting for a wave",
        ));
    }
    let totes = db::free_totes(tx.conn(), chosen.len() as i64).await?;
    if totes.is_empty() {
        return Err(Error::conflict(
            "no_free_tote",
            "every tote is in use: register more tote locations (kind tote) or finish packing",
        ));
    }
    chosen.truncate(totes.len());
    let wave_id = db::insert_wave(
        tx.conn(),
        picker.as_deref(),
        max_orders,
        r.max_lines,
        &actor.name,
    )
    .await?;
    let mut reservations = Vec::new();
    let mut orders = Vec::new();
    for (order, tote) in chosen.iter().zip(&totes) {
        if !db::put_order_in_wave(tx.conn(), *order, wave_id, tote).await? {
            continue; // cancelled or changed since it was chosen
        }
        reservations.extend(
            db::reservations_of(tx.conn(), *order)
                .await?
                .into_iter()
                .map(|r| r.0),
        );
        if let Some(o) = db::order_by_id(tx.conn(), *order).await? {
            orders.push(o);
        }
    }
    if orders.is_empty() {
        // Every chosen order changed in the meantime; the transaction (and the wave) is dropped.
        return Err(Error::conflict(
            "no_orders_ready",
            "no allocated orders are waiting for a wave",
        ));
    }
    let picks = db::create_picks(tx.conn(), wave_id, &reservations, 0).await?;
    for o in &orders {
        super::orders::event(
            &mut tx,
            "order.picking",
            super::orders::key(o),
            json!({ "wave_id": wave_id, "tote": o.tote }),
        )
        .await?;
    }
    tx.event(
        "wave.created",
        &format!("wave:{wave_id}"),
        &json!({ "wave_id": wave_id, "orders": orders.len(), "picks": picks, "picker": picker, "by": actor.name }),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(wave_id, orders = orders.len(), picks, "wave created");
    wave(ctx, wave_id).await
}

async fn known_picker(ctx: &Ctx, name: &str) -> Result<String> {
    let mut conn = ctx.db.pool().acquire().await?;
    let u = crate::store::auth::user_by_name(&mut conn, name)
        .await?
        .ok_or_else(|| Error::invalid("picker", format!("unknown user {name}")))?;
    if !["picker", "lead", "admin"].contains(&u.role.as_str()) || u.disabled {
        return Err(Error::invalid(
            "picker",
            format!("{name} is not an active picker"),
        ));
    }
    Ok(u.username)
}

pub async fn wave(ctx: &Ctx, id: i64) -> Result<WaveView> {
    let mut conn = ctx.db.pool().acquire().await?;
    let w = db::wave(&mut conn, id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("wave {id}")))?;
    let picks = db::picks_of_wave(&mut conn, id).await?;
    let exceptions = db::exceptions_of_wave(&mut conn, id).await?;
    Ok(WaveView {
        wave: w,
        progress: progress(&picks),
        picks,
        exceptions,
    })
}

pub async fn waves(ctx: &Ctx, unfinished_only: bool) -> Result<Vec<WaveRow>> {
    Ok(db::list_waves(ctx.db.pool(), unfinished_only, 200).await?)
}

/// Makes a wave every `picking.auto_wave_minutes` minutes while allocated orders wait (off at 0).
pub fn spawn_wave_schedule(ctx: Ctx) -> Option<tokio::task::JoinHandle<()>> {
    let minutes = ctx.config.picking.auto_wave_minutes;
    if minutes == 0 {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut tick =
            tokio::time::interval(std::time::Duration::from_secs(60 * u64::from(minutes)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            match create_wave(&ctx, &Actor::system(), &WaveRequest::default()).await {
                Ok(w) => tracing::info!(
                    wave_id = w.wave.id,
                    picks = w.progress.picks,
                    "scheduled wave made"
                ),
                Err(Error::Conflict {
                    code: "no_orders_ready",
                    ..
                }) => {}
                Err(e) => tracing::warn!(error = %e, "scheduled wave not made"),
            }
        }
    }))
}

/// The newest short picks and other exceptions, for the lead.
pub async fn recent_exceptions(ctx: &Ctx) -> Result<Vec<PickException>> {
    Ok(db::recent_exceptions(ctx.db.pool(), 20).await?)
}

/// Waves that are not done, newest first, each with its progress.
/// The day's waves for the lead: every wave not done, and the waves finished today, each with
/// its progress and its orders with their totes.
pub async fn todays_waves(ctx: &Ctx) -> Result<Vec<(WaveRow, Progress, Vec<(String, String)>)>> {
    let today = crate::service::today().to_string();
    let waves = db::list_waves(ctx.db.pool(), false, 200).await?;
    let mut conn = ctx.db.pool().acquire().await?;
    let mut out = vec![];
    for (w, p) in with_progress(&mut conn, waves).await? {
        let finished_today = w
            .done_at
            .as_deref()
            .and_then(crate::domain::time::from_db)
            .map(|t| crate::domain::time::business_day(t).to_string())
            .is_some_and(|d| d == today);
        if w.status == "done" && !finished_today {
            continue;
        }
        let orders = db::wave_orders(&mut conn, w.id).await?;
        out.push((w, p, orders));
    }
    Ok(out)
}

/// The users a lead can give a wave to: active pickers (and leads, who may pick).
pub async fn pickers(ctx: &Ctx) -> Result<Vec<String>> {
    Ok(crate::store::auth::list_users(ctx.db.pool())
        .await?
        .into_iter()
        .filter(|u| !u.disabled && u.role == "picker")
        .map(|u| u.username)
        .collect())
}

pub async fn open_waves(ctx: &Ctx) -> Result<Vec<(WaveRow, Progress)>> {
    let waves = db::list_waves(ctx.db.pool(), true, 50).await?;
    let mut conn = ctx.db.pool().acquire().await?;
    with_progress(&mut conn, waves).await
}

async fn with_progress(
    conn: &mut sqlx::AnyConnection,
    waves: Vec<WaveRow>,
) -> Result<Vec<(WaveRow, Progress)>> {
    let mut out = Vec::with_capacity(waves.len());
    for w in waves {
        let (picks, done, short, open, packs, packs_picked) =
            db::wave_progress(&mut *conn, w.id).await?;
        out.push((
            w,
            Progress {
                picks,
                done,
                short,
                open,
                packs,
                packs_picked,
            },
        ));
    }
    Ok(out)
}

/// A lead assigns a wave to a picker.
pub async fn assign(ctx: &Ctx, actor: &Actor, id: i64, picker: &str) -> Result<WaveView> {
    let picker = known_picker(ctx, picker.trim()).await?;
    let mut tx = ctx.db.begin_write().await?;
    let w = wave_row(&mut tx, id).await?;
    open_wave(&w)?;
    let status = if w.status == "picking" {
        "picking"
    } else {
        "assigned"
    };
    db::set_wave(tx.conn(), id, status, Some(&picker), None).await?;
    tx.event(
        "wave.assigned",
        &format!("wave:{id}"),
        &json!({ "wave_id": id, "picker": picker, "by": actor.name }),
    )
    .await?;
    tx.commit().await?;
    wave(ctx, id).await
}

/// A picker takes a wave (open, or assigned to them), optionally at a station whose serial
/// scanner then picks for it.
pub async fn take(
    ctx: &Ctx,
    actor: &Actor,
    username: &str,
    id: i64,
    station: Option<&str>,
) -> Result<NextPick> {
    let station = station.map(str::trim).filter(|s| !s.is_empty());
    if let Some(s) = station {
        if s.len() > 64 || s.chars().any(char::is_control) {
            return Err(Error::invalid("station", "must be 1 to 64 characters"));
        }
    }
    let mut tx = ctx.db.begin_write().await?;
    let w = wave_row(&mut tx, id).await?;
    open_wave(&w)?;
    if let Some(p) = &w.picker {
        if p != username && actor.role == crate::domain::auth::Role::Picker {
            return Err(Error::conflict(
                "wave_taken",
                format!("wave {id} is assigned to {p}"),
            ));
        }
    }
    db::set_wave(tx.conn(), id, "picking", Some(username), station).await?;
    tx.event(
        "wave.taken",
        &format!("wave:{id}"),
        &json!({ "wave_id": id, "picker": username, "station": station }),
    )
    .await?;
    tx.commit().await?;
    next(ctx, id).await
}

/// The next pick and the progress, read in the caller's transaction with two small queries.
async fn next_in(tx: &mut WriteTx, ctx: &Ctx, w: &WaveRow) -> Result<NextPick> {
    let (picks, done, short, open, packs, packs_picked) =
        db::wave_progress(tx.conn(), w.id).await?;
    let pick = db::next_pick(tx.conn(), w.id).await?;
    Ok(NextPick {
        wave_id: w.id,
        wave_status: if open == 0 {
            "done".into()
        } else {
            w.status.clone()
        },
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
        pick,
    })
}

/// The next pick of a wave.
pub async fn next(ctx: &Ctx, id: i64) -> Result<NextPick> {
    let mut conn = ctx.db.pool().acquire().await?;
    let w = db::wave(&mut conn, id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("wave {id}")))?;
    let picks = db::picks_of_wave(&mut conn, id).await?;
    Ok(NextPick {
        wave_id: id,
        wave_status: w.status,
        require_location_scan: ctx.config.picking.require_location_scan,
        require_tote_scan: ctx.config.picking.require_tote_scan,
        progress: progress(&picks),
        pick: picks.into_iter().find(|p| p.status == "open"),
    })
}

fn scan_key(r: &ScanRequest) -> Result<String> {
    let k = r.scan_id.trim();
    if k.is_empty() || k.len() > 128 || k.chars().any(char::is_control) {
        return Err(Error::invalid("scan_id", "must be 1 to 128 characters"));
    }
    Ok(k.to_string())
}

fn date(s: &str) -> NaiveDate {
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
    let qty = quantity.unwrap_or(1);
    let confirm_key = format!("pick:{wave_id}:{key}");
    let mut tx = ctx.db.begin_write().await?;
    let w = wave_row(&mut tx, wave_id).await?;
    if db::confirm_by_key(tx.conn(), &confirm_key).await?.is_some() {
        let next = next_in(&mut tx, ctx, &w).await?;
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
    if w.status != "picking" {
        // The first accepted scan starts the wave; a refused one rolls this back with the rest.
        db::set_wave(tx.conn(), wave_id, "picking", None, None).await?;
    }
    let w = WaveRow {
        status: "picking".into(),
        ..w
    };
    let Some(pick) = db::next_pick(tx.conn(), wave_id).await? else {
        return Err(Error::conflict(
            "nothing_to_pick",
            format!("wave {wave_id} has nothing left to pick"),
        ));
    };
    let today = today();
    let lots: Vec<LotHere> = db::lots_at(tx.conn(), &pick.location, &pick.gtin)
        .await?
        .into_iter()
        .map(|(unit_id, lot, expiry, free)| LotHere {
            unit_id,
            lot,
            expiry: date(&expiry),
            free,
        })
        .collect();
    let names: Vec<String> = lots.iter().map(|l| l.lot.clone()).collect();
    let scanned = match input {
        ScanInput::Wedge(text) => rules::read_wedge(text, &pick.location, &names, today),
        ScanInput::Serial(bytes) => rules::read_serial(bytes, today),
    };
    let in_hand = PickInHand {
        location: pick.location.clone(),
        gtin: pick.gtin.clone(),
        product_name: pick.product_name.clone(),
        unit_id: pick.stock_unit_id,
        lot: pick.lot.clone(),
        remaining: pick.quantity - pick.picked,
        location_ok: pick.location_ok,
        require_location_scan: ctx.config.picking.require_location_scan,
        tote: pick.tote.clone(),
        tote_ok: pick.tote_ok,
        require_tote_scan: ctx.config.picking.require_tote_scan,
        min_shelf_life_days: pick.min_shelf_life_days,
        delivery: date(&pick.delivery_date),
    };
    let decision = match &scanned {
        Err(u) => Err(rules::refuse(
            "unreadable",
            u.message.clone(),
            format!("{}: scan igen", u.message_da),
        )),
        // A label that is no known location is no location at all.
        Ok(Scanned::Location(code))
            if !code.eq_ignore_ascii_case(&pick.location)
                && crate::store::catalog::location(tx.conn(), code)
                    .await?
                    .is_none() =>
        {
            Err(rules::refuse(
                "unreadable",
                format!("{code} is not a product or location barcode"),
                format!("{code} er hverken en vare- eller lokationsstregkode"),
            ))
        }
        Ok(s) => rules::decide(&in_hand, s, qty, &lots, today),
    };
    let outcome = |code: &str| {
        ctx.metrics
            .pick_scans
            .get_or_create(&crate::metrics::OutcomeLabel {
                outcome: code.into(),
            })
            .inc();
    };
    let (code, message, message_da) = match decision {
        Err(refusal) => {
            drop(tx);
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
        Ok(Decision::ToteConfirmed) => {
            db::set_tote_ok(tx.conn(), wave_id, pick.order_id).await?;
            (
                "tote_ok",
                format!("tote {} ok: take {}", pick.tote, pick.product_name),
                format!("Kasse {} ok: tag {}", pick.tote, pick.product_name),
            )
        }
        Ok(Decision::LocationConfirmed) => {
            db::set_location_ok(tx.conn(), pick.id).await?;
            (
                "location_ok",
                format!("location {} ok: take {}", pick.location, pick.product_name),
                format!("Lokation {} ok: tag {}", pick.location, pick.product_name),
            )
        }
        Ok(Decision::Confirm { unit_id, qty, swap }) => {
            let mut pick = pick.clone();
            if swap {
                swap_lot(&mut tx, &mut pick, unit_id, &lots).await?;
            }
            confirm(&mut tx, actor, &w, &pick, qty, &confirm_key).await?;
            let (lot, lot_da) = if swap {
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

/// Moves the pick's whole remaining reservation to another lot at the same location.
async fn swap_lot(
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
async fn confirm(
    tx: &mut WriteTx,
    actor: &Actor,
    w: &WaveRow,
    pick: &PickRow,
    qty: i64,
    key: &str,
) -> Result<()> {
    db::unreserve(tx.conn(), pick.stock_unit_id, qty).await?;
    db::reduce_reservation(tx.conn(), pick.reservation_id, qty).await?;
    let reference = format!("order {} tote {}", pick.external_id, pick.tote);
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
        &json!({ "wave_id": w.id, "pick_id": pick.id, "order": pick.external_id, "gtin": pick.gtin,
                 "lot": pick.lot, "qty": qty, "tote": pick.tote, "by": actor.name }),
    )
    .await?;
    finish_events(tx, w.id, finished).await
}

/// Where `move_packs` puts the packs.
enum To<'a> {
    /// The unit of the same product, lot and owner at this location and status (made if new).
    Location(&'a str, StockStatus),
    /// An existing unit (packs going back where they came from).
    Unit(i64),
}

/// What `move_packs` writes: the ledger kind, its idempotency key, the reason and reference.
struct MoveOp<'a> {
    kind: &'static str,
    key: &'a str,
    reason: Option<&'a str>,
    reference: &'a str,
}

/// One stock operation moving `qty` packs out of unit `from` into `to`, with its two ledger
/// entries, inside the caller's transaction. Events are left to the caller (appended last).
async fn move_packs(
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
    let target = match &to {
        To::Location(l, st) => json!({ "location": l, "status": st }),
        To::Unit(id) => json!({ "unit": id }),
    };
    let request = json!({ "from": from, "to": target, "qty": qty });
    let hash = super::auth::sha256_hex(&request.to_string());
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
type Finished = Vec<(i64, String, OrderStatus, Option<String>)>;

/// When no pick of the wave is open, the wave is done: its orders go to cutting (with cut
/// lines) or wait for packing (`picked`), and their totes are closed for undo. An order of which
/// nothing could be picked (every pick short, no stock elsewhere) goes back to `backordered`
/// without wave or tote instead of on to packing with an empty tote. Writes the rows only;
/// `finish_events` appends the events, last in the transaction.
async fn finish_rows(tx: &mut WriteTx, wave_id: i64) -> Result<Option<Finished>> {
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
            super::cutting::create_jobs(tx, id, &lines).await?;
        }
        db::set_order_status(tx.conn(), id, status).await?;
        finished.push((id, external_id, status, tote));
    }
    // A replacement wave (a cutting job's damaged plates) carries no order: its plates become
    // new cutting jobs.
    super::cutting::replacements_picked(tx, wave_id).await?;
    db::set_wave(tx.conn(), wave_id, "done", None, None).await?;
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
) -> std::result::Result<Option<i64>, sqlx::Error> {
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
async fn finish_events(tx: &mut WriteTx, wave_id: i64, finished: Option<Finished>) -> Result<()> {
    let Some(orders) = finished else {
        return Ok(());
    };
    for (id, external_id, status, tote) in &orders {
        let event = format!("order.{}", status.as_str());
        super::orders::event(
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
    if pick.status != "open" {
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
            let mut missing: Vec<super::orders::Missing> = o
                .missing
                .as_deref()
                .and_then(|m| serde_json::from_str(m).ok())
                .unwrap_or_default();
            missing.push(super::orders::Missing {
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
    if pick.status == "short" || pick.stock_unit_id != c.from_unit {
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
