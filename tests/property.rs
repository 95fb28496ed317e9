//! Property: any sequence of stock operations keeps every stock unit equal to the sum of its
//! ledger deltas, never negative, and equal to an independent model that decides each
//! operation's outcome (done, replayed, not enough stock, invalid, wrong status) and the
//! packs of every unit from the operations alone, never from what the service answers. The
//! stock ledger is written by two implementations (the SQLite writer thread and the sqlx path
//! for PostgreSQL): the same random sequence run on both must give the same outcomes and the
//! same ledger, row by row.

mod common;

use konsign::domain::catalog::{Location, ProductInput};
use konsign::domain::stock::{OpKind, ScrapReason};
use konsign::service::stock::{self, ReceiveRequest, UnitOpRequest};
use konsign::service::{catalog, Actor};
use proptest::prelude::*;
use std::collections::HashMap;

#[derive(Debug, Clone)]
enum Op {
    Receive {
        lot: u8,
        loc: u8,
        qty: i64,
        key: Option<u8>,
    },
    Move {
        unit: u8,
        loc: u8,
        qty: i64,
    },
    Adjust {
        unit: u8,
        counted: i64,
    },
    Quarantine {
        unit: u8,
        qty: i64,
    },
    Release {
        unit: u8,
        qty: i64,
    },
    Scrap {
        unit: u8,
        qty: i64,
    },
    Transfer {
        unit: u8,
        qty: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..3u8, 0..3u8, 1..50i64, proptest::option::of(0..4u8)).prop_map(|(lot, loc, qty, key)| Op::Receive { lot, loc, qty, key }),
        3 => (0..12u8, 0..3u8, 1..40i64).prop_map(|(unit, loc, qty)| Op::Move { unit, loc, qty }),
        1 => (0..12u8, 0..60i64).prop_map(|(unit, counted)| Op::Adjust { unit, counted }),
        1 => (0..12u8, 1..20i64).prop_map(|(unit, qty)| Op::Quarantine { unit, qty }),
        1 => (0..12u8, 1..20i64).prop_map(|(unit, qty)| Op::Release { unit, qty }),
        1 => (0..12u8, 1..20i64).prop_map(|(unit, qty)| Op::Scrap { unit, qty }),
        1 => (0..12u8, 1..20i64).prop_map(|(unit, qty)| Op::Transfer { unit, qty }),
    ]
}

const LOCS: [&str; 3] = ["A-01-1", "A-02-1", "R-01"];
const PRODUCER: &str = "COLOPLAST";
const PAYER: &str = "payer:0751";
const AVAILABLE: &str = "available";
const QUARANTINED: &str = "quarantined";

/// A unit as the model knows it: lot, location, owner, status (one product, one expiry).
type Key = (String, String, String, &'static str);

/// What the model says an operation must do.
#[derive(Debug, PartialEq, Eq)]
enum Expect {
    Done,
    Replayed,
    Insufficient,
    Invalid,
    WrongStatus,
}

/// The test's own account of the stock, kept from the operations alone (never from what the
/// service answers): packs per unit, the units in the order they first appeared, and each
/// operation's outcome decided from them.
#[derive(Default)]
struct Model {
    qty: HashMap<Key, i64>,
    order: Vec<Key>,
}

impl Model {
    fn add(&mut self, k: Key, d: i64) {
        if !self.qty.contains_key(&k) {
            self.order.push(k.clone());
        }
        *self.qty.entry(k).or_default() += d;
    }

    /// `qty` packs out of `from` into `to`, if `from` has them.
    fn take(&mut self, from: &Key, qty: i64, to: Key) -> Expect {
        if self.qty[from] < qty {
            return Expect::Insufficient;
        }
        self.add(from.clone(), -qty);
        self.add(to, qty);
        Expect::Done
    }
}

fn status_name(s: konsign::domain::stock::StockStatus) -> &'static str {
    match s.as_str() {
        "available" => AVAILABLE,
        "quarantined" => QUARANTINED,
        _ => "other",
    }
}

