//! The logistics lead's dashboard: what is flowing now. Each figure is read from the orders as
//! they are; nothing is kept apart that could drift from them.

use super::Ctx;
use crate::error::Result;
use serde::Serialize;

mod cutoff;
mod exceptions;
mod flow;
mod people;
mod sections;
pub use cutoff::{cutoff_at, cutoffs, CarrierCutoff};
pub use exceptions::{exceptions, ExceptionGroup, ExceptionItem, KINDS as EXCEPTION_KINDS};
pub use flow::{colour, flow_chart, flow_now, FlowNow, FlowStage, Stage, STAGES};
pub use people::{floor, Floor, Picker, Station};
pub use sections::Sections;

/// Everything the dashboard shows, read at once.
#[derive(Debug, Clone)]
pub struct Dashboard {
    pub flow: FlowNow,
    pub throughput: Throughput,
    pub devices: Vec<Device>,
    pub floor: Floor,
    pub cutoffs: Vec<CarrierCutoff>,
    pub exceptions: Vec<ExceptionGroup>,
}

/// Reads the whole dashboard: the page's first render and each live picture. The sections
/// are read at the same time, each on a pool connection of its own: an update takes as long as
/// its slowest section, not the sum of them (on PostgreSQL each read is a network round trip).
pub async fn read(ctx: &Ctx) -> Result<Dashboard> {
    let (flow, throughput, devices, floor, cutoffs, exceptions) = tokio::try_join!(
        flow_now(ctx),
        throughput(ctx),
        devices(ctx),
        floor(ctx),
        cutoffs(ctx),
        exceptions(ctx),
    )?;
    Ok(Dashboard {
        flow,
        throughput,
        devices,
        floor,
        cutoffs,
        exceptions,
    })
}

/// The picture after a change: the sections in `changed` read again, the others as in
/// `prev` (the flow's time is now's: its counts are current when no change touched them).
/// What the live hub runs for each change; the minute's refresh reads everything.
pub async fn read_changed(ctx: &Ctx, prev: &Dashboard, changed: Sections) -> Result<Dashboard> {
    async fn maybe<T>(
        yes: bool,
        read: impl std::future::Future<Output = Result<T>>,
    ) -> Result<Option<T>> {
        Ok(if yes { Some(read.await?) } else { None })
    }
    let (flow, throughput, devices, floor, cutoffs, exceptions) = tokio::try_join!(
        maybe(changed.flow, flow_now(ctx)),
        maybe(changed.throughput, throughput(ctx)),
        maybe(changed.devices, devices(ctx)),
        maybe(changed.floor, floor(ctx)),
        maybe(changed.cutoffs, cutoffs(ctx)),
        maybe(changed.exceptions, exceptions(ctx)),
    )?;
    let flow = flow.unwrap_or_else(|| FlowNow {
        at: crate::domain::time::to_db(chrono::Utc::now()),
        ..prev.flow.clone()
    });
    Ok(Dashboard {
        flow,
        throughput: throughput.unwrap_or_else(|| prev.throughput.clone()),
        devices: devices.unwrap_or_else(|| prev.devices.clone()),
        floor: floor.unwrap_or_else(|| prev.floor.clone()),
        cutoffs: cutoffs.unwrap_or_else(|| prev.cutoffs.clone()),
        exceptions: exceptions.unwrap_or_else(|| prev.exceptions.clone()),
    })
}

/// What is counted per hour, as the API names it.
pub const MEASURES: [(Measure, &str); 4] = [
    (Measure::PacksPicked, "packs_picked"),
    (Measure::CutJobsFinished, "cut_jobs_finished"),
    (Measure::ParcelsClosed, "parcels_closed"),
    (Measure::ParcelsHandedOver, "parcels_handed_over"),
];

