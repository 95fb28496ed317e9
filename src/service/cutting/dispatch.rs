//! The dispatcher: hands queued jobs to stations that take jobs (online, fresh, able to cut the
//! shape, below their queue limit, not full; the least loaded first), sends again what was not
//! answered (a job, a recall's `cancel`) with backoff, and asks about a station's jobs when its
//! events are lost. Several konsign instances may run it: a job is sent by the one whose
//! conditional update moved it, under a lock on the station's row.

use super::{count_sent, jobs, list_stations, send_cmd, Ctx};
use crate::devices::cutting::host::Host;
use crate::domain::cutting as rules;
use crate::store::cutting::{self as db, JobRow};
use firmware_bridge::wire;
use std::sync::Arc;
use std::time::Duration;

/// The dispatcher's steps answer with the service's own error.
type Sql<T> = crate::error::Result<T>;

pub(super) fn spawn(ctx: Ctx, h: Arc<Host>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = round(&ctx, &h).await {
                tracing::warn!(error = %e, "cutting dispatcher: database error");
            }
            tokio::select! {
                _ = ctx.cutting.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
    })
}

fn due(j: &JobRow, now: chrono::DateTime<chrono::Utc>) -> bool {
    j.next_send_at
        .as_deref()
        .and_then(crate::domain::time::from_db)
        .is_none_or(|t| t <= now)
}

fn next_at(now: chrono::DateTime<chrono::Utc>, tries: i64) -> String {
    crate::domain::time::to_db(now + chrono::Duration::seconds(rules::backoff_secs(tries)))
}

/// Publishes a job message (same message id every time).
async fn publish_job(ctx: &Ctx, h: &Host, j: &JobRow, station: &str, mid: &str, kind: &str) {
    count_sent(ctx, kind);
    h.send_job(
        station,
        mid,
        wire::encode(&jobs::wire_job(j, h.header_for(station, mid))),
    )
    .await;
}

async fn round(ctx: &Ctx, h: &Host) -> Sql<()> {
    let linked = h.connected();
    let now = chrono::Utc::now();
    if linked {
        resend(ctx, h, now).await?;
        gaps(ctx, h, now).await?;
    }
    hand_out(ctx, h, now, linked).await
}

/// Sends again what was not answered: jobs (`sent`) and recalls' cancels (`recalling`).
async fn resend(ctx: &Ctx, h: &Host, now: chrono::DateTime<chrono::Utc>) -> Sql<()> {
    for state in ["sent", "recalling"] {
        for j in db::jobs(ctx.db.pool(), state, 200).await? {
            let (Some(station), Some(mid)) = (&j.station_id, &j.message_id) else {
                continue;
            };
            // An answer that has arrived and waits to be handled is an answer.
            if !due(&j, now) || (state == "sent" && h.was_answered(mid)) {
                continue;
            }
            let mut tx = ctx.db.begin_write().await?;
            let bumped =
                db::bump_send(tx.conn(), &j.id, state, j.sends, &next_at(now, j.sends)).await?;
            tx.commit().await?;
            if !bumped {
                continue;
            }
            if state == "sent" {
                tracing::info!(job = %j.id, station, sends = j.sends + 1, "cutting job sent again (no answer yet)");
                publish_job(ctx, h, &j, station, mid, "job_again").await;
            } else if let Some(cmd_id) = &j.recall_cmd {
                tracing::info!(job = %j.id, station, sends = j.sends + 1, "cancel sent again (no outcome yet)");
                send_cmd(
                    ctx,
                    station,
                    cmd_id,
                    wire::Command::Cancel,
                    Some((&j.id, j.revision)),
                    j.recall_reason.as_deref(),
                    "cancel_again",
                )
                .await;
            }
        }
    }
    Ok(())
}

/// Stations whose events are missing for longer than the rules allow: the events are lost,
/// and konsign asks about every job the station holds (the job message again, unchanged; the
/// station answers `duplicate` with what became of it). The gap is then written off.
async fn gaps(ctx: &Ctx, h: &Host, now: chrono::DateTime<chrono::Utc>) -> Sql<()> {
    for g in db::gaps(ctx.db.pool()).await? {
        let age = crate::domain::time::from_db(&g.since)
            .map(|t| (now - t).num_milliseconds())
            .unwrap_or(0);
        if !rules::gap_is_lost(age, g.seen_above > 0) {
            continue;
        }
        let mut tx = ctx.db.begin_write().await?;
        db::write_off_gap(tx.conn(), &g.station, g.top).await?;
        tx.commit().await?;
        ctx.metrics
            .mqtt_lost_events
            .inc_by((g.top - g.floor - g.seen_above).max(0) as u64);
        tracing::warn!(station = %g.station, from = g.floor + 1, to = g.top, lost = g.top - g.floor - g.seen_above,
            "events from the station were lost: asking about its jobs");
        ask_about_jobs(ctx, h, &g.station).await?;
    }
    Ok(())
}

