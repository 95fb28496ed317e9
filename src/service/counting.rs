//! Counting locations: the count sheet (what should be there), booking a blind count as one
//! stock operation that also closes the location's count tasks, and cycle count runs a lead makes
//! for a zone, a product or the locations not counted for some days.

use super::stock::{idem_key, plan, run, units, OpResult};
use super::{Actor, Ctx};
use crate::domain::catalog::LocationCode;
use crate::domain::counting::{self as rules, CountError, SystemUnit};
use crate::domain::gtin::Gtin;
use crate::domain::stock::{note, parse_expiry, Lot, OpKind, MAX_OP_QUANTITY};
use crate::error::{Error, Result};
use crate::service::views;
use crate::store;
/// The criteria of a list query, as the store reads them (an input, not an API body).
pub use crate::store::counting::TaskFilter;
use crate::store::counting::{self as db, CountClose, RunRow, TaskRow};
use crate::store::stock::{Amount, Leg, LegTarget, UnitFilter};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

/// The most lots one count may carry, and the most locations one cycle count run may take.
pub const MAX_LINES: usize = 500;
pub const MAX_RUN_TASKS: usize = 2000;

/// What the system holds at a location, lot by lot, with the location's open tasks. A counting
/// page shows the lots (not the quantities) until the count is entered: a blind count.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CountSheet {
    pub location: String,
    pub location_kind: String,
    pub last_counted_at: Option<String>,
    pub tasks: Vec<views::counting::CountTask>,
    pub lots: Vec<SheetLot>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SheetLot {
    pub gtin: String,
    pub product_name: String,
    pub lot: String,
    pub expiry: String,
    /// Packs the system holds here, every status.
    pub expected: i64,
    /// Of those: reserved for open picks, quarantined, and held by a short pick.
    pub reserved: i64,
    pub quarantined: i64,
    pub held: i64,
}

type LotKey = (String, String, String);

struct Here {
    kind: String,
    units: Vec<super::stock::UnitView>,
    tasks: Vec<TaskRow>,
    last: Option<(i64, String)>,
}

async fn read_location(ctx: &Ctx, location: &str) -> Result<(LocationCode, Here)> {
    let code = LocationCode::parse(location).map_err(|e| Error::invalid("location", e.message))?;
    let mut conn = ctx.db.pool().acquire().await?;
    let loc = store::catalog::location(&mut conn, code.as_str())
        .await?
        .ok_or_else(|| Error::NotFound(format!("location {}", code.as_str())))?;
    if !matches!(
        loc.kind.as_str(),
        "receiving" | "pick" | "reserve" | "quarantine"
    ) {
        return Err(Error::invalid(
            "location",
            format!(
                "{} is a {} location; count receiving, pick, reserve and quarantine locations",
                code.as_str(),
                loc.kind
            ),
        ));
    }
    let tasks = db::open_at(&mut conn, code.as_str()).await?;
    let last = db::last_count(&mut conn, code.as_str()).await?;
    drop(conn);
    let units = units(
        ctx,
        &UnitFilter {
            location: Some(code.as_str().to_string()),
            ..Default::default()
        },
    )
    .await?;
    Ok((
        code,
        Here {
            kind: loc.kind,
            units,
            tasks,
            last,
        },
    ))
}

/// Packs held by open short-pick tasks, by unit.
fn holds(tasks: &[TaskRow]) -> BTreeMap<i64, i64> {
    let mut h = BTreeMap::new();
    for t in tasks {
        if let Some(u) = t.hold_unit_id {
            *h.entry(u).or_default() += t.hold_qty;
        }
    }
    h
}

fn system_lots(here: &Here) -> BTreeMap<LotKey, Vec<SystemUnit>> {
    let held = holds(&here.tasks);
    let mut lots: BTreeMap<LotKey, Vec<SystemUnit>> = BTreeMap::new();
    for u in &here.units {
        lots.entry((u.gtin.clone(), u.lot.clone(), u.expiry.clone()))
            .or_default()
            .push(SystemUnit {
                unit_id: u.id,
                owner: u.owner.clone(),
                status: u.status.as_str().to_string(),
                qty: u.quantity,
                reserved: u.reserved,
                held: held.get(&u.id).copied().unwrap_or(0),
            });
    }
    lots
}

