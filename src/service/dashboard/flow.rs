//! The flow now: orders per stage, with the age of the oldest in each. A stage is an order
//! status, except that packed orders are split by their parcels' booking (`packed`: waiting
//! for it, `booked`: waiting for the handover) and that packed or handed-over orders with an
//! open problem (a booking the carrier rejected, a delivery exception nobody has dealt with)
//! are in `exception` until it is resolved.

use super::super::Ctx;
use crate::charts::{self, Segment};
use crate::error::{Error, Result};
use serde::Serialize;

/// A stage of the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlowStage {
    Received,
    Backordered,
    Allocated,
    Picking,
    Cutting,
    /// Picked, waiting for packing.
    Picked,
    /// Packed, its parcels waiting for their booking.
    Packed,
    /// Every parcel booked: waiting for the handover.
    Booked,
    /// Handed over to the carrier.
    Shipped,
    /// Delivered today.
    Delivered,
    /// A booking rejected or an open delivery exception.
    Exception,
}

impl FlowStage {
    pub fn as_str(self) -> &'static str {
        match self {
            FlowStage::Received => "received",
            FlowStage::Backordered => "backordered",
            FlowStage::Allocated => "allocated",
            FlowStage::Picking => "picking",
            FlowStage::Cutting => "cutting",
            FlowStage::Picked => "picked",
            FlowStage::Packed => "packed",
            FlowStage::Booked => "booked",
            FlowStage::Shipped => "shipped",
            FlowStage::Delivered => "delivered",
            FlowStage::Exception => "exception",
        }
    }

    /// Whether an order in this stage waits for someone in the warehouse (and so can be late).
    fn waits_here(self) -> bool {
        !matches!(self, FlowStage::Shipped | FlowStage::Delivered)
    }
}

/// The stages in the order an order goes through them (`cancelled` is not a stage; `delivered`
/// counts today's).
pub const STAGES: [FlowStage; 11] = [
    FlowStage::Received,
    FlowStage::Backordered,
    FlowStage::Allocated,
    FlowStage::Picking,
    FlowStage::Cutting,
    FlowStage::Picked,
    FlowStage::Packed,
    FlowStage::Booked,
    FlowStage::Shipped,
    FlowStage::Delivered,
    FlowStage::Exception,
];

/// The colour of a stage in the charts (the same on the page and in a download).
pub fn colour(s: FlowStage) -> &'static str {
    match s {
        FlowStage::Received => "#9e9e9e",
        FlowStage::Backordered => "#c62828",
        FlowStage::Allocated => "#6d8fb3",
        FlowStage::Picking => "#1f6fb2",
        FlowStage::Cutting => "#7b4fa0",
        FlowStage::Picked => "#00838f",
        FlowStage::Packed => "#ef8f00",
        FlowStage::Booked => "#f9c74f",
        FlowStage::Shipped => "#2e7d32",
        FlowStage::Delivered => "#1b5e20",
        FlowStage::Exception => "#6a1b1b",
    }
}

/// Orders in one stage now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Stage {
    pub stage: FlowStage,
    pub orders: i64,
    /// Minutes since the oldest order in the stage last changed; absent when it is empty.
    pub oldest_minutes: Option<i64>,
    /// The oldest has waited past `dashboard.stage_age_limit_minutes` (not for `shipped` and
    /// `delivered`, which wait for nobody in the warehouse).
    pub late: bool,
}

/// Orders per stage now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FlowNow {
    /// When it was read.
    pub at: String,
    pub stages: Vec<Stage>,
    /// Orders in the warehouse: every stage but `shipped` and `delivered`, and exceptions of
    /// orders not yet handed over.
    pub in_warehouse: i64,
    pub age_limit_minutes: i64,
}

/// Reads the flow now.
pub async fn flow_now(ctx: &Ctx) -> Result<FlowNow> {
    let now = chrono::Utc::now();
    let day_start = crate::domain::time::start_of_business_day(super::super::today());
    let rows = crate::store::dashboard::stage_counts(ctx.db.pool(), day_start).await?;
    let limit = i64::from(ctx.config.dashboard.stage_age_limit_minutes);
    // Exceptions of orders handed over already are not in the warehouse.
    let exceptions_outside: i64 = rows
        .iter()
        .filter(|r| r.status == "exception:shipped")
        .map(|r| r.orders)
        .sum();
    let mut stages = Vec::with_capacity(STAGES.len());
    for stage in STAGES {
        // An exception row is `exception:<status>`, one per status it comes from.
        let mine: Vec<_> = rows
            .iter()
            .filter(|r| match stage {
                FlowStage::Exception => r.status.starts_with("exception:"),
                _ => r.status == stage.as_str(),
            })
            .collect();
        let orders: i64 = mine.iter().map(|r| r.orders).sum();
        let mut oldest = None;
        for t in &mine {
            let Some(t) = t.oldest.as_deref() else {
                continue;
            };
            let t = crate::domain::time::from_db(t).ok_or_else(|| {
                Error::Internal(anyhow::anyhow!("orders.updated_at {t:?} is no instant"))
            })?;
            oldest = Some(oldest.map_or(t, |o: chrono::DateTime<chrono::Utc>| o.min(t)));
        }
        let oldest_minutes = oldest.map(|t| (now - t).num_minutes().max(0));
        stages.push(Stage {
            stage,
            orders,
            oldest_minutes,
            late: stage.waits_here() && oldest_minutes.is_some_and(|m| m > limit),
        });
    }
    let in_warehouse = stages
        .iter()
        .filter(|s| s.stage.waits_here())
        .map(|s| s.orders)
        .sum::<i64>()
        - exceptions_outside;
    Ok(FlowNow {
        at: crate::domain::time::to_db(now),
        stages,
        in_warehouse,
        age_limit_minutes: limit,
    })
}

/// The flow as a stacked bar (SVG), each stage in its colour; `label` names a stage in the
/// reader's language.
pub fn flow_chart(flow: &FlowNow, label: impl Fn(FlowStage) -> String, title: &str) -> String {
    let segments: Vec<Segment> = flow
        .stages
        .iter()
        .map(|s| Segment {
            label: label(s.stage),
            value: s.orders as f64,
            colour: colour(s.stage),
        })
        .collect();
    charts::stacked_bar(&segments, 960, 48, title)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stage_has_its_own_name_and_colour() {
        let names: std::collections::BTreeSet<_> = STAGES.iter().map(|s| s.as_str()).collect();
        let colours: std::collections::BTreeSet<_> = STAGES.iter().map(|s| colour(*s)).collect();
        assert_eq!((names.len(), colours.len()), (STAGES.len(), STAGES.len()));
        for s in STAGES {
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
        }
    }
}