/// One measure by the local hour (0 to 23) of today, yesterday and the same weekday last week.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Hourly {
    /// `packs_picked`, `cut_jobs_finished`, `parcels_closed` or `parcels_handed_over`.
    pub measure: String,
    pub today: [i64; 24],
    pub yesterday: [i64; 24],
    pub last_week: [i64; 24],
    pub today_total: i64,
    pub yesterday_total: i64,
    pub last_week_total: i64,
}

/// Today's throughput so far.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Throughput {
    /// The business day (`YYYY-MM-DD`, Copenhagen).
    pub day: String,
    /// The local hour now (0 to 23): today's later hours are still empty.
    pub now_hour: usize,
    pub series: Vec<Hourly>,
    /// Parcels closed by the end of today if the rest of the day goes as the same weekday
    /// last week did from this hour on (absent without last week's figures).
    pub projected_parcels: Option<i64>,
    /// `dashboard.daily_parcel_target` (absent when 0).
    pub parcel_target: Option<i64>,
}

use crate::store::dashboard::Measure;

/// The counts of `m` on business day `day`, by local hour.
async fn day_by_hour(ctx: &Ctx, m: Measure, day: chrono::NaiveDate) -> Result<[i64; 24]> {
    let [v] = days_by_hour(ctx, [m], day).await?;
    Ok(v)
}

/// The counts of each of `ms` on business day `day`, by local hour, in one read.
async fn days_by_hour<const N: usize>(
    ctx: &Ctx,
    ms: [Measure; N],
    day: chrono::NaiveDate,
) -> Result<[[i64; 24]; N]> {
    use crate::domain::time::{start_of_business_day, to_db};
    let from = start_of_business_day(day);
    let to = start_of_business_day(day + chrono::Duration::days(1));
    let each = crate::store::dashboard::per_hour_each(ctx.db.pool(), &ms, &to_db(from), &to_db(to))
        .await?;
    let mut out = [[0i64; 24]; N];
    for (slot, rows) in out.iter_mut().zip(each) {
        for (utc_hour, n) in rows {
            if let Some(h) = local_hour(&utc_hour) {
                slot[h] += n;
            }
        }
    }
    Ok(out)
}

/// The Copenhagen hour (0 to 23) of a UTC hour written `YYYY-MM-DDTHH`.
pub fn local_hour(utc_hour: &str) -> Option<usize> {
    use chrono::Timelike;
    let t = chrono::NaiveDateTime::parse_from_str(&format!("{utc_hour}:00"), "%Y-%m-%dT%H:%M")
        .ok()?
        .and_utc();
    Some(t.with_timezone(&chrono_tz::Europe::Copenhagen).hour() as usize)
}

/// Parcels by the end of today, if the rest goes as it did on `last_week` from `now_hour` on.
pub fn project(today: &[i64; 24], last_week: &[i64; 24], now_hour: usize) -> Option<i64> {
    let so_far: i64 = today.iter().take(now_hour + 1).sum();
    let rest: i64 = last_week.iter().skip(now_hour + 1).sum();
    let last_total: i64 = last_week.iter().sum();
    (last_total > 0).then_some(so_far + rest)
}

/// Reads today's throughput.
/// How long a past day's hourly figures are trusted (`Ctx::past_hours`). They change only by
/// a late correction (an undone pick, a parcel scanned onto a cage after midnight), which shows
/// within this time.
pub const PAST_FOR: std::time::Duration = std::time::Duration::from_secs(600);

/// A past day's figures by hour, remembered for [`PAST_FOR`]: on a year of history reading
/// yesterday's and last week's picks was most of a live update's time.
async fn past_by_hour(
    ctx: &Ctx,
    m: Measure,
    name: &str,
    day: chrono::NaiveDate,
) -> Result<[i64; 24]> {
    let key = format!("{name}:{day}");
    if let Some(v) = ctx.past_hours.get(&key) {
        return Ok(v);
    }
    let v = day_by_hour(ctx, m, day).await?;
    ctx.past_hours.put(&key, v);
    Ok(v)
}

