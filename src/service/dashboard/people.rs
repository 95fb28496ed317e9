//! People and stations on the dashboard: each picker's lines per hour and refused scans, each
//! pack station's parcels and each cutting station's jobs and faults; who is idle.

use super::super::Ctx;
use crate::error::Result;
use crate::store::dashboard::floor as db;
use serde::Serialize;

/// One picker today.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Picker {
    /// The user (or token) name.
    pub name: String,
    /// Pick lines confirmed in the last hour, and today.
    pub lines_last_hour: i64,
    pub lines_today: i64,
    pub packs_today: i64,
    /// Scans refused today (wrong product, location, lot, ...).
    pub scans_refused_today: i64,
    /// The wave the picker holds now, if any.
    pub wave: Option<i64>,
    /// The last confirmation, as stored.
    pub last_at: Option<String>,
    /// Holds a wave but confirmed nothing for `dashboard.idle_minutes`.
    pub idle: bool,
}

/// One pack or cutting station today.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Station {
    /// `pack` or `cut`.
    pub kind: String,
    pub station: String,
    /// Parcels closed (pack) or cutting jobs finished (cut), in the last hour and today.
    pub last_hour: i64,
    pub today: i64,
    /// Cutting jobs failed today (0 at a pack station).
    pub faults_today: i64,
    pub last_at: Option<String>,
    /// Nothing done for `dashboard.idle_minutes` (only said of a station that worked today).
    pub idle: bool,
}

/// People and stations now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Floor {
    pub pickers: Vec<Picker>,
    pub stations: Vec<Station>,
    pub idle_minutes: i64,
}

/// The name in an actor (`user:pia`, `token:scanner-3`).
fn person(actor: &str) -> &str {
    actor.split_once(':').map_or(actor, |(_, n)| n)
}

/// Whether the last activity (as stored) is more than `limit` minutes before `now`; never is.
pub fn idle_since(last: Option<&str>, now: chrono::DateTime<chrono::Utc>, limit: i64) -> bool {
    last.and_then(crate::domain::time::from_db)
        .is_none_or(|t| (now - t).num_minutes() >= limit)
}

/// Reads the floor now.
pub async fn floor(ctx: &Ctx) -> Result<Floor> {
    use crate::domain::time::{start_of_business_day, to_db};
    let now = chrono::Utc::now();
    let day = to_db(start_of_business_day(super::super::today()));
    let hour = to_db(now - chrono::Duration::hours(1));
    let pool = ctx.db.pool();
    let limit = i64::from(ctx.config.dashboard.idle_minutes);
    let db::FloorWork {
        pickers: work,
        refusals: refused,
        on_waves,
        packing,
        cutting,
    } = db::floor_work(pool, &day, &hour).await?;
    let mut names: Vec<String> = work.iter().map(|w| person(&w.actor).to_string()).collect();
    names.extend(refused.iter().map(|(a, _)| person(a).to_string()));
    names.extend(on_waves.iter().map(|(p, _)| p.clone()));
    names.sort();
    names.dedup();
    let mut pickers: Vec<Picker> = names
        .into_iter()
        .map(|name| {
            let mine = work.iter().filter(|w| person(&w.actor) == name);
            let last_at = mine.clone().map(|w| w.last_at.clone()).max();
            let wave = on_waves
                .iter()
                .rev()
                .find(|(p, _)| *p == name)
                .map(|(_, w)| *w);
            Picker {
                lines_last_hour: mine.clone().map(|w| w.lines_last_hour).sum(),
                lines_today: mine.clone().map(|w| w.lines_today).sum(),
                packs_today: mine.map(|w| w.packs_today).sum(),
                scans_refused_today: refused
                    .iter()
                    .filter(|(a, _)| person(a) == name)
                    .map(|(_, n)| n)
                    .sum(),
                idle: wave.is_some() && idle_since(last_at.as_deref(), now, limit),
                wave,
                last_at,
                name,
            }
        })
        .collect();
    // The idle first, then the busiest.
    pickers.sort_by(|a, b| {
        (!a.idle, -a.lines_last_hour, &a.name).cmp(&(!b.idle, -b.lines_last_hour, &b.name))
    });
    let mut stations = Vec::new();
    for (kind, rows) in [("pack", packing), ("cut", cutting)] {
        stations.extend(rows.into_iter().map(|w| Station {
            kind: kind.into(),
            idle: idle_since(w.last_at.as_deref(), now, limit),
            station: w.station,
            last_hour: w.done_last_hour,
            today: w.done_today,
            faults_today: w.faults_today,
            last_at: w.last_at,
        }));
    }
    Ok(Floor {
        pickers,
        stations,
        idle_minutes: limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_is_no_activity_for_the_limit() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
            .unwrap()
            .to_utc();
        assert!(idle_since(None, now, 10));
        assert!(idle_since(Some("2026-12-04T09:50:00.000000Z"), now, 10));
        assert!(!idle_since(Some("2026-12-04T09:51:00.000000Z"), now, 10));
        assert_eq!(person("user:pia"), "pia");
        assert_eq!(person("pia"), "pia");
    }
}