pub async fn sheet(ctx: &Ctx, location: &str) -> Result<CountSheet> {
    let (code, here) = read_location(ctx, location).await?;
    let names: BTreeMap<&str, &str> = here
        .units
        .iter()
        .map(|u| (u.gtin.as_str(), u.product_name.as_str()))
        .collect();
    let lots = system_lots(&here)
        .into_iter()
        .map(|((gtin, lot, expiry), us)| SheetLot {
            product_name: names.get(gtin.as_str()).copied().unwrap_or("").to_string(),
            expected: us.iter().map(|u| u.qty).sum(),
            reserved: us.iter().map(|u| u.reserved).sum(),
            quarantined: us
                .iter()
                .filter(|u| u.status == "quarantined")
                .map(|u| u.qty)
                .sum(),
            held: us.iter().map(|u| u.held.min(u.qty)).sum(),
            gtin,
            lot,
            expiry,
        })
        .collect();
    Ok(CountSheet {
        location: code.as_str().to_string(),
        location_kind: here.kind,
        last_counted_at: here.last.map(|(_, at)| at),
        tasks: views::all(here.tasks),
        lots,
    })
}

/// A blind count of one location.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CountRequest {
    /// Client-chosen key; sending the same request again returns the first result.
    pub idempotency_key: Option<String>,
    pub location: String,
    /// Every lot at the location, counted (0 when none are there), and lots found that the
    /// system does not hold there.
    pub lines: Vec<CountLine>,
    /// Why the count differs; required when it does.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CountLine {
    pub gtin: String,
    pub lot: String,
    /// `YYYY-MM-DD`
    pub expiry: String,
    pub counted: i64,
}

/// What a count found and booked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CountResult {
    pub op_id: i64,
    /// True when this is the stored result of an earlier request with the same key (`lots` is
    /// then empty: the ledger entries and tasks say what was booked).
    pub replayed: bool,
    pub location: String,
    pub lots: Vec<CountedLot>,
    /// The count tasks this count closed (or the record of a count made without one).
    pub tasks: Vec<views::counting::CountTask>,
    pub entries: Vec<views::stock::LedgerEntry>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CountedLot {
    pub gtin: String,
    pub lot: String,
    pub expiry: String,
    pub expected: i64,
    pub counted: i64,
    pub difference: i64,
}

struct Parsed {
    key: LotKey,
    counted: i64,
}

