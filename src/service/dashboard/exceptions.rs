//! The exceptions on the dashboard: rejected bookings, delivery exceptions, today's short
//! picks, failed cutting jobs and backorders older than `dashboard.backorder_days`; each with
//! how many there are, the oldest few, and a link to where a lead resolves them.

use super::super::Ctx;
use crate::error::Result;
use crate::store::dashboard::floor::{self as db, ExceptionKind};
use serde::Serialize;

/// The kinds, as the API names them, with the page where each is resolved.
pub const KINDS: [(ExceptionKind, &str, &str); 5] = [
    (
        ExceptionKind::BookingRejected,
        "booking_rejected",
        "/carriers#rejected",
    ),
    (
        ExceptionKind::DeliveryException,
        "delivery_exception",
        "/carriers#delivery",
    ),
    (ExceptionKind::CutFailed, "cut_failed", "/#hulklip"),
    (ExceptionKind::ShortPick, "short_pick", "/#exceptions"),
    (ExceptionKind::OldBackorder, "old_backorder", "/#backorders"),
];

/// The oldest shown of each kind.
const SHOWN: u8 = 5;

/// One open exception: its order (external id), a word on it and since when (as stored).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExceptionItem {
    pub order: String,
    /// The carrier's error, the tracking status, the location, or the cutting job's reason.
    pub detail: Option<String>,
    pub since: String,
}

/// The open exceptions of one kind.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExceptionGroup {
    /// `booking_rejected`, `delivery_exception`, `cut_failed`, `short_pick` or `old_backorder`.
    pub kind: String,
    pub total: i64,
    /// Where a lead resolves them.
    pub link: String,
    /// The oldest (at most 5).
    pub items: Vec<ExceptionItem>,
}

/// Reads the open exceptions now; kinds without any are left out.
pub async fn exceptions(ctx: &Ctx) -> Result<Vec<ExceptionGroup>> {
    use crate::domain::time::{start_of_business_day, to_db};
    let day = to_db(start_of_business_day(super::super::today()));
    let days = i64::from(ctx.config.dashboard.backorder_days);
    let old = to_db(chrono::Utc::now() - chrono::Duration::days(days));
    let kinds = KINDS.map(|(kind, _, _)| kind);
    let counted = db::exceptions(ctx.db.pool(), &kinds, &day, &old, SHOWN).await?;
    let mut out = Vec::new();
    for ((_, name, link), (total, rows)) in KINDS.into_iter().zip(counted) {
        if total == 0 {
            continue;
        }
        out.push(ExceptionGroup {
            kind: name.into(),
            total,
            link: link.into(),
            items: rows
                .into_iter()
                .map(|r| ExceptionItem {
                    order: r.order,
                    detail: r.detail,
                    since: r.at,
                })
                .collect(),
        });
    }
    Ok(out)
}
