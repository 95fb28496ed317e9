//! Ledgered stock operations per second on SQLite (the embedded default): receipts and moves,
//! each a full transaction with stock change, ledger entries, idempotency record and event.
//! Run: `cargo bench --bench stock_ops`. Set `BENCH_DATABASE_URL=postgres://...` to measure a
//! PostgreSQL database instead (it must be empty or disposable).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use konsign::config::Config;
use konsign::domain::catalog::{Location, ProductInput};
use konsign::domain::stock::OpKind;
use konsign::service::stock::{self, ReceiveRequest, UnitOpRequest};
use konsign::service::{catalog, Actor, Ctx};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const GTIN: &str = "5708932000024";

async fn setup(url: String) -> Ctx {
    let mut config = Config::default();
    config.database.url = url;
    let ctx = konsign::startup::context(config).await.expect("database");
    let actor = Actor::system();
    let _ = catalog::create_producer(&ctx, &actor, "COLOPLAST", "Coloplast").await;
    let input = ProductInput {
        gtin: GTIN.into(),
        name: "Pose".into(),
        producer: "COLOPLAST".into(),
        category: "pouch".into(),
        units_per_pack: 10,
        price_minor: 100,
        currency: "DKK".into(),
        min_shelf_life_days: 30,
        weight_g: None,
        ..Default::default()
    };
    let _ = catalog::put_product(&ctx, &actor, &input, true).await;
    for (i, l) in ["A-01-1", "A-02-1"].iter().enumerate() {
        let _ = catalog::create_location(
            &ctx,
            &actor,
            &Location::new(l, "A", "pick", i as i64).unwrap(),
        )
        .await;
    }
    ctx
}

fn receipt(n: u64, expiry: &str) -> ReceiveRequest {
    ReceiveRequest {
        idempotency_key: Some(format!("bench-{n}")),
        gtin: GTIN.into(),
        lot: format!("L{}", n % 50),
        expiry: expiry.into(),
        location: "A-01-1".into(),
        quantity: 1 + (n % 20) as i64,
        owner: None,
        reference: Some("bench".into()),
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}/bench.db", dir.path().display()));
    let ctx = rt.block_on(setup(url));
    let actor = Actor::system();
    let expiry = (konsign::service::today() + chrono::Duration::days(400)).to_string();
    let counter = AtomicU64::new(rand_seed());

    // The cost of one round trip through sqlx to SQLite, for comparison.
    c.bench_function("roundtrip_select_1", |b| {
        b.to_async(&rt).iter(|| {
            let pool = ctx.db.pool().clone();
            async move { sqlx::query("select 1").execute(&pool).await.unwrap() }
        })
    });
    // The disk's floor: 4 KiB appended to a file in the same folder and synced (fdatasync).
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("fsync-floor"))
            .unwrap();
        let block = [0x5au8; 4096];
        c.bench_function("floor_fsync_4kib", |b| {
            b.iter(|| {
                f.write_all(&block).unwrap();
                f.sync_data().unwrap();
            })
        });
    }
    let mut g = c.benchmark_group("stock");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("receive", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (ctx, actor, expiry) = (ctx.clone(), actor.clone(), expiry.clone());
            let start_n = counter.fetch_add(iters, Ordering::Relaxed);
            async move {
                let t = Instant::now();
                for i in 0..iters {
                    stock::receive(&ctx, &actor, &receipt(start_n + i, &expiry))
                        .await
                        .expect("receive");
                }
                t.elapsed()
            }
        })
    });

    // Two units of one lot, one in each location; moves go back and forth one pack at a time.
    let setup_units = rt.block_on(async {
        let r = ReceiveRequest {
            idempotency_key: None,
            lot: "MOVE".into(),
            quantity: 1_000_000,
            ..receipt(0, &expiry)
        };
        let a = stock::receive(&ctx, &actor, &r).await.unwrap().entries[0].stock_unit_id;
        let m = UnitOpRequest {
            idempotency_key: None,
            stock_unit_id: a,
            quantity: 500_000,
            to_location: Some("A-02-1".into()),
            new_owner: None,
            scrap_reason: None,
            reason: None,
            reference: None,
        };
        let b = stock::unit_op(&ctx, &actor, OpKind::Move, &m)
            .await
            .unwrap()
            .entries[1]
            .stock_unit_id;
        (a, b)
    });
    g.bench_function("move", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (ctx, actor) = (ctx.clone(), actor.clone());
            async move {
                let t = Instant::now();
                for i in 0..iters {
                    let (from, to) = if i % 2 == 0 {
                        (setup_units.0, "A-02-1")
                    } else {
                        (setup_units.1, "A-01-1")
                    };
                    let m = UnitOpRequest {
                        idempotency_key: None,
                        stock_unit_id: from,
                        quantity: 1,
                        to_location: Some(to.into()),
                        new_owner: None,
                        scrap_reason: None,
                        reason: None,
                        reference: None,
                    };
                    stock::unit_op(&ctx, &actor, OpKind::Move, &m)
                        .await
                        .expect("move");
                }
                t.elapsed()
            }
        })
    });
    // Many clients at once (scanners, the web system): the writer commits what queued up together.
    for clients in [4u64, 16] {
        g.bench_function(format!("receive_{clients}_clients"), |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let (ctx, actor, expiry) = (ctx.clone(), actor.clone(), expiry.clone());
                let start_n = counter.fetch_add(iters, Ordering::Relaxed);
                async move {
                    let t = Instant::now();
                    let tasks: Vec<_> = (0..clients)
                        .map(|c| {
                            let (ctx, actor, expiry) = (ctx.clone(), actor.clone(), expiry.clone());
                            tokio::spawn(async move {
                                for i in (c..iters).step_by(clients as usize) {
                                    stock::receive(&ctx, &actor, &receipt(start_n + i, &expiry))
                                        .await
                                        .expect("receive");
                                }
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.unwrap();
                    }
                    t.elapsed()
                }
            })
        });
        g.bench_function(format!("move_{clients}_clients"), |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let (ctx, actor) = (ctx.clone(), actor.clone());
                async move {
                    let t = Instant::now();
                    let tasks: Vec<_> = (0..clients)
                        .map(|c| {
                            let (ctx, actor) = (ctx.clone(), actor.clone());
                            tokio::spawn(async move {
                                for i in (c..iters).step_by(clients as usize) {
                                    let (from, to) = if i % 2 == 0 {
                                        (setup_units.0, "A-02-1")
                                    } else {
                                        (setup_units.1, "A-01-1")
                                    };
                                    stock::unit_op(&ctx, &actor, OpKind::Move, &move_req(from, to))
                                        .await
                                        .expect("move");
                                }
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.unwrap();
                    }
                    t.elapsed()
                }
            })
        });
    }
    g.finish();
}

fn move_req(from: i64, to: &str) -> UnitOpRequest {
    UnitOpRequest {
        idempotency_key: None,
        stock_unit_id: from,
        quantity: 1,
        to_location: Some(to.into()),
        new_owner: None,
        scrap_reason: None,
        reason: None,
        reference: None,
    }
}

/// Receipts carry idempotency keys; start each run at a fresh number so keys never repeat.
fn rand_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

criterion_group!(benches, bench);
criterion_main!(benches);
