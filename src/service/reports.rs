//! Reports over history for the lead who reports upwards: throughput per day, week or month
//! over any range (orders received, packs picked, cutting jobs finished, parcels closed and
//! handed over), and parcels closed by weekday and hour (a heat map). Read from the tables that
//! record each event (as the dashboard's throughput), counted per UTC hour by the store and
//! moved to Copenhagen days, weeks and months here. As a table, CSV, and an SVG chart.

use super::Ctx;
use crate::error::{Error, Result};
use chrono::{Datelike, Duration, NaiveDate};
use serde::Serialize;

pub use super::report_days::{local_hour_of, MEASURES};

/// The longest range a report covers (three years).
pub const MAX_DAYS: i64 = 1100;

/// How a report's rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    /// ISO weeks, Monday first.
    Week,
    Month,
}

impl Period {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "day" => Ok(Period::Day),
            "week" => Ok(Period::Week),
            "month" => Ok(Period::Month),
            _ => Err(Error::invalid("period", "must be day, week or month")),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }
}

/// The first day of the period that holds `day`.
pub fn period_start(day: NaiveDate, p: Period) -> NaiveDate {
    match p {
        Period::Day => day,
        Period::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
        Period::Month => day.with_day(1).unwrap_or(day),
    }
}

/// One period's figures, in the order of `ThroughputReport::measures`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportRow {
    /// The period's first day (`YYYY-MM-DD`).
    pub period: String,
    pub values: Vec<i64>,
    /// Orders whose (last) parcel was handed over in the period.
    pub orders_handed_over: i64,
    /// Their time from intake to handover, in minutes: the median and the 90th percentile
    /// (absent without any).
    pub cycle_p50_minutes: Option<i64>,
    pub cycle_p90_minutes: Option<i64>,
    /// Of the orders handed over, those to a carrier with a cut-off (`carrier.cutoff`), and
    /// those of them handed over by the cut-off they were due by: the first weekday cut-off at
    /// or after the order became pickable (its last reservation).
    pub orders_judged: i64,
    pub orders_on_time: i64,
    /// `orders_on_time` as a percentage of `orders_judged`, one decimal (absent without any).
    pub on_time_percent: Option<f64>,
}

/// `part` of `whole` in percent with one decimal; `None` of nothing.
pub fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

/// Backorders now by how long they have waited.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BackorderAges {
    pub under_1_day: i64,
    pub days_1_to_3: i64,
    pub days_3_to_7: i64,
    pub over_7_days: i64,
}

/// The nearest-rank percentile `pct` (0 to 100) of sorted values; `None` for none.
pub fn percentile(sorted: &[i64], pct: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (pct * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// Counts backorders by their wait in minutes.
pub fn backorder_ages(waits: &[i64]) -> BackorderAges {
    let day = 24 * 60;
    let mut a = BackorderAges {
        under_1_day: 0,
        days_1_to_3: 0,
        days_3_to_7: 0,
        over_7_days: 0,
    };
    for w in waits {
        match *w {
            m if m < day => a.under_1_day += 1,
            m if m < 3 * day => a.days_1_to_3 += 1,
            m if m < 7 * day => a.days_3_to_7 += 1,
            _ => a.over_7_days += 1,
        }
    }
    a
}

/// Throughput over a range.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ThroughputReport {
    pub from: String,
    pub to: String,
    pub period: Period,
    /// The columns of `values`: `orders_received`, `packs_picked`, `cut_jobs_finished`,
    /// `parcels_closed`, `parcels_handed_over`.
    pub measures: Vec<String>,
    /// Every period of the range, the empty ones too.
    pub rows: Vec<ReportRow>,
    pub totals: Vec<i64>,
    /// The on-time rate over the whole range (see `ReportRow::on_time_percent`).
    pub on_time_percent: Option<f64>,
    /// Parcels closed by weekday (0 = Monday) and local hour over the range.
    pub parcels_by_weekday_hour: Vec<Vec<i64>>,
    /// The backorders now (not bound to the range).
    pub backorders: BackorderAges,
}

/// Checks a report's range (`from` and `to` inclusive, `YYYY-MM-DD`).
pub fn range(from: &str, to: &str) -> Result<(NaiveDate, NaiveDate)> {
    let day = |field: &'static str, s: &str| {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map_err(|_| Error::invalid(field, "must be a date YYYY-MM-DD"))
    };
    let (f, t) = (day("from", from)?, day("to", to)?);
    if t < f {
        return Err(Error::invalid("to", "must not be before from"));
    }
    if (t - f).num_days() >= MAX_DAYS {
        return Err(Error::invalid(
            "to",
            format!("a report covers at most {MAX_DAYS} days"),
        ));
    }
    Ok((f, t))
}

