//! Stock operations (each one transaction: stock change + ledger entries + event) and queries.

use super::{today, Actor, Ctx};
use crate::domain::catalog::{LocationCode, LocationKind};
use crate::domain::gtin::Gtin;
use crate::domain::stock::{
    self as rules, freshness, note, parse_expiry, Freshness, Lot, OpKind, Owner, Quantity,
    ScrapReason, Statement, StockStatus,
};
use crate::domain::time::{start_of_business_day, to_db};
use crate::error::{Error, Result};
use crate::store::stock::{self as db, LedgerEntry, NewLedger, UnitFilter, UnitKey, UnitRow};
use crate::store::{self, WriteTx};
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
    pub entries: Vec<LedgerEntry>,
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

enum Begun {
    New(WriteTx, i64),
    Replay(OpResult),
}

fn idem_key(k: &Option<String>) -> Result<Option<String>> {
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

/// Starts an operation: a replay when the idempotency key was used for the same request before.
async fn begin(
    ctx: &Ctx,
    actor: &Actor,
    kind: OpKind,
    key: Option<String>,
    request: &impl Serialize,
) -> Result<Begun> {
    let hash = crate::service::auth::sha256_hex(
        &serde_json::to_string(request).map_err(anyhow::Error::from)?,
    );
    let mut tx = ctx.db.begin_write().await?;
    match db::insert_op(tx.conn(), kind.as_str(), key.as_deref(), &hash, &actor.name).await? {
        Some(op_id) => Ok(Begun::New(tx, op_id)),
        // The key is taken: by an earlier request (replay it) or, on PostgreSQL, by a concurrent
        // one that has just committed.
        None => {
            let k = key.as_deref().unwrap_or_default();
            replay(&mut tx, kind, k, &hash)
                .await?
                .map(Begun::Replay)
                .ok_or_else(|| {
                    Error::conflict(
                        "idempotency_key_in_use",
                        "the idempotency key is in use by a request still running",
                    )
                })
        }
    }
}

async fn replay(tx: &mut WriteTx, kind: OpKind, key: &str, hash: &str) -> Result<Option<OpResult>> {
    let Some((op_id, done_kind, done_hash)) = db::op_by_key(tx.conn(), key).await? else {
        return Ok(None);
    };
    if done_kind != kind.as_str() || done_hash != hash {
        return Err(Error::conflict(
            "idempotency_key_reused",
            format!("idempotency key {key:?} was already used for a different {done_kind} request"),
        ));
    }
    let entries = db::ledger_of_op(tx.conn(), op_id).await?;
    Ok(Some(OpResult {
        op_id,
        kind,
        replayed: true,
        entries,
    }))
}

/// Ends an operation: one event, commit, metrics.
async fn finish(
    ctx: &Ctx,
    mut tx: WriteTx,
    op_id: i64,
    kind: OpKind,
    entries: Vec<LedgerEntry>,
) -> Result<OpResult> {
    let result = OpResult {
        op_id,
        kind,
        replayed: false,
        entries,
    };
    let subject = result
        .entries
        .first()
        .map(|e| format!("stock_unit:{}", e.stock_unit_id))
        .unwrap_or_default();
    let payload = serde_json::to_value(&result).map_err(anyhow::Error::from)?;
    tx.event(kind.event_type(), &subject, &payload).await?;
    tx.commit().await?;
    let label = crate::metrics::KindLabel {
        kind: kind.as_str().into(),
    };
    ctx.metrics.stock_operations.get_or_create(&label).inc();
    let packs: i64 = result
        .entries
        .iter()
        .map(|e| e.delta.abs())
        .max()
        .unwrap_or(0);
    ctx.metrics
        .stock_packs_moved
        .get_or_create(&label)
        .inc_by(packs.unsigned_abs());
    tracing::info!(op_id, kind = kind.as_str(), "stock operation committed");
    Ok(result)
}

/// Which unit a change applies to: one that exists, or the one with a key (created if missing;
/// only for additions).
enum Target<'a> {
    Unit(i64),
    Key(UnitKey<'a>),
}

struct Change<'a> {
    op_id: i64,
    kind: OpKind,
    target: Target<'a>,
    gtin: &'a str,
    owner: &'a str,
    location: &'a str,
    delta: i64,
    reason: Option<&'a str>,
    reference: Option<&'a str>,
    actor: &'a Actor,
}

