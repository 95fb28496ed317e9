//! Stock operations (each one transaction: stock change + ledger entries + event) and queries.
//!
//! Size: over 600 lines because each operation (receive, put away, move, scrap, quarantine,
//! release, adjust) is its request type, its checks and its plan, and they are easier to compare
//! side by side; the queries and reports could move to a file of their own when it grows.

use super::{today, Actor, Ctx};
use crate::domain::catalog::{LocationCode, LocationKind};
use crate::domain::gtin::Gtin;
use crate::domain::stock::{
    self as rules, freshness, note, parse_expiry, Freshness, Lot, OpKind, Owner, Quantity,
    ScrapReason, Statement, StockError, StockStatus,
};
use crate::domain::time::{start_of_business_day, to_db};
use crate::error::{Error, Result};
use crate::service::views;
use crate::store;
/// The criteria of a list query, as the store reads them (an input, not an API body).
pub use crate::store::stock::UnitFilter;
use crate::store::stock::{
    self as db, Amount, LedgerEntry, Leg, LegTarget, OpPlan, Outcome, UnitRow,
};
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The outcome of a stock operation: its id and the ledger entries it wrote.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OpResult {
    pub op_id: i64,
    pub kind: OpKind,
    /// True when this is the stored result of an earlier request with the same idempotency key.
    pub replayed: bool,
    pub entries: Vec<views::stock::LedgerEntry>,
}

/// Receive goods from a producer into a location.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReceiveRequest {
    /// Client-chosen key; sending the same request again returns the first result.
    pub idempotency_key: Option<String>,
    /// GTIN-8, -12, -13 or -14; stored as GTIN-14.
    pub gtin: String,
    pub lot: String,
    /// `YYYY-MM-DD`
    pub expiry: String,
    pub location: String,
    /// Packs received.
    pub quantity: i64,
    /// Producer code; defaults to the product's producer.
    pub owner: Option<String>,
    /// Delivery note or purchase reference.
    pub reference: Option<String>,
}

/// Operations on an existing stock unit.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UnitOpRequest {
    pub idempotency_key: Option<String>,
    pub stock_unit_id: i64,
    /// Packs; for `adjust` this is the counted quantity (0 allowed).
    pub quantity: i64,
    /// `move`: the destination location.
    pub to_location: Option<String>,
    /// `transfer`: the new owner (a producer code or `payer:CODE`).
    pub new_owner: Option<String>,
    /// `scrap`: expired, damaged, recalled, returned or other.
    pub scrap_reason: Option<ScrapReason>,
    /// Why; required for adjust, quarantine and release, optional detail for scrap.
    pub reason: Option<String>,
    pub reference: Option<String>,
}

pub(super) fn idem_key(k: &Option<String>) -> Result<Option<String>> {
    match k.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(k) if k.len() > 128 => Err(Error::invalid(
            "idempotency_key",
            "must be at most 128 characters",
        )),
        Some(k) if k.chars().any(char::is_control) => Err(Error::invalid(
            "idempotency_key",
            "must not contain control characters",
        )),
        Some(k) => Ok(Some(k.to_string())),
    }
}

/// The fingerprint of a normalised request: the same idempotency key must come with the same one.
fn request_hash(request: &serde_json::Value) -> String {
    crate::service::auth::sha256_hex(&request.to_string())
}

/// Writes a planned operation (one transaction) and turns the outcome into the API's terms.
pub(super) async fn run(ctx: &Ctx, kind: OpKind, plan: OpPlan) -> Result<OpResult> {
    let key = plan.idempotency_key.clone().unwrap_or_default();
    match db::execute(&ctx.db, plan).await? {
        Outcome::Done {
            op_id,
            entries,
            replayed,
        } => {
            if !replayed {
                let label = crate::metrics::KindLabel {
                    kind: kind.as_str().into(),
                };
                ctx.metrics.stock_operations.get_or_create(&label).inc();
                let packs = entries
                    .iter()
                    .map(|e| e.delta.unsigned_abs())
                    .max()
                    .unwrap_or(0);
                ctx.metrics
                    .stock_packs_moved
                    .get_or_create(&label)
                    .inc_by(packs);
                tracing::info!(op_id, kind = kind.as_str(), "stock operation committed");
                if matches!(
                    kind,
                    OpKind::Receive | OpKind::Move | OpKind::Release | OpKind::Adjust
                ) {
                    ctx.stock_arrived.notify_one();
                }
            }
            Ok(OpResult {
                op_id,
                kind,
                replayed,
                entries: views::all(entries),
            })
        }
        Outcome::Insufficient { on_hand, requested } => {
            Err(StockError::Insufficient { on_hand, requested }.into())
        }
        Outcome::KeyReused { kind: done } => Err(Error::conflict(
            "idempotency_key_reused",
            format!("idempotency key {key:?} was already used for a different {done} request"),
        )),
        Outcome::KeyInUse => Err(Error::conflict(
            "idempotency_key_in_use",
            "the idempotency key is in use by a request still running",
        )),
        Outcome::Superseded => Err(Error::conflict(
            "count_superseded",
            "the location was counted by someone else meanwhile; count it again",
        )),
    }
}