pub async fn throughput(ctx: &Ctx) -> Result<Throughput> {
    use chrono::Timelike;
    let today = super::today();
    let now_hour = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Copenhagen)
        .hour() as usize;
    // Today's four measures in one read, the past days' from the cache (read together when
    // they are not there).
    let today_each = days_by_hour(ctx, MEASURES.map(|(m, _)| m), today);
    let past = futures_util::future::try_join_all(MEASURES.map(|(m, name)| async move {
        tokio::try_join!(
            past_by_hour(ctx, m, name, today - chrono::Duration::days(1)),
            past_by_hour(ctx, m, name, today - chrono::Duration::days(7)),
        )
    }));
    let (today_each, past) = tokio::try_join!(today_each, past)?;
    let series = MEASURES
        .iter()
        .zip(today_each)
        .zip(past)
        .map(|((&(_, name), t), (y, w))| Hourly {
            measure: name.to_string(),
            today_total: t.iter().sum(),
            yesterday_total: y.iter().sum(),
            last_week_total: w.iter().sum(),
            today: t,
            yesterday: y,
            last_week: w,
        })
        .collect::<Vec<_>>();
    let parcels = series.iter().find(|s| s.measure == "parcels_closed");
    let projected_parcels = parcels.and_then(|p| project(&p.today, &p.last_week, now_hour));
    let target = i64::from(ctx.config.dashboard.daily_parcel_target);
    Ok(Throughput {
        day: today.to_string(),
        now_hour,
        series,
        projected_parcels,
        parcel_target: (target > 0).then_some(target),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_hours_become_copenhagen_hours_in_winter_and_summer() {
        assert_eq!(local_hour("2026-12-04T07"), Some(8));
        assert_eq!(local_hour("2026-07-01T07"), Some(9));
        assert_eq!(local_hour("2026-12-04T23"), Some(0));
        assert_eq!(local_hour("nonsense"), None);
    }

    #[test]
    fn the_projection_adds_last_weeks_rest_of_the_day_to_todays_so_far() {
        let mut today = [0i64; 24];
        today[8] = 100;
        today[9] = 50;
        let mut last = [0i64; 24];
        last[8] = 80;
        last[10] = 200;
        last[14] = 20;
        assert_eq!(project(&today, &last, 9), Some(370));
        assert_eq!(project(&today, &[0; 24], 9), None);
    }
}

/// A device's health at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Working.
    Green,
    /// Needs a look soon: switched off, paused, a long queue.
    Yellow,
    /// Not working: gone, in a fault, out of paper.
    Red,
}

/// A scanner, printer or cutting station as the lead watches it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Device {
    /// `scanner`, `printer` or `cutter`.
    pub kind: String,
    pub id: String,
    pub name: String,
    pub health: Health,
    /// Its state in its own words (`connected`, `paper_out`, `online busy`, ...).
    pub state: String,
    /// The same in Danish, for the pages.
    pub state_da: String,
    /// Since when it is in that state (or last heard of), as stored.
    pub since: Option<String>,
    /// A printer's jobs not yet finished.
    pub queue: Option<i64>,
}

/// A printer's health: its state holds the queue (paper out, no answer, ...) is red, switched
/// off yellow, a queue of more than 20 jobs yellow.
pub fn printer_health(enabled: bool, alarm: bool, queue_depth: i64) -> Health {
    match (enabled, alarm) {
        (false, _) => Health::Yellow,
        (true, true) => Health::Red,
        (true, false) if queue_depth > 20 => Health::Yellow,
        _ => Health::Green,
    }
}

/// A cutting station's health: not online or in a fault is red, switched off or paused yellow.
pub fn cutter_health(enabled: bool, manual: bool, connection: &str, mode: Option<&str>) -> Health {
    if !enabled {
        return Health::Yellow;
    }
    if manual {
        return Health::Green;
    }
    match (connection, mode) {
        ("online", Some("fault")) => Health::Red,
        ("online", Some("paused")) => Health::Yellow,
        ("online", _) => Health::Green,
        _ => Health::Red,
    }
}

