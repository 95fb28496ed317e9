//! What stations say over MQTT: their connection, factsheet and state snapshots, answers and
//! events. Every message is checked against the protocol's schemas first; a refused one is
//! logged, counted, stored as an event and answered on `_host/{host}/error`. Each accepted
//! message is applied in one transaction; what it says about a job goes through the rules of
//! `domain::cutting` (a job being recalled leaves its station only once its outcome is known).

use super::guard::{drop_event, reject};
use super::{jobs, Ctx};
use crate::devices::cutting::host::{Host, Incoming};
use crate::domain::cutting::{self as rules, Outcome, Step, HELD};
use crate::domain::station_seq::{self as seqs, EventVerdict, StateVerdict};
use crate::store::cutting::{self as db, JobRow};
use crate::store::WriteTx;
use firmware_bridge::wire::{self, Connection, Factsheet, State, Topic, WireError};
use serde_json::json;

/// A message's handling answers with the service's own error.
type Sql<T> = crate::error::Result<T>;

/// Handles one incoming message. A message that breaks the protocol is refused (and that is
/// handled: `Ok`); `Err` only for a database failure.
pub(super) async fn handle(ctx: &Ctx, h: &Host, m: &Incoming) -> Sql<()> {
    let refused = |reason: String| async move {
        reject(ctx, h, &m.topic, &reason).await;
        Ok(())
    };
    let Some((site, station, topic)) = wire::parse_topic(&m.topic) else {
        return refused(format!(
            "{} is not a station topic of this protocol",
            m.topic
        ))
        .await;
    };
    if site != h.site {
        return refused(format!("site {site} is not this konsign's site {}", h.site)).await;
    }
    let Some(row) = db::get(ctx.db.pool(), station).await? else {
        return refused(format!("unknown station {station}")).await;
    };
    if !row.enabled {
        return refused(format!("station {station} is switched off in konsign")).await;
    }
    // Decode first: a refusal writes on its own, outside any transaction of ours.
    enum Msg {
        Connection(Connection),
        Factsheet(Factsheet),
        State(State),
        Event(wire::Event),
        Ack(wire::Ack),
    }
    let decoded: Result<Msg, WireError> = match topic {
        Topic::Connection => wire::decode(&m.payload, site, station).map(Msg::Connection),
        Topic::Factsheet => wire::decode(&m.payload, site, station).map(Msg::Factsheet),
        Topic::State => wire::decode(&m.payload, site, station).map(Msg::State),
        Topic::Event => wire::decode(&m.payload, site, station).map(Msg::Event),
        Topic::Ack => wire::decode(&m.payload, site, station).map(Msg::Ack),
        // konsign's own messages to stations; it does not subscribe to them.
        Topic::Job | Topic::Cmd => return Ok(()),
    };
    let msg = match decoded {
        Ok(m) => m,
        Err(e) => return refused(format!("{}: {e}", topic.name())).await,
    };
    if let Msg::Factsheet(f) = &msg {
        if f.min_mm > f.max_mm {
            return refused("factsheet: min_mm is above max_mm".into()).await;
        }
    }
    let mut tx = ctx.db.begin_write().await?;
    let mut ended: Option<String> = None;
    let mut restart = false;
    match msg {
        Msg::Connection(c) => {
            let state = match c.connection {
                wire::ConnectionState::Online => "online",
                wire::ConnectionState::Offline => "offline",
                wire::ConnectionState::Broken => "broken",
            };
            db::set_connection(tx.conn(), station, state, &c.header.boot_id).await?;
            tx.event(
                "cut_station.connection",
                station,
                &json!({ "connection": state, "boot_id": c.header.boot_id }),
            )
            .await?;
            tracing::info!(station, connection = state, "cutting station connection");
        }
        Msg::Factsheet(f) => {
            let v = serde_json::to_value(&f).unwrap_or_default();
            db::set_factsheet(tx.conn(), station, &strip_header(v)).await?;
        }
        Msg::State(s) => {
            let book = db::seq_book(tx.conn(), station).await?.unwrap_or_default();
            let boot = &s.header.boot_id;
            let reported = match seqs::judge_state(&book, s.last_event_seq, boot) {
                StateVerdict::TooFar => {
                    drop(tx);
                    return refused(format!(
                        "state: last_event_seq {} is far above every event number konsign knows ({})",
                        s.last_event_seq,
                        book.floor.max(book.top)
                    ))
                    .await;
                }
                StateVerdict::Restarted { base } => {
                    restarted(ctx, &mut tx, station, &book, base, boot).await?;
                    restart = true;
                    Some(base)
                }
                StateVerdict::Behind => {
                    tracing::warn!(station, boot, last_event_seq = s.last_event_seq, floor = book.floor,
                        "station state counts fewer events than konsign has from the same numbering: number not noted");
                    None
                }
                StateVerdict::Note => Some(s.last_event_seq as i64),
            };
            let mode = serde_json::to_value(s.mode)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let room = rules::has_room(s.queue.len(), s.current_job.is_some(), s.queue_limit);
            // A fault stays until a state counts its event (an older state leaves it).
            let counts = i64::try_from(s.last_event_seq).unwrap_or(i64::MAX);
            let v = serde_json::to_value(&s).unwrap_or_default();
            db::set_state(tx.conn(), station, &strip_header(v), &mode, counts, room).await?;
            // Events the state counts and konsign has not had are missing from now on: the
            // dispatcher asks about the station's jobs if they stay missing (`dispatch::gaps`).
            if let Some(seq) = reported {
                db::note_reported_seq(tx.conn(), station, seq, boot).await?;
            }
        }
        Msg::Event(e) => {
            let book = db::seq_book(tx.conn(), station).await?.unwrap_or_default();
            let (mid, boot) = (&e.header.message_id, &e.header.boot_id);
            let recorded = match i64::try_from(e.seq) {
                Ok(n) => db::recorded_seq(tx.conn(), station, n).await?,
                Err(_) => None,
            };
            match seqs::judge_event(&book, e.seq, mid, boot, recorded.as_ref()) {
                EventVerdict::Take => {}
                EventVerdict::Restarted { base } => {
                    restarted(ctx, &mut tx, station, &book, base, boot).await?;
                    restart = true;
                }
                EventVerdict::Copy => {
                    drop(tx);
                    drop_event(ctx, station, e.seq, mid, boot, None).await;
                    return Ok(());
                }
                EventVerdict::Drop(why) => {
                    drop(tx);
                    drop_event(ctx, station, e.seq, mid, boot, Some(why)).await;
                    return Ok(());
                }
            }
            db::take_event_seq(tx.conn(), station, e.seq as i64, mid, boot).await?;
            tx.event(
                "cut_station.event",
                station,
                &serde_json::to_value(&e)
                    .map(strip_header)
                    .unwrap_or_default(),
            )
            .await?;
            ended = on_event(&mut tx, station, &e).await?;
        }
        Msg::Ack(a) => {
            h.answered(&a.ref_message_id, m.received);
            tx.event(
                "cut_station.ack",
                station,
                &serde_json::to_value(&a)
                    .map(strip_header)
                    .unwrap_or_default(),
            )
            .await?;
            ended = if a.cmd_id.is_some() {
                on_cmd_ack(&mut tx, station, &a).await?
            } else {
                on_ack(&mut tx, station, &a).await?
            };
        }
    }
    if let Some(job) = &ended {
        jobs::order_after_cut(&mut tx, job).await?;
    }
    tx.commit().await?;
    if let Some(job) = &ended {
        jobs::print_sticker(ctx, job).await;
    }
    if restart {
        super::dispatch::ask_about_jobs(ctx, h, station).await?;
    }
    ctx.cutting.wake.notify_one();
    ctx.metrics
        .mqtt_messages
        .get_or_create(&crate::metrics::OutcomeLabel {
            outcome: "ok".into(),
        })
        .inc();
    Ok(())
}

