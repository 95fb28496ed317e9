//! Two konsign instances on one PostgreSQL database book 200 waiting parcels with PostNord
//! (the HTTP test double, which books a parcel again if asked twice and counts it): every
//! parcel is booked exactly once, whichever instance claimed it.

mod common;

use konsign::carrier::double::Double;
use sqlx::Row;
use std::time::{Duration, Instant};

const KEY: &str = "0123456789abcdef0123456789abcdef";

fn tweak(base: String) -> impl FnOnce(&mut konsign::config::Config) {
    move |c| {
        c.carrier.default = "postnord".into();
        c.carrier.poll_ms = 20;
        c.carrier.timeout_ms = 5_000;
        c.carrier.lease_seconds = 30;
        // The breaker's default pause: when the carrier answers again, everything waiting is
        // due at once, whatever its backoff said.
        c.carrier.breaker_open_seconds = 2;
        c.carrier.track_every_seconds = 0;
        c.carrier.postnord = Some(konsign::config::PostNordConfig {
            base_url: base,
            api_key: KEY.into(),
            customer_number: "12345678".into(),
            print_label: false,
            max_batch: 10,
            ..Default::default()
        });
    }
}

/// Closed parcels waiting for their bookings, written straight to the database (the pack
/// station's part is proven in the packing tests).
async fn waiting_parcels(pool: &sqlx::AnyPool, n: usize) -> Vec<String> {
    let now = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    let mut ssccs = Vec::new();
    for i in 0..n {
        let ext = format!("TWO-{i:04}");
        let order: i64 = sqlx::query(
            "insert into orders (external_id, request_hash, status, payer_code, payer_name, payer_ean, grant_ref, citizen_id,
                recipient_name, address_line1, postcode, city, country, delivery_date, has_cut, created_by, created_at, updated_at)
             values ($1, 'h', 'packed', 'K-0751', 'Aarhus Kommune', '5798000000001', 'G-1', 'c-1', 'Karen Jensen', 'Søndergade 1',
                '8000', 'Aarhus C', 'DK', '2026-12-10', 0, 'test', $2, $2) returning id",
        )
        .bind(&ext)
        .bind(&now)
        .fetch_one(pool)
        .await
        .unwrap()
        .get("id");
        let sscc = konsign::domain::sscc::SsccPlan::new(0, "5790002", None, None)
            .unwrap()
            .sscc(900_000 + i as u64)
            .unwrap()
            .as_str()
            .to_string();
        let parcel: i64 = sqlx::query(
            "insert into parcels (order_id, seq, state, station, tote, sscc, parcel_type, weight_g, parcels_total, booking_state,
                opened_by, opened_at, closed_by, closed_at)
             values ($1, 1, 'closed', 'PAK-01', 'T-01', $2, 'S', 400, 1, 'waiting', 'test', $3, 'test', $3) returning id",
        )
        .bind(order)
        .bind(&sscc)
        .bind(&now)
        .fetch_one(pool)
        .await
        .unwrap()
        .get("id");
        sqlx::query(
            "insert into bookings (parcel_id, carrier, service, state, next_attempt_at, created_at, updated_at)
             values ($1, 'postnord', '17', 'pending', $2, $2, $2)",
        )
        .bind(parcel)
        .bind(&now)
        .execute(pool)
        .await
        .unwrap();
        ssccs.push(sscc);
    }
    ssccs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_database_book_200_parcels_once_each() {
    let Some(url) = common::postgres_url().await else {
        return;
    };
    let d = Double::start("127.0.0.1:0", KEY).await.unwrap();
    // Each booking request takes a while, so that both instances are busy at once.
    d.set_latency(Duration::from_millis(15));
    d.set_down(true);
    let one = common::start_app(url.clone(), None, tweak(d.base_url())).await;
    let two = common::start_app(url.clone(), None, tweak(d.base_url())).await;
    let pool = one.ctx.db.pool().clone();
    let ssccs = waiting_parcels(&pool, 200).await;
    // Both instances claim and fail while the carrier is down, then race when it is back.
    tokio::time::sleep(Duration::from_millis(300)).await;
    d.set_down(false);
    let started = Instant::now();
    loop {
        let booked: i64 = sqlx::query("select count(*) as n from bookings where state = 'booked'")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get("n");
        if booked == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "only {booked} of 200 booked"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        d.counts(),
        (200, 0),
        "every parcel booked once at the carrier"
    );
    for s in &ssccs {
        assert_eq!(d.bookings_of(s), 1);
    }
    let made: i64 = sqlx::query(
        "select count(*) as n from booking_attempts where outcome in ('booked', 'found')",
    )
    .fetch_one(&pool)
    .await
    .unwrap()
    .get("n");
    assert_eq!(made, 200);
    one.stop().await;
    two.stop().await;
}
