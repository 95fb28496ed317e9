//! Counting a location: how a blind count of each lot turns into stock changes. I/O-free.
//!
//! A count gives, for each lot at a location (product, lot, expiry), the packs physically there.
//! The system may hold that lot in several units: available (some packs reserved for open picks),
//! quarantined, and among the quarantined the packs a short pick put on hold ("the picker could
//! not find them; count the location"). A count decides what became of them:
//!
//! - fewer packs than the system holds: the held packs are written off first (they are the ones
//!   a picker already missed), then free available packs, then other quarantined packs;
//! - more packs: the surplus is added as available stock;
//! - held packs the count did find are released back to available: they are there after all.
//!
//! Packs reserved for open picks are never written off: a count below them is refused, so that a
//! lead first reports those picks short (or lets them be picked).

use std::collections::BTreeMap;

/// One stock unit of the lot at the counted location, as the system holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemUnit {
    pub unit_id: i64,
    pub owner: String,
    /// `available` or `quarantined`
    pub status: String,
    pub qty: i64,
    pub reserved: i64,
    /// Packs of this unit held by open short-pick count tasks (quarantined units only).
    pub held: i64,
}

/// The outcome for one unit or one new unit: its quantity before and after the count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitChange {
    /// The existing unit, or `None` for a new available unit of `owner`.
    pub unit_id: Option<i64>,
    pub owner: String,
    pub status: String,
    pub before: i64,
    pub after: i64,
}

/// Why a lot's count cannot be booked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CountError {
    /// Fewer packs counted than are reserved for open picks.
    BelowReserved { counted: i64, reserved: i64 },
}

/// What one lot's count changes: the units whose quantity differs, in a stable order (existing
/// units by id, then a new unit). `default_owner` owns surplus when no available unit exists (the
/// product's producer, or the owner of the held packs).
pub fn plan_lot(
    units: &[SystemUnit],
    counted: i64,
    default_owner: &str,
) -> Result<Vec<UnitChange>, CountError> {
    let reserved: i64 = units.iter().map(|u| u.reserved).sum();
    if counted < reserved {
        return Err(CountError::BelowReserved { counted, reserved });
    }
    let mut after: BTreeMap<i64, i64> = units.iter().map(|u| (u.unit_id, u.qty)).collect();
    let total: i64 = units.iter().map(|u| u.qty).sum();
    let mut missing = (total - counted).max(0);
    let surplus = (counted - total).max(0);
    let is_q = |u: &&SystemUnit| u.status == "quarantined";
    // 1. Missing packs come off the held packs first.
    let mut release: Vec<(i64, i64)> = Vec::new();
    for u in units.iter().filter(is_q).filter(|u| u.held > 0) {
        let held = u.held.min(u.qty);
        let take = held.min(missing);
        missing -= take;
        *after.get_mut(&u.unit_id).expect("unit") -= take;
        if held > take {
            release.push((u.unit_id, held - take));
        }
    }
    // 2. Then free available packs, the unit with most free first; 3. then other quarantine.
    let mut avail: Vec<&SystemUnit> = units.iter().filter(|u| !is_q(u)).collect();
    avail.sort_by_key(|u| (-(u.qty - u.reserved), u.unit_id));
    let mut others: Vec<&SystemUnit> = units.iter().filter(is_q).collect();
    others.sort_by_key(|u| u.unit_id);
    for u in avail.iter().chain(others.iter()) {
        if missing == 0 {
            break;
        }
        let now = after[&u.unit_id];
        let floor = u.reserved;
        let take = (now - floor).max(0).min(missing);
        missing -= take;
        *after.get_mut(&u.unit_id).expect("unit") -= take;
    }
    debug_assert_eq!(missing, 0, "counted >= reserved leaves enough to write off");
    // Held packs found, and the surplus, go to an available unit: the held unit's owner's for
    // released packs, the first available unit's (else the default owner's) for surplus.
    let mut new_units: BTreeMap<String, i64> = BTreeMap::new();
    let mut add_available = |owner: &str, n: i64, after: &mut BTreeMap<i64, i64>| {
        if n == 0 {
            return;
        }
        match units
            .iter()
            .find(|u| u.status == "available" && u.owner == owner)
        {
            Some(u) => *after.get_mut(&u.unit_id).expect("unit") += n,
            None => *new_units.entry(owner.to_string()).or_default() += n,
        }
    };
    for (unit_id, n) in release {
        *after.get_mut(&unit_id).expect("unit") -= n;
        let owner = &units
            .iter()
            .find(|u| u.unit_id == unit_id)
            .expect("unit")
            .owner;
        add_available(owner, n, &mut after);
    }
    let surplus_owner = units
        .iter()
        .filter(|u| u.status == "available")
        .min_by_key(|u| u.unit_id)
        .map(|u| u.owner.as_str())
        .unwrap_or(default_owner);
    add_available(surplus_owner, surplus, &mut after);
    let mut changes: Vec<UnitChange> = units
        .iter()
        .filter(|u| after[&u.unit_id] != u.qty)
        .map(|u| UnitChange {
            unit_id: Some(u.unit_id),
            owner: u.owner.clone(),
            status: u.status.clone(),
            before: u.qty,
            after: after[&u.unit_id],
        })
        .collect();
    changes.sort_by_key(|c| c.unit_id);
    changes.extend(new_units.into_iter().map(|(owner, n)| UnitChange {
        unit_id: None,
        owner,
        status: "available".into(),
        before: 0,
        after: n,
    }));
    Ok(changes)
}

