//! `konsign demo history` on both backends: a generated fortnight's figures in the lead's report
//! (throughput, cycle time, on-time rate) and on the dashboard (every stage of the flow,
//! yesterday's and last week's hours) agree with the same figures counted here from the rows,
//! day by day and hour by hour; a second run adds
//! nothing; the rows hold together (foreign keys, SSCCs, identities that go on after them); and a
//! database that is not a demo is refused.

mod common;

use chrono::{NaiveDate, Utc};
use common::Backend;
use konsign::service::demo_history::{generate, HistoryOptions};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::Row;
use std::collections::BTreeMap;

on_both_backends!(
    a_generated_history_is_what_the_reports_show,
    only_a_demo_database_gets_a_history
);

const OPTS: HistoryOptions = HistoryOptions {
    days: 14,
    orders_per_day: 40,
    seed: 7,
};

/// The Copenhagen day of each stored instant that `sql` selects (as `t`), with the number in
/// `n` (1 when absent).
async fn per_day(pool: &sqlx::AnyPool, sql: &str) -> BTreeMap<NaiveDate, i64> {
    let mut out = BTreeMap::new();
    for ((day, _), n) in per_hour(pool, sql).await {
        *out.entry(day).or_default() += n;
    }
    out
}

/// The same by Copenhagen day and hour.
async fn per_hour(pool: &sqlx::AnyPool, sql: &str) -> BTreeMap<(NaiveDate, usize), i64> {
    let mut out = BTreeMap::new();
    for r in sqlx::query(sql).fetch_all(pool).await.unwrap() {
        let t: String = r.try_get("t").unwrap();
        let n: i64 = r.try_get("n").unwrap_or(1);
        let local = chrono::DateTime::parse_from_rfc3339(&t)
            .unwrap()
            .with_timezone(&chrono_tz::Europe::Copenhagen);
        *out.entry((local.date_naive(), chrono::Timelike::hour(&local) as usize))
            .or_default() += n;
    }
    out
}

