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
use crate::domain::wave::{PickStatus, WaveStatus};
use crate::error::{Error, Result};
use crate::service::views;
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
    #[schema(minimum = 1, maximum = 200)]
    pub max_orders: Option<i64>,
    /// Most order lines to pick (reservations); at least one order is always taken.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 10000)]
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
    pub wave: views::orders::Wave,
    pub progress: Progress,
    pub picks: Vec<views::orders::Pick>,
    pub exceptions: Vec<views::orders::PickException>,
}

/// What the picker sees: the next pick, or that the wave is done.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NextPick {
    pub wave_id: i64,
    pub wave_status: WaveStatus,
    pub require_location_scan: bool,
    /// The picker scans an order's tote before its first pack (the pick's `tote_ok` says
    /// whether that is done).
    pub require_tote_scan: bool,
    pub progress: Progress,
    /// `None` when nothing is left to pick.
    pub pick: Option<views::orders::Pick>,
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
#[schema(as = PickShortRequest)]
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
        match k.status {
            PickStatus::Done => p.done += 1,
            PickStatus::Short => p.short += 1,
            PickStatus::Open => p.open += 1,
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
    if w.status == WaveStatus::Done {
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
        wave: w.into(),
        progress: progress(&picks),
        picks: views::all(picks),
        exceptions: views::all(exceptions),
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
        if w.status == WaveStatus::Done && !finished_today {
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
    let status = if w.status == WaveStatus::Picking {
        WaveStatus::Picking
    } else {
        WaveStatus::Assigned
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
    db::set_wave(tx.conn(), id, WaveStatus::Picking, Some(username), station).await?;
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
            WaveStatus::Done
        } else {
            w.status
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
        pick: pick.map(Into::into),
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
        pick: picks
            .into_iter()
            .find(|p| p.status == PickStatus::Open)
            .map(Into::into),
    })
}

mod fast;
mod moves;
mod scan;
mod short;
pub(crate) use moves::replacement_wave;
use moves::*;
use scan::*;
pub use scan::{scan, scan_input, station_scan, ScanInput};
pub use short::{short, undo};