pub(super) fn plan(
    kind: OpKind,
    key: Option<String>,
    request: &serde_json::Value,
    actor: &Actor,
    legs: Vec<Leg>,
) -> OpPlan {
    OpPlan {
        kind: kind.as_str(),
        event_type: kind.event_type(),
        idempotency_key: key,
        request_hash: request_hash(request),
        actor: actor.name.clone(),
        legs,
        count: None,
    }
}

async fn location_kind(ctx: &Ctx, code: &str, field: &str) -> Result<(LocationCode, LocationKind)> {
    let code = LocationCode::parse(code).map_err(|e| Error::invalid(field, e.message))?;
    let mut conn = ctx.db.pool().acquire().await?;
    let loc = store::catalog::location(&mut conn, code.as_str())
        .await?
        .ok_or_else(|| Error::invalid(field, format!("unknown location {}", code.as_str())))?;
    let kind = LocationKind::parse(&loc.kind)?;
    Ok((code, kind))
}

pub async fn receive(ctx: &Ctx, actor: &Actor, r: &ReceiveRequest) -> Result<OpResult> {
    let gtin = Gtin::parse(&r.gtin).map_err(|e| Error::invalid("gtin", e.to_string()))?;
    let lot = Lot::parse(&r.lot)?;
    let expiry = parse_expiry(&r.expiry)?;
    let qty = Quantity::new("quantity", r.quantity)?;
    let reference = note("reference", r.reference.as_deref().unwrap_or(""), false)?;
    let owner = r.owner.as_deref().map(Owner::parse).transpose()?;
    let key = idem_key(&r.idempotency_key)?;
    if expiry < today() {
        return Err(Error::invalid(
            "expiry",
            format!(
                "lot {} expired on {expiry}; expired goods are not received",
                lot.as_str()
            ),
        ));
    }
    let location = LocationCode::parse(&r.location)?;
    // Product and location in one round trip.
    let (producer, loc_kind) =
        db::receive_lookup(ctx.db.pool(), gtin.as_str(), location.as_str()).await?;
    let producer =
        producer.ok_or_else(|| Error::invalid("gtin", format!("unknown product {gtin}")))?;
    let owner = match owner {
        None => producer,
        Some(Owner::Producer(p)) if p.as_str() == producer => producer,
        Some(o) => {
            return Err(Error::invalid(
                "owner",
                format!("{o} does not own {gtin}; consignment stock is received for its producer {producer}"),
            ))
        }
    };
    let loc_kind = loc_kind.ok_or_else(|| {
        Error::invalid(
            "location",
            format!("unknown location {}", location.as_str()),
        )
    })?;
    let loc_kind = LocationKind::parse(&loc_kind)?;
    if matches!(
        loc_kind,
        LocationKind::Dispatch | LocationKind::Packing | LocationKind::Cutting | LocationKind::Tote
    ) {
        return Err(Error::invalid(
            "location",
            format!(
                "{} is a {} location; receive into receiving, pick, reserve or quarantine",
                location.as_str(),
                loc_kind.as_str()
            ),
        ));
    }
    let request = json!({ "gtin": gtin, "lot": lot, "expiry": expiry, "location": location,
        "quantity": qty.get(), "owner": owner, "reference": reference });
    let leg = Leg {
        target: LegTarget::Key {
            gtin: gtin.to_string(),
            lot: lot.as_str().into(),
            expiry: expiry.to_string(),
            location: location.as_str().into(),
            owner: owner.clone(),
            status: StockStatus::Available.as_str().into(),
        },
        amount: Amount::By(qty.get()),
        gtin: gtin.to_string(),
        owner,
        location: location.as_str().into(),
        reason: None,
        reference,
    };
    run(
        ctx,
        OpKind::Receive,
        plan(OpKind::Receive, key, &request, actor, vec![leg]),
    )
    .await
}