/// The station's numbering began again: a new book at `base`, said loudly and stored.
async fn restarted(
    ctx: &Ctx,
    tx: &mut WriteTx,
    station: &str,
    book: &seqs::SeqBook,
    base: i64,
    boot: &str,
) -> Sql<()> {
    tracing::warn!(station, boot, old_boot = ?book.boot, old_floor = book.floor, new_floor = base,
        "station event numbering BEGAN AGAIN (its bridge lost its state?): following the new numbering and asking about its jobs");
    ctx.metrics.mqtt_seq_restarts.inc();
    db::restart_book(tx.conn(), station, base, boot).await?;
    tx.event(
        "cut_station.seq_restarted",
        station,
        &json!({ "boot_id": boot, "old_boot_id": book.boot, "old_floor": book.floor, "old_top": book.top, "new_floor": base }),
    )
    .await?;
    Ok(())
}

fn strip_header(mut v: serde_json::Value) -> serde_json::Value {
    if let serde_json::Value::Object(m) = &mut v {
        m.remove("header");
    }
    v
}

/// What a station's `job_state` (with `done`) says about a job.
fn outcome_of(state: Option<wire::JobState>, done: Option<u32>, j: &JobRow) -> Outcome {
    let done = done.map(i64::from).unwrap_or(j.done).clamp(0, j.quantity);
    match state {
        Some(wire::JobState::Running) => Outcome::Running,
        Some(wire::JobState::Finished) => Outcome::Finished,
        Some(wire::JobState::Failed) => Outcome::Failed { done },
        Some(wire::JobState::Cancelled) => Outcome::Cancelled { done },
        Some(wire::JobState::Queued) | None => Outcome::Stored,
    }
}