/// Every unit's id in the service, by its key.
async fn unit_ids(ctx: &konsign::service::Ctx) -> HashMap<Key, i64> {
    let all = stock::units(
        ctx,
        &konsign::store::stock::UnitFilter {
            include_empty: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    all.into_iter()
        .map(|u| ((u.lot, u.location, u.owner, status_name(u.status)), u.id))
        .collect()
}

fn unit_req(unit: i64, qty: i64) -> UnitOpRequest {
    UnitOpRequest {
        idempotency_key: None,
        stock_unit_id: unit,
        quantity: qty,
        to_location: None,
        new_owner: None,
        scrap_reason: None,
        reason: Some("property test".into()),
        reference: None,
    }
}

/// What a run did: each operation's outcome, and the whole ledger in order, with unit and
/// operation ids replaced by the order of their first appearance (a PostgreSQL sequence also
/// counts the ids of rolled-back inserts, so raw ids may differ between the backends).
#[derive(Debug, PartialEq)]
struct Trace {
    outcomes: Vec<String>,
    ledger: Vec<String>,
}

async fn run(backend: common::Backend, ops: Vec<Op>) -> Result<Option<Trace>, TestCaseError> {
    // SQLite writes through its writer thread, PostgreSQL through sqlx: both are checked.
    let Some((ctx, _dir)) = common::context(backend).await else {
        return Ok(None);
    };
    let mut outcomes = Vec::new();
    let actor = Actor::system();
    catalog::create_producer(&ctx, &actor, "COLOPLAST", "Coloplast")
        .await
        .unwrap();
    let input = ProductInput {
        gtin: "5708932000024".into(),
        name: "Pose".into(),
        producer: "COLOPLAST".into(),
        category: "pouch".into(),
        units_per_pack: 10,
        price_minor: 100,
        currency: "DKK".into(),
        min_shelf_life_days: 30,
        weight_g: None,
        ..Default::default()
    };
    catalog::put_product(&ctx, &actor, &input, false)
        .await
        .unwrap();
    for (i, l) in LOCS.iter().enumerate() {
        catalog::create_location(
            &ctx,
            &actor,
            &Location::new(l, "A", "pick", i as i64).unwrap(),
        )
        .await
        .unwrap();
    }
    let expiry = (konsign::service::today() + chrono::Duration::days(200)).to_string();
    let mut model = Model::default();
    let mut keyed: HashMap<u8, i64> = HashMap::new();
    for op in ops {
        // The unit an operation names, in the model's order of units; its id in the service.
        let ids = unit_ids(&ctx).await;
        let pick = |u: u8| -> Option<(Key, i64)> {
            let k = model
                .order
                .get(u as usize % model.order.len().max(1))?
                .clone();
            let id = *ids.get(&k)?;
            Some((k, id))
        };
        let (result, kind, expect) = match op {
            Op::Receive { lot, loc, qty, key } => {
                // A reused key must repeat the first request exactly to be a replay.
                let qty = key.and_then(|k| keyed.get(&k).copied()).unwrap_or(qty);
                let (lot, loc) = match key {
                    Some(k) => (k % 3, k % 3),
                    None => (lot, loc),
                };
                let r = ReceiveRequest {
                    idempotency_key: key.map(|k| format!("k{k}")),
                    gtin: "5708932000024".into(),
                    lot: format!("L{lot}"),
                    expiry: expiry.clone(),
                    location: LOCS[loc as usize].into(),
                    quantity: qty,
                    owner: None,
                    reference: None,
                };
                let expect = if key.is_some_and(|k| keyed.contains_key(&k)) {
                    Expect::Replayed
                } else {
                    model.add(
                        (
                            format!("L{lot}"),
                            LOCS[loc as usize].into(),
                            PRODUCER.into(),
                            AVAILABLE,
                        ),
                        qty,
                    );
                    Expect::Done
                };
                if let Some(k) = key {
                    keyed.entry(k).or_insert(qty);
                }
                (
                    stock::receive(&ctx, &actor, &r).await,
                    OpKind::Receive,
                    expect,
                )
            }
            Op::Move { unit, loc, qty } => {
                let Some((k, u)) = pick(unit) else { continue };
                let to = LOCS[loc as usize];
                let expect = if to == k.1 {
                    Expect::Invalid
                } else {
                    model.take(&k, qty, (k.0.clone(), to.into(), k.2.clone(), k.3))
                };
                let mut r = unit_req(u, qty);
                r.to_location = Some(to.into());
                (
                    stock::unit_op(&ctx, &actor, OpKind::Move, &r).await,
                    OpKind::Move,
                    expect,
                )
            }
            Op::Adjust { unit, counted } => {
                let Some((k, u)) = pick(unit) else { continue };
                let now = model.qty[&k];
                model.add(k, counted - now);
                (
                    stock::unit_op(&ctx, &actor, OpKind::Adjust, &unit_req(u, counted)).await,
                    OpKind::Adjust,
                    Expect::Done,
                )
            }
            Op::Quarantine { unit, qty } => {
                let Some((k, u)) = pick(unit) else { continue };
                let expect = if k.3 != AVAILABLE {
                    Expect::WrongStatus
                } else {
                    model.take(
                        &k,
                        qty,
                        (k.0.clone(), k.1.clone(), k.2.clone(), QUARANTINED),
                    )
                };
                (
                    stock::unit_op(&ctx, &actor, OpKind::Quarantine, &unit_req(u, qty)).await,
                    OpKind::Quarantine,
                    expect,
                )
            }
            Op::Release { unit, qty } => {
                let Some((k, u)) = pick(unit) else { continue };
                let expect = if k.3 != QUARANTINED {
                    Expect::WrongStatus
                } else {
                    model.take(&k, qty, (k.0.clone(), k.1.clone(), k.2.clone(), AVAILABLE))
                };
                (
                    stock::unit_op(&ctx, &actor, OpKind::Release, &unit_req(u, qty)).await,
                    OpKind::Release,
                    expect,
                )
            }
            Op::Scrap { unit, qty } => {
                let Some((k, u)) = pick(unit) else { continue };
                let expect = if model.qty[&k] < qty {
                    Expect::Insufficient
                } else {
                    model.add(k, -qty);
                    Expect::Done
                };
                let mut r = unit_req(u, qty);
                r.scrap_reason = Some(ScrapReason::Damaged);
                (
                    stock::unit_op(&ctx, &actor, OpKind::Scrap, &r).await,
                    OpKind::Scrap,
                    expect,
                )
            }
            Op::Transfer { unit, qty } => {
                let Some((k, u)) = pick(unit) else { continue };
                let expect = if k.2 == PAYER {
                    Expect::Invalid
                } else {
                    model.take(&k, qty, (k.0.clone(), k.1.clone(), PAYER.into(), k.3))
                };
                let mut r = unit_req(u, qty);
                r.new_owner = Some(PAYER.into());
                (
                    stock::unit_op(&ctx, &actor, OpKind::Transfer, &r).await,
                    OpKind::Transfer,
                    expect,
                )
            }
        };
        outcomes.push(match &result {
            Ok(done) => format!("{kind:?} ok replayed={}", done.replayed),
            Err(e) => format!("{kind:?} refused: {e}"),
        });
        let got = match &result {
            Ok(done) if done.replayed => Expect::Replayed,
            Ok(_) => Expect::Done,
            Err(konsign::error::Error::Stock(_)) => Expect::Insufficient,
            Err(konsign::error::Error::Invalid(_)) => Expect::Invalid,
            Err(konsign::error::Error::Conflict { code, .. }) if *code == "wrong_status" => {
                Expect::WrongStatus
            }
            Err(e) => {
                return Err(TestCaseError::fail(format!(
                    "{kind:?} failed unexpectedly: {e}"
                )))
            }
        };
        prop_assert_eq!(
            got,
            expect,
            "{:?}: the service and the model disagree",
            kind
        );
    }
    let unreconciled = konsign::store::stock::unreconciled_units(ctx.db.pool())
        .await
        .unwrap();
    prop_assert!(
        unreconciled.is_empty(),
        "units differ from their ledger: {:?}",
        unreconciled
    );
    let all = stock::units(
        &ctx,
        &konsign::store::stock::UnitFilter {
            include_empty: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    prop_assert_eq!(
        all.len(),
        model.qty.len(),
        "the service has other units than the model"
    );
    for u in &all {
        prop_assert!(u.quantity >= 0);
        let k: Key = (
            u.lot.clone(),
            u.location.clone(),
            u.owner.clone(),
            status_name(u.status),
        );
        prop_assert_eq!(
            Some(u.quantity),
            model.qty.get(&k).copied(),
            "unit {} {:?} differs from the model",
            u.id,
            k
        );
    }
    // The whole ledger, in the order it was written.
    let mut entries = Vec::new();
    for u in &all {
        entries.extend(stock::unit_ledger(&ctx, u.id).await.unwrap());
    }
    entries.sort_by_key(|e| e.id);
    let (mut unit_no, mut op_no) = (HashMap::new(), HashMap::new());
    let ledger = entries
        .iter()
        .map(|e| {
            let n = unit_no.len();
            let unit = *unit_no.entry(e.stock_unit_id).or_insert(n);
            let n = op_no.len();
            let op = *op_no.entry(e.op_id).or_insert(n);
            format!(
                "op {op} {} unit {unit} {} {} {} delta {} {}->{} reason {:?} ref {:?} by {}",
                e.kind,
                e.gtin,
                e.owner,
                e.location,
                e.delta,
                e.qty_before,
                e.qty_after,
                e.reason,
                e.reference,
                e.actor
            )
        })
        .collect();
    ctx.db.close().await;
    Ok(Some(Trace { outcomes, ledger }))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]
    #[test]
    fn random_operations_keep_stock_equal_to_its_ledger_and_never_negative(ops in proptest::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(run(common::Backend::Sqlite, ops))?;
    }
}

proptest! {
    // A fresh PostgreSQL database per case costs more; fewer cases, same property.
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn random_operations_keep_stock_equal_to_its_ledger_on_postgres(ops in proptest::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(run(common::Backend::Postgres, ops))?;
    }
}

proptest! {
    // Two fresh databases per case; the sequence decides every outcome on both.
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]
    #[test]
    fn the_same_operations_write_the_same_ledger_on_both_backends(ops in proptest::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let sqlite = rt.block_on(run(common::Backend::Sqlite, ops.clone()))?;
        let postgres = rt.block_on(run(common::Backend::Postgres, ops))?;
        if let (Some(a), Some(b)) = (sqlite, postgres) {
            prop_assert_eq!(&a.outcomes, &b.outcomes, "the backends decided differently");
            prop_assert_eq!(a.ledger.len(), b.ledger.len());
            for (i, (x, y)) in a.ledger.iter().zip(&b.ledger).enumerate() {
                prop_assert_eq!(x, y, "ledger row {} differs (SQLite, PostgreSQL)", i);
            }
        }
    }
}

/// A numbering plan: extension digit, a company prefix of 7 to 10 digits, and two serials in
/// the range it leaves.
fn sscc_plan() -> impl Strategy<Value = (u8, String, u64, u64)> {
    (0u8..=9, 7usize..=10)
        .prop_flat_map(|(ext, len)| {
            let max = 10u64.pow(16 - len as u32) - 1;
            (
                Just(ext),
                proptest::collection::vec(0u8..=9, len),
                1..=max,
                1..=max,
            )
        })
        .prop_map(|(ext, digits, a, b)| {
            let prefix: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            (ext, prefix, a, b)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
    /// Every SSCC a plan hands out parses with konsign's own GS1 engine as exactly itself,
    /// carries the plan's extension and prefix, and two serials never give the same SSCC.
    #[test]
    fn every_allocated_sscc_parses_with_the_gs1_engine((ext, prefix, a, b) in sscc_plan()) {
        use konsign::domain::sscc::{Sscc, SsccPlan};
        let plan = SsccPlan::new(ext, &prefix, None, None).unwrap();
        let today = chrono::Utc::now().date_naive();
        let sa = plan.sscc(a).unwrap();
        let scan = konsign::domain::gs1::parse(format!("]C100{sa}").as_bytes(), today).unwrap();
        prop_assert_eq!(scan.sscc.as_deref(), Some(sa.as_str()));
        prop_assert!(Sscc::parse(sa.as_str()).is_ok());
        let want_start = format!("{ext}{prefix}");
        prop_assert!(sa.as_str().starts_with(&want_start));
        let sb = plan.sscc(b).unwrap();
        prop_assert_eq!(a == b, sa == sb);
        let narrow = SsccPlan::new(ext, &prefix, Some(a.min(b)), Some(a.max(b))).unwrap();
        prop_assert!(narrow.sscc(a.max(b) + 1).is_none());
        prop_assert!(a.min(b) == 1 || narrow.sscc(a.min(b) - 1).is_none());
    }
}
