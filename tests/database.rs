//! The PostgreSQL pool without a ping on every acquire (`store::PING_IDLE_AFTER`): a connection
//! the server has dropped is found before a request gets it once it has lain idle, and costs at
//! most one failed read when it had not; it never stays in the pool.

mod common;

use konsign::store::PING_IDLE_AFTER;
use sqlx::Connection;
use std::time::Duration;

/// Fills the pool with `n` connections (held at once, then all idle).
async fn open(pool: &sqlx::AnyPool, n: usize) {
    let held = futures_util::future::try_join_all((0..n).map(|_| pool.acquire()))
        .await
        .expect("connections");
    drop(held);
    // Released connections go back after sqlx's ping on release.
    for _ in 0..100 {
        if pool.num_idle() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "the pool holds {} idle connections, not {n}",
        pool.num_idle()
    );
}

/// Ends every server process of the test's database but the one asking; how many it ended.
async fn drop_connections(url: &str) -> i64 {
    let mut admin = sqlx::PgConnection::connect(url)
        .await
        .expect("admin connection");
    let ended: i64 = sqlx::query_scalar(
        "select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid()) t",
    )
    .fetch_one(&mut admin)
    .await
    .expect("terminate");
    let _ = admin.close().await;
    // The server ends them asynchronously: wait until they are gone.
    for _ in 0..100 {
        let mut c = sqlx::PgConnection::connect(url).await.expect("connection");
        let left: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity where datname = current_database()
              and pid <> pg_backend_pid()",
        )
        .fetch_one(&mut c)
        .await
        .expect("count");
        let _ = c.close().await;
        if left == 0 {
            return ended;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the server did not end the pool's connections");
}

async fn orders(pool: &sqlx::AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar::<_, i64>("select count(*) from orders")
        .fetch_one(pool)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_the_server_dropped_is_not_handed_to_a_request_after_a_pause() {
    let Some((ctx, _dir)) = common::context(common::Backend::Postgres).await else {
        return;
    };
    let url = ctx.config.database.url.clone();
    let pool = ctx.db.pool();
    open(pool, 3).await;
    assert!(drop_connections(&url).await >= 3);
    // Idle for longer than the pool trusts a connection: each is pinged on the way out, and
    // the dead ones are replaced. Every read succeeds, the dashboard's six at once among them.
    tokio::time::sleep(PING_IDLE_AFTER + Duration::from_millis(500)).await;
    let (a, b, c, dash) = tokio::join!(
        orders(pool),
        orders(pool),
        orders(pool),
        konsign::service::dashboard::read(&ctx)
    );
    assert_eq!((a.unwrap(), b.unwrap(), c.unwrap()), (0, 0, 0));
    dash.expect("the whole dashboard after the server dropped every connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_dropped_within_the_pause_costs_one_read_at_most_and_leaves_the_pool() {
    let Some((ctx, _dir)) = common::context(common::Backend::Postgres).await else {
        return;
    };
    let url = ctx.config.database.url.clone();
    let pool = ctx.db.pool();
    open(pool, 3).await;
    let idle = pool.num_idle();
    drop_connections(&url).await;
    // Used a moment ago, so not pinged: a read may meet a dead connection, which fails that
    // read (an error, no panic) and is closed, not returned to the pool.
    let mut failed = 0;
    while let Err(e) = orders(pool).await {
        failed += 1;
        assert!(
            failed <= idle,
            "{failed} reads failed on {idle} dropped connections; the last: {e}"
        );
    }
    // Every dead connection has been met or replaced: from now on every read succeeds.
    for _ in 0..10 {
        assert_eq!(orders(pool).await.expect("a read after the failures"), 0);
    }
}
