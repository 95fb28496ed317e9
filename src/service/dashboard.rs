//! The logistics lead's dashboard: what is flowing now. Each figure is read from the orders as
//! they are; nothing is kept apart that could drift from them.

use super::Ctx;
use crate::charts::{self, Segment};
use crate::domain::order::OrderStatus;
use crate::error::{Error, Result};
use serde::Serialize;

/// The stages of an order, in the order it goes through them (`cancelled` is not a stage;
/// `delivered` counts today's). A stage is an order status.
pub const STAGES: [OrderStatus; 9] = [
    OrderStatus::Received,
    OrderStatus::Backordered,
    OrderStatus::Allocated,
    OrderStatus::Picking,
    OrderStatus::Cutting,
    OrderStatus::Picked,
    OrderStatus::Packed,
    OrderStatus::Shipped,
    OrderStatus::Delivered,
];

/// The colour of a stage in the charts (the same on the page and in a download).
pub fn colour(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::Received => "#9e9e9e",
        OrderStatus::Backordered => "#c62828",
        OrderStatus::Allocated => "#6d8fb3",
        OrderStatus::Picking => "#1f6fb2",
        OrderStatus::Cutting => "#7b4fa0",
        OrderStatus::Picked => "#00838f",
        OrderStatus::Packed => "#ef8f00",
        OrderStatus::Shipped => "#2e7d32",
        OrderStatus::Delivered => "#1b5e20",
        OrderStatus::Cancelled => "#000000",
    }
}

/// Orders in one stage now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Stage {
    pub stage: OrderStatus,
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
    /// Orders in the warehouse: every stage but `shipped` and `delivered`.
    pub in_warehouse: i64,
    pub age_limit_minutes: i64,
}

/// Reads the flow now.
pub async fn flow_now(ctx: &Ctx) -> Result<FlowNow> {
    let now = chrono::Utc::now();
    let day_start = crate::domain::time::start_of_business_day(super::today());
    let rows = crate::store::dashboard::stage_counts(
        ctx.db.pool(),
        &crate::domain::time::to_db(day_start),
    )
    .await?;
    let limit = i64::from(ctx.config.dashboard.stage_age_limit_minutes);
    let mut stages = Vec::with_capacity(STAGES.len());
    for stage in STAGES {
        let row = rows.iter().find(|r| r.status == stage.as_str());
        let orders = row.map_or(0, |r| r.orders);
        let oldest = match row.and_then(|r| r.oldest.as_deref()) {
            Some(t) if orders > 0 => Some(crate::domain::time::from_db(t).ok_or_else(|| {
                Error::Internal(anyhow::anyhow!("orders.updated_at {t:?} is no instant"))
            })?),
            _ => None,
        };
        let oldest_minutes = oldest.map(|t| (now - t).num_minutes().max(0));
        let waits_here = !matches!(stage, OrderStatus::Shipped | OrderStatus::Delivered);
        stages.push(Stage {
            stage,
            orders,
            oldest_minutes,
            late: waits_here && oldest_minutes.is_some_and(|m| m > limit),
        });
    }
    let in_warehouse = stages
        .iter()
        .filter(|s| !matches!(s.stage, OrderStatus::Shipped | OrderStatus::Delivered))
        .map(|s| s.orders)
        .sum();
    Ok(FlowNow {
        at: crate::domain::time::to_db(now),
        stages,
        in_warehouse,
        age_limit_minutes: limit,
    })
}

/// The flow as a stacked bar (SVG), each stage in its colour; `label` names a stage in the
/// reader's language.
pub fn flow_chart(flow: &FlowNow, label: impl Fn(OrderStatus) -> String, title: &str) -> String {
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