/// Asks about every job konsign thinks `station` holds (and has had an answer for): the job
/// message again, unchanged; the station answers `duplicate` with what became of it.
pub(super) async fn ask_about_jobs(ctx: &Ctx, h: &Host, station: &str) -> Sql<()> {
    let mut conn = ctx.db.pool().acquire().await?;
    let held: Vec<JobRow> = db::held_by(&mut conn, station)
        .await?
        .into_iter()
        .filter(|j| j.state != "sent")
        .collect();
    drop(conn);
    tracing::info!(
        station,
        jobs = held.len(),
        "asking the station about its jobs"
    );
    for j in held {
        if let Some(mid) = &j.message_id {
            publish_job(ctx, h, &j, station, mid, "catch_up").await;
        }
    }
    Ok(())
}

/// Hands out queued jobs that are due.
async fn hand_out(
    ctx: &Ctx,
    h: &Host,
    now: chrono::DateTime<chrono::Utc>,
    linked: bool,
) -> Sql<()> {
    let queued: Vec<JobRow> = db::jobs(ctx.db.pool(), "queued", 100)
        .await?
        .into_iter()
        .filter(|j| due(j, now))
        .collect();
    if queued.is_empty() {
        return Ok(());
    }
    let stations = list_stations(ctx).await?;
    let mut loads: std::collections::HashMap<String, i64> = db::station_loads(ctx.db.pool())
        .await?
        .into_iter()
        .collect();
    for j in queued {
        let shape: wire::Shape = match serde_json::from_value(j.shape.clone()) {
            Ok(s) => s,
            Err(_) => continue,
        };
        let refused: Vec<&str> = j.rejected_by.split_whitespace().collect();
        let best = stations
            .iter()
            .filter(|s| s.available && !s.station.full && !refused.contains(&s.station.id.as_str()))
            .filter(|s| s.station.manual || linked)
            .filter_map(|s| {
                let load = loads.get(&s.station.id).copied().unwrap_or(0);
                let limit = if s.station.manual {
                    s.station.queue_limit
                } else {
                    let f: wire::Factsheet = serde_json::from_value({
                        let mut v = s.station.factsheet.clone()?;
                        v["header"] = serde_json::to_value(jobs::no_header()).ok()?;
                        v
                    })
                    .ok()?;
                    if !f.covers(&shape) {
                        return None;
                    }
                    // What the station itself reports holding counts too.
                    let reported = s.station.state.as_ref().map_or(0, |st| {
                        st["queue"].as_array().map_or(0, |q| q.len() as i64)
                            + i64::from(!st["current_job"].is_null())
                    });
                    i64::from(f.queue_limit) - (reported - load).max(0)
                };
                (load < limit).then_some((load, s.station.id.clone(), limit, s.station.manual))
            })
            .min();
        let Some((_, station, limit, manual)) = best else {
            continue;
        };
        let mid = h.message_id();
        let mut tx = ctx.db.begin_write().await?;
        // Another instance may have filled the station since the loads were read.
        let backend = tx.backend();
        let load = db::lock_station_load(tx.conn(), backend, &station).await?;
        if load >= limit {
            loads.insert(station.clone(), load);
            continue;
        }
        let moved = if manual {
            db::dispatch(tx.conn(), &j.id, &station, "accepted", None, None).await?
        } else {
            let next = next_at(now, j.sends);
            db::dispatch(tx.conn(), &j.id, &station, "sent", Some(&mid), Some(&next)).await?
        };
        if !moved {
            continue;
        }
        tx.commit().await?;
        *loads.entry(station.clone()).or_default() += 1;
        tracing::info!(job = %j.id, station, "cutting job sent");
        if !manual {
            publish_job(ctx, h, &j, &station, &mid, "job").await;
        }
    }
    Ok(())
}
