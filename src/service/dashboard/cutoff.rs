//! The carriers' cut-off on the dashboard: per carrier with a cut-off (`carrier.cutoff`), the
//! minutes left today, the parcels packed but not handed over, the orders still to pack that
//! must leave today, and whether the rate that needs beats the rate of the last hour.

use super::super::Ctx;
use crate::error::Result;
use crate::store::dashboard::floor as db;
use chrono::Utc;
use serde::Serialize;

/// One carrier's day against its cut-off.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CarrierCutoff {
    pub carrier: String,
    /// The last handover of the day (`HH:MM`, Copenhagen).
    pub cutoff: String,
    /// Minutes until it (negative once it has passed).
    pub minutes_left: i64,
    /// Closed parcels for this carrier not yet handed over.
    pub packed_waiting: i64,
    /// Orders not yet packed that must leave today (delivery date tomorrow or earlier), by
    /// the carrier rules on their postcode (a rule that names parcel types cannot match before
    /// the parcel type is known: such orders count under the default carrier until packed).
    pub to_pack: i64,
    /// Parcels handed over to this carrier in the last hour.
    pub handed_over_last_hour: i64,
    /// Parcels per hour needed from now to the cut-off (absent once it has passed or when
    /// nothing is left).
    pub needed_per_hour: Option<f64>,
    /// `on_track`, `behind` (the needed rate beats the last hour's), `missed` (past the cut-off
    /// with parcels left) or `done` (nothing left).
    pub status: String,
}

pub use crate::domain::time::cutoff_at;

/// The rate needed and the verdict: `left` parcels in `minutes_left`, against `last_hour`.
pub fn judge(left: i64, minutes_left: i64, last_hour: i64) -> (Option<f64>, &'static str) {
    if left == 0 {
        return (None, "done");
    }
    if minutes_left <= 0 {
        return (None, "missed");
    }
    let needed = left as f64 * 60.0 / minutes_left as f64;
    (
        Some((needed * 10.0).round() / 10.0),
        if needed > last_hour as f64 {
            "behind"
        } else {
            "on_track"
        },
    )
}

/// Reads each carrier's cut-off now.
pub async fn cutoffs(ctx: &Ctx) -> Result<Vec<CarrierCutoff>> {
    let cfg = &ctx.config.carrier;
    if cfg.cutoff.is_empty() {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    let today = super::super::today();
    let pool = ctx.db.pool();
    let due_by = (today + chrono::Duration::days(1)).to_string();
    let hour_ago = crate::domain::time::to_db(now - chrono::Duration::hours(1));
    let db::CutoffWork {
        waiting,
        unpacked,
        handed_over: handed,
    } = db::cutoff_work(pool, &due_by, &hour_ago).await?;
    let carrier_of = |postcode: &str| {
        crate::domain::carrier::choose(&cfg.rules, &cfg.default, &cfg.default_service, "", postcode)
            .carrier
    };
    let mut out = Vec::new();
    for (carrier, hh_mm) in &cfg.cutoff {
        let Some(at) = cutoff_at(today, hh_mm) else {
            continue;
        };
        let minutes_left = (at - now).num_minutes();
        let packed_waiting = waiting
            .iter()
            .filter(|(c, _)| c.as_deref().unwrap_or(&cfg.default) == carrier)
            .map(|(_, n)| n)
            .sum();
        let to_pack = unpacked
            .iter()
            .filter(|(pc, _)| carrier_of(pc) == *carrier)
            .map(|(_, n)| n)
            .sum();
        let last_hour = handed
            .iter()
            .filter(|(c, _)| c == carrier)
            .map(|(_, n)| n)
            .sum();
        let (needed_per_hour, status) = judge(packed_waiting + to_pack, minutes_left, last_hour);
        out.push(CarrierCutoff {
            carrier: carrier.clone(),
            cutoff: hh_mm.clone(),
            minutes_left,
            packed_waiting,
            to_pack,
            handed_over_last_hour: last_hour,
            needed_per_hour,
            status: status.into(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn the_cutoff_is_copenhagen_time_in_winter_and_summer() {
        let winter = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let summer = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
        assert_eq!(
            cutoff_at(winter, "16:30").unwrap().to_rfc3339(),
            "2026-12-04T15:30:00+00:00"
        );
        assert_eq!(
            cutoff_at(summer, "16:30").unwrap().to_rfc3339(),
            "2026-07-01T14:30:00+00:00"
        );
        assert_eq!(cutoff_at(winter, "25:00"), None);
    }

    #[test]
    fn behind_when_the_rate_needed_beats_the_last_hour() {
        assert_eq!(judge(0, 30, 0), (None, "done"));
        assert_eq!(judge(5, -1, 100), (None, "missed"));
        // 120 parcels in 2 hours: 60 an hour needed.
        assert_eq!(judge(120, 120, 50), (Some(60.0), "behind"));
        assert_eq!(judge(120, 120, 60), (Some(60.0), "on_track"));
    }
}