pub async fn unit_op(
    ctx: &Ctx,
    actor: &Actor,
    kind: OpKind,
    r: &UnitOpRequest,
) -> Result<OpResult> {
    let key = idem_key(&r.idempotency_key)?;
    // A scrap carries its reason category (`scrap_reason`); the free text is optional there.
    let reason_required = matches!(kind, OpKind::Adjust | OpKind::Quarantine | OpKind::Release);
    let reason = note("reason", r.reason.as_deref().unwrap_or(""), reason_required)?;
    let reference = note("reference", r.reference.as_deref().unwrap_or(""), false)?;
    let qty = if kind == OpKind::Adjust {
        if !(0..=rules::MAX_OP_QUANTITY).contains(&r.quantity) {
            return Err(Error::invalid(
                "quantity",
                format!(
                    "the counted quantity must be between 0 and {}",
                    rules::MAX_OP_QUANTITY
                ),
            ));
        }
        r.quantity
    } else {
        Quantity::new("quantity", r.quantity)?.get()
    };
    let scrap_reason = match (kind, r.scrap_reason) {
        (OpKind::Scrap, Some(s)) => Some(s),
        (OpKind::Scrap, None) => {
            return Err(Error::invalid(
                "scrap_reason",
                "is required: expired, damaged, recalled, returned or other",
            ))
        }
        _ => None,
    };
    let reason = match (scrap_reason, reason) {
        (Some(s), Some(text)) => Some(format!("{}: {text}", s.as_str())),
        (Some(s), None) => Some(s.as_str().to_string()),
        (None, reason) => reason,
    };
    let u = {
        let mut conn = ctx.db.pool().acquire().await?;
        db::unit(&mut conn, r.stock_unit_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("stock unit {}", r.stock_unit_id)))?
    };
    // The unit loses `qty` and the unit differing in location, owner or status gains it.
    let out = |amount: Amount| Leg {
        target: LegTarget::Unit(u.id),
        amount,
        gtin: u.gtin.clone(),
        owner: u.owner.clone(),
        location: u.location.clone(),
        reason: reason.clone(),
        reference: reference.clone(),
    };
    let into = |location: &str, owner: &str, status: &str| Leg {
        target: LegTarget::Key {
            gtin: u.gtin.clone(),
            lot: u.lot.clone(),
            expiry: u.expiry.clone(),
            location: location.into(),
            owner: owner.into(),
            status: status.into(),
        },
        amount: Amount::By(qty),
        gtin: u.gtin.clone(),
        owner: owner.into(),
        location: location.into(),
        reason: reason.clone(),
        reference: reference.clone(),
    };
    let (legs, target) = match kind {
        OpKind::Move => {
            let to = r
                .to_location
                .as_deref()
                .ok_or_else(|| Error::invalid("to_location", "is required for a move"))?;
            let (to, _) = location_kind(ctx, to, "to_location").await?;
            if to.as_str() == u.location {
                return Err(Error::invalid(
                    "to_location",
                    "is the location the stock is already in",
                ));
            }
            (
                vec![
                    out(Amount::By(-qty)),
                    into(to.as_str(), &u.owner, &u.status),
                ],
                Some(to.as_str().to_string()),
            )
        }
        OpKind::Quarantine | OpKind::Release => {
            let (from, to) = if kind == OpKind::Quarantine {
                (StockStatus::Available, StockStatus::Quarantined)
            } else {
                (StockStatus::Quarantined, StockStatus::Available)
            };
            if u.status != from.as_str() {
                return Err(Error::conflict(
                    "wrong_status",
                    format!("stock unit {} is {}, not {}", u.id, u.status, from.as_str()),
                ));
            }
            (
                vec![
                    out(Amount::By(-qty)),
                    into(&u.location, &u.owner, to.as_str()),
                ],
                None,
            )
        }
        OpKind::Transfer => {
            let o = r
                .new_owner
                .as_deref()
                .ok_or_else(|| Error::invalid("new_owner", "is required for a transfer"))?;
            let owner = Owner::parse(o).map_err(|e| Error::invalid("new_owner", e.message))?;
            if let Owner::Producer(p) = &owner {
                let mut conn = ctx.db.pool().acquire().await?;
                if !store::catalog::producer_exists(&mut conn, p.as_str()).await? {
                    return Err(Error::invalid(
                        "new_owner",
                        format!("unknown producer {}", p.as_str()),
                    ));
                }
            }
            let owner = owner.to_string();
            if owner == u.owner {
                return Err(Error::invalid("new_owner", "is already the owner"));
            }
            (
                vec![out(Amount::By(-qty)), into(&u.location, &owner, &u.status)],
                Some(owner),
            )
        }
        OpKind::Scrap => (vec![out(Amount::By(-qty))], None),
        OpKind::Adjust => (vec![out(Amount::SetTo(qty))], None),
        OpKind::Receive | OpKind::Pick | OpKind::Ship | OpKind::Return | OpKind::Count => {
            return Err(Error::invalid(
                "kind",
                format!("{} is not an operation on an existing unit", kind.as_str()),
            ))
        }
    };
    let request = json!({ "unit": u.id, "quantity": qty, "target": target, "reason": reason, "reference": reference });
    run(ctx, kind, plan(kind, key, &request, actor, legs)).await
}