/// Reads the throughput from `from` to `to` (Copenhagen days, inclusive) by `period`.
pub async fn throughput(
    ctx: &Ctx,
    from: NaiveDate,
    to: NaiveDate,
    period: Period,
) -> Result<ThroughputReport> {
    use crate::domain::time::from_db;
    let mut starts = Vec::new();
    let mut d = from;
    while d <= to {
        let s = period_start(d, period);
        if starts.last() != Some(&s) {
            starts.push(s);
        }
        d += Duration::days(1);
    }
    let mut rows: Vec<ReportRow> = starts
        .iter()
        .map(|s| ReportRow {
            period: s.to_string(),
            values: vec![0; MEASURES.len()],
            orders_handed_over: 0,
            cycle_p50_minutes: None,
            cycle_p90_minutes: None,
            orders_judged: 0,
            orders_on_time: 0,
            on_time_percent: None,
        })
        .collect();
    let mut heat = vec![vec![0i64; 24]; 7];
    let mut cycles: Vec<Vec<i64>> = vec![Vec::new(); rows.len()];
    for (day, f) in super::report_days::days(ctx, from, to).await? {
        let Ok(i) = starts.binary_search(&period_start(day, period)) else {
            continue;
        };
        for (v, n) in rows[i].values.iter_mut().zip(f.values) {
            *v += n;
        }
        for (h, n) in f.parcels_by_hour.iter().enumerate() {
            heat[day.weekday().num_days_from_monday() as usize][h] += n;
        }
        cycles[i].extend(f.cycles);
        rows[i].orders_judged += f.judged;
        rows[i].orders_on_time += f.on_time;
    }
    for (row, mut c) in rows.iter_mut().zip(cycles) {
        c.sort_unstable();
        row.orders_handed_over = c.len() as i64;
        row.cycle_p50_minutes = percentile(&c, 50);
        row.cycle_p90_minutes = percentile(&c, 90);
        row.on_time_percent = percent(row.orders_on_time, row.orders_judged);
    }
    let on_time_percent = percent(
        rows.iter().map(|r| r.orders_on_time).sum(),
        rows.iter().map(|r| r.orders_judged).sum(),
    );
    let now = chrono::Utc::now();
    let waits: Vec<i64> = crate::store::reports::backorders_since(ctx.db.pool())
        .await?
        .iter()
        .filter_map(|t| from_db(t))
        .map(|t| (now - t).num_minutes().max(0))
        .collect();
    let totals = (0..MEASURES.len())
        .map(|c| rows.iter().map(|r| r.values[c]).sum())
        .collect();
    Ok(ThroughputReport {
        from: from.to_string(),
        to: to.to_string(),
        period,
        measures: MEASURES.iter().map(|(_, n)| n.to_string()).collect(),
        rows,
        totals,
        on_time_percent,
        parcels_by_weekday_hour: heat,
        backorders: backorder_ages(&waits),
    })
}