fn parse_lines(lines: &[CountLine]) -> Result<Vec<Parsed>> {
    if lines.len() > MAX_LINES {
        return Err(Error::invalid(
            "lines",
            format!("at most {MAX_LINES} lots in one count"),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        let field = |f: &str| format!("lines[{i}].{f}");
        let gtin =
            Gtin::parse(&l.gtin).map_err(|e| Error::invalid(&field("gtin"), e.to_string()))?;
        let lot = Lot::parse(&l.lot).map_err(|e| Error::invalid(&field("lot"), e.message))?;
        let expiry =
            parse_expiry(&l.expiry).map_err(|e| Error::invalid(&field("expiry"), e.message))?;
        if !(0..=MAX_OP_QUANTITY).contains(&l.counted) {
            return Err(Error::invalid(
                &field("counted"),
                format!("must be between 0 and {MAX_OP_QUANTITY}"),
            ));
        }
        let key = (
            gtin.to_string(),
            lot.as_str().to_string(),
            expiry.to_string(),
        );
        if !seen.insert(key.clone()) {
            return Err(Error::invalid(
                &field("lot"),
                format!("lot {} of {} is counted twice", key.1, key.0),
            ));
        }
        out.push(Parsed {
            key,
            counted: l.counted,
        });
    }
    Ok(out)
}

/// Books a count: each lot's difference, and the held packs it found released, in one
/// operation that closes the location's open count tasks. Refused when a lot the system holds
/// there is missing from the count, or a lot is counted below its packs reserved for picks.
pub async fn count(ctx: &Ctx, actor: &Actor, r: &CountRequest) -> Result<CountResult> {
    let key = idem_key(&r.idempotency_key)?;
    let lines = parse_lines(&r.lines)?;
    let reason = note("reason", r.reason.as_deref().unwrap_or(""), false)?;
    // A location named in a body that does not exist is a wrong value (422), not a missing page.
    let (code, here) = read_location(ctx, &r.location).await.map_err(|e| match e {
        Error::NotFound(what) => Error::invalid("location", format!("unknown {what}")),
        e => e,
    })?;
    let location = code.as_str().to_string();
    let mut request_lines: Vec<_> = lines
        .iter()
        .map(|p| json!([p.key.0, p.key.1, p.key.2, p.counted]))
        .collect();
    request_lines.sort_by_key(|v| v.to_string());
    let request = json!({ "location": location, "lines": request_lines, "reason": reason });
    let mut system = system_lots(&here);
    let counted: BTreeMap<&LotKey, i64> = lines.iter().map(|p| (&p.key, p.counted)).collect();
    if let Some((k, _)) = system.iter().find(|(k, _)| !counted.contains_key(k)) {
        return Err(Error::invalid(
            "lines",
            format!(
                "lot {} of {} is at {location}: count it too (0 when none are there)",
                k.1, k.0
            ),
        ));
    }
    let mut legs = Vec::new();
    let mut lots = Vec::new();
    for p in &lines {
        let us = system.remove(&p.key).unwrap_or_default();
        let default_owner = match us.first() {
            Some(u) => u.owner.clone(),
            None => {
                let mut conn = ctx.db.pool().acquire().await?;
                store::catalog::product(&mut conn, &p.key.0)
                    .await?
                    .ok_or_else(|| Error::invalid("lines", format!("unknown product {}", p.key.0)))?
                    .producer
            }
        };
        let changes = rules::plan_lot(&us, p.counted, &default_owner).map_err(|e| match e {
            CountError::BelowReserved { counted, reserved } => Error::conflict(
                "count_below_reserved",
                format!(
                    "lot {} of {}: {counted} counted but {reserved} are reserved for open picks; \
                     report those picks short first",
                    p.key.1, p.key.0
                ),
            ),
        })?;
        let expected: i64 = us.iter().map(|u| u.qty).sum();
        lots.push(CountedLot {
            gtin: p.key.0.clone(),
            lot: p.key.1.clone(),
            expiry: p.key.2.clone(),
            expected,
            counted: p.counted,
            difference: p.counted - expected,
        });
        for c in changes {
            let target = match c.unit_id {
                Some(id) => LegTarget::Unit(id),
                None => LegTarget::Key {
                    gtin: p.key.0.clone(),
                    lot: p.key.1.clone(),
                    expiry: p.key.2.clone(),
                    location: location.clone(),
                    owner: c.owner.clone(),
                    status: c.status.clone(),
                },
            };
            legs.push(Leg {
                target,
                amount: Amount::By(c.after - c.before),
                gtin: p.key.0.clone(),
                owner: c.owner,
                location: location.clone(),
                reason: reason.clone().or_else(|| Some("count".into())),
                reference: Some(format!("count at {location}")),
            });
        }
    }
    let difference: i64 = lots.iter().map(|l| l.difference).sum();
    if lots.iter().any(|l| l.difference != 0) && reason.is_none() {
        return Err(Error::invalid(
            "reason",
            "the count differs from the system: give a reason",
        ));
    }
    // Releases go after write-offs so that no leg depends on a later one.
    legs.sort_by_key(|l| matches!(l.amount, Amount::By(d) if d > 0));
    let mut op = plan(OpKind::Count, key, &request, actor, legs);
    op.count = Some(CountClose {
        location: location.clone(),
        task_ids: here.tasks.iter().map(|t| t.id).collect(),
        last_count_id: here.last.map(|(id, _)| id),
        lines: lots.len() as i64,
        difference,
    });
    let OpResult {
        op_id,
        replayed,
        entries,
        ..
    } = run(ctx, OpKind::Count, op).await?;
    let tasks = db::of_op(ctx.db.pool(), op_id).await?;
    if !replayed {
        tracing::info!(
            op_id,
            location,
            difference,
            closed = tasks.len(),
            "location counted"
        );
    }
    Ok(CountResult {
        op_id,
        replayed,
        location,
        lots: if replayed { Vec::new() } else { lots },
        tasks: views::all(tasks),
        entries,
    })
}

/// A cycle count run: exactly one of `zone`, `gtin` or `not_counted_for_days`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunRequest {
    pub zone: Option<String>,
    pub gtin: Option<String>,
    /// Every countable location not counted for this many days (or never).
    #[schema(minimum = 1, maximum = 3650)]
    pub not_counted_for_days: Option<i64>,
    /// Shown to the counters; pages describe the scope when it is empty.
    pub title: Option<String>,
}

pub async fn create_run(ctx: &Ctx, actor: &Actor, r: &RunRequest) -> Result<RunRow> {
    let pool = ctx.db.pool();
    let (scope, locations) = match (&r.zone, &r.gtin, r.not_counted_for_days) {
        (Some(zone), None, None) => {
            let zone = zone.trim().to_string();
            let locs = db::zone_locations(pool, &zone).await?;
            (format!("zone:{zone}"), locs)
        }
        (None, Some(gtin), None) => {
            let gtin = Gtin::parse(gtin).map_err(|e| Error::invalid("gtin", e.to_string()))?;
            let locs = db::product_locations(pool, gtin.as_str()).await?;
            (format!("product:{gtin}"), locs)
        }
        (None, None, Some(days)) => {
            if !(1..=3650).contains(&days) {
                return Err(Error::invalid(
                    "not_counted_for_days",
                    "must be between 1 and 3650",
                ));
            }
            let cutoff =
                crate::domain::time::to_db(chrono::Utc::now() - chrono::Duration::days(days));
            let locs = db::last_counted(pool)
                .await?
                .into_iter()
                .filter(|(_, last)| rules::is_due(last.as_deref(), &cutoff))
                .map(|(code, _)| code)
                .collect();
            (format!("not_counted_for:{days}"), locs)
        }
        _ => {
            return Err(Error::invalid(
                "scope",
                "give exactly one of zone, gtin or not_counted_for_days",
            ))
        }
    };
    if locations.is_empty() {
        return Err(Error::conflict(
            "nothing_to_count",
            format!("no countable location matches {scope}"),
        ));
    }
    if locations.len() > MAX_RUN_TASKS {
        return Err(Error::invalid(
            "scope",
            format!(
                "{} locations match; a run takes at most {MAX_RUN_TASKS}: narrow it",
                locations.len()
            ),
        ));
    }
    let title = note("title", r.title.as_deref().unwrap_or(""), false)?.unwrap_or_default();
    let mut tx = ctx.db.begin_write().await?;
    let id = db::insert_run(tx.conn(), &scope, &title, &actor.name, &locations).await?;
    tx.event(
        "count_run.created",
        &format!("count_run:{id}"),
        &json!({ "id": id, "scope": scope, "locations": locations.len() }),
    )
    .await?;
    tx.commit().await?;
    run_row(ctx, id).await
}

async fn run_row(ctx: &Ctx, id: i64) -> Result<RunRow> {
    db::runs(ctx.db.pool(), 1000)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| Error::NotFound(format!("count run {id}")))
}