/// Changes one unit and writes its ledger entry; refuses (and writes nothing) below zero.
async fn apply(tx: &mut WriteTx, c: Change<'_>) -> Result<LedgerEntry> {
    let (unit_id, before, after) = match c.target {
        Target::Key(key) if c.delta > 0 => db::add_to_unit(tx.conn(), &key, c.delta).await?,
        Target::Key(_) => {
            return Err(Error::Internal(anyhow::anyhow!(
                "a unit key is only for additions"
            )))
        }
        Target::Unit(id) => match db::change_qty(tx.conn(), id, c.delta).await? {
            Ok((before, after)) => (id, before, after),
            Err(on_hand) => {
                rules::apply_delta(on_hand, c.delta)?;
                return Err(Error::Internal(anyhow::anyhow!(
                    "stock unit {id} refused a change the rules allow"
                )));
            }
        },
    };
    let entry = NewLedger {
        op_id: c.op_id,
        unit_id,
        kind: c.kind.as_str(),
        gtin: c.gtin,
        owner: c.owner,
        location: c.location,
        delta: c.delta,
        before,
        after,
        reason: c.reason,
        reference: c.reference,
        actor: &c.actor.name,
    };
    Ok(db::insert_ledger(tx.conn(), &entry).await?)
}

async fn location_kind(
    tx: &mut WriteTx,
    code: &str,
    field: &str,
) -> Result<(LocationCode, LocationKind)> {
    let code = LocationCode::parse(code).map_err(|e| Error::invalid(field, e.message))?;
    let loc = store::catalog::location(tx.conn(), code.as_str())
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
    let normalised = json!({ "gtin": gtin, "lot": lot, "expiry": expiry, "location": r.location.trim().to_ascii_uppercase(),
        "quantity": qty.get(), "owner": owner.as_ref().map(ToString::to_string), "reference": reference });
    let (mut tx, op_id) = match begin(ctx, actor, OpKind::Receive, key, &normalised).await? {
        Begun::Replay(done) => return Ok(done),
        Begun::New(tx, op_id) => (tx, op_id),
    };
    let product = store::catalog::product(tx.conn(), gtin.as_str())
        .await?
        .ok_or_else(|| Error::invalid("gtin", format!("unknown product {gtin}")))?;
    let owner = match owner {
        None => product.producer.clone(),
        Some(Owner::Producer(p)) if p.as_str() == product.producer => product.producer.clone(),
        Some(o) => {
            return Err(Error::invalid(
                "owner",
                format!(
                    "{o} does not own {gtin}; consignment stock is received for its producer {}",
                    product.producer
                ),
            ))
        }
    };
    let (location, loc_kind) = location_kind(&mut tx, &r.location, "location").await?;
    if matches!(
        loc_kind,
        LocationKind::Dispatch | LocationKind::Packing | LocationKind::Cutting
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
    let expiry_s = expiry.to_string();
    let key = UnitKey {
        gtin: gtin.as_str(),
        lot: lot.as_str(),
        expiry: &expiry_s,
        location: location.as_str(),
        owner: &owner,
        status: StockStatus::Available.as_str(),
    };
    let entry = apply(
        &mut tx,
        Change {
            op_id,
            kind: OpKind::Receive,
            target: Target::Key(key),
            gtin: gtin.as_str(),
            owner: &owner,
            location: location.as_str(),
            delta: qty.get(),
            reason: None,
            reference: reference.as_deref(),
            actor,
        },
    )
    .await?;
    finish(ctx, tx, op_id, OpKind::Receive, vec![entry]).await
}

/// What each unit operation needs checked before it runs.
struct UnitOp {
    kind: OpKind,
    unit: UnitRow,
    qty: i64,
    reason: Option<String>,
    reference: Option<String>,
}

async fn load_unit(tx: &mut WriteTx, id: i64) -> Result<UnitRow> {
    db::unit(tx.conn(), id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("stock unit {id}")))
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
    let to_location = match (kind, &r.to_location) {
        (OpKind::Move, Some(l)) => {
            Some(LocationCode::parse(l).map_err(|e| Error::invalid("to_location", e.message))?)
        }
        (OpKind::Move, None) => {
            return Err(Error::invalid("to_location", "is required for a move"))
        }
        _ => None,
    };
    let new_owner = match (kind, &r.new_owner) {
        (OpKind::Transfer, Some(o)) => {
            Some(Owner::parse(o).map_err(|e| Error::invalid("new_owner", e.message))?)
        }
        (OpKind::Transfer, None) => {
            return Err(Error::invalid("new_owner", "is required for a transfer"))
        }
        _ => None,
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
    let normalised = json!({ "unit": r.stock_unit_id, "quantity": qty, "to": to_location, "owner": new_owner.as_ref().map(ToString::to_string),
        "scrap": scrap_reason, "reason": reason, "reference": reference });
    let (mut tx, op_id) = match begin(ctx, actor, kind, key, &normalised).await? {
        Begun::Replay(done) => return Ok(done),
        Begun::New(tx, op_id) => (tx, op_id),
    };
    let unit = load_unit(&mut tx, r.stock_unit_id).await?;
    let reason = match scrap_reason {
        Some(s) => Some(match &reason {
            Some(text) => format!("{}: {text}", s.as_str()),
            None => s.as_str().to_string(),
        }),
        None => reason,
    };
    let op = UnitOp {
        kind,
        unit,
        qty,
        reason,
        reference,
    };
    let entries = match kind {
        OpKind::Move => {
            let (to, _) = location_kind(
                &mut tx,
                to_location
                    .as_ref()
                    .map(LocationCode::as_str)
                    .unwrap_or_default(),
                "to_location",
            )
            .await?;
            if to.as_str() == op.unit.location {
                return Err(Error::invalid(
                    "to_location",
                    "is the location the stock is already in",
                ));
            }
            let status = op.unit.status.clone();
            two_legs(
                &mut tx,
                actor,
                op_id,
                &op,
                to.as_str(),
                &op.unit.owner.clone(),
                &status,
            )
            .await?
        }
        OpKind::Quarantine | OpKind::Release => {
            let (from, to) = if kind == OpKind::Quarantine {
                (StockStatus::Available, StockStatus::Quarantined)
            } else {
                (StockStatus::Quarantined, StockStatus::Available)
            };
            if op.unit.status != from.as_str() {
                return Err(Error::conflict(
                    "wrong_status",
                    format!(
                        "stock unit {} is {}, not {}",
                        op.unit.id,
                        op.unit.status,
                        from.as_str()
                    ),
                ));
            }
            two_legs(
                &mut tx,
                actor,
                op_id,
                &op,
                &op.unit.location.clone(),
                &op.unit.owner.clone(),
                to.as_str(),
            )
            .await?
        }
        OpKind::Transfer => {
            let owner = new_owner.expect("checked above");
            if let Owner::Producer(p) = &owner {
                if !store::catalog::producer_exists(tx.conn(), p.as_str()).await? {
                    return Err(Error::invalid(
                        "new_owner",
                        format!("unknown producer {}", p.as_str()),
                    ));
                }
            }
            let owner = owner.to_string();
            if owner == op.unit.owner {
                return Err(Error::invalid("new_owner", "is already the owner"));
            }
            two_legs(
                &mut tx,
                actor,
                op_id,
                &op,
                &op.unit.location.clone(),
                &owner,
                &op.unit.status.clone(),
            )
            .await?
        }
        OpKind::Scrap => vec![one_leg(&mut tx, actor, op_id, &op, -op.qty).await?],
        OpKind::Adjust => {
            let backend = tx.backend();
            let current = db::lock_qty(tx.conn(), backend, op.unit.id)
                .await?
                .unwrap_or(0);
            vec![one_leg(&mut tx, actor, op_id, &op, op.qty - current).await?]
        }
        OpKind::Receive => {
            return Err(Error::invalid(
                "kind",
                "receive is not an operation on an existing unit",
            ))
        }
    };
    finish(ctx, tx, op_id, kind, entries).await
}

async fn one_leg(
    tx: &mut WriteTx,
    actor: &Actor,
    op_id: i64,
    op: &UnitOp,
    delta: i64,
) -> Result<LedgerEntry> {
    apply(
        tx,
        Change {
            op_id,
            kind: op.kind,
            target: Target::Unit(op.unit.id),
            gtin: &op.unit.gtin,
            owner: &op.unit.owner,
            location: &op.unit.location,
            delta,
            reason: op.reason.as_deref(),
            reference: op.reference.as_deref(),
            actor,
        },
    )
    .await
}

/// Takes `op.qty` out of the unit and puts it into the unit that differs in location, owner or status.
#[allow(clippy::too_many_arguments)]
async fn two_legs(
    tx: &mut WriteTx,
    actor: &Actor,
    op_id: i64,
    op: &UnitOp,
    location: &str,
    owner: &str,
    status: &str,
) -> Result<Vec<LedgerEntry>> {
    let out = one_leg(tx, actor, op_id, op, -op.qty).await?;
    let u = &op.unit;
    let target = UnitKey {
        gtin: &u.gtin,
        lot: &u.lot,
        expiry: &u.expiry,
        location,
        owner,
        status,
    };
    let inn = apply(
        tx,
        Change {
            op_id,
            kind: op.kind,
            target: Target::Key(target),
            gtin: &u.gtin,
            owner,
            location,
            delta: op.qty,
            reason: op.reason.as_deref(),
            reference: op.reference.as_deref(),
            actor,
        },
    )
    .await?;
    Ok(vec![out, inn])
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
    pub freshness: Freshness,
    /// Can be allocated to an order: available status, in a pick or reserve location, not expired.
    pub available: bool,
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
        freshness: fresh,
        available,
    }
}

pub async fn units(ctx: &Ctx, f: &UnitFilter) -> Result<Vec<UnitView>> {
    let today = today();
    Ok(db::list_units(ctx.db.pool(), f)
        .await?
        .into_iter()
        .map(|u| judge(u, today))
        .collect())
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
    pub gtin: Option<String>,
    pub product_name: Option<String>,
    pub lot: Option<String>,
    pub expiry: Option<String>,
    pub location: Option<String>,
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