/// Applies what konsign learned about a job held by `station`, in the message's transaction.
/// Returns the job id when the job ended (its order may move on, its sticker prints).
pub(super) async fn apply(
    tx: &mut WriteTx,
    j: &JobRow,
    station: &str,
    o: Outcome,
    why: &str,
    damaged: i64,
) -> Sql<Option<String>> {
    let ended = |moved: bool| if moved { Some(j.id.clone()) } else { None };
    Ok(match rules::step(&j.state, o) {
        Step::Nothing => None,
        Step::Move { to, from } => {
            db::transition(tx.conn(), &j.id, from, to, Some(station), why, "").await?;
            None
        }
        Step::Finish => ended(
            db::transition(
                tx.conn(),
                &j.id,
                &HELD,
                "finished",
                Some(station),
                why,
                "done = quantity",
            )
            .await?,
        ),
        Step::Fail { done } => {
            let moved =
                db::transition(tx.conn(), &j.id, &HELD, "failed", Some(station), why, "").await?;
            if moved {
                db::set_done(tx.conn(), &j.id, done.min(j.quantity)).await?;
                tracing::warn!(station, job = %j.id, reason = %why, "cutting job failed");
                jobs::after_failure(tx, &j.id, damaged, why).await?;
            }
            ended(moved)
        }
        Step::EndCancelled { done } => {
            let moved =
                db::transition(tx.conn(), &j.id, &HELD, "cancelled", Some(station), why, "")
                    .await?;
            if moved {
                db::set_done(tx.conn(), &j.id, done.min(j.quantity)).await?;
                let rest = format!("stopped at {station} after {done} plate(s): {why}");
                jobs::after_failure(tx, &j.id, 0, &rest).await?;
            }
            ended(moved)
        }
        Step::Requeue => {
            let moved = jobs::requeue_next_revision(tx, j, &j.state, Some(station), |rev| {
                format!("{station} did not cut it ({why}): back in the queue as revision {rev}")
            })
            .await?;
            if moved {
                tracing::info!(station, job = %j.id, revision = j.revision + 1, "cutting job back in the queue");
            }
            None
        }
    })
}