/// A stock unit with its judgement for today.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UnitView {
    pub id: i64,
    pub gtin: String,
    pub product_name: String,
    pub producer: String,
    pub lot: String,
    pub expiry: String,
    pub location: String,
    pub location_kind: String,
    pub owner: String,
    pub status: StockStatus,
    pub quantity: i64,
    /// Packs promised to orders (not yet picked); only the rest can be moved or allocated.
    pub reserved: i64,
    pub freshness: Freshness,
    /// Can be allocated to an order: available status, in a pick or reserve location, not expired.
    pub available: bool,
    /// Why a quarantined unit is in quarantine (the reason its packs were put there).
    pub quarantine_reason: Option<String>,
}

fn judge(u: UnitRow, today: NaiveDate) -> UnitView {
    let expiry = NaiveDate::parse_from_str(&u.expiry, "%Y-%m-%d").unwrap_or(NaiveDate::MIN);
    let fresh = freshness(expiry, u.min_shelf_life_days, today);
    let status = StockStatus::from_db(&u.status);
    let available = status == StockStatus::Available
        && matches!(u.location_kind.as_str(), "pick" | "reserve")
        && fresh != Freshness::Expired;
    UnitView {
        id: u.id,
        gtin: u.gtin,
        product_name: u.product_name,
        producer: u.producer,
        lot: u.lot,
        expiry: u.expiry,
        location: u.location,
        location_kind: u.location_kind,
        owner: u.owner,
        status,
        quantity: u.qty,
        reserved: u.reserved,
        freshness: fresh,
        available,
        quarantine_reason: None,
    }
}

pub async fn units(ctx: &Ctx, f: &UnitFilter) -> Result<Vec<UnitView>> {
    let today = today();
    let mut units: Vec<UnitView> = db::list_units(ctx.db.pool(), f)
        .await?
        .into_iter()
        .map(|u| judge(u, today))
        .collect();
    if units.iter().any(|u| u.status == StockStatus::Quarantined) {
        let reasons = db::quarantine_reasons(ctx.db.pool()).await?;
        for u in &mut units {
            u.quarantine_reason = reasons.get(&u.id).cloned();
        }
    }
    Ok(units)
}

pub async fn unit(ctx: &Ctx, id: i64) -> Result<UnitView> {
    let mut conn = ctx.db.pool().acquire().await?;
    let u = db::unit(&mut conn, id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("stock unit {id}")))?;
    Ok(judge(u, today()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Product,
    Lot,
    Location,
    Owner,
}

/// On-hand quantities summed over the units of one product, lot, location or owner.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct OnHand {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gtin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub on_hand: i64,
    pub available: i64,
    pub quarantined: i64,
    pub expired: i64,
    pub short_dated: i64,
}

