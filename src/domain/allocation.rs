//! The allocator: which stock units an order's lines are reserved from. Pure: it sees candidate
//! units with their free quantity and returns what to reserve, first-expired-first-out.
//!
//! Rules, in order:
//! - only available (not quarantined) stock in pick or reserve locations;
//! - never expired, and never inside the product's minimum remaining shelf life at the requested
//!   delivery date (a lot must still have `min_shelf_life_days` left on the day it arrives);
//! - earliest expiry first, across lots and locations when one is not enough;
//! - among units of the same expiry, one that covers the rest alone (first on the walking route),
//!   otherwise the largest first: fewer locations to walk to;
//! - lines of one order that share a GTIN share the candidates (nothing is promised twice).

use super::catalog::LocationKind;
use super::stock::StockStatus;
use chrono::{Duration, NaiveDate};
use std::collections::HashMap;

/// A stock unit as the allocator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub unit_id: i64,
    pub gtin: String,
    pub lot: String,
    pub expiry: NaiveDate,
    pub location: String,
    pub location_kind: LocationKind,
    pub walk_seq: i64,
    pub status: StockStatus,
    /// Packs on hand that are not reserved yet.
    pub free: i64,
}

/// Why a unit cannot serve an order, in the picker's or lead's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ineligible {
    #[error("lot expired on {0}")]
    Expired(NaiveDate),
    #[error("lot expires on {expiry}, inside the minimum shelf life of {days} days for delivery on {delivery}")]
    ShortDated {
        expiry: NaiveDate,
        days: i64,
        delivery: NaiveDate,
    },
    #[error("stock is quarantined")]
    Quarantined,
    #[error("stock in a {0} location is not for picking")]
    NotPickable(&'static str),
}

/// The first day a lot may expire on and still be sent for delivery on `delivery`.
pub fn earliest_allowed_expiry(
    min_shelf_life_days: i64,
    delivery: NaiveDate,
    today: NaiveDate,
) -> NaiveDate {
    let arrive = delivery.max(today);
    arrive + Duration::days(min_shelf_life_days.max(0))
}

/// Whether a lot with `expiry` may be sent to a citizen for delivery on `delivery`.
pub fn lot_refusal(
    expiry: NaiveDate,
    min_shelf_life_days: i64,
    delivery: NaiveDate,
    today: NaiveDate,
) -> Option<Ineligible> {
    if expiry < today {
        return Some(Ineligible::Expired(expiry));
    }
    if expiry < earliest_allowed_expiry(min_shelf_life_days, delivery, today) {
        return Some(Ineligible::ShortDated {
            expiry,
            days: min_shelf_life_days,
            delivery: delivery.max(today),
        });
    }
    None
}

/// Whether a unit may be allocated at all.
pub fn eligible(
    c: &Candidate,
    min_shelf_life_days: i64,
    delivery: NaiveDate,
    today: NaiveDate,
) -> Result<(), Ineligible> {
    if c.status != StockStatus::Available {
        return Err(Ineligible::Quarantined);
    }
    if !matches!(c.location_kind, LocationKind::Pick | LocationKind::Reserve) {
        return Err(Ineligible::NotPickable(c.location_kind.as_str()));
    }
    match lot_refusal(c.expiry, min_shelf_life_days, delivery, today) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// One line to cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub line_id: i64,
    pub gtin: String,
    pub quantity: i64,
    pub min_shelf_life_days: i64,
}

