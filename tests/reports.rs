//! The lead's reports on both backends: throughput per day and week over a range against the
//! same figures counted from the tables, the range checked, and the CSV and SVG downloads and
//! the page in both languages.

mod common;

use chrono::{Datelike, Timelike};
use common::packing::{self, picked, wedge, POUCH};
use common::Backend;
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(throughput_reports_agree_with_the_tables);

async fn scalar(pool: &sqlx::AnyPool, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn throughput_reports_agree_with_the_tables(b: Backend) {
    let Some((p, _dir)) = packing::setup(b).await else {
        return;
    };
    let pool = p.app.ctx.db.pool().clone();
    let exp = common::in_days(200);
    common::receive(&p.admin, POUCH, "L1", &exp, "A-01-1", 10).await;
    let tote = picked(&p, "R-1", json!([{ "gtin": POUCH, "quantity": 3 }])).await;
    p.packer
        .post("/api/pack-stations/PAK-01/open", json!({ "code": tote }))
        .await;
    let r = p
        .packer
        .post(
            "/api/pack-stations/PAK-01/scan",
            json!({ "scan_id": "k1", "data": wedge(POUCH, &exp, "L1"), "quantity": 3 }),
        )
        .await;
    assert_eq!(r.body["code"], "packed", "{:?}", r.body);
    let closed = packing::close(&p.packer, "PAK-01", json!({ "request_key": "c1" })).await;
    assert_eq!(closed.status, StatusCode::OK, "{:?}", closed.body);

    let today = konsign::service::today();
    let from = (today - chrono::Duration::days(9)).to_string();
    let to = today.to_string();
    let r = p
        .admin
        .get(&format!(
            "/api/reports/throughput?from={from}&to={to}&period=day"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let rep = &r.body;
    assert_eq!(
        rep["measures"],
        json!([
            "orders_received",
            "packs_picked",
            "cut_jobs_finished",
            "parcels_closed",
            "parcels_handed_over"
        ])
    );
    let rows = rep["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 10, "every day of the range, the empty ones too");
    assert_eq!(rows[9]["period"], to.as_str());
    let counted = [
        scalar(&pool, "select count(*) from orders").await,
        scalar(
            &pool,
            "select cast(coalesce(sum(qty), 0) as bigint) from pick_confirms where undone = 0",
        )
        .await,
        scalar(
            &pool,
            "select count(*) from cut_job_log where state = 'finished'",
        )
        .await,
        scalar(
            &pool,
            "select count(*) from parcels where closed_at is not null",
        )
        .await,
        scalar(&pool, "select count(*) from cage_parcels").await,
    ];
    assert_eq!(counted[..2], [1, 3]);
    assert_eq!(counted[3], 1);
    assert_eq!(
        rows[9]["values"],
        json!(counted),
        "today, as the tables count it"
    );
    for row in &rows[..9] {
        assert_eq!(row["values"], json!([0, 0, 0, 0, 0]), "{row}");
    }
    assert_eq!(rep["totals"], json!(counted));
    // The parcel in the heat map at its Copenhagen weekday and hour.
    let at: String = sqlx::query_scalar("select closed_at from parcels")
        .fetch_one(&pool)
        .await
        .unwrap();
    let local = konsign::domain::time::from_db(&at)
        .unwrap()
        .with_timezone(&chrono_tz::Europe::Copenhagen);
    let heat = &rep["parcels_by_weekday_hour"];
    assert_eq!(heat.as_array().unwrap().len(), 7);
    assert_eq!(
        heat[local.weekday().num_days_from_monday() as usize][local.hour() as usize],
        1
    );
    let sum: i64 = heat
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d.as_array().unwrap().iter().map(|v| v.as_i64().unwrap()))
        .sum();
    assert_eq!(sum, 1);

    // By the week: one row per ISO week the range touches, starting on Mondays.
    let r = p
        .admin
        .get(&format!(
            "/api/reports/throughput?from={from}&to={to}&period=week"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let weeks = r.body["rows"].as_array().unwrap();
    let mut starts: Vec<chrono::NaiveDate> = (0..10)
        .map(|i| today - chrono::Duration::days(i))
        .map(|d| d - chrono::Duration::days(i64::from(d.weekday().num_days_from_monday())))
        .collect();
    starts.sort();
    starts.dedup();
    assert_eq!(weeks.len(), starts.len());
    assert_eq!(weeks[0]["period"], starts[0].to_string());
    assert_eq!(r.body["totals"], json!(counted));

    // The range is checked.
    for (q, field) in [
        (format!("from={to}&to={from}"), "to"),
        (format!("from=2020-01-01&to={to}"), "to"),
        (format!("from=yesterday&to={to}"), "from"),
        (format!("from={from}&to={to}&period=year"), "period"),
    ] {
        let r = p.admin.get(&format!("/api/reports/throughput?{q}")).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{q}: {:?}",
            r.body
        );
        assert_eq!(r.body["field"], field, "{q}: {:?}", r.body);
    }

    // The downloads: CSV with one line per day, and the chart as SVG.
    let q = format!("from={from}&to={to}&period=day");
    let csv = p
        .admin
        .get(&format!("/reports/throughput.csv?{q}"))
        .await
        .body;
    let csv = csv.as_str().unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "period,orders_received,packs_picked,cut_jobs_finished,parcels_closed,parcels_handed_over"
    );
    assert_eq!(lines.len(), 11);
    assert_eq!(
        lines[10],
        format!("{to},{}", counted.map(|n| n.to_string()).join(","))
    );
    let svg = p
        .admin
        .get(&format!("/reports/throughput.svg?{q}"))
        .await
        .body;
    let svg = svg.as_str().unwrap();
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    assert!(
        svg.contains("Kolli lukket") && svg.matches("<polyline ").count() == 5,
        "{svg}"
    );
    let heat = p
        .admin
        .get(&format!("/reports/parcels-heat.svg?{q}&lang=en"))
        .await
        .body;
    assert!(heat.as_str().unwrap().contains("<title>"));
    // The page, in Danish and English.
    let page = p.admin.get(&format!("/reports?{q}")).await.body;
    let page = page.as_str().unwrap();
    for text in [
        "Rapporter",
        "Ordrer modtaget",
        "id=\"report\"",
        "/reports/throughput.csv?",
        "Kolli lukket pr. ugedag og time",
    ] {
        assert!(page.contains(text), "the page shows {text}");
    }
    let en = p.admin.get(&format!("/reports?{q}&lang=en")).await.body;
    assert!(en.as_str().unwrap().contains("Parcels handed over"));
    // A wrong range on the page says why.
    let bad = p
        .admin
        .get(&format!("/reports?from={to}&to={from}"))
        .await
        .body;
    assert!(bad.as_str().unwrap().contains("id=\"reporterror\""));
}