pub async fn on_hand(ctx: &Ctx, group: GroupBy, f: &UnitFilter) -> Result<Vec<OnHand>> {
    let mut rows: std::collections::BTreeMap<Vec<String>, OnHand> = Default::default();
    for u in units(ctx, f).await? {
        let key = match group {
            GroupBy::Product => vec![u.gtin.clone()],
            GroupBy::Lot => vec![u.gtin.clone(), u.lot.clone(), u.expiry.clone()],
            GroupBy::Location => vec![u.location.clone()],
            GroupBy::Owner => vec![u.owner.clone()],
        };
        let row = rows.entry(key).or_insert_with(|| OnHand {
            gtin: matches!(group, GroupBy::Product | GroupBy::Lot).then(|| u.gtin.clone()),
            product_name: matches!(group, GroupBy::Product | GroupBy::Lot)
                .then(|| u.product_name.clone()),
            lot: (group == GroupBy::Lot).then(|| u.lot.clone()),
            expiry: (group == GroupBy::Lot).then(|| u.expiry.clone()),
            location: (group == GroupBy::Location).then(|| u.location.clone()),
            owner: (group == GroupBy::Owner).then(|| u.owner.clone()),
            ..Default::default()
        });
        row.on_hand += u.quantity;
        if u.available {
            row.available += u.quantity;
        }
        if u.status == StockStatus::Quarantined || u.location_kind == "quarantine" {
            row.quarantined += u.quantity;
        }
        match u.freshness {
            Freshness::Expired => row.expired += u.quantity,
            Freshness::ShortDated => row.short_dated += u.quantity,
            Freshness::Ok => {}
        }
    }
    Ok(rows.into_values().collect())
}

/// Units with stock that expire within `days` days (expired ones included), soonest first.
pub async fn expiring(ctx: &Ctx, days: i64, f: &UnitFilter) -> Result<Vec<UnitView>> {
    if !(0..=3650).contains(&days) {
        return Err(Error::invalid("days", "must be between 0 and 3650"));
    }
    let until = today() + Duration::days(days);
    let f = UnitFilter {
        expiry_until: Some(until.to_string()),
        ..f.clone()
    };
    let mut v = units(ctx, &f).await?;
    v.sort_by(|a, b| a.expiry.cmp(&b.expiry).then(a.id.cmp(&b.id)));
    Ok(v)
}

pub async fn unit_ledger(ctx: &Ctx, id: i64) -> Result<Vec<LedgerEntry>> {
    unit(ctx, id).await?;
    Ok(db::ledger_of_unit(ctx.db.pool(), id).await?)
}

/// An owner's stock statement for business days `from..=to` (Copenhagen).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OwnerStatement {
    pub owner: String,
    pub from: String,
    pub to: String,
    #[serde(flatten)]
    pub figures: Statement,
    /// Opening plus every movement equals closing.
    pub reconciles: bool,
    /// On hand right now, from the stock units themselves (equals closing when the period ends today or later).
    pub on_hand_now: i64,
}

pub async fn statement(ctx: &Ctx, owner: &str, from: &str, to: &str) -> Result<OwnerStatement> {
    let owner = Owner::parse(owner)?.to_string();
    let from_d = NaiveDate::parse_from_str(from.trim(), "%Y-%m-%d")
        .map_err(|_| Error::invalid("from", "must be a date written YYYY-MM-DD"))?;
    let to_d = NaiveDate::parse_from_str(to.trim(), "%Y-%m-%d")
        .map_err(|_| Error::invalid("to", "must be a date written YYYY-MM-DD"))?;
    if to_d < from_d {
        return Err(Error::invalid("to", "must not be before from"));
    }
    if (to_d - from_d).num_days() > 3660 {
        return Err(Error::invalid("to", "a statement covers at most ten years"));
    }
    let start = to_db(start_of_business_day(from_d));
    let end = to_db(start_of_business_day(to_d + Duration::days(1)));
    let pool = ctx.db.pool();
    let opening = db::owner_balance(pool, &owner, &start).await?;
    let closing = db::owner_balance(pool, &owner, &end).await?;
    let movements = db::owner_movements(pool, &owner, &start, &end).await?;
    let mut sums = Vec::new();
    let (mut out, mut inn) = (0, 0);
    for (kind, outgoing, incoming) in movements {
        match OpKind::from_db(&kind) {
            Some(OpKind::Transfer) => {
                out += outgoing;
                inn += incoming;
            }
            Some(k) => sums.push((k, outgoing + incoming)),
            None => {
                return Err(Error::Internal(anyhow::anyhow!(
                    "unknown ledger kind {kind}"
                )))
            }
        }
    }
    let figures = Statement::from_sums(opening, &sums, out, inn, closing);
    let reconciles = figures.reconciles();
    if !reconciles {
        tracing::error!(%owner, ?figures, "owner statement does not reconcile with the ledger");
    }
    let on_hand_now = db::owner_on_hand(pool, &owner).await?;
    Ok(OwnerStatement {
        owner,
        from: from_d.to_string(),
        to: to_d.to_string(),
        figures,
        reconciles,
        on_hand_now,
    })
}
