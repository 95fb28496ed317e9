//! One generated day: the orders that arrive, the waves that pick them, their cutting jobs,
//! parcels, handovers and deliveries, with the week's and the year's shape. Pure but for the
//! seeded random numbers it is given.

use crate::domain::order::OrderStatus;
use crate::store::history::{self, Cage, CutJob, Day, Ids, Line, Order, Parcel, Refusal, Wave};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use rand::{rngs::StdRng, Rng};
use std::collections::{BTreeMap, HashSet};

/// The share of a week's orders each weekday gets (Monday first), as a factor on the average.
const WEEKDAY: [f64; 7] = [1.40, 1.25, 1.20, 1.15, 1.05, 0.60, 0.35];

/// How many orders arrive on `day` when `per_day` is the average: the weekday's share, a year
/// that peaks in January and dips in July, and the summer and Christmas holidays.
pub fn orders_on(day: NaiveDate, per_day: u32) -> u32 {
    let week = WEEKDAY[day.weekday().num_days_from_monday() as usize];
    let doy = f64::from(day.ordinal0());
    let season = 1.0 + 0.12 * (2.0 * std::f64::consts::PI * (doy - 15.0) / 365.25).cos();
    let holiday = match (day.month(), day.day()) {
        (7, _) => 0.80,
        (12, 24..=26) | (12, 31) | (1, 1) => 0.25,
        _ => 1.0,
    };
    (f64::from(per_day) * week * season * holiday).round() as u32
}

/// The next day the warehouse works (Monday to Friday) from `day` on.
fn working_day_from(day: NaiveDate) -> NaiveDate {
    let mut d = day;
    while matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
        d += Duration::days(1);
    }
    d
}

/// The receiving hour's weights (local time): most orders arrive in office hours.
const HOURS: [u32; 24] = [
    1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 12, 10, 10, 9, 8, 6, 5, 4, 4, 3, 2, 2, 1,
];

const PAYERS: [(&str, &str, &str); 4] = [
    ("0751", "Aarhus Kommune", "5798000000001"),
    ("0101", "Københavns Kommune", "5798000000002"),
    ("0461", "Odense Kommune", "5798000000003"),
    ("0851", "Aalborg Kommune", "5798000000004"),
];

const TOWNS: [(&str, &str); 10] = [
    ("8000", "Aarhus C"),
    ("2100", "København Ø"),
    ("5000", "Odense C"),
    ("9000", "Aalborg"),
    ("7100", "Vejle"),
    ("6700", "Esbjerg"),
    ("4000", "Roskilde"),
    ("8900", "Randers C"),
    ("7400", "Herning"),
    ("3400", "Hillerød"),
];

const FIRST: [&str; 10] = [
    "Bo", "Anne", "Jens", "Mette", "Søren", "Kirsten", "Lars", "Hanne", "Niels", "Inge",
];
const LAST: [&str; 8] = [
    "Jensen",
    "Nielsen",
    "Hansen",
    "Pedersen",
    "Andersen",
    "Christensen",
    "Larsen",
    "Sørensen",
];

/// What a day's orders are made from.
pub struct Floor {
    /// (gtin, cut to fit, unit id, location, lot, expiry, weight in g)
    pub products: Vec<history::Stocked>,
    pub cut_stations: Vec<String>,
    /// (carrier, share of the parcels, cut-off HH:MM local)
    pub carriers: Vec<(String, f64, String)>,
    pub pickers: usize,
    pub packers: usize,
}

fn local(day: NaiveDate, minutes: i64) -> DateTime<Utc> {
    let t = day.and_time(NaiveTime::MIN) + Duration::minutes(minutes);
    chrono_tz::Europe::Copenhagen
        .from_local_datetime(&t)
        .earliest()
        .map_or_else(|| Utc.from_utc_datetime(&t), |t| t.with_timezone(&Utc))
}

fn db(t: DateTime<Utc>) -> String {
    crate::domain::time::to_db(t)
}

fn minutes_of(hh_mm: &str) -> i64 {
    use chrono::Timelike;
    NaiveTime::parse_from_str(hh_mm, "%H:%M")
        .map(|t| i64::from(t.hour()) * 60 + i64::from(t.minute()))
        .unwrap_or(15 * 60)
}