/// A cutting station's connection and mode in Danish.
fn cutter_state_da(connection: &str, mode: Option<&str>) -> String {
    let c = match connection {
        "online" => "online",
        "offline" => "offline",
        "broken" => "forbindelsen tabt",
        _ => "ukendt",
    };
    match mode {
        Some("idle") => format!("{c}, ledig"),
        Some("busy") => format!("{c}, i gang"),
        Some("paused") => format!("{c}, på pause"),
        Some("fault") => format!("{c}, fejl"),
        Some(m) => format!("{c}, {m}"),
        None => c.to_string(),
    }
}

/// Every scanner (of this instance), printer and cutting station, the worst first.
pub async fn devices(ctx: &Ctx) -> Result<Vec<Device>> {
    let mut out = Vec::new();
    for (cfg, status) in ctx.scanners.list() {
        out.push(Device {
            kind: "scanner".into(),
            id: cfg.id.clone(),
            name: cfg.station.clone(),
            health: if status.connected {
                Health::Green
            } else {
                Health::Red
            },
            state: if status.connected {
                "connected"
            } else {
                "disconnected"
            }
            .into(),
            state_da: if status.connected {
                "forbundet"
            } else {
                "ikke forbundet"
            }
            .into(),
            since: status.last_frame_at.clone(),
            queue: None,
        });
    }
    for p in super::printing::list_printers(ctx).await? {
        out.push(Device {
            kind: "printer".into(),
            id: p.printer.id.clone(),
            name: p.printer.name.clone(),
            health: printer_health(p.printer.enabled, p.alarm, p.queue_depth),
            state: p.printer.state.clone(),
            state_da: p.state_da.clone(),
            since: Some(p.printer.state_at.clone()),
            queue: Some(p.queue_depth),
        });
    }
    for s in super::cutting::list_stations(ctx).await? {
        let st = &s.station;
        out.push(Device {
            kind: "cutter".into(),
            id: st.id.clone(),
            name: st.name.clone(),
            health: cutter_health(st.enabled, st.manual, &st.connection, st.mode.as_deref()),
            state: match &st.mode {
                Some(m) => format!("{} {m}", st.connection),
                None => st.connection.clone(),
            },
            state_da: cutter_state_da(&st.connection, st.mode.as_deref()),
            since: st.state_at.clone().or_else(|| st.connection_at.clone()),
            queue: None,
        });
    }
    let rank = |h: Health| match h {
        Health::Red => 0,
        Health::Yellow => 1,
        Health::Green => 2,
    };
    out.sort_by(|a, b| (rank(a.health), &a.kind, &a.id).cmp(&(rank(b.health), &b.kind, &b.id)));
    Ok(out)
}

#[cfg(test)]
mod health_tests {
    use super::*;

    #[test]
    fn printers_and_cutters_are_judged_by_their_state() {
        assert_eq!(printer_health(true, false, 3), Health::Green);
        assert_eq!(printer_health(true, false, 21), Health::Yellow);
        assert_eq!(printer_health(true, true, 0), Health::Red);
        assert_eq!(printer_health(false, true, 0), Health::Yellow);
        assert_eq!(
            cutter_health(true, false, "online", Some("busy")),
            Health::Green
        );
        assert_eq!(
            cutter_health(true, false, "online", Some("paused")),
            Health::Yellow
        );
        assert_eq!(
            cutter_health(true, false, "online", Some("fault")),
            Health::Red
        );
        assert_eq!(cutter_health(true, false, "broken", None), Health::Red);
        assert_eq!(cutter_health(true, true, "unknown", None), Health::Green);
        assert_eq!(
            cutter_health(false, false, "online", Some("idle")),
            Health::Yellow
        );
    }
}
