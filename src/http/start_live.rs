//! The lead's start page, live: the orders-by-status table re-reads `/api/order-counts` every
//! few seconds, so counts move as orders arrive, are picked, packed and shipped.

use super::texts::{t, Lang};
use crate::domain::order::OrderStatus;
use maud::{html, Markup, PreEscaped};

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
        script { (PreEscaped(ORDER_COUNTS_JS)) }
    }
}

const ORDER_COUNTS_JS: &str = r#"
(() => {
const table = document.getElementById('orders');
const labels = JSON.parse(table.dataset.texts);
async function poll() {
  try {
    const r = await fetch('/api/order-counts');
    if (!r.ok) return;
    const counts = await r.json();
    const max = Math.max(1, ...counts.map((c) => c.count));
    const body = table.querySelector('tbody');
    body.replaceChildren(...counts.map((c) => {
      const tr = document.createElement('tr');
      const a = document.createElement('td'); a.textContent = labels[c.status] || c.status;
      const n = document.createElement('td'); n.className = 'n'; n.textContent = c.count;
      const b = document.createElement('td'); b.className = 'bar';
      const bars = document.createElement('div'); bars.className = 'bars';
      const s = document.createElement('span'); s.className = c.status === 'backordered' ? 'q' : 'ok';
      s.style.width = (c.count * 100 / max).toFixed(1) + '%';
      bars.appendChild(s); b.appendChild(bars); tr.append(a, n, b); return tr;
    }));
    document.getElementById('noorders').hidden = counts.length > 0;
  } catch (e) { /* offline: keep the last figures */ } finally { setTimeout(poll, 5000); }
}
setTimeout(poll, 5000);
})();
"#;