/// Packs to reserve from one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Take {
    pub unit_id: i64,
    pub qty: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineAllocation {
    pub line_id: i64,
    pub takes: Vec<Take>,
    /// Packs that could not be covered.
    pub missing: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderAllocation {
    pub lines: Vec<LineAllocation>,
}

impl OrderAllocation {
    /// Every line fully covered.
    pub fn complete(&self) -> bool {
        self.lines.iter().all(|l| l.missing == 0)
    }
}

/// Chooses units for `quantity` packs from eligible `candidates` with their current `free`
/// quantities (updated in place as packs are taken).
fn cover(
    quantity: i64,
    candidates: &[&Candidate],
    free: &mut HashMap<i64, i64>,
) -> (Vec<Take>, i64) {
    let mut pool: Vec<&Candidate> = candidates
        .iter()
        .copied()
        .filter(|c| free.get(&c.unit_id).copied().unwrap_or(0) > 0)
        .collect();
    pool.sort_by(|a, b| {
        a.expiry
            .cmp(&b.expiry)
            .then(a.walk_seq.cmp(&b.walk_seq))
            .then(a.unit_id.cmp(&b.unit_id))
    });
    let mut takes: Vec<Take> = Vec::new();
    let mut rest = quantity;
    let mut i = 0;
    while rest > 0 && i < pool.len() {
        // The group of units sharing the earliest remaining expiry.
        let expiry = pool[i].expiry;
        let mut group: Vec<&Candidate> = pool[i..]
            .iter()
            .copied()
            .take_while(|c| c.expiry == expiry)
            .collect();
        i += group.len();
        while rest > 0 && !group.is_empty() {
            let f = |c: &Candidate| free.get(&c.unit_id).copied().unwrap_or(0);
            // One unit that covers the rest alone (first on the route), else the largest.
            let pick = group.iter().position(|c| f(c) >= rest).unwrap_or_else(|| {
                let mut best = 0;
                for (j, c) in group.iter().enumerate() {
                    if f(c) > f(group[best]) {
                        best = j;
                    }
                }
                best
            });
            let c = group.remove(pick);
            let n = f(c).min(rest);
            if n <= 0 {
                continue;
            }
            *free.entry(c.unit_id).or_insert(0) -= n;
            rest -= n;
            match takes.iter_mut().find(|t| t.unit_id == c.unit_id) {
                Some(t) => t.qty += n,
                None => takes.push(Take {
                    unit_id: c.unit_id,
                    qty: n,
                }),
            }
        }
    }
    (takes, rest)
}

/// Allocates every line of one order from `candidates` (any GTINs, any eligibility: the rules
/// above filter them). Lines are covered in the order given.
pub fn allocate(
    needs: &[Need],
    candidates: &[Candidate],
    delivery: NaiveDate,
    today: NaiveDate,
) -> OrderAllocation {
    let mut free: HashMap<i64, i64> = candidates.iter().map(|c| (c.unit_id, c.free)).collect();
    let lines = needs
        .iter()
        .map(|n| {
            let eligible: Vec<&Candidate> = candidates
                .iter()
                .filter(|c| {
                    c.gtin == n.gtin && eligible(c, n.min_shelf_life_days, delivery, today).is_ok()
                })
                .collect();
            let (takes, missing) = cover(n.quantity, &eligible, &mut free);
            LineAllocation {
                line_id: n.line_id,
                takes,
                missing,
            }
        })
        .collect();
    OrderAllocation { lines }
}

/// Holds back, per GTIN, the packs that older backordered orders still wait for, so that a new
/// order never takes stock they need (they are topped up oldest first as stock arrives). The
/// held packs are taken from the candidates first-expired-first-out, as the backorders would
/// take them.
pub fn hold_back(candidates: &mut [Candidate], claims: &HashMap<String, i64>) {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&candidates[a], &candidates[b]);
        x.expiry
            .cmp(&y.expiry)
            .then(x.walk_seq.cmp(&y.walk_seq))
            .then(x.unit_id.cmp(&y.unit_id))
    });
    let mut left = claims.clone();
    for i in order {
        let Some(claim) = left.get_mut(&candidates[i].gtin) else {
            continue;
        };
        if *claim <= 0 {
            continue;
        }
        let take = candidates[i].free.min(*claim);
        candidates[i].free -= take;
        *claim -= take;
    }
}