/// How long since a location was last counted decides whether a cycle count takes it: never
/// counted, or counted before `cutoff` (both as RFC 3339 strings from the same clock).
pub fn is_due(last_counted: Option<&str>, cutoff: &str) -> bool {
    last_counted.is_none_or(|at| at < cutoff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(id: i64, status: &str, qty: i64, reserved: i64, held: i64) -> SystemUnit {
        SystemUnit {
            unit_id: id,
            owner: "P1".into(),
            status: status.into(),
            qty,
            reserved,
            held,
        }
    }

    fn after(changes: &[UnitChange], id: Option<i64>) -> Option<i64> {
        changes.iter().find(|c| c.unit_id == id).map(|c| c.after)
    }

    #[test]
    fn a_count_that_matches_changes_nothing() {
        let u = [unit(1, "available", 5, 2, 0)];
        assert_eq!(plan_lot(&u, 5, "P1"), Ok(vec![]));
    }

    #[test]
    fn held_packs_found_are_released_to_available() {
        // A picker could not find 2 packs; the count finds all 7.
        let u = [
            unit(1, "available", 5, 0, 0),
            unit(2, "quarantined", 2, 0, 2),
        ];
        let c = plan_lot(&u, 7, "P1").unwrap();
        assert_eq!(after(&c, Some(1)), Some(7));
        assert_eq!(after(&c, Some(2)), Some(0));
    }

    #[test]
    fn missing_packs_come_off_the_held_packs_first() {
        let u = [
            unit(1, "available", 5, 0, 0),
            unit(2, "quarantined", 2, 0, 2),
        ];
        let c = plan_lot(&u, 5, "P1").unwrap();
        // Both held packs are gone; the available unit keeps its 5.
        assert_eq!(after(&c, Some(2)), Some(0));
        assert_eq!(after(&c, Some(1)), None);
        // One held pack found: it is released.
        let c = plan_lot(&u, 6, "P1").unwrap();
        assert_eq!(after(&c, Some(2)), Some(0));
        assert_eq!(after(&c, Some(1)), Some(6));
    }

    #[test]
    fn reserved_packs_are_never_written_off() {
        let u = [unit(1, "available", 5, 3, 0), unit(2, "available", 4, 0, 0)];
        let c = plan_lot(&u, 4, "P1").unwrap();
        // Unit 2 (most free) goes first, then unit 1 down to its reservation.
        let total: i64 = u
            .iter()
            .map(|x| after(&c, Some(x.unit_id)).unwrap_or(x.qty))
            .sum();
        assert_eq!(total, 4);
        assert!(after(&c, Some(1)).unwrap_or(5) >= 3);
        assert_eq!(
            plan_lot(&u, 2, "P1"),
            Err(CountError::BelowReserved {
                counted: 2,
                reserved: 3
            })
        );
    }

    #[test]
    fn other_quarantine_is_written_off_last() {
        // A damaged pack in quarantine (not held by a short) and 3 available.
        let u = [
            unit(1, "available", 3, 0, 0),
            unit(2, "quarantined", 1, 0, 0),
        ];
        let c = plan_lot(&u, 2, "P1").unwrap();
        assert_eq!(after(&c, Some(1)), Some(1));
        assert_eq!(after(&c, Some(2)), None);
    }

    #[test]
    fn surplus_and_unknown_lots_become_available_stock() {
        let u = [unit(1, "available", 3, 0, 0)];
        assert_eq!(after(&plan_lot(&u, 5, "P1").unwrap(), Some(1)), Some(5));
        // A lot the system does not know at the location: a new available unit.
        let c = plan_lot(&[], 4, "P9").unwrap();
        assert_eq!(
            c,
            vec![UnitChange {
                unit_id: None,
                owner: "P9".into(),
                status: "available".into(),
                before: 0,
                after: 4
            }]
        );
        // Held packs with no available unit of their owner: released into a new unit.
        let u = [unit(2, "quarantined", 2, 0, 2)];
        let c = plan_lot(&u, 2, "P9").unwrap();
        assert_eq!(after(&c, Some(2)), Some(0));
        assert_eq!(after(&c, None), Some(2));
        assert_eq!(c.iter().find(|x| x.unit_id.is_none()).unwrap().owner, "P1");
    }

    #[test]
    fn every_count_balances() {
        // Whatever the count, the lot's total after equals the count.
        let u = [
            unit(1, "available", 4, 1, 0),
            unit(2, "available", 2, 0, 0),
            unit(3, "quarantined", 3, 0, 2),
        ];
        for counted in 1..=15 {
            let c = plan_lot(&u, counted, "P1").unwrap();
            let total: i64 = u
                .iter()
                .map(|x| after(&c, Some(x.unit_id)).unwrap_or(x.qty))
                .sum::<i64>()
                + after(&c, None).unwrap_or(0);
            assert_eq!(total, counted, "counted {counted}: {c:?}");
            for x in &u {
                assert!(after(&c, Some(x.unit_id)).unwrap_or(x.qty) >= x.reserved);
            }
        }
    }

    #[test]
    fn due_when_never_counted_or_counted_before_the_cutoff() {
        assert!(is_due(None, "2026-11-01T00:00:00Z"));
        assert!(is_due(Some("2026-10-01T00:00:00Z"), "2026-11-01T00:00:00Z"));
        assert!(!is_due(
            Some("2026-11-02T00:00:00Z"),
            "2026-11-01T00:00:00Z"
        ));
    }
}