/// The report as CSV: a header of `period`, the measures, the cycle time and the on-time
/// rate, one line per period (an empty cell where there is no figure).
pub fn csv(r: &ThroughputReport) -> String {
    let mut out = format!(
        "period,{},orders_handed_over,cycle_p50_minutes,cycle_p90_minutes,orders_judged,orders_on_time,on_time_percent\n",
        r.measures.join(",")
    );
    let opt = |v: Option<i64>| v.map_or(String::new(), |v| v.to_string());
    for row in &r.rows {
        let values: Vec<String> = row.values.iter().map(i64::to_string).collect();
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            row.period,
            values.join(","),
            row.orders_handed_over,
            opt(row.cycle_p50_minutes),
            opt(row.cycle_p90_minutes),
            row.orders_judged,
            row.orders_on_time,
            row.on_time_percent
                .map_or(String::new(), |p| format!("{p:.1}"))
        ));
    }
    out
}

/// The colour of a measure's line (the same as the dashboard's where it has one).
fn colour(measure: &str) -> &'static str {
    match measure {
        "orders_received" => "#9e9e9e",
        "packs_picked" => "#1f6fb2",
        "cut_jobs_finished" => "#7b4fa0",
        "parcels_closed" => "#ef8f00",
        _ => "#2e7d32",
    }
}

/// The report as a line chart (SVG), each measure named by `name` in the reader's language.
pub fn chart(r: &ThroughputReport, name: impl Fn(&str) -> String, title: &str) -> String {
    let points: Vec<String> = r.rows.iter().map(|row| row.period.clone()).collect();
    let lines: Vec<crate::charts::Line> = r
        .measures
        .iter()
        .enumerate()
        .map(|(c, m)| crate::charts::Line {
            label: name(m),
            colour: colour(m),
            values: r.rows.iter().map(|row| row.values[c]).collect(),
        })
        .collect();
    crate::charts::lines(&points, &lines, 960, 320, title)
}

/// Parcels closed by weekday and hour as a heat map (SVG); `days` names Monday to Sunday.
pub fn heat_chart(r: &ThroughputReport, days: &[&str; 7], title: &str) -> String {
    let mut grid = [[0i64; 24]; 7];
    for (d, row) in r.parcels_by_weekday_hour.iter().enumerate().take(7) {
        for (h, v) in row.iter().enumerate().take(24) {
            grid[d][h] = *v;
        }
    }
    crate::charts::heat(&grid, days, "#ef8f00", title)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_day_belongs_to_its_iso_week_and_its_month() {
        // 2026-12-03 is a Thursday.
        assert_eq!(period_start(d("2026-12-03"), Period::Week), d("2026-11-30"));
        assert_eq!(period_start(d("2026-11-30"), Period::Week), d("2026-11-30"));
        assert_eq!(period_start(d("2027-01-03"), Period::Week), d("2026-12-28"));
        assert_eq!(
            period_start(d("2026-12-03"), Period::Month),
            d("2026-12-01")
        );
        assert_eq!(period_start(d("2026-12-03"), Period::Day), d("2026-12-03"));
    }

    #[test]
    fn utc_hours_fall_on_copenhagen_days() {
        // 23:00 UTC in winter is midnight of the next day in Copenhagen.
        let t = local_hour_of("2026-12-03T23").unwrap();
        assert_eq!((t.date(), t.hour()), (d("2026-12-04"), 0));
        let t = local_hour_of("2026-07-01T21").unwrap();
        assert_eq!((t.date(), t.hour()), (d("2026-07-01"), 23));
    }

    #[test]
    fn percentiles_are_nearest_rank_and_ages_fall_in_their_bucket() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&v, 50), Some(5));
        assert_eq!(percentile(&v, 90), Some(9));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[], 50), None);
        let a = backorder_ages(&[0, 1439, 1440, 3 * 1440, 7 * 1440 - 1, 7 * 1440, 99_999]);
        assert_eq!(
            (a.under_1_day, a.days_1_to_3, a.days_3_to_7, a.over_7_days),
            (2, 1, 2, 2)
        );
    }

    #[test]
    fn a_range_is_checked() {
        assert!(range("2026-12-01", "2026-12-31").is_ok());
        assert!(range("2026-12-31", "2026-12-01").is_err());
        assert!(range("2023-01-01", "2026-12-31").is_err());
        assert!(range("yesterday", "2026-12-31").is_err());
    }
}