/// Sums sorted takes `(unit, line, packs)` per unit.
pub fn per_unit(takes: &[(i64, i64, i64)]) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for (unit, _, qty) in takes {
        match out.last_mut() {
            Some((u, q)) if u == unit => *q += qty,
            _ => out.push((*unit, *qty)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn c(id: i64, expiry: &str, walk: i64, free: i64) -> Candidate {
        Candidate {
            unit_id: id,
            gtin: "G".into(),
            lot: format!("L{id}"),
            expiry: d(expiry),
            location: format!("A-{walk}"),
            location_kind: LocationKind::Pick,
            walk_seq: walk,
            status: StockStatus::Available,
            free,
        }
    }

    fn need(q: i64, shelf: i64) -> Need {
        Need {
            line_id: 1,
            gtin: "G".into(),
            quantity: q,
            min_shelf_life_days: shelf,
        }
    }

    const TODAY: &str = "2026-11-29";

    #[test]
    fn earliest_expiry_goes_first_across_lots_and_locations() {
        let cs = [
            c(1, "2027-06-01", 1, 10),
            c(2, "2027-03-01", 5, 3),
            c(3, "2027-04-01", 2, 4),
        ];
        let a = allocate(&[need(6, 0)], &cs, d(TODAY), d(TODAY));
        assert_eq!(
            a.lines[0].takes,
            vec![Take { unit_id: 2, qty: 3 }, Take { unit_id: 3, qty: 3 }]
        );
        assert!(a.complete());
    }

    #[test]
    fn expired_quarantined_and_short_dated_stock_is_never_taken() {
        let mut q = c(2, "2027-01-01", 1, 5);
        q.status = StockStatus::Quarantined;
        let mut rcv = c(3, "2027-01-01", 1, 5);
        rcv.location_kind = LocationKind::Receiving;
        let cs = [
            c(1, "2026-11-28", 1, 5),
            q,
            rcv,
            c(4, "2026-12-20", 1, 5),
            c(5, "2027-12-01", 9, 1),
        ];
        // 30 days of shelf life at a delivery on 2026-12-01 rule out the lot of 2026-12-20.
        let a = allocate(&[need(3, 30)], &cs, d("2026-12-01"), d(TODAY));
        assert_eq!(a.lines[0].takes, vec![Take { unit_id: 5, qty: 1 }]);
        assert_eq!(a.lines[0].missing, 2);
        assert!(!a.complete());
    }

    #[test]
    fn a_tie_in_expiry_prefers_one_location_that_covers_the_line() {
        let cs = [
            c(1, "2027-01-01", 1, 2),
            c(2, "2027-01-01", 2, 2),
            c(3, "2027-01-01", 3, 5),
        ];
        let a = allocate(&[need(4, 0)], &cs, d(TODAY), d(TODAY));
        assert_eq!(a.lines[0].takes, vec![Take { unit_id: 3, qty: 4 }]);
    }

    #[test]
    fn packs_older_backorders_wait_for_are_held_back_earliest_first() {
        let mut cs = vec![c(1, "2027-06-01", 1, 10), c(2, "2027-03-01", 5, 3)];
        let claims = HashMap::from([("G".to_string(), 5)]);
        hold_back(&mut cs, &claims);
        assert_eq!((cs[0].free, cs[1].free), (8, 0));
        let a = allocate(&[need(9, 0)], &cs, d(TODAY), d(TODAY));
        assert_eq!(a.lines[0].missing, 1);
    }

    #[test]
    fn two_lines_of_one_gtin_share_the_stock() {
        let cs = [c(1, "2027-01-01", 1, 5)];
        let mut n2 = need(4, 0);
        n2.line_id = 2;
        let a = allocate(&[need(3, 0), n2], &cs, d(TODAY), d(TODAY));
        assert_eq!(a.lines[0].missing, 0);
        assert_eq!(a.lines[1].takes, vec![Take { unit_id: 1, qty: 2 }]);
        assert_eq!(a.lines[1].missing, 2);
    }

    fn candidate() -> impl Strategy<Value = Candidate> {
        (
            0i64..60,
            -5i64..400,
            0i64..30,
            0i64..12,
            any::<bool>(),
            0u8..4,
        )
            .prop_map(|(id, days, walk, free, quarantined, kind)| Candidate {
                unit_id: id,
                gtin: if id % 3 == 0 { "A".into() } else { "B".into() },
                lot: format!("L{id}"),
                expiry: d(TODAY) + Duration::days(days),
                location: format!("LOC-{walk}"),
                location_kind: [
                    LocationKind::Pick,
                    LocationKind::Reserve,
                    LocationKind::Pick,
                    LocationKind::Receiving,
                ][kind as usize],
                walk_seq: walk,
                status: if quarantined {
                    StockStatus::Quarantined
                } else {
                    StockStatus::Available
                },
                free,
            })
    }

    proptest! {
        /// For random stock and random orders: never more than is free, never expired, short-dated,
        /// quarantined or unpickable stock, and always the earliest eligible expiry first.
        #[test]
        fn allocation_never_over_promises_and_is_fefo(
            raw in prop::collection::vec(candidate(), 0..25),
            lines in prop::collection::vec((any::<bool>(), 1i64..30, 0i64..120), 1..5),
            delivery_in in 0i64..20,
        ) {
            // Unit ids are unique in a database.
            let mut seen = std::collections::HashSet::new();
            let cs: Vec<Candidate> = raw.into_iter().filter(|c| seen.insert(c.unit_id)).collect();
            let today = d(TODAY);
            let delivery = today + Duration::days(delivery_in);
            let needs: Vec<Need> = lines.iter().enumerate().map(|(i, (a, q, shelf))| Need {
                line_id: i as i64,
                gtin: if *a { "A".into() } else { "B".into() },
                quantity: *q,
                min_shelf_life_days: *shelf,
            }).collect();
            let alloc = allocate(&needs, &cs, delivery, today);
            let by_id: HashMap<i64, &Candidate> = cs.iter().map(|c| (c.unit_id, c)).collect();
            let mut used: HashMap<i64, i64> = HashMap::new();
            for (n, l) in needs.iter().zip(&alloc.lines) {
                let taken: i64 = l.takes.iter().map(|t| t.qty).sum();
                prop_assert_eq!(taken + l.missing, n.quantity);
                prop_assert!(l.missing >= 0);
                for t in &l.takes {
                    let c = by_id[&t.unit_id];
                    prop_assert!(t.qty > 0);
                    prop_assert_eq!(&c.gtin, &n.gtin);
                    prop_assert!(eligible(c, n.min_shelf_life_days, delivery, today).is_ok());
                    prop_assert!(c.expiry >= today);
                    *used.entry(t.unit_id).or_insert(0) += t.qty;
                }
                // FEFO: no eligible unit expiring earlier than the latest one taken was left
                // with free packs while this line was being covered.
                if let Some(latest) = l.takes.iter().map(|t| by_id[&t.unit_id].expiry).max() {
                    for c in cs.iter().filter(|c| c.gtin == n.gtin
                        && c.expiry < latest
                        && eligible(c, n.min_shelf_life_days, delivery, today).is_ok()) {
                        let left = c.free - used.get(&c.unit_id).copied().unwrap_or(0);
                        prop_assert_eq!(left, 0, "unit {} expiring {} skipped for {}", c.unit_id, c.expiry, latest);
                    }
                }
                if l.missing > 0 {
                    for c in cs.iter().filter(|c| c.gtin == n.gtin
                        && eligible(c, n.min_shelf_life_days, delivery, today).is_ok()) {
                        let left = c.free - used.get(&c.unit_id).copied().unwrap_or(0);
                        prop_assert_eq!(left, 0, "a line is short while unit {} has free packs", c.unit_id);
                    }
                }
            }
            for (id, n) in used {
                prop_assert!(n <= by_id[&id].free, "unit {} over-promised", id);
            }
        }
    }
}