fn weighted(rng: &mut StdRng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut x = rng.gen_range(0..total);
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// One received day's orders and everything done with them, with ids counted on from `ids`.
/// Orders that would be picked or handed over today (by `now`) or later are left out (with
/// their wave); a parcel not yet
/// delivered by `now` is on its way (`handed_over`).
pub fn make_day(
    day: NaiveDate,
    n: u32,
    rng: &mut StdRng,
    ids: &mut Ids,
    floor: &Floor,
    now: DateTime<Utc>,
) -> Day {
    let tag = day.format("%Y%m%d").to_string();
    let mut out = Day {
        actor: "konsign-history".into(),
        ..Default::default()
    };
    // Receive times, in order.
    let mut received: Vec<i64> = (0..n)
        .map(|_| weighted(rng, &HOURS) as i64 * 60 + rng.gen_range(0..60))
        .collect();
    received.sort_unstable();
    // Orders by the day they are picked: before noon on a working day the same day, otherwise
    // the next working day.
    let mut by_pick_day: BTreeMap<NaiveDate, Vec<(usize, i64)>> = BTreeMap::new();
    for (i, m) in received.iter().enumerate() {
        let p = if *m < 12 * 60 {
            working_day_from(day)
        } else {
            working_day_from(day + Duration::days(1))
        };
        by_pick_day.entry(p).or_default().push((i, *m));
    }
    let mut cages: BTreeMap<(String, NaiveDate), i64> = BTreeMap::new();
    let op_id = ids.stock_ops + 1;
    let today = now
        .with_timezone(&chrono_tz::Europe::Copenhagen)
        .date_naive();
    for (pick_day, orders) in by_pick_day {
        if pick_day >= today {
            // Today's work is not history.
            continue;
        }
        let day_offset = (pick_day - day).num_days() * 24 * 60;
        for chunk in orders.chunks(20) {
            let picker = format!("picker-{}", rng.gen_range(1..=floor.pickers.max(1)));
            let mut wave = Wave {
                id: 0,
                picker: picker.clone(),
                created_at: String::new(),
                done_at: String::new(),
            };
            let wave_start = chunk
                .iter()
                .map(|(_, m)| (m - day_offset).max(6 * 60 + 30))
                .max()
                .unwrap_or(6 * 60 + 30)
                + rng.gen_range(10..120);
            let mut t = wave_start.min(14 * 60);
            let mut made = Vec::new();
            for &(i, m) in chunk {
                made.push((i, make_order(rng, floor, day, m, pick_day, &mut t, &picker)));
            }
            if made.iter().any(|(_, o)| o.handed >= local(today, 0)) {
                // Handed over today: not history yet.
                continue;
            }
            let first = local(pick_day, wave_start.min(14 * 60) - 3);
            let last = local(pick_day, t);
            ids.waves += 1;
            wave.id = ids.waves;
            wave.created_at = db(first);
            wave.done_at = db(last);
            for (_, mut o) in made {
                o.order.wave_id = wave.id;
                o.finish(rng, ids, floor, pick_day, &mut cages, &tag, now, &mut out);
            }
            out.waves.push(wave);
        }
    }
    out.orders.sort_by_key(|o| o.id);
    // The day's operation marks it written, also when none of its orders could be made yet.
    ids.stock_ops = op_id;
    out.op = Some((
        op_id,
        format!("history:pick:{day}"),
        db(local(day, 23 * 60)),
    ));
    for ((carrier, d), id) in cages {
        let cutoff = floor
            .carriers
            .iter()
            .find(|c| c.0 == carrier)
            .map_or(15 * 60, |c| minutes_of(&c.2));
        out.cages.push(Cage {
            id,
            code: format!("H{tag}-{carrier}-{}", d.format("%Y%m%d")),
            carrier,
            day: d.to_string(),
            opened_at: db(local(d, 6 * 60)),
            closed_at: db(local(d, cutoff)),
        });
    }
    out
}

/// An order on its way through the day, before its ids are final.
struct Made {
    order: Order,
    carrier: String,
    lines: Vec<Line>,
    picked: i64,
    handed: DateTime<Utc>,
    delivered: DateTime<Utc>,
}

impl Made {
    #[allow(clippy::too_many_arguments)]
    fn finish(
        mut self,
        rng: &mut StdRng,
        ids: &mut Ids,
        floor: &Floor,
        pick_day: NaiveDate,
        cages: &mut BTreeMap<(String, NaiveDate), i64>,
        tag: &str,
        now: DateTime<Utc>,
        out: &mut Day,
    ) {
        ids.orders += 1;
        let order_id = ids.orders;
        self.order.id = order_id;
        self.order.external_id = format!("H{tag}-{order_id}");
        self.order.citizen_id = format!("h-{order_id}");
        let mut ready = self.picked;
        let mut weight = 150;
        for l in &mut self.lines {
            ids.order_lines += 1;
            ids.reservations += 1;
            ids.picks += 1;
            l.id = ids.order_lines;
            l.order_id = order_id;
            l.reservation_id = ids.reservations;
            l.pick_id = ids.picks;
            weight += l.quantity
                * floor
                    .products
                    .iter()
                    .find(|p| p.0 == l.gtin)
                    .map_or(100, |p| p.6);
            if rng.gen_bool(0.02) {
                out.refusals.push(Refusal {
                    wave_id: self.order.wave_id,
                    key: format!("history:refused:{}", l.pick_id),
                    code: ["wrong_product", "wrong_location", "wrong_quantity"]
                        [rng.gen_range(0..3)],
                    actor: l.picker.clone(),
                    at: l.picked_at.clone(),
                });
            }
            if let Some((shape, _)) = l.cut {
                ids.cut_jobs += 1;
                let queued = self.picked + rng.gen_range(1..5);
                let finished = queued + rng.gen_range(8..40);
                ready = ready.max(finished);
                let station = (!floor.cut_stations.is_empty()).then(|| {
                    floor.cut_stations[rng.gen_range(0..floor.cut_stations.len())].clone()
                });
                out.cut_jobs.push(CutJob {
                    seq: ids.cut_jobs,
                    order_id,
                    line_id: l.id,
                    line_ref: format!("{}/{}", self.order.external_id, l.line_no),
                    gtin: l.gtin.clone(),
                    lot: l.lot.clone(),
                    expiry: l.expiry.clone(),
                    quantity: l.quantity,
                    shape,
                    station,
                    queued_at: db(local(pick_day, queued)),
                    finished_at: db(local(pick_day, finished)),
                });
            }
        }
        let opened = ready + rng.gen_range(5..30);
        let closed = opened + rng.gen_range(2..6);
        let carrier = self.carrier;
        let handed_day = self
            .handed
            .with_timezone(&chrono_tz::Europe::Copenhagen)
            .date_naive();
        let next_cage = ids.cages + 1;
        let cage_id = *cages
            .entry((carrier.clone(), handed_day))
            .or_insert(next_cage);
        ids.cages = ids.cages.max(cage_id);
        ids.parcels += 1;
        ids.bookings += 1;
        let delivered = (self.delivered <= now).then(|| db(self.delivered));
        self.order.status = if delivered.is_some() {
            OrderStatus::Delivered.as_str()
        } else {
            OrderStatus::Shipped.as_str()
        };
        self.order.updated_at = db(self.delivered.min(now).max(self.handed));
        let packers = floor.packers.max(1);
        let station = rng.gen_range(1..=packers);
        out.parcels.push(Parcel {
            id: ids.parcels,
            order_id,
            station: format!("PAK-{station:02}"),
            packer: format!("packer-{station}"),
            sscc: String::new(),
            weight_g: weight,
            opened_at: db(local(pick_day, opened)),
            closed_at: db(local(pick_day, closed)),
            booking_id: ids.bookings,
            carrier,
            tracking_number: format!("H{:010}", ids.bookings),
            cage_id,
            handed_at: db(self.handed),
            delivered_at: delivered,
        });
        out.orders.push(self.order);
        out.lines.extend(self.lines);
    }
}

/// A carrier by its share of the parcels, with its cut-off in minutes into the day.
fn pick_carrier(rng: &mut StdRng, floor: &Floor) -> (String, i64) {
    let mut x: f64 = rng.gen();
    for (c, share, cutoff) in &floor.carriers {
        if x < *share {
            return (c.clone(), minutes_of(cutoff));
        }
        x -= share;
    }
    floor.carriers.last().map_or_else(
        || (crate::domain::carrier::LOCAL.to_string(), 15 * 60),
        |c| (c.0.clone(), minutes_of(&c.2)),
    )
}

/// One order's lines and times; `t` is the picker's clock (minutes into `pick_day`).
#[allow(clippy::too_many_arguments)]
fn make_order(
    rng: &mut StdRng,
    floor: &Floor,
    day: NaiveDate,
    received: i64,
    pick_day: NaiveDate,
    t: &mut i64,
    picker: &str,
) -> Made {
    let (postcode, city) = TOWNS[rng.gen_range(0..TOWNS.len())];
    let name = format!(
        "{} {}",
        FIRST[rng.gen_range(0..FIRST.len())],
        LAST[rng.gen_range(0..LAST.len())]
    );
    let n_lines = [1, 1, 2, 2, 2, 3, 3, 4][rng.gen_range(0..8)];
    let mut lines = Vec::new();
    let mut has_cut = false;
    let mut seen = HashSet::new();
    for line_no in 1..=n_lines {
        let p = &floor.products[rng.gen_range(0..floor.products.len())];
        if !seen.insert(p.0.clone()) {
            continue;
        }
        let cut = (p.1 && rng.gen_bool(0.25)).then(|| {
            has_cut = true;
            (
                if rng.gen_bool(0.8) { "round" } else { "oval" },
                rng.gen_range(20..55),
            )
        });
        *t += rng.gen_range(1..3);
        lines.push(Line {
            id: 0,
            order_id: 0,
            line_no,
            gtin: p.0.clone(),
            quantity: [1, 1, 2, 3][rng.gen_range(0..4)],
            cut,
            reservation_id: 0,
            pick_id: 0,
            unit_id: p.2,
            location: p.3.clone(),
            lot: p.4.clone(),
            expiry: p.5.clone(),
            picked_at: db(local(pick_day, *t)),
            picker: picker.to_string(),
        });
    }
    let picked = *t;
    // Handed over at the carrier's cut-off of the pick day, or the next working day's when the
    // parcel is closed too late for it; delivered the working day after, in the daytime.
    let (carrier, cutoff) = pick_carrier(rng, floor);
    let ready = picked + if has_cut { 60 } else { 30 };
    let handed_day = if ready + 10 < cutoff {
        pick_day
    } else {
        working_day_from(pick_day + Duration::days(1))
    };
    let delivered_day = working_day_from(handed_day + Duration::days(1));
    let delivered = local(delivered_day, rng.gen_range(9 * 60..16 * 60));
    let payer = PAYERS[rng.gen_range(0..PAYERS.len())];
    Made {
        carrier,
        order: Order {
            id: 0,
            external_id: String::new(),
            status: OrderStatus::Delivered.as_str(),
            payer,
            citizen_id: String::new(),
            recipient_name: name,
            address_line1: format!("Bakkevej {}", rng.gen_range(1..120)),
            postcode: postcode.into(),
            city: city.into(),
            delivery_date: delivered_day.to_string(),
            has_cut,
            wave_id: 0,
            created_at: db(local(day, received)),
            updated_at: String::new(),
        },
        lines,
        picked,
        handed: local(handed_day, cutoff),
        delivered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_year_of_days_averages_the_orders_asked_for() {
        let start = NaiveDate::from_ymd_opt(2025, 12, 1).unwrap();
        let total: u64 = (0..365)
            .map(|i| u64::from(orders_on(start + Duration::days(i), 2000)))
            .sum();
        let avg = total as f64 / 365.0;
        assert!((1800.0..2200.0).contains(&avg), "average {avg}");
        // Mondays are busier than Sundays, January than July.
        let monday = NaiveDate::from_ymd_opt(2026, 1, 12).unwrap();
        assert!(orders_on(monday, 2000) > 3 * orders_on(monday + Duration::days(6), 2000));
        let july = NaiveDate::from_ymd_opt(2026, 7, 13).unwrap();
        assert!(orders_on(monday, 2000) > orders_on(july, 2000));
    }

    #[test]
    fn weekend_orders_are_picked_on_monday() {
        let saturday = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        assert_eq!(working_day_from(saturday).weekday(), Weekday::Mon);
    }
}
