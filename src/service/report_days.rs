//! The figures of each Copenhagen day that a report adds up, and the sealing of past days.
//!
//! Counting a year from the tables that record each event took 1.4 s on 234,000 orders and
//! grew with the history (docs/benchmarks.md). A day two days past gets nothing new: every row
//! a report counts is written with the time of its writing, and the one late change (a pick
//! confirmation undone) happens while its wave is still open. So such a day's figures are
//! counted once and kept (`report_days`, as JSON), and a report reads the days it covers from
//! there, counting only the days not kept yet and the last two live. A generated history
//! (`demo_history`) writes past days and forgets the kept ones.

use super::Ctx;
use crate::domain::time::{business_day, from_db, start_of_business_day, to_db};
use crate::error::Result;
use crate::store::dashboard::Measure;
use chrono::{Duration, NaiveDate, NaiveDateTime, Timelike};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The measures of a report, as the API and the CSV name them, in their column order.
pub const MEASURES: [(Measure, &str); 5] = [
    (Measure::OrdersReceived, "orders_received"),
    (Measure::PacksPicked, "packs_picked"),
    (Measure::CutJobsFinished, "cut_jobs_finished"),
    (Measure::ParcelsClosed, "parcels_closed"),
    (Measure::ParcelsHandedOver, "parcels_handed_over"),
];

/// The Copenhagen date and time of a UTC hour written `YYYY-MM-DDTHH`.
pub fn local_hour_of(utc_hour: &str) -> Option<NaiveDateTime> {
    let t = NaiveDateTime::parse_from_str(&format!("{utc_hour}:00"), "%Y-%m-%dT%H:%M")
        .ok()?
        .and_utc();
    Some(
        t.with_timezone(&chrono_tz::Europe::Copenhagen)
            .naive_local(),
    )
}

/// One day's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayFigures {
    /// The report's measures (`reports::MEASURES`), in their order.
    pub values: [i64; 5],
    /// Parcels closed by local hour.
    pub parcels_by_hour: [i64; 24],
    /// Minutes from intake to handover of each order handed over this day, sorted.
    pub cycles: Vec<i64>,
    /// Orders handed over this day to a carrier with a cut-off (`carrier.cutoff`), and those
    /// of them handed over by the cut-off they were due by (`domain::time::due_by`: the first
    /// weekday cut-off at or after the order became pickable). Judged by the cut-offs in force
    /// when the day was counted.
    pub judged: i64,
    pub on_time: i64,
}

/// The last day whose figures are kept, on `today`.
pub fn last_sealed(today: NaiveDate) -> NaiveDate {
    today - Duration::days(2)
}

/// The figures of every day from `from` to `to` (inclusive) that has any; days without any are
/// left out. Days up to `last_sealed` come from the kept figures, counted and kept first where
/// missing.
pub async fn days(
    ctx: &Ctx,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<BTreeMap<NaiveDate, DayFigures>> {
    let pool = ctx.db.pool();
    let sealed_to = to.min(last_sealed(super::today()));
    let mut out = BTreeMap::new();
    if from <= sealed_to {
        let mut kept = std::collections::BTreeSet::new();
        for (day, json) in
            crate::store::reports::kept_days(pool, &from.to_string(), &sealed_to.to_string())
                .await?
        {
            let (Ok(d), Ok(f)) = (
                day.parse::<NaiveDate>(),
                serde_json::from_str::<DayFigures>(&json),
            ) else {
                // Unreadable (an older shape): counted again below.
                continue;
            };
            kept.insert(d);
            if f != DayFigures::default() {
                out.insert(d, f);
            }
        }
        // The days not kept yet, in runs of consecutive days: one count per run.
        let mut runs: Vec<(NaiveDate, NaiveDate)> = Vec::new();
        let mut d = from;
        while d <= sealed_to {
            if !kept.contains(&d) {
                match runs.last_mut() {
                    Some((_, end)) if *end + Duration::days(1) == d => *end = d,
                    _ => runs.push((d, d)),
                }
            }
            d += Duration::days(1);
        }
        for (start, end) in runs {
            let counted = count(ctx, start, end).await?;
            let mut keep = Vec::new();
            let mut d = start;
            while d <= end {
                let f = counted.get(&d).cloned().unwrap_or_default();
                keep.push((d.to_string(), serde_json::to_string(&f).unwrap_or_default()));
                if f != DayFigures::default() {
                    out.insert(d, f);
                }
                d += Duration::days(1);
            }
            crate::store::reports::keep_days(&ctx.db, &keep, &crate::store::now_db()).await?;
        }
    }
    let live_from = from.max(sealed_to + Duration::days(1));
    if live_from <= to {
        out.extend(count(ctx, live_from, to).await?);
    }
    Ok(out)
}

/// Counts the days from `from` to `to` (inclusive) from the tables that record each event.
async fn count(
    ctx: &Ctx,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<BTreeMap<NaiveDate, DayFigures>> {
    let lo = to_db(start_of_business_day(from));
    let hi = to_db(start_of_business_day(to + Duration::days(1)));
    let mut out: BTreeMap<NaiveDate, DayFigures> = BTreeMap::new();
    for (col, (m, _)) in MEASURES.iter().enumerate() {
        for (utc_hour, n) in crate::store::dashboard::per_hour(ctx.db.pool(), *m, &lo, &hi).await? {
            let Some(local) = local_hour_of(&utc_hour) else {
                continue;
            };
            let day = local.date();
            if day < from || day > to {
                continue;
            }
            let f = out.entry(day).or_default();
            f.values[col] += n;
            if *m == Measure::ParcelsClosed {
                f.parcels_by_hour[local.hour() as usize] += n;
            }
        }
    }
    let cutoffs = &ctx.config.carrier.cutoff;
    for h in crate::store::reports::handovers(ctx.db.pool(), &lo, &hi).await? {
        let (Some(r), Some(handed)) = (from_db(&h.received), from_db(&h.handed)) else {
            continue;
        };
        let day = business_day(handed);
        if day < from || day > to {
            continue;
        }
        let f = out.entry(day).or_default();
        f.cycles.push((handed - r).num_minutes().max(0));
        let pickable = h.pickable.as_deref().and_then(from_db).unwrap_or(r);
        let due = cutoffs
            .get(&h.carrier)
            .and_then(|c| crate::domain::time::due_by(pickable, c));
        if let Some(due) = due {
            f.judged += 1;
            if handed <= due {
                f.on_time += 1;
            }
        }
    }
    for f in out.values_mut() {
        f.cycles.sort_unstable();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_two_back_are_kept_and_their_figures_read_back_the_same() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        assert_eq!(
            last_sealed(today),
            NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()
        );
        let f = DayFigures {
            values: [1, 2, 3, 4, 5],
            parcels_by_hour: [1; 24],
            cycles: vec![30, 95, 1440],
            judged: 3,
            on_time: 2,
        };
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(serde_json::from_str::<DayFigures>(&json).unwrap(), f);
        // A day kept before the on-time figures is read as unreadable, so it is counted again.
        let older = r#"{"values":[1,2,3,4,5],"parcels_by_hour":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"cycles":[]}"#;
        assert!(serde_json::from_str::<DayFigures>(older).is_err());
    }
}
