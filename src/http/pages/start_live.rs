//! The lead's start page, live: the orders-by-status table re-reads `/api/order-counts` every
//! few seconds, so counts move as orders arrive, are picked, packed and shipped.

use super::texts::{t, Lang};
use crate::domain::order::OrderStatus;
use maud::{html, Markup};

pub(super) fn orders_table(l: Lang, orders: &[(OrderStatus, i64)]) -> Markup {
    let labels: serde_json::Map<String, serde_json::Value> = OrderStatus::ALL
        .iter()
        .map(|st| {
            (
                st.as_str().to_string(),
                t(l, &format!("st_{}", st.as_str())).into(),
            )
        })
        .collect();
    let max = orders.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    html! {
        p #noorders hidden[!orders.is_empty()] { (t(l, "no_orders")) }
        table #orders data-texts=(serde_json::Value::Object(labels).to_string()) {
            tbody { @for (st, n) in orders { tr {
                td { (t(l, &format!("st_{}", st.as_str()))) } td.n { (n) }
                td.bar { div.bars {
                    span class=(if *st == OrderStatus::Backordered { "q" } else { "ok" })
                        style=(format!("width:{:.1}%", *n as f64 * 100.0 / max as f64)) {}
                } }
            } } }
        }
        (super::assets::script(super::assets::Script::OrderCounts))
    }
}