/// A station's answer to a job message.
async fn on_ack(tx: &mut WriteTx, station: &str, a: &wire::Ack) -> Sql<Option<String>> {
    let Some(job_id) = &a.job_id else {
        return Ok(None);
    };
    let Some(j) = db::get_job(tx.conn(), job_id).await? else {
        tracing::warn!(station, job = %job_id, "answer about an unknown job");
        return Ok(None);
    };
    if j.station_id.as_deref() != Some(station) || a.revision != Some(j.revision as u32) {
        tracing::info!(station, job = %job_id, "answer about a job this station does not hold (now)");
        return Ok(None);
    }
    match a.result {
        wire::AckResult::Accepted => apply(tx, &j, station, Outcome::Stored, "accepted", 0).await,
        // The station has it already: catch up with what it says (a re-send, or konsign asking
        // again after events were lost). A failure learned this way has lost its reason.
        wire::AckResult::Duplicate => {
            let o = outcome_of(a.job_state, a.done, &j);
            let why = match o {
                Outcome::Failed { .. } => {
                    "failed at the station (learned from its answer; the failure event was lost)"
                }
                _ => "duplicate: the station has it",
            };
            apply(tx, &j, station, o, why, 0).await
        }
        wire::AckResult::Rejected => {
            let code = a.reason.as_ref().map(|r| r.code);
            let why = a
                .reason
                .as_ref()
                .map(|r| format!("{:?}: {}", r.code, r.message))
                .unwrap_or_default();
            // The station holds this job in a state that says more than a refusal: follow it.
            if matches!(
                a.job_state,
                Some(wire::JobState::Running | wire::JobState::Finished)
            ) {
                let o = outcome_of(a.job_state, a.done, &j);
                return apply(tx, &j, station, o, &why, 0).await;
            }
            if j.state != "sent" {
                return Ok(None);
            }
            let moved = if code == Some(wire::RejectCode::QueueFull) {
                // Full is a passing state: no job goes to the station until its state shows
                // room, and this one waits before it is offered again.
                db::set_full(tx.conn(), station).await?;
                let not_before = crate::domain::time::to_db(
                    chrono::Utc::now() + chrono::Duration::seconds(rules::backoff_secs(j.sends)),
                );
                db::back_to_queue(tx.conn(), job_id, station, "", &why, Some(&not_before)).await?
            } else {
                db::back_to_queue(
                    tx.conn(),
                    job_id,
                    station,
                    &format!(" {station}"),
                    &why,
                    None,
                )
                .await?
            };
            if moved {
                tracing::warn!(station, job = %job_id, reason = %why, "cutting job rejected; back in the queue");
            }
            Ok(None)
        }
    }
}

/// A station's answer to a command; for the `cancel` of a job being recalled it may settle the
/// job's fate.
async fn on_cmd_ack(tx: &mut WriteTx, station: &str, a: &wire::Ack) -> Sql<Option<String>> {
    let Some(cmd_id) = &a.cmd_id else {
        return Ok(None);
    };
    let Some(j) = db::job_by_recall(tx.conn(), station, cmd_id).await? else {
        return Ok(None);
    };
    if j.state != "recalling" {
        return Ok(None);
    }
    let code = a.reason.as_ref().map(|r| r.code);
    match (a.result, code) {
        (wire::AckResult::Rejected, Some(wire::RejectCode::UnknownJob)) => {
            apply(
                tx,
                &j,
                station,
                Outcome::NotHeld,
                "the station never had it",
                0,
            )
            .await
        }
        (wire::AckResult::Rejected, Some(wire::RejectCode::AlreadyFinished))
            if a.job_state.is_some() =>
        {
            let o = outcome_of(a.job_state, a.done, &j);
            apply(
                tx,
                &j,
                station,
                o,
                "it had ended at the station before the cancel",
                0,
            )
            .await
        }
        (wire::AckResult::Rejected, _) => {
            let why = a
                .reason
                .as_ref()
                .map(|r| format!("{:?}: {}", r.code, r.message))
                .unwrap_or_default();
            let detail =
                format!("{station} refused the cancel ({why}): waiting for the job's outcome");
            db::note(tx.conn(), &j.id, station, &detail).await?;
            Ok(None)
        }
        // Accepted: the station sends a `cancelled` event with the plates it cut.
        _ => Ok(None),
    }
}