async fn a_generated_history_is_what_the_reports_show(b: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(url) = common::database_url(b, dir.path()).await else {
        return;
    };
    // The default carrier leaves at 15:00: the on-time rate is judged by it.
    let app = common::start_app(url, Some(dir), |c| {
        c.carrier
            .cutoff
            .insert(c.carrier.default.clone(), "15:00".into());
    })
    .await;
    let ctx = &app.ctx;
    let pool = ctx.db.pool().clone();
    let mut seen = Vec::new();
    let r = generate(ctx, OPTS, &mut |p| seen.push((p.day, p.orders, p.settling)))
        .await
        .expect("history");
    assert!(r.demo_loaded, "an empty database gets the demo data first");
    assert_eq!((r.days_written, r.days_skipped), (14, 0));
    assert_eq!(
        seen.iter().filter(|s| !s.2).count(),
        14,
        "progress after each day"
    );
    assert_eq!(
        seen.last().map(|s| (s.1, s.2)),
        Some((r.orders, true)),
        "then the last step, named"
    );
    let orders = common::scalar(
        &pool,
        "select count(*) from orders where created_by = 'history'",
    )
    .await;
    assert_eq!(orders as u64, r.orders);
    // About 40 a day over two weeks, weekends and orders picked today aside.
    assert!((300..700).contains(&orders), "{orders} orders");

    // The report's figures per day, against the rows counted here.
    let today = konsign::service::today();
    let from = today - chrono::Duration::days(15);
    let admin = app.user("boss", konsign::domain::auth::Role::Admin).await;
    let rep = admin
        .get(&format!(
            "/api/reports/throughput?from={from}&to={today}&period=day"
        ))
        .await;
    assert_eq!(rep.status, StatusCode::OK, "{:?}", rep.body);
    let expected = [
        per_day(&pool, "select created_at as t from orders").await,
        per_day(&pool, "select at as t, qty as n from pick_confirms").await,
        per_day(
            &pool,
            "select updated_at as t from cut_jobs where state = 'finished'",
        )
        .await,
        per_day(&pool, "select closed_at as t from parcels").await,
        per_day(&pool, "select at as t from cage_parcels").await,
    ];
    let rows = rep.body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 16);
    let mut nonzero = [0; 5];
    for row in rows {
        let day: NaiveDate = row["period"].as_str().unwrap().parse().unwrap();
        for (m, exp) in expected.iter().enumerate() {
            let want = exp.get(&day).copied().unwrap_or(0);
            assert_eq!(row["values"][m], json!(want), "{day} measure {m}: {row}");
            if want > 0 {
                nonzero[m] += 1;
            }
        }
    }
    assert!(
        nonzero.iter().all(|n| *n >= 8),
        "days with each figure: {nonzero:?}"
    );
    // Cycle time: intake to handover per handover day, the median counted here.
    let mut cycles: BTreeMap<NaiveDate, Vec<i64>> = BTreeMap::new();
    for r in sqlx::query(
        "select o.created_at as r, cp.at as h from orders o join parcels p on p.order_id = o.id
         join cage_parcels cp on cp.parcel_id = p.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    {
        let t = |c: &str| {
            chrono::DateTime::parse_from_rfc3339(&r.try_get::<String, _>(c).unwrap())
                .unwrap()
                .with_timezone(&Utc)
        };
        let (rec, handed) = (t("r"), t("h"));
        let day = handed
            .with_timezone(&chrono_tz::Europe::Copenhagen)
            .date_naive();
        cycles
            .entry(day)
            .or_default()
            .push((handed - rec).num_minutes());
    }
    // On time: handed over by the first weekday cut-off after the order's last reservation.
    let mut on_time: BTreeMap<NaiveDate, (i64, i64)> = BTreeMap::new();
    for r in sqlx::query(
        "select max(cp.at) as h, (select max(r.created_at) from reservations r where r.order_id = o.id) as p
         from orders o join parcels p on p.order_id = o.id join cage_parcels cp on cp.parcel_id = p.id
         group by o.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    {
        let t = |c: &str| {
            chrono::DateTime::parse_from_rfc3339(&r.try_get::<String, _>(c).unwrap())
                .unwrap()
                .with_timezone(&Utc)
        };
        let (handed, pickable) = (t("h"), t("p"));
        let due = konsign::domain::time::due_by(pickable, "15:00").unwrap();
        let e = on_time
            .entry(
                handed
                    .with_timezone(&chrono_tz::Europe::Copenhagen)
                    .date_naive(),
            )
            .or_default();
        e.0 += 1;
        e.1 += i64::from(handed <= due);
    }
    let (mut late, mut judged) = (0, 0);
    for row in rows {
        let day: NaiveDate = row["period"].as_str().unwrap().parse().unwrap();
        let (j, o) = on_time.get(&day).copied().unwrap_or_default();
        assert_eq!(
            (&row["orders_judged"], &row["orders_on_time"]),
            (&json!(j), &json!(o)),
            "{day}"
        );
        (late, judged) = (late + j - o, judged + j);
    }
    // Orders taken in after the cut-off but picked the next day are late; most are not.
    assert!(late > 0 && late < judged / 2, "{late} late of {judged}");
    for row in rows {
        let day: NaiveDate = row["period"].as_str().unwrap().parse().unwrap();
        let mut c = cycles.get(&day).cloned().unwrap_or_default();
        c.sort_unstable();
        assert_eq!(row["orders_handed_over"], json!(c.len()), "{day}");
        let p50 = (!c.is_empty()).then(|| c[(50 * c.len()).div_ceil(100).max(1) - 1]);
        assert_eq!(row["cycle_p50_minutes"], json!(p50), "{day}");
    }
    // The days two or more back are kept after the first report; read again, they give the
    // same report.
    let kept = common::scalar(&pool, "select count(*) from report_days").await;
    assert_eq!(kept, 14, "days from {from} to two days ago are kept");
    let again = admin
        .get(&format!(
            "/api/reports/throughput?from={from}&to={today}&period=day"
        ))
        .await;
    assert_eq!(again.body, rep.body);
    let weeks = |r: &serde_json::Value| r["totals"].clone();
    let by_week = admin
        .get(&format!(
            "/api/reports/throughput?from={from}&to={today}&period=week"
        ))
        .await;
    assert_eq!(weeks(&by_week.body), weeks(&rep.body));
    // Weekends take in orders but pick nothing.
    for row in rows {
        let day: NaiveDate = row["period"].as_str().unwrap().parse().unwrap();
        if day != today
            && matches!(
                chrono::Datelike::weekday(&day),
                chrono::Weekday::Sat | chrono::Weekday::Sun
            )
        {
            assert_eq!(row["values"][1], json!(0), "{day} is a weekend: {row}");
        }
    }

    // The rows hold together: every line picked in full, one parcel per order with a valid
    // SSCC, delivered orders with a delivery event.
    let q = |sql: &'static str| common::scalar(&pool, sql);
    assert_eq!(q("select count(*) from order_lines l join orders o on o.id = l.order_id where o.created_by = 'history' and l.picked <> l.quantity").await, 0);
    assert_eq!(q("select count(*) from parcels").await, orders);
    assert_eq!(
        q("select count(*) from orders where status = 'delivered' and created_by = 'history'")
            .await,
        q("select count(*) from tracking_events where status = 'delivered'").await
    );
    for r in sqlx::query("select sscc from parcels")
        .fetch_all(&pool)
        .await
        .unwrap()
    {
        let s: String = r.try_get("sscc").unwrap();
        konsign::domain::sscc::Sscc::parse(&s).expect("a valid SSCC");
    }
    if b == Backend::Sqlite {
        let broken = sqlx::query("pragma foreign_key_check")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert!(
            broken.is_empty(),
            "{} rows break a foreign key",
            broken.len()
        );
        // The booking worker's poll reads the few bookings waiting for a label, not the year's.
        let plan: Vec<String> = sqlx::query(&format!(
            "explain query plan {}",
            konsign::store::bookings::LABELS_TO_PRINT
        ))
        .bind(50i64)
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>("detail").unwrap())
        .collect();
        assert!(
            plan.iter().any(|d| d.contains("bookings_label_due")),
            "{plan:?}"
        );
    }
    // The dashboard reads the history: parcels still on their way are in the handed-over stage.
    let d = konsign::service::dashboard::read(ctx)
        .await
        .expect("the dashboard reads the history");
    let on_way = d
        .flow
        .stages
        .iter()
        .find(|s| s.stage == konsign::service::dashboard::FlowStage::Shipped)
        .map_or(0, |s| s.orders);
    assert_eq!(
        on_way,
        q("select count(*) from orders where status = 'shipped'").await
    );
    // Every stage of the flow, as the orders table counts it.
    let day_start =
        konsign::domain::time::to_db(konsign::domain::time::start_of_business_day(today));
    for st in &d.flow.stages {
        let n = common::scalar(
            &pool,
            &format!(
                "select count(*) from orders where status = '{}'{}",
                st.stage.as_str(),
                // Delivered counts today's deliveries only.
                if st.stage == konsign::service::dashboard::FlowStage::Delivered {
                    format!(" and updated_at >= '{day_start}'")
                } else {
                    String::new()
                }
            ),
        )
        .await;
        assert_eq!(st.orders, n, "{:?}", st.stage);
    }
    // Yesterday's and last week's hours on the dashboard, as the rows count them.
    let hours = [
        per_hour(&pool, "select at as t, qty as n from pick_confirms").await,
        per_hour(
            &pool,
            "select updated_at as t from cut_jobs where state = 'finished'",
        )
        .await,
        per_hour(&pool, "select closed_at as t from parcels").await,
        per_hour(&pool, "select at as t from cage_parcels").await,
    ];
    let mut seen_any = 0;
    for (series, exp) in d.throughput.series.iter().zip(&hours) {
        for (back, got) in [(1, &series.yesterday), (7, &series.last_week)] {
            let day = today - chrono::Duration::days(back);
            let want: Vec<i64> = (0..24)
                .map(|h| exp.get(&(day, h)).copied().unwrap_or(0))
                .collect();
            assert_eq!(got.to_vec(), want, "{} {back} days back", series.measure);
            seen_any += want.iter().sum::<i64>();
        }
    }
    // (Yesterday or last week may be a weekend; over the four measures something happened.)
    assert!(
        seen_any > 0
            || matches!(
                chrono::Datelike::weekday(&today),
                chrono::Weekday::Sun | chrono::Weekday::Mon
            )
    );
    // The stock ledger is untouched: the history moves no stock.
    assert_eq!(
        q("select count(*) from ledger where kind = 'pick'").await,
        0
    );

    // A second run adds nothing.
    let again = generate(ctx, OPTS, &mut |_| {}).await.expect("again");
    assert_eq!(
        (again.days_written, again.days_skipped, again.orders),
        (0, 14, 0)
    );
    assert_eq!(
        q("select count(*) from orders where created_by = 'history'").await,
        orders
    );

    // Work goes on after the history: a new order gets the next id, its parcel the next SSCC.
    let gtin: String = sqlx::query("select gtin from products order by gtin")
        .fetch_one(&pool)
        .await
        .unwrap()
        .try_get("gtin")
        .unwrap();
    let r = admin
        .post(
            "/api/orders",
            json!({
                "external_id": "AFTER-1",
                "payer": { "code": "0751", "name": "Aarhus Kommune", "ean": "5798000000001" },
                "grant_ref": "BEV-1", "citizen_id": "c-after",
                "recipient": { "name": "A B", "address_line1": "Vej 1", "postcode": "8000", "city": "Aarhus C" },
                "delivery_date": common::in_days(3),
                "lines": [{ "gtin": gtin, "quantity": 1 }] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let max = q("select max(id) from orders where created_by = 'history'").await;
    let id = q("select id from orders where external_id = 'AFTER-1'").await;
    assert!(id > max, "order {id} after the history's {max}");

    // The carriers page shows a rejected booking however many bookings came after it (it
    // read the newest 500 of every state and looked for rejected ones among them).
    assert!(
        q("select count(*) from bookings").await > 500,
        "more bookings than one read of 500"
    );
    let oldest = q("select min(id) from bookings").await;
    sqlx::query(
        "update bookings set state = 'rejected', last_error = 'address refused' where id = $1",
    )
    .bind(oldest)
    .execute(&pool)
    .await
    .unwrap();
    let page = admin.get("/carriers?lang=en").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.body.as_str().unwrap();
    assert!(
        html.contains(&format!("data-booking=\"{oldest}\""))
            && html.contains("Rejected bookings (1)"),
        "{html}"
    );
    app.stop().await;
}

async fn only_a_demo_database_gets_a_history(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    // A database with a user of its own is not a demo database.
    app.admin().await;
    let e = generate(&app.ctx, OPTS, &mut |_| {}).await.unwrap_err();
    assert!(e.to_string().contains("not empty"), "{e}");
    assert_eq!(common::count(&app.ctx, "orders").await, 0);
    let e = generate(&app.ctx, HistoryOptions { days: 0, ..OPTS }, &mut |_| {})
        .await
        .unwrap_err();
    assert!(e.to_string().contains("days"), "{e}");
    app.stop().await;
}
