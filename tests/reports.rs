//! The lead's reports on both backends: throughput per day and week over a range against the
//! same figures counted from the tables, the range checked, and the CSV and SVG downloads and
//! the page in both languages.

mod common;

use chrono::{Datelike, Timelike};
use common::packing::{self, picked, wedge, POUCH};
use common::Backend;
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends!(throughput_reports_agree_with_the_tables);

async fn throughput_reports_agree_with_the_tables(b: Backend) {
    // The default carrier leaves at 23:59 (so today's handover is on time, on any weekday).
    let Some((p, _dir)) = packing::setup_with(b, |c| {
        c.carrier
            .cutoff
            .insert(c.carrier.default.clone(), "23:59".into());
    })
    .await
    else {
        return;
    };
    let pool = p.app.ctx.db.pool().clone();
    // R-2 is packed, booked and handed over onto a cage.
    let booked = packing::booked_parcel(&p, "R-2").await;
    // Booked, it waits for the handover: its own stage in the lead's flow.
    let flow = p.admin.get("/api/dashboard/flow").await.body;
    assert_eq!(
        (
            common::orders_in(&flow, "booked"),
            common::orders_in(&flow, "packed")
        ),
        (1, 0),
        "{flow}"
    );
    let cage = p.packer.post("/api/cages", json!({})).await.body["id"]
        .as_i64()
        .unwrap();
    let r = p
        .packer
        .post(
            &format!("/api/cages/{cage}/scan"),
            json!({ "scan_id": "h1", "data": format!("00{}", booked["sscc"].as_str().unwrap()) }),
        )
        .await;
    assert_eq!(r.body["code"], "on_cage", "{:?}", r.body);
    // R-3 waits for plates that are not there.
    let r = p
        .web
        .post(
            "/api/orders",
            json!({
                "external_id": "R-3",
                "payer": { "code": "0751", "name": "Aarhus Kommune", "ean": "5798000000001" },
                "grant_ref": "BEV-77", "citizen_id": "cit-1",
                "recipient": { "name": "A B", "address_line1": "Vej 1", "postcode": "8000", "city": "Aarhus C" },
                "delivery_date": common::in_days(3),
                "lines": [{ "gtin": packing::PLATE, "quantity": 1 }] }),
        )
        .await;
    assert_eq!(r.body["status"], "backordered", "{:?}", r.body);
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
        common::scalar(&pool, "select count(*) from orders").await,
        common::scalar(
            &pool,
            "select cast(coalesce(sum(qty), 0) as bigint) from pick_confirms where undone = 0",
        )
        .await,
        common::scalar(
            &pool,
            "select count(*) from cut_job_log where state = 'finished'",
        )
        .await,
        common::scalar(
            &pool,
            "select count(*) from parcels where closed_at is not null",
        )
        .await,
        common::scalar(&pool, "select count(*) from cage_parcels").await,
    ];
    assert_eq!(counted[0], 3, "R-1, R-2 and R-3");
    assert_eq!(
        (counted[3], counted[4]),
        (2, 1),
        "two parcels closed, one handed over"
    );
    // R-2's time from intake to handover, as the tables give it.
    let (received, handed): (String, String) = {
        use sqlx::Row;
        let r = sqlx::query(
            "select o.created_at as r, cp.at as h from cage_parcels cp join parcels p on p.id = cp.parcel_id
             join orders o on o.id = p.order_id",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        (r.get("r"), r.get("h"))
    };
    let t = |s: &str| konsign::domain::time::from_db(s).unwrap();
    let minutes = (t(&handed) - t(&received)).num_minutes();
    assert_eq!(rows[9]["orders_handed_over"], 1);
    assert_eq!(rows[9]["cycle_p50_minutes"], minutes);
    assert_eq!(rows[9]["cycle_p90_minutes"], minutes);
    // R-2 left by its cut-off: 1 of 1 on time.
    assert_eq!(
        (
            &rows[9]["orders_judged"],
            &rows[9]["orders_on_time"],
            &rows[9]["on_time_percent"]
        ),
        (&json!(1), &json!(1), &json!(100.0))
    );
    assert_eq!(rep["on_time_percent"], 100.0);
    assert_eq!(rows[8]["on_time_percent"], Value::Null);
    assert_eq!(
        rows[8]["cycle_p50_minutes"],
        Value::Null,
        "no handover that day"
    );
    let backordered = common::scalar(
        &pool,
        "select count(*) from orders where status = 'backordered'",
    )
    .await;
    assert_eq!(backordered, 1);
    assert_eq!(rep["backorders"]["under_1_day"], backordered);
    assert_eq!(rep["backorders"]["over_7_days"], 0);
    assert_eq!(
        rows[9]["values"],
        json!(counted),
        "today, as the tables count it"
    );
    for row in &rows[..9] {
        assert_eq!(row["values"], json!([0, 0, 0, 0, 0]), "{row}");
    }
    assert_eq!(rep["totals"], json!(counted));
    // Each closed parcel in the heat map at its Copenhagen weekday and hour.
    let closed: Vec<String> =
        sqlx::query_scalar("select closed_at from parcels where closed_at is not null")
            .fetch_all(&pool)
            .await
            .unwrap();
    let mut grid = vec![vec![0i64; 24]; 7];
    for at in &closed {
        let local = t(at).with_timezone(&chrono_tz::Europe::Copenhagen);
        grid[local.weekday().num_days_from_monday() as usize][local.hour() as usize] += 1;
    }
    let heat = &rep["parcels_by_weekday_hour"];
    assert_eq!(heat, &json!(grid));
    let sum: i64 = heat
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d.as_array().unwrap().iter().map(|v| v.as_i64().unwrap()))
        .sum();
    assert_eq!(sum, 2);

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
        "period,orders_received,packs_picked,cut_jobs_finished,parcels_closed,parcels_handed_over,orders_handed_over,cycle_p50_minutes,cycle_p90_minutes,orders_judged,orders_on_time,on_time_percent"
    );
    assert_eq!(lines.len(), 11);
    assert_eq!(
        lines[10],
        format!(
            "{to},{},1,{minutes},{minutes},1,1,100.0",
            counted.map(|n| n.to_string()).join(",")
        )
    );
    assert!(lines[9].ends_with(",0,0,0,0,0,0,,,0,0,"), "{}", lines[9]);
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
    // The same charts as PNG, drawn at twice their size, with the measures' colours in them.
    for (path, size, colour) in [
        ("throughput", (1920, 640), [0xef, 0x8f, 0x00]),
        ("parcels-heat", (0, 0), [0xef, 0x8f, 0x00]),
    ] {
        let res = p
            .admin
            .req(reqwest::Method::GET, &format!("/reports/{path}.png?{q}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}.png");
        assert_eq!(res.headers()["content-type"], "image/png");
        assert!(res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .ends_with(".png\""));
        let png = image::load_from_memory(&res.bytes().await.unwrap())
            .expect("a PNG")
            .to_rgb8();
        if size != (0, 0) {
            assert_eq!((png.width(), png.height()), size, "{path}.png");
        }
        assert!(
            png.pixels().any(|px| px.0 == colour),
            "{path}.png has {colour:?}"
        );
        assert!(
            png.pixels()
                .filter(|px| px.0[0] < 80 && px.0[1] < 80)
                .count()
                > 200,
            "{path}.png has dark text"
        );
    }
    // The page, in Danish and English.
    let page = p.admin.get(&format!("/reports?{q}")).await.body;
    let page = page.as_str().unwrap();
    for text in [
        "Rapporter",
        "Ordrer modtaget",
        "id=\"report\"",
        "/reports/throughput.csv?",
        "Kolli lukket pr. ugedag og time",
        "Restordrer nu",
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

    // Had R-2 been ready to pick eight days earlier, it left days after its cut-off: late.
    let earlier = konsign::domain::time::to_db(t(&handed) - chrono::Duration::days(8));
    let moved = sqlx::query(
        "update reservations set created_at = $1 where order_id = (select id from orders where external_id = 'R-2')",
    )
    .bind(&earlier)
    .execute(&pool)
    .await
    .unwrap()
    .rows_affected();
    assert!(moved > 0);
    let r = p
        .admin
        .get(&format!("/api/reports/throughput?{q}"))
        .await
        .body;
    assert_eq!(
        (&r["rows"][9]["orders_on_time"], &r["on_time_percent"]),
        (&json!(0), &json!(0.0)),
        "{r}"
    );
    let page = p.admin.get(&format!("/reports?{q}")).await.body;
    assert!(
        page.as_str()
            .unwrap()
            .contains("<th class=\"n\" id=\"ontimetotal\">0,0 %</th>"),
        "the page shows the rate the Danish way"
    );
}