/// What a station's event does to its job.
async fn on_event(tx: &mut WriteTx, station: &str, e: &wire::Event) -> Sql<Option<String>> {
    if e.kind == wire::EventKind::Failed {
        if let Some(x) = &e.error {
            // A critical or fatal failure stops the station: nothing more is sent to it until
            // a state that counts this event says it is out of the fault.
            if matches!(x.level, wire::Level::Critical | wire::Level::Fatal) {
                db::set_fault(tx.conn(), station, e.seq as i64).await?;
                tracing::warn!(station, code = %x.code, "cutting station in a fault: no jobs until it is cleared");
            }
        }
    }
    let Some(j) = db::get_job(tx.conn(), &e.job_id).await? else {
        tracing::warn!(station, job = %e.job_id, "event about an unknown job");
        return Ok(None);
    };
    if j.station_id.as_deref() != Some(station) || e.revision as i64 != j.revision {
        return older_revision(tx, station, e, &j).await;
    }
    let done = i64::from(e.done).clamp(0, j.quantity);
    let (o, why) = match e.kind {
        wire::EventKind::Started => (Outcome::Running, "started".to_string()),
        wire::EventKind::Progress => {
            if HELD.contains(&j.state.as_str()) {
                db::set_done(tx.conn(), &j.id, done).await?;
            }
            (Outcome::Running, "in progress".to_string())
        }
        wire::EventKind::Finished => (Outcome::Finished, "finished".to_string()),
        wire::EventKind::Failed => (
            Outcome::Failed { done },
            e.error
                .as_ref()
                .map(|x| format!("{:?} {}: {}", x.level, x.code, x.message))
                .unwrap_or_else(|| "failed".into()),
        ),
        wire::EventKind::Cancelled => (Outcome::Cancelled { done }, "cancelled".to_string()),
    };
    if let (Some(x), false) = (&e.error, e.kind == wire::EventKind::Failed) {
        tracing::info!(station, job = %j.id, code = %x.code, "warning from the cutting station");
    }
    let damaged = e.error.as_ref().is_some_and(|x| x.code == "plate_damaged");
    apply(tx, &j, station, o, &why, i64::from(damaged)).await
}

/// An event about a job konsign no longer has at this station in this revision. It is still
/// the truth about that revision's plates: a plate finished there while the job waits in the
/// queue is not cut again; anything else is kept in the job's log and raised for a lead.
async fn older_revision(
    tx: &mut WriteTx,
    station: &str,
    e: &wire::Event,
    j: &JobRow,
) -> Sql<Option<String>> {
    if e.kind == wire::EventKind::Finished
        && j.state == "queued"
        && (e.revision as i64) < j.revision
    {
        let moved = db::finish_queued(
            tx.conn(),
            &j.id,
            station,
            &format!(
                "finished at {station} in revision {} after all: not cut again",
                e.revision
            ),
        )
        .await?;
        return Ok(moved.then(|| j.id.clone()));
    }
    if matches!(e.kind, wire::EventKind::Progress | wire::EventKind::Started)
        && j.station_id.as_deref() == Some(station)
    {
        return Ok(None);
    }
    let detail = format!(
        "{station} reports {:?} for revision {}, while the job is {} (revision {}{}): a lead must check the plates",
        e.kind,
        e.revision,
        j.state,
        j.revision,
        j.station_id.as_deref().map(|s| format!(" at {s}")).unwrap_or_default()
    );
    tracing::warn!(station, job = %j.id, "{detail}");
    db::note(tx.conn(), &j.id, station, &detail).await?;
    tx.event(
        "cut_job.conflict",
        &j.id,
        &json!({ "station": station, "revision": e.revision, "kind": e.kind, "detail": detail }),
    )
    .await?;
    Ok(None)
}