pub async fn runs(ctx: &Ctx) -> Result<Vec<RunRow>> {
    Ok(db::runs(ctx.db.pool(), 50).await?)
}

/// Cancels a run's open tasks (counted ones stay counted).
pub async fn cancel_run(ctx: &Ctx, actor: &Actor, id: i64) -> Result<RunRow> {
    let mut tx = ctx.db.begin_write().await?;
    if !db::run_exists(tx.conn(), id).await? {
        return Err(Error::NotFound(format!("count run {id}")));
    }
    let n = db::cancel_run(tx.conn(), id).await?;
    tx.event(
        "count_run.cancelled",
        &format!("count_run:{id}"),
        &json!({ "id": id, "cancelled": n, "by": actor.name }),
    )
    .await?;
    tx.commit().await?;
    run_row(ctx, id).await
}

pub async fn tasks(ctx: &Ctx, f: &TaskFilter) -> Result<Vec<TaskRow>> {
    use crate::domain::states::CountTaskStatus;
    if !(1..=1000).contains(&f.limit) {
        return Err(Error::invalid("limit", "must be between 1 and 1000"));
    }
    CountTaskStatus::parse_filter("status", f.status.as_deref())?;
    let f = TaskFilter {
        limit: f.limit,
        ..f.clone()
    };
    Ok(db::tasks(ctx.db.pool(), &f).await?)
}
