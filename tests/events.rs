//! The event log's cursor: a reader that follows it never misses an event, however the
//! writers' transactions interleave and in whatever order they commit.

mod common;

use common::Backend;
use konsign::service::log::events_after;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

on_both_backends!(a_cursor_reader_never_misses_an_event_that_commits_late);

const WRITERS: usize = 3;
const TRANSACTIONS: usize = 40;

/// Writers run concurrently; each writes an event, holds its transaction open for a while
/// (so that a writer that began later takes a larger cursor and commits first), writes a
/// second event and commits. A reader follows the cursor the whole time, as the order feed's
/// consumer and the dashboard do. At the end it must have seen every event, each once and in
/// increasing order: an event that became visible behind a cursor the reader had passed would
/// be lost to it for good.
async fn a_cursor_reader_never_misses_an_event_that_commits_late(b: Backend) {
    let Some((ctx, _dir)) = common::context(b).await else {
        return;
    };
    let start = events_after(&ctx, &konsign::service::Actor::system(), 0, 1000)
        .await
        .unwrap();
    let from = start.last().map_or(0, |e| e.id);
    let done = Arc::new(AtomicBool::new(false));

    let reader = {
        let (ctx, done) = (ctx.clone(), done.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut cursor = from;
            loop {
                // Read `finished` before the read: a read that begins after every writer
                // committed is the last one needed.
                let finished = done.load(Ordering::SeqCst);
                let got = events_after(&ctx, &konsign::service::Actor::system(), cursor, 1000)
                    .await
                    .unwrap();
                if let Some(e) = got.last() {
                    cursor = e.id;
                }
                seen.extend(got.iter().map(|e| e.id));
                if finished {
                    break seen;
                }
                tokio::time::sleep(Duration::from_micros(300)).await;
            }
        })
    };

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let ctx = ctx.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..TRANSACTIONS {
                let mut tx = ctx.db.begin_write().await.unwrap();
                let subject = format!("test:{w}:{i}");
                tx.event("test.first", &subject, &serde_json::json!({}))
                    .await
                    .unwrap();
                // 0 to 3 ms, different for each writer and transaction.
                let hold = ((w * 5 + i * 3) % 4) as u64;
                tokio::time::sleep(Duration::from_millis(hold)).await;
                tx.event("test.second", &subject, &serde_json::json!({}))
                    .await
                    .unwrap();
                // Every fifth transaction rolls back: its cursors are never seen by anyone.
                if i % 5 == 4 {
                    drop(tx);
                } else {
                    tx.commit().await.unwrap();
                }
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let seen = reader.await.unwrap();

    assert!(
        seen.windows(2).all(|p| p[0] < p[1]),
        "the reader got each event once, in cursor order: {seen:?}"
    );
    let all: Vec<i64> = events_after(&ctx, &konsign::service::Actor::system(), from, 1000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    let committed = WRITERS * TRANSACTIONS * 2 * 4 / 5;
    assert_eq!(all.len(), committed, "every committed event is in the log");
    let seen: BTreeSet<i64> = seen.into_iter().collect();
    let missed: Vec<i64> = all
        .iter()
        .filter(|id| !seen.contains(id))
        .copied()
        .collect();
    assert!(
        missed.is_empty(),
        "the reader missed {} of {} events that committed behind its cursor: {missed:?}",
        missed.len(),
        all.len()
    );
}
